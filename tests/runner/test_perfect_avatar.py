"""``perfect-avatar``: the generator's renderer as a method (the tables' ceiling)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hwp_bench.cli import app

ARGS = ["--executor", "inline", "--metrics", "psnr,ssim", "--no-progress"]


def test_it_is_the_ceiling_on_hwp_synth(tiny_synth, tmp_path):
    out = tmp_path / "runs"
    res = CliRunner().invoke(
        app,
        ["run", "--method", "perfect-avatar", "--split", "capture00", "--dataset", str(tiny_synth)]
        + ["--test-poses", "exact", "--protocol", "hwp-v2", "--out", str(out), *ARGS],
    )
    assert res.exit_code == 0, res.output
    (path,) = out.glob("*/results/capture00.hwp-v2.exact.json")
    body = json.loads(path.read_text())
    assert body["method"]["id"] == "perfect-avatar"
    assert body["means"]["psnr"] > 42 and body["means"]["ssim"] > 0.98


def test_it_refuses_data_the_generator_did_not_make(tiny_dataset, tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "run",
            "--method",
            "perfect-avatar",
            "--split",
            "capture00",
            "--dataset",
            str(tiny_dataset),
        ]
        + ["--test-poses", "estimated", "--out", str(tmp_path / "r"), *ARGS],
    )
    assert res.exit_code == 1, res.output
    assert "only runs on HWP-Synth" in res.output
