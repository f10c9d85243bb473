"""The Ray executor on a local Ray (``ray.init(num_cpus=2)``), in the default suite.

It writes the same result files as the local executor, and a task whose worker process is
killed mid-fit is retried by Ray and resumes from the job's checkpoint, ending with the same
result as a fit that was never interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app

pytest.importorskip("ray", reason="the Ray executor tests need Ray: pip install 'hwp-bench[ray]'")


@pytest.fixture(autouse=True)
def _no_usage_stats(monkeypatch):
    """CI has no internet: do not let Ray try to report usage statistics."""
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")


# Fields that say when and how fast, not what: they differ between any two runs.
VOLATILE = {"created", "timings", "peak_memory", "integrity"}


def _results(out):
    return {
        p.relative_to(out).as_posix(): {
            k: v for k, v in json.loads(p.read_text()).items() if k not in VOLATILE
        }
        for p in sorted(out.glob("*/results/*.json"))
    }


def _files(root: Path, sub: str) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.glob(f"*/{sub}/**/*") if p.is_file())


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
        "1",
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
    # a single-hand and a two-hand capture: every field equal (timings aside)
    assert len(local) == 2 and local == ray_
    for sub in ("renders", "checkpoints"):
        a, b = _files(tmp_path / "l", sub), _files(tmp_path / "r", sub)
        assert a == b and a


def _ray_task_process(marker: str) -> int | None:
    """The pid of the Ray worker running ``run_job`` for this test (Ray titles a busy worker
    ``ray::<task>``; the marker, the plugin's path, is in its environment and no other's)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if not (proc / "cmdline").read_bytes().startswith(b"ray::run_job"):
                continue
            if marker.encode() in (proc / "environ").read_bytes():
                return int(proc.name)
        except OSError:
            continue
    return None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_ray_task_killed_mid_fit_is_retried_and_resumes(tiny_dataset, toy_plugin, tmp_path):
    from hwp_bench.runner import Job
    from hwp_bench.runner.executors import run_inline, run_ray

    # 6 s of 0.03 s sleeps: long enough to find and kill it mid-fit on a loaded machine (the
    # killer scans /proc, which takes seconds when other fits share the cores; 1.8 s was not)
    n = 200
    out = tmp_path / "runs"
    job = Job(
        method="toy-mean",
        capture="capture00",
        dataset=str(tiny_dataset),
        out=str(out),
        overrides=(f"iterations={n}", "sleep=0.03"),
        metrics=("psnr", "ssim"),
        checkpoint_every=5,
        progress=False,
    )
    killed: dict[str, int] = {}

    def kill_mid_fit() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for state in out.glob("*/checkpoints/capture00/runner_state.json"):
                try:
                    step = json.loads(state.read_text())["step"]
                except (OSError, ValueError, KeyError):
                    continue
                pid = _ray_task_process(str(toy_plugin)) if 10 <= step < n - 10 else None
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                    killed.update(pid=pid, step=step)
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_mid_fit, daemon=True)
    killer.start()
    (outcome,) = run_ray([job], cpus=2)
    killer.join(5)
    assert killed, "the Ray task finished before it could be killed"
    assert outcome["status"] == "done", outcome
    result = json.loads(Path(outcome["result"]).read_text())
    resumed = result["extra"]["resumed_from_step"]
    assert resumed is not None and killed["step"] <= resumed < n
    log = (out / outcome["run"] / "logs" / "capture00.log").read_text()
    assert f"resumed from checkpoint at step {resumed}/{n}" in log
    # every step ran exactly once in the state that survived: 0 + 1 + ... + (n - 1)
    assert result["extra"]["diagnostics"] == {"step_sum": n * (n - 1) // 2}

    # the same metrics and renders as a fit that was never interrupted
    (fresh,) = run_inline([replace(job, out=str(tmp_path / "fresh"))])
    uninterrupted = json.loads(Path(fresh["result"]).read_text())
    assert uninterrupted["frames"] == result["frames"]
    assert uninterrupted["hashes"] == result["hashes"]
