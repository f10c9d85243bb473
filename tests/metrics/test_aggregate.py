"""Aggregation: group completeness, seeds, bootstrap CIs, paired comparison."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hwp_bench.results import build_result, write_result
from hwp_bench.results.aggregate import (
    bootstrap_ci,
    capture_table,
    frame_values,
    group_value,
    load_results,
    paired_comparison,
    seed_averaged_captures,
    seed_summary,
)

SINGLE = ["capture00", "capture01", "capture02", "capture03"]


def res(method, capture, seed, psnr_values, protocol="hwp-v1"):
    frames = {i: {"psnr": v, "ssim": 0.9, "lpips": 0.1} for i, v in enumerate(psnr_values)}
    return build_result(
        dataset={"id": "synth", "capture": capture},
        method={"id": method, "preset": "quick"},
        seed=seed,
        protocol=protocol,
        frames=frames,
        predictions_sha256="",
        ground_truth_sha256="",
    )


def test_group_value_needs_every_capture():
    g = group_value({"capture00": 20.0, "capture01": 22.0}, SINGLE)
    assert g.value is None and g.missing == ["capture02", "capture03"]
    assert "missing capture02, capture03" in str(g)
    g = group_value({c: 20.0 + i for i, c in enumerate(SINGLE)}, SINGLE)
    assert g.value == pytest.approx(21.5) and g.complete


def test_capture_mean_weights_captures_not_frames(tmp_path):
    rs = [res("a", "capture00", 0, [10.0] * 10), res("a", "capture01", 0, [20.0] * 2)]
    table = capture_table(rs, "psnr")
    g = group_value(table[("a", "quick", "synth", "hwp-v1", 0)], ["capture00", "capture01"])
    assert g.value == pytest.approx(15.0)  # not (100 + 40) / 12
    for r in rs:
        write_result(tmp_path / f"{r['dataset']['capture']}.json", r)
    (tmp_path / "other.json").write_text("{}")
    assert len(load_results(tmp_path)) == 2


def test_seed_summary():
    rs = [res("a", c, s, [20.0 + s + i]) for s in (0, 1, 2) for i, c in enumerate(SINGLE)]
    rs.append(res("a", "capture00", 3, [50.0]))  # seed 3 incomplete: excluded and reported
    s = seed_summary(rs, "psnr", SINGLE, method="a")
    assert s.per_seed == {0: 21.5, 1: 22.5, 2: 23.5}
    assert s.mean == pytest.approx(22.5) and s.std == pytest.approx(1.0) and s.n_seeds == 3
    assert s.missing == {3: ["capture01", "capture02", "capture03"]}


def _slow_bootstrap(groups, n_boot, seed):
    """Same resampling written as a plain loop (the vectorised version's oracle)."""
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(g), size=(n_boot, len(g))) for g in groups]
    stats = []
    for b in range(n_boot):
        stats.append(
            np.mean([np.mean([g[j] for j in d[b]]) for g, d in zip(groups, draws, strict=True)])
        )
    return np.quantile(stats, [0.025, 0.975])


def test_bootstrap_ci():
    rng = np.random.default_rng(0)
    x = rng.normal(25.0, 2.0, size=400)
    lo, hi = bootstrap_ci(x, n_boot=4000)
    half = 1.96 * 2.0 / np.sqrt(400)
    assert lo < x.mean() < hi
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.15)
    groups = {"capture00": [1.0, 2.0, 3.0], "capture01": [10.0, 11.0]}
    got = bootstrap_ci(groups, n_boot=300, seed=3)
    want = _slow_bootstrap([np.array(v) for v in groups.values()], 300, 3)
    assert got == pytest.approx(tuple(want), abs=1e-12)
    assert bootstrap_ci([5.0, 5.0]) == (5.0, 5.0)


def test_paired_comparison():
    a = {c: 25.0 + i for i, c in enumerate(SINGLE)}
    b = {c: 24.0 + i for i, c in enumerate(SINGLE)}
    b["capture03"] = 30.0
    cmp = paired_comparison(a, b, "psnr")
    assert cmp.per_capture["capture00"] == pytest.approx(1.0)
    assert (cmp.wins_a, cmp.wins_b, cmp.ties) == (3, 1, 0)
    diffs = np.array(list(cmp.per_capture.values()))
    flips = [
        abs(np.mean(np.array(s) * diffs)) >= abs(diffs.mean()) - 1e-12
        for s in itertools.product((-1, 1), repeat=4)
    ]
    assert cmp.p_value == pytest.approx(np.mean(flips))
    lp = paired_comparison({"c": 0.1}, {"c": 0.2}, "lpips")  # lower LPIPS is better
    assert lp.wins_a == 1 and lp.mean_diff == pytest.approx(-0.1)
    part = paired_comparison({"c1": 1.0, "c2": 2.0}, {"c1": 0.0}, "psnr")
    assert part.missing == ["c2"] and list(part.per_capture) == ["c1"]


def test_seed_averaged_and_frame_values():
    rs = [res("a", "capture00", 0, [20.0, 22.0]), res("a", "capture00", 1, [24.0, 26.0])]
    assert seed_averaged_captures(rs, "psnr", method="a") == {"capture00": 23.0}
    assert frame_values(rs[0], "psnr") == [20.0, 22.0]
