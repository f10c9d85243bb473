"""The Ray executor (local cluster) writes the same result files as the local executor."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app

pytest.importorskip("ray")

# Fields that say when and how fast, not what: they differ between any two runs.
VOLATILE = {"created", "timings", "peak_memory", "integrity"}


def _results(out):
    return {
        p.relative_to(out).as_posix(): {
            k: v for k, v in json.loads(p.read_text()).items() if k not in VOLATILE
        }
        for p in sorted(out.glob("*/results/*.json"))
    }


@pytest.mark.slow
def test_ray_and_local_write_identical_results(tiny_dataset, toy_plugin, tmp_path):
    common = [
        "run",
        "--method",
        "toy-mean",
        "--split",
        "all",
        "--dataset",
        str(tiny_dataset),
        "--seeds",
        "0,1",
        "--metrics",
        "psnr,ssim",
        "--no-progress",
        "--cpus",
        "2",
    ]
    res = CliRunner().invoke(app, [*common, "--executor", "local", "--out", str(tmp_path / "l")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, [*common, "--executor", "ray", "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    local, ray_ = _results(tmp_path / "l"), _results(tmp_path / "r")
    assert len(local) == 4 and local == ray_
    for sub in ("renders", "checkpoints"):
        a = sorted(
            p.relative_to(tmp_path / "l").as_posix()
            for p in (tmp_path / "l").glob(f"*/{sub}/**/*")
            if p.is_file()
        )
        b = sorted(
            p.relative_to(tmp_path / "r").as_posix()
            for p in (tmp_path / "r").glob(f"*/{sub}/**/*")
            if p.is_file()
        )
        assert a == b and a
