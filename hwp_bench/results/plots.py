"""Figures for reports: per-capture bars, qualitative grids, temporal weights, robustness curves.

Every function takes plain data (records, arrays) and writes one PNG atomically, so that the
report module only decides *what* to show. matplotlib runs with the Agg backend (no display).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hwp_bench.io import atomic_path
from hwp_bench.results.collect import ResultRecord


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    _plt().close(fig)
    return path


def capture_bars(
    records: Sequence[ResultRecord],
    rows: Sequence[tuple[str, str, str]],
    captures: Sequence[str],
    metric: str,
    path: str | os.PathLike,
) -> Path:
    """Grouped bars: ``metric`` per capture, one bar per (method, variant) row, seed mean ± std."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(captures) + 2), 3.4))
    width = 0.8 / max(1, len(rows))
    x = np.arange(len(captures))
    for k, (method, variant, label) in enumerate(rows):
        means, stds = [], []
        for cap in captures:
            vals = [
                r.means[metric]
                for r in records
                if r.method == method and r.variant == variant and r.capture == cap
            ]
            means.append(statistics.fmean(vals) if vals else np.nan)
            stds.append(statistics.stdev(vals) if len(vals) > 1 else 0.0)
        ax.bar(
            x + (k - (len(rows) - 1) / 2) * width, means, width, yerr=stds, label=label, capsize=2
        )
    ax.set_xticks(x, [c.replace("capture", "") for c in captures])
    ax.set_xlabel("capture")
    ax.set_ylabel(metric.upper())
    if metric == "psnr":
        finite = [r.means[metric] for r in records if metric in r.means]
        if finite:
            ax.set_ylim(max(0.0, min(finite) - 2.0), max(finite) + 1.0)
    if rows:  # a dataset without Table III rows (an imported video) still gets its figure
        # below the axes: with a dozen variants a legend inside would hide bars
        ax.legend(
            fontsize=7, ncol=min(4, len(rows)), loc="upper center", bbox_to_anchor=(0.5, -0.2)
        )
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def hand_box(mask: np.ndarray, pad: int = 3) -> tuple[int, int, int, int]:
    """A square box ``(r0, r1, c0, c1)`` around the pixels of ``mask`` above 0.5, padded by
    ``pad`` pixels and kept inside the image (the whole image when the mask is empty).

    Why: at 128 px a whole test frame is too small to tell separated fingers, nails and
    creases from a blur; figures crop every method to the same box and enlarge it."""
    rows, cols = np.nonzero(np.asarray(mask) > 0.5)
    h, w = np.asarray(mask).shape[:2]
    if rows.size == 0:
        return 0, h, 0, w
    r0, r1 = rows.min() - pad, rows.max() + 1 + pad
    c0, c1 = cols.min() - pad, cols.max() + 1 + pad
    side = int(min(max(r1 - r0, c1 - c0), h, w))
    rc, cc = (r0 + r1) // 2, (c0 + c1) // 2
    r0 = int(np.clip(rc - side // 2, 0, h - side))
    c0 = int(np.clip(cc - side // 2, 0, w - side))
    return r0, r0 + side, c0, c0 + side


def image_grid(
    rows: Sequence[tuple[str, Sequence[np.ndarray | None]]],
    column_titles: Sequence[str],
    path: str | os.PathLike,
    *,
    dpi: int = 110,
) -> Path:
    """Rows of images (``None`` shows an empty panel): label, then one image per column.

    ``dpi`` sets how many screen pixels a panel gets: at the default a 2.4-inch panel is about
    190 px wide, two per pixel of a 90 px hand crop; nails and creases want four (220)."""
    plt = _plt()
    n_rows, n_cols = len(rows), len(column_titles)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.4 * n_cols, 2.5 * n_rows), squeeze=False)
    for i, (label, images) in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            img = images[j] if j < len(images) else None
            if img is not None:
                ax.imshow(
                    np.clip(img, 0, 1),
                    cmap="gray" if img.ndim == 2 else None,
                    vmin=0,
                    vmax=1,
                    interpolation="nearest",  # enlarged crops: show every pixel, no smoothing
                )
            if i == 0:
                ax.set_title(column_titles[j], fontsize=7)
            if j == 0:
                ax.set_ylabel(label, fontsize=7)
    fig.subplots_adjust(wspace=0.03, hspace=0.05)
    return _save(fig, path, dpi)


def temporal_weights(
    series: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    strengths: Mapping[str, Mapping[str, Sequence[float]]],
    path: str | os.PathLike,
) -> Path:
    """|omega| over training frames per capture, with recorded perturbation strengths overlaid.

    ``series[capture] = (frame indices, omega values)``; ``strengths[capture][name]`` is the
    recorded strength of perturbation ``name`` at the same frames (may be empty: real data).
    """
    plt = _plt()
    caps = list(series)
    fig, axes = plt.subplots(len(caps), 1, figsize=(7, 1.6 * max(1, len(caps))), squeeze=False)
    for ax, cap in zip(axes[:, 0], caps, strict=True):
        idx, om = series[cap]
        ax.plot(idx, np.abs(np.asarray(om, float)), color="k", lw=1.2, label="|ω|")
        ax.set_ylabel(cap.replace("capture", "cap "), fontsize=7)
        twin = ax.twinx()
        for name, vals in (strengths.get(cap) or {}).items():
            twin.plot(idx, vals, lw=0.8, alpha=0.7, label=name)
        twin.set_ylim(-0.05, 1.05)
        twin.tick_params(labelsize=6)
        ax.tick_params(labelsize=6)
        if (strengths.get(cap) or {}) and ax is axes[0, 0]:
            twin.legend(fontsize=6, loc="upper right", ncol=4)
    axes[-1, 0].set_xlabel("training frame")
    axes[0, 0].set_title(
        "temporal weight |ω| (black, left axis) and perturbation strength (right axis)", fontsize=8
    )
    return _save(fig, path)


def robustness_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    perturbation: str,
    metric: str,
    path: str | os.PathLike,
) -> Path:
    """``metric`` against perturbation strength, one line per method."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for label, (levels, values) in curves.items():
        ax.plot(levels, values, marker="o", label=label)
    ax.set_xlabel(f"{perturbation} strength")
    ax.set_ylabel(metric.upper())
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)
