"""Every quality table reads between a ceiling (perfect avatar) and a floor (flat colour), and
names its protocol and test-pose track."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.results import build_result, write_result
from hwp_bench.results.collect import collect
from hwp_bench.results.tables import TableError, make_table

SINGLE = ["capture00", "capture02"]
INTER = [f"capture{i:02d}" for i in range(4, 11)]
WGH = {"dpd": True, "pao": "full", "head_offsets": True, "head_refine": True}


def _write(root, method, capture, seed, psnr, *, track="aligned", protocol="hwp-v2", config=None):
    res = build_result(
        dataset={
            "id": "hwp-synth-quick-s0",
            "revision": "t",
            "config": capture,
            "capture": capture,
            "split": "test",
            "test_poses": track,
        },
        method={"id": method, "version": "0", "preset": "quick", "config": dict(config or {})},
        seed=seed,
        protocol=protocol,
        frames={0: {"psnr": psnr, "ssim": 0.9, "lpips": 0.1}},
        predictions_sha256="p" * 64,
        ground_truth_sha256="g" * 64,
        extra={"diagnostics": {"omega_mean_abs": 0.001}},
    )
    cfg = "-".join(f"{k}{v}" for k, v in sorted((config or {}).items()))
    write_result(root / f"{method}-{cfg}-{capture}-{seed}-{protocol}-{track}.json", res)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("results")
    for cap in SINGLE + INTER:
        n = int(cap[-2:])
        for seed in (0, 1):
            _write(tmp_path, "wildghand", cap, seed, 25 + n / 10, config=WGH)
            _write(tmp_path, "intergaussianhand", cap, seed, 24 + n / 10)
        _write(tmp_path, "handy", cap, 0, 23 + n / 10)
        _write(tmp_path, "perfect-avatar", cap, 0, 44.0)
        _write(tmp_path, "mean-color", cap, 0, 18.0)
        # the same methods on another track: must not leak into the aligned table
        _write(tmp_path, "wildghand", cap, 0, 15.0, track="estimated", config=WGH)
        _write(tmp_path, "perfect-avatar", cap, 0, 14.0, track="estimated")
    return tmp_path


@pytest.fixture(scope="module")
def results(folder):
    return collect([folder])[0]


def _row(table, label):
    (row,) = [r for r in table.rows if r.label == label]
    return row


def test_table_iii_has_the_ceiling_and_floor_rows_never_bold(results):
    t = make_table("III", results, unavailable={}, show_paper=False)
    labels = [r.label for r in t.rows]
    assert labels[-2:] == ["ceiling: perfect avatar", "floor: flat colour (mean-color)"]
    assert "Mean colour (trivial)" not in labels and "Perfect avatar" not in labels
    ceiling, floor = _row(t, labels[-2]), _row(t, labels[-1])
    assert ceiling.cells[0].value == pytest.approx(44.0) and floor.cells[0].value == 18.0
    assert not any(c.best for c in ceiling.cells + floor.cells)
    assert _row(t, "WildGHand").cells[0].best  # the best method, below the ceiling
    md = t.to_markdown()
    assert "protocol hwp-v2, test poses aligned" in md.splitlines()[0]
    assert {r["source"] for r in t.records()} == {"measured", "ceiling", "floor"}


def test_the_track_selects_the_records_and_defaults_to_aligned(results):
    aligned = make_table("III", results, unavailable={}, show_paper=False)
    est = make_table("III", results, track="estimated", unavailable={}, show_paper=False)
    assert aligned.context["track"] == "aligned" and est.context["track"] == "estimated"
    assert _row(est, "ceiling: perfect avatar").cells[0].value == pytest.approx(14.0)
    # no mean-color on that track: the floor row says how to get it
    floor = _row(est, "floor: flat colour (mean-color)")
    assert floor.cells[0].value is None
    assert "--method mean-color" in floor.cells[0].missing
    assert any("--test-poses estimated" in n for n in est.notes)
    with pytest.raises(TableError, match="unknown test-pose track"):
        make_table("III", results, track="guessed", unavailable={})


def test_tables_v_vi_ix_x_and_oracle_carry_the_reference(results):
    for tid in ("V", "VI"):
        labels = [r.label for r in make_table(tid, results, unavailable={}).rows]
        assert "ceiling: perfect avatar" in labels and "floor: flat colour (mean-color)" in labels
    ix = make_table("IX", results, unavailable={}, show_paper=False)
    assert [r.label for r in ix.rows] == [
        f"{c} ({lvl}){suffix}"
        for c, lvl in ((4, "low"), (5, "medium"), (6, "high"))
        for suffix in ("", ": ceiling: perfect avatar", ": floor: flat colour (mean-color)")
    ]
    x = make_table("X", results, unavailable={}, show_paper=False)
    assert _row(x, "ceiling: perfect avatar").cells[0].value == pytest.approx(44.0)
    oracle = make_table("oracle", results, unavailable={})
    cols = [m for _, m in oracle.columns]
    assert cols[:4] == ["ablated", "oracle", "ceiling", "floor"]
    c04 = _row(oracle, "capture04")
    assert c04.cells[2].value == pytest.approx(44.0) and c04.cells[3].value == 18.0


def test_results_table_cli_renders_the_reference_rows(folder):
    res = CliRunner().invoke(
        app, ["results", "table", "--table", "III", "-r", str(folder), "--no-paper"]
    )
    assert res.exit_code == 0, res.output
    assert "| ceiling: perfect avatar" in res.output and "| floor: flat colour" in res.output
    assert "test poses aligned" in res.output
    res = CliRunner().invoke(
        app,
        ["results", "table", "--table", "III", "-r", str(folder), "--test-poses", "estimated"],
    )
    assert res.exit_code == 0 and "test poses estimated" in res.output


def test_captures_table_places_every_method_between_floor_and_ceiling(results):
    t = make_table("captures", results, dataset="hwp-synth-quick-s0", protocol="hwp-v2")
    labels = [(g, m) for g, m in t.columns]
    assert labels[0] == ("", "floor") and ("", "ceiling") in labels
    wg = labels.index(("WildGHand", "psnr"))
    above = labels.index(("WildGHand", "above floor"))
    below = labels.index(("WildGHand", "below ceiling"))
    row = _row(t, "capture04")
    # wildghand on capture04: mean over seeds 0, 1 of 25.4; floor 18, ceiling 44 (aligned only)
    assert row.cells[wg].value == pytest.approx(25.4)
    assert row.cells[above].value == pytest.approx(7.4)
    assert row.cells[below].value == pytest.approx(18.6)
    mean = _row(t, "mean over captures")
    n = [0, 2, *range(4, 11)]
    assert mean.cells[wg].value == pytest.approx(25 + sum(n) / 10 / len(n))
    # Handy has seed 0 only; the estimated track's 15 dB and 14 dB never enter
    assert _row(t, "capture02").cells[labels.index(("Handy", "psnr"))].value == pytest.approx(23.2)
