"""benchmarks/gpu_check.sh without a GPU: everything up to the point where CUDA is needed runs,
then it says so (exit code 3); its parity comparison and paper-preset timing work on the CPU."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"


def _helper():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(*args, env=None, timeout=180):  # noqa: ANN001
    full_env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHON": sys.executable, **(env or {})}
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def test_without_cuda_it_runs_up_to_cuda_then_says_so(tmp_path):
    out = tmp_path / "gpu.json"
    proc = _run(
        "--scenes", "S1", "--subdivisions", "0", "--synth-preset", "tiny", "--frames", "4",
        "--cpu-reps", "1", "--json", str(out),
    )  # fmt: skip
    text = proc.stdout + proc.stderr
    assert proc.returncode == 3, text
    assert "CUDA available: False" in text
    assert "[scene S1] 6413 Gaussians, 128x128 px" in text
    assert "[paper preset] open hand, subdivision 0: 1609 Gaussians per hand; 256 px" in text
    assert "3 training frames of HWP-Synth capture04 (inter, 40 px)" in text
    assert "[stop] CUDA is not available" in text and "nothing below was measured" in text
    assert "[parity" not in text and "s/iteration" not in text
    report = json.loads(out.read_text())
    assert report["exit_code"] == 3 and report["machine"]["cuda_available"] is False
    s1 = report["scenes"]["S1"]
    assert s1["gaussians"] == 6413 and s1["cpu_alpha_max"] > 0.5 and s1["cpu_fwd_bwd_ms"] > 0
    assert report["paper"]["0"]["overrides"] == ["hand_model=open", "subdivision=0"]


def test_time_limit_stops_it_and_says_so():
    proc = _run("--scenes", "S1", env={"HWP_GPU_CHECK_LIMIT": "1"}, timeout=60)
    assert proc.returncode == 124
    assert "time limit of 1 s reached" in proc.stderr


def test_parity_comparison_passes_equal_backends_and_catches_a_difference():
    from hwp_bench.render.scenes import random_scene, simple_camera

    gc = _helper()
    w, h = 40, 32
    vm, K = simple_camera(w, h, 40.0, dtype=torch.float64)
    scene = random_scene(60, seed=3, dtype=torch.float64)
    ref = gc.outputs_and_grads(scene, vm, K, w, h, "reference")
    got = gc.outputs_and_grads(scene, vm, K, w, h, "cpu")
    res = gc.compare(ref, got, fwd_tol=1e-9, grad_rel_tol=1e-7)
    assert res["ok"], res
    assert float(ref[0]["alpha"].max()) > 0.5
    # one Gaussian's colour changed by 2%: the forward pass and the colour gradients see it
    bent = [t.clone() for t in scene]
    bent[4][0] *= 1.02
    res = gc.compare(ref, gc.outputs_and_grads(bent, vm, K, w, h, "cpu"), 1e-9, 1e-7)
    assert not res["ok"] and not res["forward"]["color"]["ok"]
    assert res["forward"]["alpha"]["ok"]  # colour does not move alpha
    assert "OUT OF TOLERANCE" in gc.fmt_compare(res)


@pytest.mark.filterwarnings("ignore")
def test_paper_iteration_timing_runs_on_the_cpu(tmp_path):
    from wildghand.method import WildGHand

    gc = _helper()
    frames = gc.synth_frames("tiny", 3, "capture00", tmp_path / "synth")
    # the quick preset pinned to the smallest hand and images, whatever the preset says today
    small = ["iterations=4", "subdivision=0", "train_resolution=40", "hand_model=open"]
    cfg = WildGHand.method_info().resolve_config("quick", small, seed=0)
    res = gc.paper_iterations(cfg, frames, 2, "cpu")
    assert res["gaussians_per_hand"] == 1609 and res["iterations_timed"] == 2
    assert 0 < res["seconds_per_iteration"] < 60 and res["peak_memory_gib"] > 0.1
    assert res["num_iterations_full_fit"] == 4
    assert all(torch.isfinite(torch.tensor(v)) for v in res["last_losses"].values())
