"""``hwp-bench results report``: one static HTML page with every table and figure.

The page is made from result files (and, for pictures, the renders and diagnostics the runner
wrote beside them, plus the dataset's ground truth): the paper's tables with its numbers beside
ours, per-capture bar charts, qualitative grids (ground truth vs every method), the temporal
weight omega over time with the recorded perturbation strength overlaid and its correlation,
PAO masks of perturbed frames, and robustness curves from ``hwp-bench synth-sweep``.

A section whose inputs are missing says why instead of failing the whole report.
Layout written: ``OUT.html`` and ``OUT_files/*.png`` (relative links, so the folder can move).
"""

from __future__ import annotations

import html
import json
import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.io import atomic_write_text
from hwp_bench.results import plots
from hwp_bench.results.collect import ABLATION_DEFAULTS, ResultRecord, collect
from hwp_bench.results.omega import omega_correlation, omega_series, strengths_for
from hwp_bench.results.tables import (
    CEILING,
    FLOOR,
    METHOD_NAMES,
    TABLE_IDS,
    Selection,
    TableError,
    make_table,
)

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
td:first-child,th:first-child{text-align:left}
tr.paper td{color:#777;font-style:italic}
.note{color:#a33;font-size:12px}
img{max-width:100%}
"""


def _table_html(table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header())
    body = []
    for r in table.rows:
        cells = "".join(
            f"<td>{'<b>' + html.escape(c.text()) + '</b>' if c.best else html.escape(c.text())}</td>"
            for c in r.cells
        )
        cls = ' class="paper"' if r.paper else ""
        body.append(f"<tr{cls}><td>{html.escape(r.label)}</td>{cells}</tr>")
    notes = "".join(f'<div class="note">{html.escape(n)}</div>' for n in table.notes)
    return (
        f"<h3>Table {table.id}: {html.escape(table.title)}</h3>"
        f"<p>{html.escape(table.context_line())}</p>"
        f"<table><tr>{head}</tr>{''.join(body)}</table>{notes}"
    )


def _load_render(record: ResultRecord, index: int) -> np.ndarray | None:
    """The render of frame ``index`` beside the record: runs/<run>/renders/<track>/<capture>/
    (runs from before test-pose tracks: runs/<run>/renders/<capture>/)."""
    renders = Path(record.path).parent.parent / "renders"
    folder = renders / record.track / record.capture
    if not folder.is_dir():
        folder = renders / record.capture
    npy, png = folder / f"{index:05d}.npy", folder / f"{index:05d}.png"
    if npy.is_file():
        arr = np.load(npy, allow_pickle=False)
        return arr.astype(np.float32) if arr.ndim == 3 else None
    if png.is_file():
        from PIL import Image

        with Image.open(png) as im:
            return np.asarray(im.convert("RGB"), np.float32) / 255.0
    return None


def _frames(dataset: str, capture: str, split: str):
    from hwp_bench.data import load_frames

    return load_frames(dataset, capture, split)


def _is_paper_variant(method: str, variant: str) -> bool:
    """The full method, or one of WildGHand's ablations (Tables VI-VIII) at today's training
    options: what the paper's comparisons are about. Other variants (another training option,
    any other ``--set``) are measured in their own tables and would crowd the per-capture bars."""
    if variant == "full":
        return True
    keys = [part.split("=", 1)[0] for part in variant.split(",")]
    return method == "wildghand" and all(k in ABLATION_DEFAULTS for k in keys)


def _method_rows(sel: Selection, *, every_variant: bool = False) -> list[tuple[str, str, str]]:
    rows = []
    for m in sel.methods():
        variants = sorted(
            {r.variant for r in sel.records if r.method == m}, key=lambda v: v != "full"
        )
        for v in variants:
            if not every_variant and not _is_paper_variant(m, v):
                continue
            label = METHOD_NAMES.get(m, m) + ("" if v == "full" else f" [{v}]")
            rows.append((m, v, label))
    return rows


#: Resolution of the qualitative grid (plots.image_grid): about 4 screen pixels per pixel of a
#: 128 px frame's hand crop.
QUALITATIVE_DPI = 220


def _qualitative(sel: Selection, captures: Sequence[str], files: Path, notes: list[str]) -> str:
    rows_spec = [r for r in _method_rows(sel) if r[1] == "full"]
    # The ceiling first and the floor last, as in every table: a render reads between them.
    present = {r.method for r in sel.records}
    rows_spec = [(CEILING[0], "full", CEILING[1])] * (CEILING[0] in present) + rows_spec
    rows_spec += [(FLOOR[0], "full", FLOOR[1])] * (FLOOR[0] in present)
    grid_rows: list[tuple[str, list[np.ndarray | None]]] = []
    for cap in captures:
        try:
            test = _frames(sel.dataset, cap, "test")
        except Exception as exc:  # dataset absent here: show renders without ground truth
            notes.append(f"qualitative {cap}: no ground truth ({exc})")
            test = []
        if not test:
            continue
        frame = test[len(test) // 2]
        # Every panel cropped to the same box around the visible hand (docs/fidelity.md).
        mask = (frame.annotations or {}).get("visible_mask", frame.mask)
        r0, r1, c0, c1 = plots.hand_box(mask) if mask is not None else (0, None, 0, None)
        images: list[np.ndarray | None] = [frame.image]
        for method, variant, _ in rows_spec:
            rec = next(
                (
                    r
                    for r in sel.records
                    if (r.method, r.variant, r.capture) == (method, variant, cap)
                ),
                None,
            )
            images.append(_load_render(rec, frame.index) if rec else None)
        images = [None if im is None else np.asarray(im)[r0:r1, c0:c1] for im in images]
        grid_rows.append((f"{cap} #{frame.index}", images))
    if not grid_rows:
        return "<p class='note'>no test frames available for the qualitative grid</p>"
    titles = ["ground truth"] + [label for _, _, label in rows_spec]
    # four screen pixels per rendered pixel: the figure is where nails and creases are judged
    plots.image_grid(grid_rows, titles, files / "qualitative.png", dpi=QUALITATIVE_DPI)
    return f"<img src='{files.name}/qualitative.png' alt='qualitative comparison'>"


def _omega_section(sel: Selection, files: Path, notes: list[str]) -> str:
    series, strengths, corr_rows = {}, {}, []
    for rec in sorted(sel.records, key=lambda r: (r.capture, r.seed)):
        if rec.method != "wildghand" or rec.variant != "full" or rec.capture in series:
            continue
        got = omega_series(rec)
        if got is None:
            continue
        idx, om = got
        try:
            s = strengths_for(_frames(sel.dataset, rec.capture, "train"), idx)
        except Exception as exc:
            notes.append(f"omega {rec.capture}: no perturbation annotations ({exc})")
            s = {}
        series[rec.capture] = (idx, om)
        strengths[rec.capture] = {k: v for k, v in s.items() if k != "any"}
        corr = omega_correlation(om, s)
        corr_rows.append((rec.capture, statistics.fmean(abs(v) for v in om), corr))
    if not series:
        return "<p class='note'>no WildGHand temporal weights in these results</p>"
    plots.temporal_weights(series, strengths, files / "omega.png")
    names = sorted({k for _, _, c in corr_rows for k in c})
    head = "".join(f"<th>ρ(|ω|, {html.escape(n)})</th>" for n in names)
    body = ""
    for cap, mean, corr in corr_rows:
        cells = "".join(
            "<td>–</td>" if corr.get(n) is None else f"<td>{corr[n]:+.2f}</td>" for n in names
        )
        body += f"<tr><td>{cap}</td><td>{1e3 * mean:.3f}</td>{cells}</tr>"
    return (
        f"<img src='{files.name}/omega.png' alt='temporal weights'>"
        "<p>Spearman correlation between |ω| of a training frame and its recorded perturbation"
        " strength (HWP-Synth); 'any' is the frame's strongest perturbation.</p>"
        f"<table><tr><th>capture</th><th>mean |ω| ×1e-3</th>{head}</tr>{body}</table>"
    )


def _pao_section(sel: Selection, files: Path) -> str:
    panels = []
    for rec in sel.records:
        if rec.method != "wildghand" or rec.variant != "full":
            continue
        folder = Path(rec.path).parent.parent / "diagnostics" / rec.capture
        for png in sorted(folder.glob("pao_*.png"))[:2]:
            from PIL import Image

            with Image.open(png) as im:
                panels.append(
                    (f"{rec.capture} {png.stem}", [np.asarray(im.convert("RGB"), np.float32) / 255])
                )
        if len(panels) >= 6:
            break
    if not panels:
        return "<p class='note'>no PAO masks saved beside these results</p>"
    plots.image_grid(panels, ["PAO weight map W (white: high weight)"], files / "pao.png")
    return f"<img src='{files.name}/pao.png' alt='PAO weight maps'>"


def _sweep_section(paths: Sequence[Path], files: Path) -> str:
    out = []
    for p in paths:
        for f in sorted(Path(p).rglob("sweep.json")) if Path(p).is_dir() else []:
            doc = json.loads(f.read_text())
            if doc.get("schema") != "hwp-bench-sweep":
                continue
            curves = {
                METHOD_NAMES.get(m, m): (doc["levels"], vals) for m, vals in doc["psnr"].items()
            }
            name = f"sweep_{doc['perturbation']}.png"
            plots.robustness_curves(curves, doc["perturbation"], "psnr", files / name)
            out.append(f"<img src='{files.name}/{name}' alt='robustness {doc['perturbation']}'>")
    return "".join(out) or "<p class='note'>no synth-sweep results (run hwp-bench synth-sweep)</p>"


def build_report(
    results: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    protocol: str | None = None,
    preset: str | None = None,
    dataset: str | None = None,
    track: str | None = None,
    captures: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
) -> Path:
    """Write the HTML report to ``out`` (and its figures to ``<out stem>_files/``); with
    ``seeds``, only the result files of those seeds count."""
    from hwp_bench.results.tables import only_seeds

    out = Path(out)
    files = out.parent / f"{out.stem}_files"
    files.mkdir(parents=True, exist_ok=True)
    records, skipped = collect(results)
    records = only_seeds(records, seeds)
    sel = Selection.make(records, protocol=protocol, preset=preset, dataset=dataset, track=track)
    notes: list[str] = [f"skipped {s}" for s in skipped]
    parts = [
        f"<h1>hwp-bench report</h1><p>{html.escape(make_table('III', records, protocol=sel.protocol, preset=sel.preset, dataset=sel.dataset, track=sel.track, unavailable={}).context_line())}</p>"
    ]

    parts.append("<h2>Tables</h2>")
    for tid in TABLE_IDS:
        try:
            t = make_table(
                tid,
                records,
                protocol=sel.protocol,
                preset=sel.preset,
                dataset=sel.dataset,
                track=sel.track,
            )
            parts.append(_table_html(t))
        except TableError as exc:
            parts.append(f"<h3>Table {tid}</h3><p class='note'>{html.escape(str(exc))}</p>")

    present = sorted({r.capture for r in sel.records})
    parts.append("<h2>Per capture</h2>")
    rows = _method_rows(sel)
    left_out = len(_method_rows(sel, every_variant=True)) - len(rows)
    if left_out:
        parts.append(
            f"<p class='note'>{left_out} variant(s) with other options set (another training "
            "option, any other --set) are left out of these charts; the tables show them.</p>"
        )
    for metric in ("psnr", "lpips"):
        plots.capture_bars(sel.records, rows, present, metric, files / f"bars_{metric}.png")
        parts.append(f"<img src='{files.name}/bars_{metric}.png' alt='{metric} per capture'>")

    if captures is None:
        single = [c for c in present if int(c[-2:]) <= 3][:1]
        inter = [c for c in present if int(c[-2:]) >= 4][:1]
        captures = single + inter
    parts.append("<h2>Qualitative comparison (test clip)</h2>")
    parts.append(_qualitative(sel, captures, files, notes))
    parts.append("<h2>Temporal weight ω and perturbation strength</h2>")
    parts.append(_omega_section(sel, files, notes))
    parts.append("<h2>PAO weight maps</h2>")
    parts.append(_pao_section(sel, files))
    parts.append("<h2>Robustness sweeps</h2>")
    parts.append(_sweep_section([Path(p) for p in results], files))
    if notes:
        parts.append(
            "<h2>Notes</h2>" + "".join(f"<div class='note'>{html.escape(n)}</div>" for n in notes)
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>hwp-bench report</title>"
        f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )
    atomic_write_text(out, page)
    return out


def summary(report: Path) -> dict[str, Any]:
    """Counts of what a report shows (for the CLI's closing line and tests)."""
    text = report.read_text()
    return {"tables": text.count("<h3>Table"), "images": text.count("<img ")}
