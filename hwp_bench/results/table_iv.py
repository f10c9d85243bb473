"""Paper Table IV ("comparison on online videos") over any set of imported videos.

The paper's Table IV scores methods on hand videos from the internet. Here its rows are
computed from the result files of runs on datasets written by ``hwp-bench data
import-video``: every (dataset folder, capture) pair is one video, whatever folder or machine
it was imported on. Such results are recognised from the result files alone: the import
writes a dataset revision ``hwp_bench.video v<N> <hash>``, which every result file records
(a folder that still holds its ``hwp_video.json`` report is recognised too).

Aggregation follows the other tables: a video's value is the mean over seeds, a method's cell
is the mean over videos, and only when the method has a result on *every* video of the table
(otherwise the cell is empty and a note names what is missing), so that two methods' cells
always average the same videos.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path

from hwp_bench.metrics.conventions import METRIC_ORDER
from hwp_bench.results.collect import ResultRecord
from hwp_bench.results.tables import (
    METHOD_NAMES,
    PAPER_METHOD_ORDER,
    Cell,
    Row,
    Table,
    TableError,
    _only,
    _paper_row,
    mark_best,
)

#: Paper Table IV (PSNR / SSIM / LPIPS on online videos).
PAPER_TABLE_IV: dict[str, dict[str, float]] = {
    "handy": {"psnr": 21.46, "ssim": 0.809, "lpips": 0.191},
    "intergaussianhand": {"psnr": 22.95, "ssim": 0.820, "lpips": 0.157},
    "wildghand": {"psnr": 27.39, "ssim": 0.920, "lpips": 0.080},
}
REVISION_PREFIX = "hwp_bench.video"


def _revision(record: ResultRecord) -> str:
    try:
        doc = json.loads(Path(record.path).read_text(encoding="utf-8"))
        return str((doc.get("dataset") or {}).get("revision") or "")
    except (OSError, ValueError):
        return ""


def is_video_record(record: ResultRecord) -> bool:
    """A result on a dataset written by ``hwp-bench data import-video``."""
    if _revision(record).startswith(REVISION_PREFIX):
        return True
    return (Path(record.dataset) / "hwp_video.json").is_file()


def _video_label(dataset: str, capture: str) -> str:
    report = Path(dataset) / "hwp_video.json"
    try:
        video = json.loads(report.read_text())["captures"][capture]["video"]
        return f"{Path(dataset).name}/{capture} ({video})"
    except (OSError, ValueError, KeyError, TypeError):
        return f"{Path(dataset).name}/{capture}"


def table_iv(
    records: Sequence[ResultRecord],
    *,
    protocol: str | None = None,
    preset: str | None = None,
    dataset: str | None = None,
    track: str | None = None,
    show_paper: bool = True,
) -> Table:
    """Table IV from the records of runs on imported videos (see the module docstring)."""
    pool = [r for r in records if not r.clean and is_video_record(r)]
    if dataset is not None:
        pool = [r for r in pool if r.dataset == dataset or Path(r.dataset).name == dataset]
    if not pool:
        raise TableError(
            "no results on imported videos: import one with `hwp-bench data import-video "
            "VIDEO --out DIR`, then `hwp-bench run --method wildghand --dataset DIR --split all`"
        )
    protocol = _only({r.protocol for r in pool}, "protocol", protocol)
    pool = [r for r in pool if r.protocol == protocol]
    preset = _only({r.preset for r in pool}, "preset", preset)
    pool = [r for r in pool if r.preset == preset and r.variant == "full"]
    # The test-pose track the renders were made from (result files that predate tracks
    # have none): one per table, the runner's default when several are present.
    tracks = {getattr(r, "track", None) for r in pool}
    if track is None:
        track = next(iter(tracks)) if len(tracks) == 1 else "aligned"
    pool = [r for r in pool if getattr(r, "track", None) == track]
    if not pool:
        raise TableError(
            f"no full-method results on imported videos for {protocol}/{preset}/{track}"
        )
    videos = sorted({(r.dataset, r.capture) for r in pool})
    present = {r.method for r in pool}
    methods = [m for m in PAPER_METHOD_ORDER if m in present]
    methods += sorted(present - set(methods))
    columns = [("", m) for m in METRIC_ORDER]
    rows: list[Row] = []
    notes: list[str] = []
    for method in methods:
        cells = []
        missing = [
            v for v in videos if not any(r.method == method and (r.dataset, r.capture) == v
                                         for r in pool)
        ]  # fmt: skip
        for m in METRIC_ORDER:
            digits = 2 if m == "psnr" else 3
            if missing:
                cells.append(Cell(missing="missing videos", digits=digits))
                continue
            per_video = []
            for v in videos:
                vals = [
                    r.means[m]
                    for r in pool
                    if r.method == method and (r.dataset, r.capture) == v and m in r.means
                ]
                if vals:
                    per_video.append(statistics.fmean(vals))
            if len(per_video) == len(videos):
                cells.append(Cell(value=statistics.fmean(per_video), digits=digits))
            else:
                cells.append(Cell(missing=f"no {m}", digits=digits))
        label = METHOD_NAMES.get(method, method)
        rows.append(Row(label, cells))
        if missing:
            names = ", ".join(_video_label(*v) for v in missing)
            notes.append(f"{label}: no result on {names}")
        if show_paper and method in PAPER_TABLE_IV:
            rows.append(_paper_row(label, PAPER_TABLE_IV[method], columns))
    if show_paper:
        for method in PAPER_METHOD_ORDER:
            if method in PAPER_TABLE_IV and method not in present:
                label = METHOD_NAMES.get(method, method)
                rows.append(_paper_row(label, PAPER_TABLE_IV[method], columns))
    mark_best(rows, columns)
    notes.insert(
        0,
        f"mean over {len(videos)} imported video(s): "
        + "; ".join(_video_label(*v) for v in videos)
        + ". The paper's videos are other videos: its rows are context, not a target.",
    )
    return Table(
        "IV",
        "comparison on imported videos (paper: online videos)",
        columns,
        rows,
        {
            "dataset": f"{len(videos)} imported video(s)",
            "preset": preset,
            "protocol": protocol,
            "track": track if track is not None else "–",
            "seeds": sorted({r.seed for r in pool}),
        },
        notes,
    )
