"""From result files to table cells: capture means, group values, seeds, CIs, paired tests.

The rules (docs/design.md, section 'Results and tables'), and why:

* **Capture value** = the protocol's capture mean of the per-frame values (``wildghand-paper``
  rounds it to 3 decimals, as the authors' evaluator did). Captures, not frames, are the unit:
  a long capture must not outweigh a short one.
* **Group value** (``single``, ``inter``, ``all``, a tag) = mean of the capture values, and only
  when *every* capture of the group is present. A mean over whatever happened to finish is a
  different number under the same name; instead :class:`GroupValue` says which are missing.
* **Seeds**: the group value per seed, then mean +- sample std (ddof 1) across seeds.
* **Bootstrap 95% CI over frames**: frames resampled with replacement *within* each capture
  (stratified), capture means recomputed, then averaged like the group value; percentile
  interval. It shows how much the number depends on which test frames were drawn.
* **Paired comparison** of two methods: per-capture differences (same captures, seed-averaged),
  how many captures each wins, and an exact sign-flip permutation p-value (two-sided) of the
  mean difference, which needs no normality assumption with 4-11 captures.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.results.schema import ResultError

__all__ = [
    "GroupValue",
    "PairedComparison",
    "SeedSummary",
    "bootstrap_ci",
    "capture_table",
    "group_value",
    "load_results",
    "paired_comparison",
    "seed_summary",
    "select",
]


def load_results(sources: str | Path | Iterable[str | Path]) -> list[dict[str, Any]]:
    """Read and verify result files from paths and/or folders (``*.json`` recursively, sorted).

    Other JSON files in a folder (manifests, cards) are skipped; a result file that fails
    :func:`~hwp_bench.results.schema.verify_result` raises :class:`ResultError` naming it, so
    no aggregate is ever computed from an edited or damaged file.
    """
    from hwp_bench.results.collect import _check_file

    if isinstance(sources, (str, Path)):
        sources = [sources]
    out = []
    for s in sources:
        p = Path(s)
        files = sorted(p.rglob("*.json")) if p.is_dir() else [p]
        for f in files:
            result, problems = _check_file(f)
            if problems is not None:
                raise ResultError(f"{f}: " + "; ".join(problems[:3]))
            if result is None:
                if not p.is_dir():  # a file named explicitly must be a result
                    raise ResultError(f"{f}: not an hwp-bench result file")
                continue
            out.append(result)
    return out


def _key(res: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "method": res["method"].get("id"),
        "preset": res["method"].get("preset", ""),
        "dataset": res["dataset"].get("id"),
        "protocol": res["protocol"].get("id"),
        "seed": res.get("seed"),
        "capture": res["dataset"].get("capture"),
    }


def select(results: Iterable[Mapping[str, Any]], **where: Any) -> list[Mapping[str, Any]]:
    """Results whose method/preset/dataset/protocol/seed/capture equal the given values."""
    return [r for r in results if all(_key(r)[k] == v for k, v in where.items() if v is not None)]


def capture_table(
    results: Iterable[Mapping[str, Any]], metric: str
) -> dict[tuple[str, str, str, str, int], dict[str, float]]:
    """``{(method, preset, dataset, protocol, seed): {capture: capture value}}``.

    Two files for the same key and capture are an error (which one would the table show?).
    """
    table: dict[tuple, dict[str, float]] = {}
    for r in results:
        k = _key(r)
        row = table.setdefault(
            (k["method"], k["preset"], k["dataset"], k["protocol"], k["seed"]), {}
        )
        if k["capture"] in row:
            raise ResultError(f"two results for {k}")
        if metric not in r["means"]:
            raise ResultError(f"result {k} has no {metric}")
        row[k["capture"]] = float(r["means"][metric])
    return table


@dataclass
class GroupValue:
    """A group's value, or ``None`` with the list of captures that are missing."""

    value: float | None
    per_capture: dict[str, float]
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing

    def __str__(self) -> str:
        if self.value is None:
            return f"incomplete (missing {', '.join(self.missing)})"
        return f"{self.value:.4f}"


def group_value(per_capture: Mapping[str, float], captures: Sequence[str]) -> GroupValue:
    """Mean of the capture values of ``captures``; ``None`` unless every one is present."""
    have = {c: float(per_capture[c]) for c in captures if c in per_capture}
    missing = [c for c in captures if c not in per_capture]
    if missing or not captures:
        return GroupValue(None, have, missing)
    return GroupValue(math.fsum(have.values()) / len(have), have)


@dataclass
class SeedSummary:
    mean: float | None
    std: float | None
    n_seeds: int
    per_seed: dict[int, float]
    missing: dict[int, list[str]]  # seed -> captures missing for that seed

    def __str__(self) -> str:
        if self.mean is None:
            return "incomplete"
        return f"{self.mean:.4f} +- {self.std:.4f} (n={self.n_seeds})"


def seed_summary(
    results: Iterable[Mapping[str, Any]],
    metric: str,
    captures: Sequence[str],
    *,
    method: str,
    preset: str | None = None,
    dataset: str | None = None,
    protocol: str | None = None,
) -> SeedSummary:
    """Group value per seed, then mean +- std (ddof 1; 0 for one seed) over complete seeds."""
    rows = select(results, method=method, preset=preset, dataset=dataset, protocol=protocol)
    if len({(_key(r)["preset"], _key(r)["dataset"], _key(r)["protocol"]) for r in rows}) > 1:
        raise ResultError(
            f"results for {method} mix presets/datasets/protocols: pass preset, dataset, protocol"
        )
    by_seed = {k[4]: v for k, v in capture_table(rows, metric).items()}
    per_seed: dict[int, float] = {}
    missing: dict[int, list[str]] = {}
    for seed, caps in sorted(by_seed.items()):
        g = group_value(caps, captures)
        if g.value is None:
            missing[seed] = g.missing
        else:
            per_seed[seed] = g.value
    if not per_seed:
        return SeedSummary(None, None, 0, {}, missing or {-1: list(captures)})
    vals = np.array(list(per_seed.values()), dtype=np.float64)
    std = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
    return SeedSummary(float(vals.mean()), std, len(vals), per_seed, missing)


def bootstrap_ci(
    frame_values: Mapping[str, Sequence[float]] | Sequence[float],
    *,
    n_boot: int = 10000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of the (capture-stratified) mean of per-frame values.

    ``frame_values``: one capture's per-frame values, or ``{capture: values}`` for a group
    (frames resampled within each capture, capture means averaged).
    """
    groups = (
        [np.asarray(v, np.float64) for v in frame_values.values()]
        if isinstance(frame_values, Mapping)
        else [np.asarray(frame_values, np.float64)]
    )
    if not groups or any(g.size == 0 for g in groups):
        raise ValueError("bootstrap needs at least one value per capture")
    rng = np.random.default_rng(seed)
    stats = np.zeros(n_boot)
    for g in groups:
        idx = rng.integers(0, g.size, size=(n_boot, g.size))
        stats += g[idx].mean(axis=1)
    stats /= len(groups)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def frame_values(result: Mapping[str, Any], metric: str) -> list[float]:
    """Per-frame values of ``metric`` in frame-index order."""
    return [float(result["frames"][k][metric]) for k in sorted(result["frames"], key=int)]


@dataclass
class PairedComparison:
    metric: str
    higher_is_better: bool
    per_capture: dict[str, float]  # a - b
    mean_diff: float
    wins_a: int
    wins_b: int
    ties: int
    p_value: float
    missing: list[str]

    def __str__(self) -> str:
        return (
            f"{self.metric}: mean diff {self.mean_diff:+.4f} over {len(self.per_capture)} "
            f"captures, A better on {self.wins_a}, B on {self.wins_b}, p = {self.p_value:.3g}"
        )


def _sign_flip_p(diffs: np.ndarray, *, max_exact: int = 16, n_mc: int = 20000) -> float:
    """Two-sided p-value of mean(diffs) under random sign flips (exact for small n)."""
    n = diffs.size
    obs = abs(diffs.mean())
    if n <= max_exact:
        signs = np.array(list(itertools.product((-1.0, 1.0), repeat=n)))
    else:
        signs = np.random.default_rng(0).choice((-1.0, 1.0), size=(n_mc, n))
    stats = np.abs((signs * diffs).mean(axis=1))
    return float(np.mean(stats >= obs - 1e-12))


def paired_comparison(
    per_capture_a: Mapping[str, float],
    per_capture_b: Mapping[str, float],
    metric: str,
    *,
    captures: Sequence[str] | None = None,
) -> PairedComparison:
    """Compare two methods capture by capture (values: seed-averaged capture values)."""
    from hwp_bench.metrics.conventions import HIGHER_IS_BETTER

    hib = HIGHER_IS_BETTER.get(metric, True)
    caps = (
        list(captures) if captures is not None else sorted(set(per_capture_a) | set(per_capture_b))
    )
    both = [c for c in caps if c in per_capture_a and c in per_capture_b]
    missing = [c for c in caps if c not in both]
    if not both:
        raise ValueError("the two methods share no capture")
    diffs = np.array([per_capture_a[c] - per_capture_b[c] for c in both], dtype=np.float64)
    better = diffs if hib else -diffs
    return PairedComparison(
        metric=metric,
        higher_is_better=hib,
        per_capture={c: float(d) for c, d in zip(both, diffs, strict=True)},
        mean_diff=float(diffs.mean()),
        wins_a=int((better > 0).sum()),
        wins_b=int((better < 0).sum()),
        ties=int((better == 0).sum()),
        p_value=_sign_flip_p(diffs),
        missing=missing,
    )


def seed_averaged_captures(
    results: Iterable[Mapping[str, Any]], metric: str, **where: Any
) -> dict[str, float]:
    """``{capture: mean over seeds of the capture value}`` for one method (filters ``where``)."""
    acc: dict[str, list[float]] = {}
    for r in select(results, **where):
        acc.setdefault(_key(r)["capture"], []).append(float(r["means"][metric]))
    return {c: float(np.mean(v)) for c, v in sorted(acc.items())}
