"""Every paper table built from small hand-written result files, cell by cell."""

from __future__ import annotations

import json
import statistics

import pytest

from hwp_bench.results import build_result, write_result
from hwp_bench.results.collect import collect, variant_of
from hwp_bench.results.tables import TableError, make_table

SINGLE = ["capture00", "capture02"]
INTER = [f"capture{i:02d}" for i in range(4, 11)]


def _write(
    root,
    method,
    capture,
    seed,
    psnr,
    *,
    config=None,
    dataset="hwp-synth-quick-s0",
    protocol="hwp-v1",
    ssim=0.9,
    lpips=0.1,
    extra=None,
):
    """A result file with two frames whose mean PSNR is exactly ``psnr``."""
    frames = {
        0: {"psnr": psnr - 1.0, "ssim": ssim, "lpips": lpips},
        1: {"psnr": psnr + 1.0, "ssim": ssim, "lpips": lpips},
    }
    res = build_result(
        dataset={
            "id": dataset,
            "revision": "test",
            "config": capture,
            "capture": capture,
            "split": "test",
        },
        method={"id": method, "version": "0", "preset": "quick", "config": dict(config or {})},
        seed=seed,
        protocol=protocol,
        frames=frames,
        predictions_sha256="p" * 64,
        ground_truth_sha256="g" * 64,
        extra=extra,
    )
    name = f"{method}-{variant_of(config or {})}-{dataset}-{capture}-{seed}.json"
    write_result(root / name, res)


WGH_FULL = {"dpd": True, "pao": "full", "head_offsets": True, "head_refine": True}


@pytest.fixture()
def results(tmp_path):
    for seed in (0, 1):
        for cap in SINGLE + INTER:
            n = int(cap[-2:])
            # wildghand: 25 + capture number/10 + seed/10; handy 22 + ...; IGH 23 + ...
            _write(
                tmp_path,
                "wildghand",
                cap,
                seed,
                25 + n / 10 + seed / 10,
                config=WGH_FULL,
                extra={"diagnostics": {"omega_mean_abs": 0.001 * (n - 3)}},
            )
            _write(tmp_path, "handy", cap, seed, 22 + n / 10, lpips=0.2)
            _write(tmp_path, "intergaussianhand", cap, seed, 23 + n / 10 + seed, ssim=0.95)
            _write(
                tmp_path,
                "wildghand",
                cap,
                seed,
                24 + n / 10,
                config={**WGH_FULL, "dpd": False, "pao": "off"},
            )
    # an oracle result (clean twin) and a second protocol must not leak into the tables
    _write(
        tmp_path,
        "wildghand",
        "capture04",
        0,
        99.0,
        config=WGH_FULL,
        dataset="hwp-synth-quick-s0-clean",
    )
    (tmp_path / "manifest.json").write_text(json.dumps({"not": "a result"}))
    return tmp_path


def _cell(table, row, group, metric):
    for rec in table.records():
        if rec["row"] == row and rec["group"] == group and rec["metric"] == metric:
            return rec
    raise KeyError((row, group, metric))


def test_collect_skips_non_results(results):
    records, skipped = collect([results])
    assert len(records) == 2 * 9 * 4 + 1
    assert skipped == []


def test_only_wildghand_has_variants(tmp_path):
    _write(tmp_path, "intergaussianhand", "capture00", 0, 20.0, config={"dpd": False, "pao": "off"})
    _write(tmp_path, "wildghand", "capture00", 0, 20.0, config={"dpd": False, "pao": "off"})
    records, _ = collect([tmp_path])
    assert {(r.method, r.variant) for r in records} == {
        ("intergaussianhand", "full"),
        ("wildghand", "dpd=off,pao=off"),
    }


def test_a_training_option_is_its_own_variant_not_the_full_method():
    # WildGHand's, default
    gauss = {"dpd": True, "w_rec": 100.0, "colour_hand_from": 0.3, "train_poses": "aligned"}
    assert variant_of({**gauss, "colour_region": "hand"}) == "colour_region=hand"
    assert variant_of({**gauss, "colour_region": "frame"}) == "full"
    # the full method learns the colours on the hand late in the fit (colour_hand_from=0.3);
    # the paper's form, and files written before the option existed, are their own variant
    assert variant_of({**gauss, "colour_hand_from": 0.3}) == "full"
    assert variant_of({**gauss, "colour_hand_from": 1.0}) == "colour_hand_from=1.0"
    # a file from before both options: the paper's colour form, fitted to the estimates
    assert variant_of({"dpd": True, "w_rec": 100.0}) == "colour_hand_from=1.0,train_poses=estimated"
    # training poses from the dataset's estimates (the default until 2026-12-07) are a variant,
    # for Handy too (not a Gaussian trainer, but it records the option)
    assert variant_of({**gauss, "train_poses": "estimated"}) == "train_poses=estimated"
    assert variant_of({"train_poses": "estimated"}, "handy") == "train_poses=estimated"
    assert variant_of({"train_poses": "aligned"}, "handy", ["train_poses=aligned"]) == "full"
    assert variant_of({"dpd": True}) == "full"  # not a Gaussian-trainer config
    # the per-frame pose passes (on by default until 2026-12-07) are a variant, Handy's too
    on = {**gauss, "refine_frames": True}
    assert variant_of(on) == "refine_frames=on"
    assert variant_of(on, "wildghand", ["refine_frames=true"]) == "refine_frames=on"
    assert variant_of({**gauss, "refine_frames": False}) == "full"
    handy = {"train_poses": "aligned", "refine_frames": True}
    assert variant_of(handy, "handy", ["train_poses=aligned"]) == "refine_frames=on"


def test_the_preset_s_subdivision_is_the_full_method_another_is_a_variant():
    gauss = {"dpd": True, "w_rec": 100.0, "colour_hand_from": 0.3, "train_poses": "aligned"}
    # today's quick preset draws 25,609 Gaussians per hand (subdivision 2); a quick run at
    # the preset's old value (1) measured something else, the paper preset has its own (3)
    assert variant_of({**gauss, "subdivision": 2}, preset="quick") == "full"
    assert variant_of({**gauss, "subdivision": 1}, preset="quick") == "subdivision=1"
    assert variant_of({**gauss, "subdivision": 3}, preset="paper") == "full"
    assert variant_of({**gauss, "subdivision": 2}, preset="paper") == "subdivision=2"
    # set on the command line it is still judged against the preset, not listed twice
    assert variant_of({**gauss, "subdivision": 1}, "wildghand", ["subdivision=1"], "quick") == (
        "subdivision=1"
    )
    assert (
        variant_of({**gauss, "subdivision": 2}, "wildghand", ["subdivision=2"], "quick") == "full"
    )
    # a preset the tables do not know, and a method that is no Gaussian trainer: not judged
    assert variant_of({**gauss, "subdivision": 1}, preset="mine") == "full"
    assert variant_of({"subdivision": 1}, "handy", preset="quick") == "full"


def test_a_baseline_with_a_training_option_set_is_not_averaged_with_its_default_runs(tmp_path):
    gauss = {"w_rec": 100.0, "colour_hand_from": 0.3, "train_poses": "aligned"}
    _write(tmp_path, "intergaussianhand", "capture00", 0, 20.0, config=gauss)
    _write(tmp_path, "intergaussianhand", "capture02", 0, 21.0,
           config={**gauss, "colour_hand_from": 1.0})  # fmt: skip
    _write(tmp_path, "mean-color", "capture00", 0, 15.0, config={"colour_hand_from": 1.0})
    records, _ = collect([tmp_path])
    assert {(r.method, r.capture, r.variant) for r in records} == {
        ("intergaussianhand", "capture00", "full"),
        ("intergaussianhand", "capture02", "colour_hand_from=1.0"),
        ("mean-color", "capture00", "full"),  # not a Gaussian-trainer config: no variant
    }
    # the ablation switches stay WildGHand's: a baseline with dpd in its config is full
    assert variant_of({**gauss, "dpd": False}, "intergaussianhand") == "full"


def test_the_tables_know_the_methods_training_option_defaults_and_their_legacy_values():
    from wildghand.config import DEFAULT_CONFIG, NEUTRAL_OPTIONS

    from hwp_bench.results.collect import TRAINING_OPTION_DEFAULTS, TRAINING_OPTION_LEGACY

    assert TRAINING_OPTION_DEFAULTS == {k: DEFAULT_CONFIG[k] for k in TRAINING_OPTION_DEFAULTS}
    # options added at a value that keeps old runs' identity mean that value in old files;
    # train_poses is older than the result files' identity rule and has no neutral value
    assert {k: TRAINING_OPTION_LEGACY[k] for k in NEUTRAL_OPTIONS} == NEUTRAL_OPTIONS
    assert set(TRAINING_OPTION_LEGACY) == set(TRAINING_OPTION_DEFAULTS)
    assert TRAINING_OPTION_LEGACY["train_poses"] == "estimated"
    assert TRAINING_OPTION_LEGACY["refine_frames"] is False
    assert "w_rec" in DEFAULT_CONFIG  # the key that marks a Gaussian-trainer config


def test_the_tables_know_the_presets_values_of_the_preset_dependent_options():
    from wildghand.config import PRESETS

    from hwp_bench.results.collect import PRESET_OPTION_DEFAULTS

    for key, by_preset in PRESET_OPTION_DEFAULTS.items():
        assert by_preset == {name: PRESETS[name][key] for name in PRESETS}


def test_table_iii_exact_cells_and_best(results):
    records, _ = collect([results])
    t = make_table("III", records, unavailable={"uhm": "HWP_UHM_DIR is not set"})
    # single = captures 0 and 2, seeds 0 and 1: 25 + mean(0, .2) + mean(0, .1) = 25.15
    assert _cell(t, "WildGHand", "single", "psnr")["value"] == pytest.approx(25.15)
    # inter = captures 4..10: 25 + 0.7 + 0.05
    assert _cell(t, "WildGHand", "inter", "psnr")["value"] == pytest.approx(25.75)
    assert _cell(t, "Handy", "inter", "psnr")["value"] == pytest.approx(22.7)
    assert _cell(t, "InterGaussianHand", "inter", "psnr")["value"] == pytest.approx(24.2)
    assert _cell(t, "WildGHand", "inter", "psnr")["best"] is True
    assert _cell(t, "Handy", "inter", "psnr")["best"] is False
    # SSIM best is InterGaussianHand's 0.95, LPIPS best (lowest) is shared by WildGHand and IGH
    assert _cell(t, "InterGaussianHand", "single", "ssim")["best"] is True
    assert _cell(t, "WildGHand", "single", "lpips")["best"] is True
    assert _cell(t, "Handy", "single", "lpips")["best"] is False
    # paper rows are shown and never marked best
    paper = _cell(t, "WildGHand (paper)", "inter", "psnr")
    assert paper["value"] == 26.29 and paper["source"] == "paper" and not paper["best"]
    # UHM: unavailable with its reason, never a number
    uhm = _cell(t, "UHM", "single", "psnr")
    assert uhm["value"] is None and "HWP_UHM_DIR" in uhm["missing"]
    md = t.to_markdown()
    assert "| 26.29 " in md and "| 0.122 " in md  # paper values printed as written
    assert "**25.75**" in md and "protocol hwp-v1" in md and "seeds 0,1" in md
    assert "dataset hwp-synth-quick-s0," in md


def test_missing_captures_reported(results):
    records, _ = collect([results])
    kept = [
        r for r in records if not (r.method == "handy" and r.capture in ("capture05", "capture07"))
    ]
    t = make_table("III", kept, unavailable={})
    cell = _cell(t, "Handy", "inter", "psnr")
    assert cell["value"] is None
    assert cell["missing"] == "missing captures: capture05, capture07"
    assert _cell(t, "Handy", "single", "psnr")["value"] == pytest.approx(22.1)
    assert "Handy: missing captures: capture05, capture07" in t.to_markdown()


def test_table_v_groups(results):
    records, _ = collect([results])
    t = make_table("V", records, unavailable={})
    # illumination = capture 7 only; blur = 4, 5, 8, 9, 10
    assert _cell(t, "WildGHand", "illumination", "psnr")["value"] == pytest.approx(25.75)
    assert _cell(t, "WildGHand", "blur", "psnr")["value"] == pytest.approx(25 + 0.72 + 0.05)
    assert _cell(t, "Handy (paper)", "hoi", "psnr")["value"] == 24.67


def test_table_vi_ablation_rows(results):
    records, _ = collect([results])
    t = make_table("VI", records, unavailable={})
    base = _cell(t, "baseline (no DPD, no PAO)", "inter", "psnr")
    assert base["value"] == pytest.approx(24.7)
    assert _cell(t, "+ DPD + PAO (WildGHand)", "inter", "psnr")["best"] is True
    assert "+ PAO: missing captures" in t.to_markdown()


def test_table_ix_omega_and_x_std(results):
    records, _ = collect([results])
    t = make_table("IX", records, unavailable={})
    assert _cell(t, "4 (low)", "", "omega_e3")["value"] == pytest.approx(1.0)
    assert _cell(t, "6 (high)", "", "omega_e3")["value"] == pytest.approx(3.0)
    md = t.to_markdown()
    assert md.splitlines()[2].startswith("| capture") and "| 28.00 " in md  # not "28"
    assert _cell(t, "5 (medium)", "", "psnr")["value"] == pytest.approx(25.55)
    t10 = make_table("X", records, unavailable={})
    igh = _cell(t10, "InterGaussianHand", "", "psnr")
    assert igh["value"] == pytest.approx(23.9) and igh["std"] == pytest.approx(2**-0.5)
    wgh = _cell(t10, "WildGHand", "", "psnr")
    assert wgh["std"] == pytest.approx(0.1 * 2**-0.5)


def test_formats(results):
    records, _ = collect([results])
    t = make_table("III", records, unavailable={})
    assert "\\textbf{25.75}" in t.render("latex")
    csv = t.render("csv").splitlines()
    assert csv[0] == "table,row,source,group,metric,value,std,best,missing"
    doc = json.loads(t.render("json"))
    assert doc["context"]["protocol"] == "hwp-v1" and doc["table"] == "III"
    with pytest.raises(TableError, match="unknown format"):
        t.render("xlsx")


def test_errors(tmp_path, results):
    with pytest.raises(TableError, match="no result files"):
        make_table("III", [], unavailable={})
    records, _ = collect([results])
    with pytest.raises(TableError, match="unknown table"):
        make_table("XI", records, unavailable={})
    _write(tmp_path, "handy", "capture00", 0, 20.0, protocol="wildghand-paper")
    records, _ = collect([tmp_path])
    with pytest.raises(TableError, match="several protocols"):
        make_table("III", records, unavailable={})
    t = make_table("III", records, protocol="wildghand-paper", unavailable={})
    assert t.context["protocol"] == "wildghand-paper"


def test_cli_table(results, tmp_path):
    from typer.testing import CliRunner

    from hwp_bench.cli import app

    out = tmp_path / "t3.md"
    res = CliRunner().invoke(
        app, ["results", "table", "--table", "III", "-r", str(results), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "| WildGHand" in out.read_text()
    res = CliRunner().invoke(app, ["results", "table", "--table", "XII", "-r", str(results)])
    assert res.exit_code == 2 and "unknown table" in res.output


def test_oracle_gap_table(results):
    records, _ = collect([results])
    t = make_table("oracle", records, unavailable={})
    # capture04: ablated 24.4, full 25.45 (seed mean), oracle 99.0 (seed 0 only)
    assert _cell(t, "capture04", "", "ablated")["value"] == pytest.approx(24.4)
    assert _cell(t, "capture04", "", "oracle")["value"] == pytest.approx(99.0)
    assert _cell(t, "capture04", "WildGHand", "closed %")["value"] == pytest.approx(
        100 * 1.05 / 74.6
    )
    assert _cell(t, "capture04", "Handy", "closed %")["value"] == pytest.approx(100 * -2.0 / 74.6)
    assert _cell(t, "capture05", "WildGHand", "closed %")["value"] is None
    mean = _cell(t, "mean over captures", "WildGHand", "closed %")["value"]
    assert mean == pytest.approx(100 * 1.05 / 74.6)  # only capture04 has an oracle


def test_oracle_gap_is_undefined_where_the_oracle_is_no_better_than_plain_fitting(results):
    # capture05's oracle is 0.3 dB above plain fitting (24.5): below the 0.5 dB margin, so no
    # ratio (it would be 100 * 1.05 / 0.3 = 350 %); capture06's is 2 dB above: defined
    for cap, psnr in (("capture05", 24.8), ("capture06", 26.6)):
        _write(results, "wildghand", cap, 0, psnr, config=WGH_FULL,
               dataset="hwp-synth-quick-s0-clean")  # fmt: skip
    records, _ = collect([results])
    t = make_table("oracle", records, unavailable={})
    assert _cell(t, "capture05", "WildGHand", "closed %")["value"] is None
    got = _cell(t, "capture06", "WildGHand", "closed %")["value"]
    assert got == pytest.approx(100 * 1.05 / 2.0)
    med = _cell(t, "median over captures", "WildGHand", "closed %")["value"]
    assert med == pytest.approx(statistics.median([100 * 1.05 / 74.6, 100 * 1.05 / 2.0]))


def test_a_run_with_any_other_option_set_is_its_own_variant():
    gauss = {
        "dpd": True,
        "pao": "full",
        "w_rec": 100.0,
        "colour_hand_from": 0.3,
        "train_poses": "aligned",
        "pao_mu": "region",
    }
    # --set pao_mu=region measured something else than the full method
    assert variant_of(gauss, "wildghand", ["pao_mu=region"]) == "pao_mu=region"
    # known keys are judged by value: an override at today's default is the full method
    assert variant_of(gauss, "wildghand", ["colour_hand_from=0.3"]) == "full"
    both = {**gauss, "dpd": False}
    assert variant_of(both, "wildghand", ["dpd=false", "pao_mu=region"]) == "dpd=off,pao_mu=region"
    # a baseline with an override is not its default either
    assert variant_of(
        {"w_rec": 100.0, "colour_hand_from": 0.3, "train_poses": "aligned", "lr": 0.01},
        "handy",
        ["lr=0.01"],
    ) == ("lr=0.01")


def test_collect_reads_the_overrides_from_the_result_file(tmp_path):
    for overrides, psnr in (([], 20.0), (["pao_mu=region"], 30.0), ("pao_mu=region", 25.0)):
        res = build_result(
            dataset={"id": "synth", "revision": "t", "config": "capture00", "capture": "capture00",
                     "split": "test"},
            method={"id": "wildghand", "version": "0", "preset": "quick",
                    "config": {**WGH_FULL, "pao_mu": "region" if overrides else "hand"},
                    "overrides": overrides},
            seed=0, protocol="hwp-v2",
            frames={0: {"psnr": psnr, "ssim": 0.9, "lpips": 0.1}},
            predictions_sha256="p" * 64, ground_truth_sha256="g" * 64,
        )  # fmt: skip
        write_result(tmp_path / f"r{int(psnr)}.json", res)
    records, _ = collect([tmp_path])
    # a malformed overrides field (a string, not a list) is read as no override
    assert sorted((r.means["psnr"], r.variant) for r in records) == [
        (20.0, "full"), (25.0, "full"), (30.0, "pao_mu=region"),
    ]  # fmt: skip
