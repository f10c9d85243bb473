"""The baselines through the command line: the contract check and a run whose table lists UHM
as unavailable with its reason (never a number)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_BESIDE = Path(sys.executable).parent / "hwp-bench"
HWP = [str(_BESIDE) if _BESIDE.exists() else (shutil.which("hwp-bench") or "hwp-bench")]
#: Small overrides per method so that a contract check takes seconds.
_SMALL_NET = [
    "--set", "perceptual=none", "--set", "identity_height=16", "--set", "identity_width=32",
    "--set", "tex_channels=8", "--set", "hidden=32", "--set", "feat_dim=16",
]  # fmt: skip
FAST = {
    "handy": ["--set", "texture_size=32", "--set", "batch_size=2"],
    "intergaussianhand": _SMALL_NET,
    "robust-trimmed": _SMALL_NET,
    "appearance-embedding": _SMALL_NET,
}


def _env():
    env = dict(os.environ)
    env.pop("HWP_UHM_DIR", None)
    env["OMP_NUM_THREADS"] = "1"
    return env


def _cli(*args, cwd=None):
    return subprocess.run([*HWP, *args], capture_output=True, text=True, env=_env(), cwd=cwd,
                          timeout=600)  # fmt: skip


@pytest.mark.parametrize(
    "name",
    [
        "handy",
        "intergaussianhand",
        # Same Gaussian hand and code path as intergaussianhand (only their hooks differ, tested
        # in test_gaussian.py): the full contract check of these two runs in the slow suite.
        pytest.param("robust-trimmed", marks=pytest.mark.slow),
        pytest.param("appearance-embedding", marks=pytest.mark.slow),
    ],
)
def test_test_method_passes(name, tiny_synth):
    out = _cli("test-method", name, "--dataset", str(tiny_synth), "--capture", "capture04",
               "--iterations", "2", "--train-frames", "3", "--test-frames", "2", *FAST[name])  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[FAIL]" not in out.stdout and out.stdout.count("[PASS]") >= 4


def test_run_inter_and_table_marks_uhm_unavailable(tiny_synth, tmp_path: Path):
    from hwp_bench.results.collect import collect
    from hwp_bench.results.tables import make_table

    out = _cli("run", "--method", "handy", "--split", "inter", "--dataset", str(tiny_synth),
               "--set", "iterations=4", "--set", "texture_size=32", "--out", str(tmp_path))  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    records, _ = collect([tmp_path])
    assert [r.method for r in records] == ["handy"]
    env_before = os.environ.pop("HWP_UHM_DIR", None)
    try:
        text = make_table("III", records).to_markdown()
    finally:
        if env_before is not None:
            os.environ["HWP_UHM_DIR"] = env_before
    uhm_row = next(line for line in text.splitlines() if line.startswith("| UHM"))
    assert not any(ch.isdigit() for ch in uhm_row)  # a dash in every cell, never a number
    assert "UHM: unavailable: needs the official UHM code" in text  # the table's note
