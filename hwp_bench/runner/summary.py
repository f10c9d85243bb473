"""What ``hwp-bench run`` prints: per-capture means over seeds, and the split mean."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.metrics.conventions import METRIC_ORDER
from hwp_bench.runner.job import read_json


@dataclass
class RunSummary:
    """What ``hwp-bench run`` prints: per-capture rows and the split mean."""

    outcomes: list[dict[str, Any]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [o for o in self.outcomes if o.get("status") == "failed"]


def summarize(outcomes: Sequence[dict[str, Any]], captures: Sequence[str]) -> RunSummary:
    """Per capture: mean over seeds (and std when there are several) of each metric."""
    summary = RunSummary(outcomes=list(outcomes))
    by_capture: dict[str, list[dict]] = {c: [] for c in captures}
    status: dict[str, list[str]] = {c: [] for c in captures}
    for o in outcomes:
        status.setdefault(o["capture"], []).append(o.get("status", "?"))
        if o.get("status") in ("done", "skipped") and o.get("result"):
            body = read_json(Path(o["result"]))
            if body is not None:
                by_capture.setdefault(o["capture"], []).append(body["means"])
    names = sorted({n for ms in by_capture.values() for m in ms for n in m})
    names = [n for n in METRIC_ORDER if n in names] + [n for n in names if n not in METRIC_ORDER]
    summary.metrics = names
    for capture in captures:
        means = by_capture.get(capture, [])
        row: dict[str, Any] = {"capture": capture, "seeds": len(means)}
        for n in names:
            vals = [m[n] for m in means if n in m]
            row[n] = float(np.mean(vals)) if vals else None
            row[n + "_std"] = float(np.std(vals)) if len(vals) > 1 else None
        bad = [s for s in status.get(capture, []) if s not in ("done", "skipped")]
        row["status"] = ", ".join(sorted(set(bad))) if bad else "ok"
        summary.rows.append(row)
    return summary


def format_table(summary: RunSummary, *, title: str = "") -> str:
    """A plain-text table: one row per capture, then the mean over captures with results."""
    from tabulate import tabulate

    def cell(row, n):
        v = row.get(n)
        if v is None:
            return "-"
        std = row.get(n + "_std")
        return f"{v:.3f} ± {std:.3f}" if std is not None else f"{v:.3f}"

    headers = ["capture", *[n.upper() for n in summary.metrics], "seeds", "status"]
    body = [
        [r["capture"], *[cell(r, n) for n in summary.metrics], r["seeds"], r["status"]]
        for r in summary.rows
    ]
    scored = [r for r in summary.rows if any(r.get(n) is not None for n in summary.metrics)]
    if scored:
        mean_row = {
            n: float(np.mean([r[n] for r in scored if r.get(n) is not None]))
            for n in summary.metrics
        }
        label = (
            "mean"
            if len(scored) == len(summary.rows)
            else (f"mean ({len(scored)}/{len(summary.rows)})")
        )
        body.append([label, *[cell(mean_row, n) for n in summary.metrics], "", ""])
    text = tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)
    return f"{title}\n{text}" if title else text
