"""Is WildGHand's temporal weight omega a perturbation detector? (Table IX, made testable.)

The paper (Table IX, Fig. 3) reports that the average temporal weight grows with the amount of
disturbance in a capture. On HWP-Synth every training frame records the exact strength of each
perturbation, so the claim can be measured per frame: the rank correlation (Spearman) between
|omega_l| and the recorded strength of frame l, per perturbation and for the strongest
perturbation of the frame ("any").

Inputs are plain: the runner stores WildGHand's per-frame omega in the result file
(``extra.diagnostics.omega = {frame index: omega}``), and the strengths come from the dataset's
per-frame annotations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hwp_bench.results.collect import ResultRecord

PERTURBATION_KEYS = ("hoi", "complex_pose", "illumination", "blur")


def omega_series(record: ResultRecord) -> tuple[list[int], list[float]] | None:
    """(training frame indices, omega values) recorded for a WildGHand run, or ``None``."""
    omega = (record.extra.get("diagnostics") or {}).get("omega")
    if not isinstance(omega, Mapping) or not omega:
        return None
    items = sorted((int(k), float(v)) for k, v in omega.items())
    return [i for i, _ in items], [v for _, v in items]


def frame_strengths(annotations: Mapping[str, Any]) -> dict[str, float]:
    """Per-perturbation strengths in [0, 1] of one frame from its annotations.

    HWP-Synth records them exactly under ``strengths`` (possibly nested in ``extra`` after a
    round trip through the dataset schema). Without them, the directly measured annotations
    stand in: occlusion fraction (HOI), |1 - illumination gain| and blur length.
    """
    for holder in (annotations, annotations.get("extra") or {}):
        s = holder.get("strengths") if isinstance(holder, Mapping) else None
        if isinstance(s, Mapping):
            return {k: float(s[k]) for k in PERTURBATION_KEYS if k in s and s[k] is not None}
    out: dict[str, float] = {}
    if annotations.get("occlusion_fraction") is not None:
        out["hoi"] = float(annotations["occlusion_fraction"])
    if annotations.get("illumination_gain") is not None:
        out["illumination"] = min(1.0, abs(1.0 - float(annotations["illumination_gain"])))
    if annotations.get("blur_length") is not None:
        out["blur"] = float(annotations["blur_length"])
    return out


def strengths_for(frames: Sequence[Any], indices: Sequence[int]) -> dict[str, list[float]]:
    """Strength series aligned with ``indices`` (frames: objects with .index and .annotations)."""
    by_index = {int(f.index): frame_strengths(f.annotations or {}) for f in frames}
    names = sorted(
        {k for i in indices for k in by_index.get(int(i), {})}, key=PERTURBATION_KEYS.index
    )
    series = {n: [by_index.get(int(i), {}).get(n, math.nan) for i in indices] for n in names}
    if series:
        stacked = np.array([series[n] for n in names], dtype=float)
        series["any"] = np.nanmax(np.where(np.isnan(stacked), -np.inf, stacked), axis=0).tolist()
    return series


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman rank correlation; ``None`` when either side is constant or too short."""
    from scipy.stats import spearmanr

    a, b = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b).statistic)


def omega_correlation(
    omega: Sequence[float], strengths: Mapping[str, Sequence[float]]
) -> dict[str, float | None]:
    """Spearman correlation of |omega| with each strength series."""
    mag = np.abs(np.asarray(omega, float))
    return {name: spearman(mag, vals) for name, vals in strengths.items()}
