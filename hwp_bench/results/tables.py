"""The paper's tables (III, V-X) computed from result files, beside the paper's numbers.

Aggregation rules (the same for every table, so that cells are comparable):

1. a capture's value for one seed is the result file's mean (per-frame values averaged with the
   protocol's capture mean);
2. a capture's value is the mean over the seeds present for it;
3. a group's value (e.g. "inter" = captures 4-10) is the mean of its captures' values, and is
   only given when **every** capture of the group has a result; otherwise the cell is empty and
   a note names the missing captures;
4. for Table X, the value is the mean +- sample standard deviation over seeds of the per-seed
   value of capture 4 (the paper's Table X numbers are those of capture 4 in Table IX).

Each table states its dataset, preset, protocol, test-pose track and seeds, marks the best value
per column in bold (as the paper does; among measured rows only) and can show the paper's values
in a second row per method.

Every quality table also has two reference rows, computed by the same rules from the same
protocol and track (docs/validity.md): the **ceiling**, the perfect avatar (method
``perfect-avatar``, HWP-Synth's own renderer), and the **floor**, the flat colour (method
``mean-color``), so that each number reads between the two. They never take part in the bolding.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hwp_bench.data.tags import TABLE_III_GROUPS, TABLE_IX_CAPTURES, TABLE_V_GROUPS
from hwp_bench.metrics.conventions import (
    DEFAULT_PROTOCOL,
    DEFAULT_TRACK,
    HIGHER_IS_BETTER,
    METRIC_ORDER,
    TRACKS,
)
from hwp_bench.results import paper_numbers as paper
from hwp_bench.results.aggregate import group_value
from hwp_bench.results.collect import ResultRecord

METRIC_LABELS = {
    "psnr": "PSNR↑",
    "ssim": "SSIM↑",
    "lpips": "LPIPS↓",
    "omega_e3": "Avg. T. Wt. ×1e-3",
}
#: The image metrics' directions, plus the temporal weight, which has no better direction.
COLUMN_DIRECTIONS = {**HIGHER_IS_BETTER, "omega_e3": None}
TABLE_IDS = ("III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "oracle", "captures")

#: Display names of methods (paper spelling for the paper's methods).
METHOD_NAMES = {
    "wildghand": "WildGHand",
    "intergaussianhand": "InterGaussianHand",
    "handy": "Handy",
    "uhm": "UHM",
    "robust-trimmed": "Robust (trimmed L1)",
    "appearance-embedding": "Appearance embedding",
    "mean-color": "Mean colour (trivial)",
    "perfect-avatar": "Perfect avatar",
}

#: The reference rows of every quality table: (method id, row label).
CEILING = ("perfect-avatar", "ceiling: perfect avatar")
FLOOR = ("mean-color", "floor: flat colour (mean-color)")
REFERENCE_METHODS = (CEILING[0], FLOOR[0])
PAPER_METHOD_ORDER = ("uhm", "handy", "intergaussianhand", "wildghand")


class TableError(ValueError):
    """The result files cannot make the requested table (with the reason)."""


@dataclass
class Cell:
    value: float | None = None
    std: float | None = None
    missing: str = ""  # why the value is absent
    best: bool = False
    digits: int = 2

    def text(self, bold: Callable[[str], str] = lambda s: s) -> str:
        if self.value is None:
            return "–"
        s = f"{self.value:.{self.digits}f}"
        if self.std is not None:
            s += f" ± {self.std:.{self.digits}f}"
        return bold(s) if self.best else s


@dataclass
class Row:
    label: str
    cells: list[Cell]
    paper: bool = False  # a row of the paper's printed numbers
    reference: str = ""  # "ceiling" or "floor": a reference row (never bold)


@dataclass
class Table:
    id: str
    title: str
    columns: list[tuple[str, str]]  # (group, metric)
    rows: list[Row]
    context: dict[str, Any] = field(default_factory=dict)  # dataset, preset, protocol, seeds
    notes: list[str] = field(default_factory=list)
    row_header: str = "method"

    # -- rendering ---------------------------------------------------------------------------
    def header(self) -> list[str]:
        groups = {g for g, _ in self.columns}
        if len(groups) == 1:
            return [self.row_header] + [METRIC_LABELS.get(m, m) for _, m in self.columns]
        return [self.row_header] + [
            f"{g} {METRIC_LABELS.get(m, m)}".strip() for g, m in self.columns
        ]

    def context_line(self) -> str:
        c = self.context
        seeds = ",".join(str(s) for s in c.get("seeds", [])) or "–"
        return (
            f"dataset {c.get('dataset', '–')}, preset {c.get('preset', '–')}, "
            f"protocol {c.get('protocol', '–')}, test poses {c.get('track', '–')}, seeds {seeds}"
        )

    def _body(self, bold: Callable[[str], str]) -> list[list[str]]:
        return [[r.label] + [c.text(bold) for c in r.cells] for r in self.rows]

    def to_markdown(self) -> str:
        from tabulate import tabulate

        body = tabulate(
            self._body(lambda s: f"**{s}**"),
            headers=self.header(),
            tablefmt="github",
            disable_numparse=True,  # keep "28.00" as printed, not re-formatted as 28
        )
        lines = [f"**Table {self.id}: {self.title}** ({self.context_line()})", "", body]
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        from tabulate import tabulate

        body = tabulate(
            self._body(lambda s: "\\textbf{" + s + "}"),
            headers=self.header(),
            tablefmt="latex_raw",
            disable_numparse=True,
        )
        body = body.replace("±", "$\\pm$").replace("–", "--").replace("↑", "$\\uparrow$")
        body = body.replace("↓", "$\\downarrow$").replace("×", "$\\times$")
        notes = "".join(f"% {n}\n" for n in self.notes)
        return f"% Table {self.id}: {self.title} ({self.context_line()})\n{notes}{body}\n"

    def records(self) -> list[dict[str, Any]]:
        """One dict per cell: the machine-readable form (csv and json)."""
        out = []
        for r in self.rows:
            for (g, m), c in zip(self.columns, r.cells, strict=True):
                out.append(
                    {
                        "table": self.id,
                        "row": r.label,
                        "source": "paper" if r.paper else (r.reference or "measured"),
                        "group": g,
                        "metric": m,
                        "value": c.value,
                        "std": c.std,
                        "best": c.best,
                        "missing": c.missing,
                    }
                )
        return out

    def to_csv(self) -> str:
        import pandas as pd

        return pd.DataFrame(self.records()).to_csv(index=False)

    def to_json(self) -> str:
        doc = {
            "table": self.id,
            "title": self.title,
            "context": self.context,
            "notes": self.notes,
            "cells": self.records(),
        }
        return json.dumps(doc, indent=2, sort_keys=True)

    def render(self, fmt: str) -> str:
        renderers = {
            "markdown": self.to_markdown,
            "latex": self.to_latex,
            "csv": self.to_csv,
            "json": self.to_json,
        }
        if fmt not in renderers:
            raise TableError(f"unknown format {fmt!r}: choose one of {', '.join(renderers)}")
        return renderers[fmt]()


# -- selecting and aggregating records ----------------------------------------------------------


def _only(values: set[str], what: str, requested: str | None, default: str | None = None) -> str:
    """The one value of ``what`` the table is about: the requested one, the only one present,
    or the toolkit's default when files mix several and it is among them."""
    if requested is not None:
        return requested
    if len(values) == 1:
        return next(iter(values))
    if default is not None and default in values:
        return default
    if not values:
        raise TableError(f"no result files to make a table from (no {what})")
    raise TableError(
        f"result files mix several {what}s ({', '.join(sorted(values))}): choose one with --{what}"
    )


def only_seeds(records: Sequence[ResultRecord], seeds: Sequence[int] | None) -> list:
    """The records of ``seeds`` (all when None). A table averages the seeds it is given
    (rule 2); this is how one asks for one seed's table, or for the seeds every method ran."""
    if seeds is None:
        return list(records)
    wanted = {int(s) for s in seeds}
    kept = [r for r in records if r.seed in wanted]
    if records and not kept:
        have = ", ".join(str(s) for s in sorted({r.seed for r in records}))
        raise TableError(f"no result files for seeds {sorted(wanted)} (the files have: {have})")
    return kept


@dataclass
class Selection:
    """The records a table is computed from: one protocol, one preset, one dataset."""

    records: list[ResultRecord]
    clean: list[ResultRecord]  # the same, trained on the clean twin (oracle)
    protocol: str
    preset: str
    dataset: str
    track: str = "estimated"

    @classmethod
    def make(
        cls,
        records: Sequence[ResultRecord],
        *,
        protocol: str | None = None,
        preset: str | None = None,
        dataset: str | None = None,
        track: str | None = None,
    ) -> Selection:
        if track is not None and track not in TRACKS:
            raise TableError(
                f"unknown test-pose track {track!r}: choose one of {', '.join(TRACKS)}"
            )
        protocol = _only({r.protocol for r in records}, "protocol", protocol, DEFAULT_PROTOCOL)
        pool = [r for r in records if r.protocol == protocol]
        track = _only({r.track for r in pool}, "test-poses", track, DEFAULT_TRACK)
        pool = [r for r in pool if r.track == track]
        preset = _only({r.preset for r in pool}, "preset", preset)
        pool = [r for r in pool if r.preset == preset]
        dataset = _only({r.dataset for r in pool if not r.clean}, "dataset", dataset)
        main = [r for r in pool if r.dataset == dataset]
        clean = [r for r in pool if r.dataset == f"{dataset}-clean"]
        if not main:
            raise TableError(
                f"no results for protocol {protocol}, test poses {track}, preset {preset}, "
                f"dataset {dataset}"
            )
        return cls(main, clean, protocol, preset, dataset, track)

    def context(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "preset": self.preset,
            "protocol": self.protocol,
            "track": self.track,
            "seeds": sorted({r.seed for r in self.records}),
        }

    def methods(self) -> list[str]:
        """Methods with results, paper order first; the ceiling and floor are rows of their own."""
        present = {r.method for r in self.records} - set(REFERENCE_METHODS)
        order = [m for m in PAPER_METHOD_ORDER if m in present]
        return order + sorted(present - set(order))


def capture_values(
    records: Sequence[ResultRecord], method: str, variant: str, metric: str
) -> dict[str, list[float]]:
    """Per capture, the values of ``metric`` over seeds for one method variant."""
    out: dict[str, list[float]] = {}
    for r in sorted(records, key=lambda r: (r.capture, r.seed)):
        if r.method == method and r.variant == variant and metric in r.means:
            out.setdefault(r.capture, []).append(r.means[metric])
    return out


def group_cell(
    records: Sequence[ResultRecord],
    method: str,
    variant: str,
    captures: Sequence[str],
    metric: str,
) -> Cell:
    """Mean over ``captures`` of the seed-averaged capture values, only if none is missing."""
    seeds = capture_values(records, method, variant, metric)
    group = group_value({c: statistics.fmean(v) for c, v in seeds.items()}, captures)
    digits = 2 if metric == "psnr" else 3
    if not group.complete:
        return Cell(missing=f"missing captures: {', '.join(group.missing)}", digits=digits)
    return Cell(value=group.value, digits=digits)


def mark_best(rows: list[Row], columns: list[tuple[str, str]]) -> None:
    """Bold the best measured value per column (ties all bold); paper rows do not compete."""
    for j, (_, metric) in enumerate(columns):
        higher = COLUMN_DIRECTIONS.get(metric)
        if higher is None:
            continue
        vals = [
            r.cells[j].value
            for r in rows
            if not r.paper and not r.reference and r.cells[j].value is not None
        ]
        if len(vals) < 2:
            continue
        best = max(vals) if higher else min(vals)
        for r in rows:
            c = r.cells[j]
            if not r.paper and not r.reference and c.value is not None:
                c.best = math.isclose(c.value, best, rel_tol=0, abs_tol=1e-12)


def _paper_row(label: str, values: dict[str, float] | None, columns, group_key=None) -> Row:
    cells = []
    for g, m in columns:
        src = values.get(g) if group_key else values
        v = None if not src else src.get(m)
        cells.append(
            Cell(value=v, digits=2 if m == "psnr" else 3, missing="" if v else "not in paper")
        )
    return Row(f"{label} (paper)", cells, paper=True)


def reference_rows(sel: Selection, cells_of: Callable[[str], list[Cell]]) -> list[Row]:
    """The ceiling and floor rows: ``cells_of(method_id)`` computes a row's cells from that
    method's records exactly as the table computes a method's (same protocol and track)."""
    rows = []
    for kind, (method, label) in (("ceiling", CEILING), ("floor", FLOOR)):
        cells = cells_of(method)
        if not any(r.method == method for r in sel.records):
            for c in cells:
                c.value, c.std = None, None
                c.missing = (
                    f"no {method} results for this protocol and track: hwp-bench run --method "
                    f"{method} --split all --protocol {sel.protocol} --test-poses {sel.track}"
                )
        rows.append(Row(label, cells, reference=kind))
    return rows


def _notes_for(rows: list[Row], columns) -> list[str]:
    notes = []
    for r in rows:
        reasons = sorted(
            {c.missing for c in r.cells if c.value is None and c.missing and not r.paper}
        )
        for why in reasons:
            notes.append(f"{r.label}: {why}")
    return notes


def _method_rows(
    sel: Selection,
    methods: Sequence[tuple[str, str, str]],
    groups: dict[str, Sequence[str]],
    paper_values: Callable[[str, str], dict | None] | None,
    show_paper: bool,
    unavailable: dict[str, str],
) -> tuple[list[Row], list[tuple[str, str]]]:
    columns = [(g, m) for g in groups for m in METRIC_ORDER]
    rows: list[Row] = []
    for method, variant, label in methods:
        if method in unavailable and not any(r.method == method for r in sel.records):
            cells = [Cell(missing=f"unavailable: {unavailable[method]}") for _ in columns]
        else:
            cells = [group_cell(sel.records, method, variant, groups[g], m) for g, m in columns]
        rows.append(Row(label, cells))
        if show_paper and paper_values is not None:
            pv = paper_values(method, variant)
            if pv is not None:
                rows.append(_paper_row(label, pv, columns, group_key=True))
    mark_best(rows, columns)
    rows += reference_rows(
        sel, lambda m: [group_cell(sel.records, m, "full", groups[g], k) for g, k in columns]
    )
    return rows, columns


def unavailable_methods() -> dict[str, str]:
    """Registered methods that cannot run here, with the reason (e.g. UHM without its assets)."""
    try:
        from hwp_bench.methods.registry import list_methods

        return {s.id: s.reason for s in list_methods() if not s.available}
    except Exception:  # the registry is optional for tables made from files
        return {}


# -- the tables -----------------------------------------------------------------------------------


def table_iii(sel: Selection, *, show_paper: bool, unavailable: dict[str, str]) -> Table:
    present = sel.methods()
    methods = [m for m in PAPER_METHOD_ORDER if m in present or m in unavailable]
    methods += [m for m in present if m not in methods]
    spec = [(m, "full", METHOD_NAMES.get(m, m)) for m in methods]
    rows, columns = _method_rows(
        sel,
        spec,
        TABLE_III_GROUPS,
        lambda m, v: paper.TABLE_III.get(m),
        show_paper,
        unavailable,
    )
    return Table(
        "III",
        "comparison with the state of the art (single = captures 0, 2; inter = captures 4-10)",
        columns,
        rows,
        sel.context(),
        _notes_for(rows, columns),
    )


def table_v(sel: Selection, *, show_paper: bool, unavailable: dict[str, str]) -> Table:
    methods = [m for m in ("handy", "intergaussianhand", "wildghand") if m in sel.methods()]
    methods += [m for m in sel.methods() if m not in methods and m != "uhm"]
    spec = [(m, "full", METHOD_NAMES.get(m, m)) for m in methods]
    rows, columns = _method_rows(
        sel, spec, TABLE_V_GROUPS, lambda m, v: paper.TABLE_V.get(m), show_paper, unavailable
    )
    return Table(
        "V",
        "interacting hands by perturbation (HOI, complex poses, illumination, blur)",
        columns,
        rows,
        sel.context(),
        _notes_for(rows, columns),
    )


def _ablation(
    sel: Selection,
    table_id: str,
    title: str,
    variants: Sequence[tuple[str, str, dict | None]],
    show_paper: bool,
) -> Table:
    spec = [("wildghand", v, label) for v, label, _ in variants]
    paper_of = {v: pv for v, _, pv in variants}
    groups = {"single": TABLE_III_GROUPS["single"], "inter": TABLE_III_GROUPS["inter"]}

    def pv(method: str, variant: str):
        value = paper_of.get(variant)
        if value is None:
            return None
        # Tables VII and VIII print one value set without a split: show it under both.
        return value if "single" in value else {"single": value, "inter": value}

    rows, columns = _method_rows(sel, spec, groups, pv, show_paper, {})
    return Table(table_id, title, columns, rows, sel.context(), _notes_for(rows, columns))


def table_vi(sel: Selection, *, show_paper: bool, **_: Any) -> Table:
    variants = [
        ("dpd=off,pao=off", "baseline (no DPD, no PAO)", paper.TABLE_VI[(False, False)]),
        ("dpd=off", "+ PAO", paper.TABLE_VI[(False, True)]),
        ("pao=off", "+ DPD (not in paper)", None),
        ("full", "+ DPD + PAO (WildGHand)", paper.TABLE_VI[(True, True)]),
    ]
    return _ablation(sel, "VI", "ablation of DPD and PAO", variants, show_paper)


def table_vii(sel: Selection, *, show_paper: bool, **_: Any) -> Table:
    variants = [
        ("full", "WildGHand (PAO)", paper.TABLE_VII["full"]),
        ("pao=binary", "WildGHand w/ binary mask", paper.TABLE_VII["binary"]),
    ]
    return _ablation(sel, "VII", "PAO vs binary region mask", variants, show_paper)


def table_viii(sel: Selection, *, show_paper: bool, **_: Any) -> Table:
    variants = [
        ("full", "WildGHand", paper.TABLE_VIII["full"]),
        (
            "head_offsets=off,head_refine=off",
            "w/o heads (iii) & (iv)",
            paper.TABLE_VIII["no_heads_iii_iv"],
        ),
    ]
    return _ablation(
        sel, "VIII", "ablation of prediction heads (iii) and (iv)", variants, show_paper
    )


def omega_of(record: ResultRecord) -> float | None:
    """Average temporal weight |omega| over training frames, as recorded by the runner."""
    diag = record.extra.get("diagnostics") or {}
    if not isinstance(diag, dict):
        return None

    def num(v) -> bool:  # noqa: ANN001 - extras are free-form JSON: only finite numbers count
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    if num(diag.get("omega_mean_abs")):
        return float(diag["omega_mean_abs"])
    omega = diag.get("omega")
    if isinstance(omega, dict) and omega and all(num(v) for v in omega.values()):
        return statistics.fmean(abs(float(v)) for v in omega.values())
    return None


def table_ix(sel: Selection, *, show_paper: bool, **_: Any) -> Table:
    columns = [("", m) for m in (*METRIC_ORDER, "omega_e3")]
    rows: list[Row] = []
    for level, capture in TABLE_IX_CAPTURES.items():
        cells = [group_cell(sel.records, "wildghand", "full", [capture], m) for m in METRIC_ORDER]
        omegas = [
            omega_of(r)
            for r in sel.records
            if r.method == "wildghand" and r.variant == "full" and r.capture == capture
        ]
        omegas = [o for o in omegas if o is not None]
        if omegas:
            cells.append(Cell(value=1e3 * statistics.fmean(omegas), digits=3))
        else:
            cells.append(Cell(missing=f"{capture}: no temporal weights recorded", digits=3))
        label = f"{int(capture[-2:])} ({level})"
        rows.append(Row(label, cells))
        if show_paper:
            p = paper.TABLE_IX[int(capture[-2:])]
            rows.append(_paper_row(label, p, columns))
        for ref in reference_rows(
            sel,
            lambda meth, cap=capture: (
                [group_cell(sel.records, meth, "full", [cap], m) for m in METRIC_ORDER]
                + [Cell(digits=3)]
            ),
        ):
            ref.label = f"{label}: {ref.label}"
            rows.append(ref)
    table = Table(
        "IX",
        "average temporal weight vs perturbation level (WildGHand)",
        columns,
        rows,
        sel.context(),
        _notes_for(rows, columns),
        row_header="capture",
    )
    return table


def table_x(sel: Selection, *, show_paper: bool, capture: str = "capture04", **_: Any) -> Table:
    columns = [("", m) for m in METRIC_ORDER]
    rows: list[Row] = []
    for method in ("intergaussianhand", "wildghand"):
        cells = []
        for m in METRIC_ORDER:
            vals = [
                r.means[m]
                for r in sorted(sel.records, key=lambda r: r.seed)
                if r.method == method
                and r.variant == "full"
                and r.capture == capture
                and m in r.means
            ]
            digits = 4
            if len(vals) >= 2:
                cells.append(Cell(statistics.fmean(vals), statistics.stdev(vals), digits=digits))
            else:
                cells.append(
                    Cell(missing=f"{capture}: {len(vals)} seed(s), need at least 2", digits=digits)
                )
        rows.append(Row(METHOD_NAMES[method], cells))
        if show_paper:
            pv = paper.TABLE_X[method]
            rows.append(
                Row(
                    f"{METHOD_NAMES[method]} (paper)",
                    [Cell(pv[m][0], pv[m][1], digits=4) for m in METRIC_ORDER],
                    paper=True,
                )
            )
    mark_best(rows, columns)

    def seed_cells(method: str) -> list[Cell]:
        out = []
        for m in METRIC_ORDER:
            vals = [
                r.means[m]
                for r in sel.records
                if r.method == method and r.capture == capture and m in r.means
            ]
            std = statistics.stdev(vals) if len(vals) >= 2 else None
            out.append(Cell(statistics.fmean(vals) if vals else None, std, digits=4))
        return out

    rows += reference_rows(sel, seed_cells)
    return Table(
        "X",
        f"mean ± std over seeds ({capture})",
        columns,
        rows,
        sel.context(),
        _notes_for(rows, columns),
    )


#: How much better than plain fitting the clean-twin oracle must be for the share of that gap a
#: method closes to mean anything (a quarter of a typical seed-to-seed spread is no gap).
ORACLE_MIN_GAIN: dict[str, float] = {"psnr": 0.5, "ssim": 0.002, "lpips": 0.002}


def _oracle_gain(metric: str, oracle: float, base: float) -> float:
    """How much better the oracle is than plain fitting, in the metric's good direction."""
    return base - oracle if metric == "lpips" else oracle - base


def table_oracle(sel: Selection, *, metric: str = "psnr", **_: Any) -> Table:
    """Beyond the paper: how much of the gap to the clean-twin oracle each method closes.

    Per capture: the ablated WildGHand (no DPD, no PAO: plain fitting), the full method, every
    other method present, and the oracle (full WildGHand trained on the capture's clean twin,
    scored on the same clean test clip). Gap closed = (method - ablated) / (oracle - ablated),
    in percent, on seed-averaged capture values; the last rows give the mean and the median
    over captures.

    The ratio is only defined where the oracle is better than plain fitting by a clear margin
    (``ORACLE_MIN_GAIN``): where the clean-twin fit is no better than fitting the perturbed
    capture, there is no gap to close, and a ratio over a denominator near zero (or of the
    wrong sign) would swamp the mean with thousands of percent.
    """
    captures = sorted({r.capture for r in sel.records})
    margin = ORACLE_MIN_GAIN.get(metric, 0.0)

    def no_gap(cap: str) -> str:
        return f"{cap}: the oracle is not better than plain fitting by {margin:g} {metric.upper()}"

    methods = [("wildghand", "full", "WildGHand")] + [
        (m, "full", METHOD_NAMES.get(m, m)) for m in sel.methods() if m != "wildghand"
    ]

    def value(records, method, variant, cap):
        vals = capture_values(records, method, variant, metric).get(cap)
        return statistics.fmean(vals) if vals else None

    columns = [("", "ablated"), ("", "oracle"), ("", "ceiling"), ("", "floor")]
    columns += [(label, "closed %") for _, _, label in methods]
    rows: list[Row] = []
    closed_all: list[list[float]] = [[] for _ in methods]
    for cap in captures:
        base = value(sel.records, "wildghand", "dpd=off,pao=off", cap)
        oracle = value(sel.clean, "wildghand", "full", cap)
        cells = [
            Cell(base, digits=2, missing="no ablated run"),
            Cell(oracle, digits=2, missing="no oracle run"),
        ]
        for ref, _label in (CEILING, FLOOR):
            cells.append(Cell(value(sel.records, ref, "full", cap), digits=2))
        for k, (m, v, _label) in enumerate(methods):
            got = value(sel.records, m, v, cap)
            if None in (base, oracle, got):
                cells.append(Cell(missing=f"{cap}: needs ablated, oracle and {m}", digits=0))
                continue
            if _oracle_gain(metric, oracle, base) < ORACLE_MIN_GAIN.get(metric, 0.0):
                cells.append(Cell(missing=no_gap(cap), digits=0))
                continue
            pct = 100.0 * (got - base) / (oracle - base)
            closed_all[k].append(pct)
            cells.append(Cell(pct, digits=0))
        rows.append(Row(cap, cells))
    mean_cells = [Cell(), Cell(), Cell(), Cell()] + [
        Cell(statistics.fmean(c), digits=0) if c else Cell(digits=0) for c in closed_all
    ]
    rows.append(Row("mean over captures", mean_cells))
    median_cells = [Cell(), Cell(), Cell(), Cell()] + [
        Cell(statistics.median(c), digits=0) if c else Cell(digits=0) for c in closed_all
    ]
    rows.append(Row("median over captures", median_cells))
    notes = [
        f"{metric.upper()} of the ablated WildGHand (dpd=off, pao=off) and of the oracle (WildGHand on the clean twin); "
        "'closed %' = (method - ablated) / (oracle - ablated); 100 % reaches the oracle, below 0 is worse than plain fitting; "
        f"defined only where the oracle beats plain fitting by at least {margin:g} (else there is no gap to close).",
        f"ceiling: the perfect avatar ({CEILING[0]}), floor: the flat colour ({FLOOR[0]}), "
        "same protocol and test poses; every value of a capture reads between the two.",
    ]
    return Table(
        "oracle",
        f"gap to the clean-twin oracle closed ({metric.upper()})",
        columns,
        rows,
        sel.context(),
        notes,
        row_header="capture",
    )


def table_captures(sel: Selection, *, metric: str = "psnr", **_: Any) -> Table:
    """Beyond the paper: every method per capture between its floor and its ceiling.

    Per capture (seed-averaged): the flat-colour floor, each method's full variant, the perfect
    avatar's ceiling, then for each method how far it is above the floor and below the
    ceiling. A method's number only says something next to these two: a capture whose floor
    is high (a large, evenly lit hand) or whose ceiling is low (test poses the track cannot
    place) moves every method with it.
    """
    captures = sorted({r.capture for r in sel.records})
    refs = {CEILING[0], FLOOR[0]}
    methods = [(m, METHOD_NAMES.get(m, m)) for m in sel.methods() if m not in refs]

    def value(method, cap):
        vals = capture_values(sel.records, method, "full", metric).get(cap)
        return statistics.fmean(vals) if vals else None

    digits = 2 if metric == "psnr" else 3
    columns = [("", "floor")] + [(label, metric) for _, label in methods] + [("", "ceiling")]
    columns += [(label, "above floor") for _, label in methods]
    columns += [(label, "below ceiling") for _, label in methods]
    rows: list[Row] = []
    sums: list[list[float]] = [[] for _ in columns]
    for cap in captures:
        floor, ceiling = value(FLOOR[0], cap), value(CEILING[0], cap)
        got = [value(m, cap) for m, _ in methods]
        vals = [floor, *got, ceiling]
        vals += [None if g is None or floor is None else g - floor for g in got]
        vals += [None if g is None or ceiling is None else ceiling - g for g in got]
        for k, v in enumerate(vals):
            if v is not None:
                sums[k].append(v)
        rows.append(Row(cap, [Cell(v, digits=digits) for v in vals]))
    rows.append(
        Row(
            "mean over captures",
            [
                Cell(statistics.fmean(v) if len(v) == len(captures) else None, digits=digits)
                for v in sums
            ],
        )
    )
    notes = [
        f"{metric.upper()} per capture; floor: the flat colour ({FLOOR[0]}), ceiling: the perfect "
        f"avatar ({CEILING[0]}), same protocol and test poses. 'above floor' = method - floor, "
        "'below ceiling' = ceiling - method; a mean is given only when every capture has a value.",
    ]
    missing = [m for m in (FLOOR[0], CEILING[0]) if not any(r.method == m for r in sel.records)]
    for m in missing:
        notes.append(
            f"no {m} results: hwp-bench run --method {m} --split all --protocol {sel.protocol} "
            f"--test-poses {sel.track}"
        )
    return Table(
        "captures",
        f"every method per capture, between floor and ceiling ({metric.upper()})",
        columns,
        rows,
        sel.context(),
        notes,
        row_header="capture",
    )


_BUILDERS: dict[str, Callable[..., Table]] = {
    "III": table_iii,
    "V": table_v,
    "VI": table_vi,
    "VII": table_vii,
    "VIII": table_viii,
    "IX": table_ix,
    "X": table_x,
    "ORACLE": table_oracle,
    "CAPTURES": table_captures,
}


def make_table(
    table_id: str,
    records: Sequence[ResultRecord],
    *,
    protocol: str | None = None,
    preset: str | None = None,
    dataset: str | None = None,
    track: str | None = None,
    show_paper: bool = True,
    unavailable: dict[str, str] | None = None,
) -> Table:
    """Build paper table ``table_id`` (III, V, VI, VII, VIII, IX, X) or one of ours (``oracle``,
    ``captures``) from records."""
    key = str(table_id).upper()
    if key == "IV":  # over any set of imported videos, not one dataset: results/table_iv.py
        from hwp_bench.results.table_iv import table_iv

        return table_iv(
            records, protocol=protocol, preset=preset, dataset=dataset, show_paper=show_paper
        )
    if key not in _BUILDERS:
        raise TableError(f"unknown table {table_id!r}: choose one of {', '.join(TABLE_IDS)}")
    sel = Selection.make(records, protocol=protocol, preset=preset, dataset=dataset, track=track)
    unavailable = unavailable_methods() if unavailable is None else unavailable
    return _BUILDERS[key](sel, show_paper=show_paper, unavailable=unavailable)
