"""Per-capture table of chosen method variants beside the floor and the ceiling.

    .venv/bin/python scripts/variant_table.py --results runs/paper runs/aligned-train \\
        --column wildghand --column wildghand:train_poses=aligned \\
        --column intergaussianhand --column intergaussianhand:train_poses=aligned

The paper's tables show each method's full variant only (``hwp-bench results table``); an
investigation compares variants of one method (``--set`` options, recorded in every result file
as its variant label, e.g. ``train_poses=aligned``) across several results folders. A column is
``METHOD`` (the full variant) or ``METHOD:VARIANT``; the floor (``mean-color``) and the ceiling
(``perfect-avatar``) come first and last, so every number reads between the two. Cells are the
metric's mean over each capture's test clip, averaged over ``--seeds``; ``-`` marks a capture a
column has no result for, and the mean row averages only columns complete on every capture
listed (else it says how many captures it has).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL, DEFAULT_TRACK
from hwp_bench.results.collect import ResultRecord, collect_results

FLOOR, CEILING = "mean-color", "perfect-avatar"


def parse_column(text: str) -> tuple[str, str]:
    """``METHOD`` or ``METHOD:VARIANT`` -> (method, variant)."""
    method, _, variant = text.partition(":")
    if not method:
        raise ValueError(f"a column is METHOD or METHOD:VARIANT, got {text!r}")
    return method, variant or "full"


def cell_values(
    records: list[ResultRecord], metric: str, seeds: set[int] | None
) -> dict[tuple[str, str], dict[str, float]]:
    """(method, variant) -> capture -> the metric averaged over the selected seeds."""
    acc: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if metric in r.means and (seeds is None or r.seed in seeds):
            acc[(r.method, r.variant)][r.capture].append(r.means[metric])
    return {k: {c: sum(v) / len(v) for c, v in caps.items()} for k, caps in acc.items()}


def render(
    columns: list[tuple[str, str]],
    values: dict[tuple[str, str], dict[str, float]],
    captures: list[str],
    metric: str,
) -> str:
    """The markdown table: one row per capture, then the mean of the complete columns (PSNR
    to 0.01 dB; SSIM and LPIPS, which live in [0, 1], to 0.001)."""
    digits = 2 if metric == "psnr" else 3
    labels = [m if v == "full" else f"{m} ({v})" for m, v in columns]
    head = f"| capture | {' | '.join(labels)} |"
    rule = "|---|" + "---:|" * len(columns)
    rows = [head, rule]
    for cap in captures:
        cells = [values.get(col, {}).get(cap) for col in columns]
        rows.append(
            f"| {cap} | "
            + " | ".join("-" if x is None else f"{x:.{digits}f}" for x in cells)
            + " |"
        )
    means = []
    for col in columns:
        have = [values.get(col, {}).get(c) for c in captures]
        have = [x for x in have if x is not None]
        if len(have) == len(captures):
            means.append(f"**{sum(have) / len(have):.{digits}f}**")
        else:
            means.append(f"({len(have)} of {len(captures)})")
    rows.append(f"| **mean** ({metric}) | " + " | ".join(means) + " |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", nargs="+", default=["runs"], help="result files or folders")
    ap.add_argument("--column", action="append", default=[], help="METHOD or METHOD:VARIANT")
    ap.add_argument("--metric", default="psnr")
    ap.add_argument("--protocol", default=DEFAULT_PROTOCOL)
    ap.add_argument("--track", default=DEFAULT_TRACK, help="test-pose track")
    ap.add_argument("--dataset", default="", help="dataset id (default: any but clean twins)")
    ap.add_argument("--seeds", default="0", help="comma-separated; the cells average them")
    ap.add_argument("--no-bounds", action="store_true", help="leave out the floor and ceiling")
    args = ap.parse_args(argv)
    if not args.column:
        ap.error("name at least one --column METHOD[:VARIANT]")
    try:
        columns = [parse_column(c) for c in args.column]
    except ValueError as exc:
        ap.error(str(exc))
    if not args.no_bounds:
        columns = [(FLOOR, "full"), *columns, (CEILING, "full")]
    seeds = {int(s) for s in args.seeds.split(",") if s.strip()} or None
    records = [
        r
        for r in collect_results([Path(p) for p in args.results]).raise_for_invalid()
        if r.protocol == args.protocol
        and r.track == args.track
        and (r.dataset == args.dataset if args.dataset else not r.clean)
    ]
    if not records:
        print(f"no results for {args.protocol} on the {args.track} track", file=sys.stderr)
        return 2
    values = cell_values(records, args.metric, seeds)
    missing = [c for c in columns if c not in values]
    if missing:
        found = sorted({f"{m}:{v}" for m, v in values})
        wanted = ", ".join(f"{m}:{v}" for m, v in missing)
        print(f"no results for {wanted}; found: {', '.join(found)}", file=sys.stderr)
        return 2
    captures = sorted({cap for col in columns for cap in values[col]})
    sys.stdout.write(render(columns, values, captures, args.metric))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
