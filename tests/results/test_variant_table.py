"""scripts/variant_table.py: variants of one method per capture, between floor and ceiling."""

from __future__ import annotations

import pytest

from hwp_bench.results import build_result, write_result
from hwp_bench.results.collect import TRAINING_OPTION_DEFAULTS


@pytest.fixture
def script(load_script):
    return load_script("variant_table")


def _result(method: str, capture: str, psnr: float, *, seed=0, overrides=(), track="aligned"):
    # a Gaussian trainer's config at today's training defaults is the "full" variant
    config = {"w_rec": 100.0, **TRAINING_OPTION_DEFAULTS} if method == "wildghand" else {}
    for item in overrides:
        key, _, value = item.partition("=")
        config[key] = value
    return build_result(
        dataset={
            "id": "tiny",
            "revision": "t",
            "config": capture,
            "capture": capture,
            "test_poses": track,
        },
        method={
            "id": method,
            "version": "0",
            "preset": "quick",
            "config": config,
            "overrides": list(overrides),
        },
        seed=seed,
        protocol="hwp-v3",
        frames={0: {"psnr": psnr - 1.0}, 1: {"psnr": psnr + 1.0}},
        predictions_sha256="p" * 64,
        ground_truth_sha256="g" * 64,
        metrics=("psnr",),
    )


@pytest.fixture
def runs(tmp_path):
    a, b = tmp_path / "paper", tmp_path / "pao-region"
    for i, cap in enumerate(["capture00", "capture04"]):
        write_result(a / f"floor-{cap}.json", _result("mean-color", cap, 20.0 + i))
        write_result(a / f"ceil-{cap}.json", _result("perfect-avatar", cap, 44.0 + i))
        write_result(a / f"wg-{cap}.json", _result("wildghand", cap, 30.0 + i))
        write_result(a / f"wg1-{cap}.json", _result("wildghand", cap, 32.0 + i, seed=1))
        # the exact track is another scale: never mixed into the aligned table
        write_result(a / f"wgx-{cap}.json", _result("wildghand", cap, 99.0, track="exact"))
    write_result(
        b / "wg-capture00.json",
        _result("wildghand", "capture00", 33.5, overrides=["pao_mu=region"]),
    )
    return a, b


def test_columns_are_variants_between_floor_and_ceiling(runs, capsys, script):
    code = script.main(
        ["--results", *map(str, runs), "--column", "wildghand",
         "--column", "wildghand:pao_mu=region"]
    )  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "| capture | mean-color | wildghand | wildghand (pao_mu=region) | perfect-avatar |"
    )
    assert lines[2] == "| capture00 | 20.00 | 30.00 | 33.50 | 44.00 |"
    assert lines[3] == "| capture04 | 21.00 | 31.00 | - | 45.00 |"
    # complete columns are averaged; the incomplete one says how many captures it has
    assert lines[4] == "| **mean** (psnr) | **20.50** | **30.50** | (1 of 2) | **44.50** |"


def test_seeds_are_averaged_when_asked(runs, capsys, script):
    assert script.main(["--results", str(runs[0]), "--column", "wildghand", "--seeds", "0,1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "| capture00 | 20.00 | 31.00 | 44.00 |"  # (30 + 32) / 2


def test_an_unknown_variant_names_what_was_found(runs, capsys, script):
    assert script.main(["--results", str(runs[0]), "--column", "wildghand:dpd=off"]) == 2
    err = capsys.readouterr().err
    assert "wildghand:dpd=off" not in err.split("found:")[1]
    assert "wildghand:full" in err and "mean-color:full" in err
