"""End-to-end runs on a tiny dataset: outputs, skipping, failure isolation, resume after a kill."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL

# The estimated track: these tests are about the runner's mechanics, not test poses
# (tests/runner/test_tracks.py covers the tracks, the default included).
FAST = ["--metrics", "psnr,ssim", "--no-progress", "--test-poses", "estimated"]


def result_name(capture: str, protocol: str = DEFAULT_PROTOCOL) -> str:
    return f"{capture}.{protocol}.estimated.json"


def cli(*args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, res.output


def results_of(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(out.glob("*/results/*.json"))}


def test_inline_run_writes_everything_then_skips(tiny_dataset, toy_plugin, tmp_path):
    out = tmp_path / "runs"
    code, text = cli(
        "run",
        "--method",
        "toy-mean",
        "--split",
        "all",
        "--dataset",
        tiny_dataset,
        "--executor",
        "inline",
        "--out",
        out,
        *FAST,
    )
    assert code == 0, text
    # Only the captures the folder holds run; the table has a row each and the mean.
    rows = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")]
    assert rows == ["capture", "capture00", "capture04", "mean"]
    assert "tiny has no capture01" in text
    (run_dir,) = out.iterdir()
    assert run_dir.name.startswith("toy-mean-quick-tiny-s0-")
    for capture in ("capture00", "capture04"):
        renders = run_dir / "renders" / "estimated" / capture
        names = sorted(p.name for p in renders.iterdir())
        assert names == [
            "00018.alpha.npy",
            "00018.npy",
            "00018.png",
            "00019.alpha.npy",
            "00019.npy",
            "00019.png",
        ]
        color = np.load(renders / "00018.npy")
        assert color.dtype == np.float32 and color.shape == (40, 40, 3)
        assert (run_dir / "logs" / f"{capture}.log").read_text().count("fit done") == 1
    res = results_of(out)
    assert set(res) == {result_name("capture00"), result_name("capture04")}
    r = res[result_name("capture00")]
    assert r["method"]["id"] == "toy-mean" and r["seed"] == 0
    assert set(r["frames"]) == {"18", "19"} and set(r["means"]) == {"psnr", "ssim"}
    # The toy learns the disc colour (0.8, 0.3, 0.2) + noise: high PSNR inside the mask.
    assert r["means"]["psnr"] > 20
    assert r["timings"]["fit_s"] > 0 and r["extra"]["diagnostics"] == {"step_sum": 66}
    diag_dir = run_dir / "diagnostics" / "capture00"  # arrays go beside the results
    with np.load(diag_dir / "arrays.npz") as diag:
        first = np.load(run_dir / "renders/estimated/capture00/00018.npy")[0, 0]
        np.testing.assert_allclose(diag["color"], first, rtol=1e-6)
        assert np.array_equal(diag["pao_weight_00003"], np.eye(4))
    assert sorted(p.name for p in diag_dir.glob("*.png")) == [
        "pao_weight_00003.png",
        "pao_weight_00011.png",
    ]
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    t0 = time.perf_counter()
    code, text2 = cli(
        "run",
        "--method",
        "toy-mean",
        "--split",
        "all",
        "--dataset",
        tiny_dataset,
        "--executor",
        "inline",
        "--out",
        out,
        *FAST,
    )
    assert code == 0 and time.perf_counter() - t0 < 5
    assert "skipped  capture00" in text2 and "skipped  capture04" in text2
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamp

    # Another protocol re-scores the saved renders without fitting again.
    code, text3 = cli(
        "run",
        "--method",
        "toy-mean",
        "--split",
        "capture00",
        "--dataset",
        tiny_dataset,
        "--executor",
        "inline",
        "--out",
        out,
        "--protocol",
        "wildghand-paper",
        "--metrics",
        "psnr",
        "--no-progress",
        "--test-poses",
        "estimated",
    )
    assert code == 0, text3
    assert (run_dir / "results" / result_name("capture00", "wildghand-paper")).is_file()
    assert (run_dir / "logs" / "capture00.log").read_text().count("fit done") == 1


def test_failed_capture_is_reported_and_others_go_on(tiny_dataset, toy_plugin, tmp_path):
    out, flag = tmp_path / "runs", tmp_path / "fail"
    Path(f"{flag}.capture04").touch()
    args = [
        "run",
        "--method",
        "toy-mean",
        "--split",
        "all",
        "--dataset",
        tiny_dataset,
        "--executor",
        "inline",
        "--out",
        out,
        "--set",
        f"fail_flag={flag}",
        *FAST,
    ]
    code, text = cli(*args)
    assert code == 1, text
    assert "failed  capture04 seed 0: RuntimeError: asked to fail on capture04" in text
    assert "1 job(s) failed" in text
    (run_dir,) = out.iterdir()
    failed = json.loads((run_dir / "status" / "capture04.failed.json").read_text())
    assert "asked to fail" in failed["traceback"]
    assert "asked to fail" in (run_dir / "logs" / "capture04.log").read_text()
    assert set(results_of(out)) == {result_name("capture00")}

    Path(f"{flag}.capture04").unlink()  # "fix the cause" and rerun: only capture04 runs
    code, text = cli(*args)
    assert code == 0, text
    assert "skipped  capture00" in text and "done  capture04" in text
    assert not (run_dir / "status" / "capture04.failed.json").exists()


def test_local_executor_isolates_a_crashed_process(tiny_dataset, toy_plugin, tmp_path):
    out = tmp_path / "runs"
    code, text = cli(
        "run",
        "--method",
        "toy-mean",
        "--split",
        "all",
        "--dataset",
        tiny_dataset,
        "--executor",
        "local",
        "--cpus",
        "2",
        "--out",
        out,
        "--set",
        "crash_capture=capture00",
        *FAST,
    )
    assert code == 1, text
    assert "failed  capture00 seed 0: worker process died (killed by signal 9)" in text
    assert "done  capture04" in text
    assert set(results_of(out)) == {result_name("capture04")}


def test_killed_run_resumes_from_its_checkpoint(tiny_dataset, toy_plugin, tmp_path):
    out = tmp_path / "runs"
    n = 120  # 4.8 s of sleeps: an orphaned worker would still be busy when the lock is checked
    args = [
        "run",
        "--method",
        "toy-mean",
        "--split",
        "capture00",
        "--dataset",
        str(tiny_dataset),
        "--executor",
        "local",
        "--out",
        str(out),
        "--set",
        f"iterations={n}",
        "--set",
        "sleep=0.04",
        "--checkpoint-every",
        "5",
        *FAST,
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from hwp_bench.cli import main; main()", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    state = None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            files = list(out.glob("*/checkpoints/capture00/runner_state.json"))
            if files:
                with_step = json.loads(files[0].read_text())
                if with_step["step"] >= 10:
                    state = with_step
                    break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        # Kill only the runner: its worker process must notice and stop by itself, releasing
        # the job's lock, so that the rerun below can take over.
        proc.kill()
        proc.wait()
        lock = next(out.glob("*/locks/capture00.lock"))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            with open(lock, "a+") as fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
                    break
                except BlockingIOError:
                    time.sleep(0.1)
        else:
            raise AssertionError("the orphaned worker kept running after its runner died")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert state is not None and not state["complete"]
    args[args.index("local")] = "inline"  # the rest in this process: same files either way
    assert not list(out.glob("*/results/*.json"))

    code, text = cli(*args)
    assert code == 0, text
    (run_dir,) = out.iterdir()
    (result,) = results_of(out).values()
    resumed = result["extra"]["resumed_from_step"]
    assert resumed is not None and 10 <= resumed < n
    assert (
        f"resumed from checkpoint at step {resumed}/{n}"
        in (run_dir / "logs" / "capture00.log").read_text()
    )
    # Every step ran exactly once in the surviving state: 0 + 1 + ... + (n - 1).
    assert result["extra"]["diagnostics"] == {"step_sum": n * (n - 1) // 2}

    # Identical metrics to a run that was never interrupted.
    fresh = tmp_path / "fresh"
    code, _ = cli(*[a if a != str(out) else str(fresh) for a in args])
    assert code == 0
    (uninterrupted,) = results_of(fresh).values()
    assert uninterrupted["frames"] == result["frames"]
    assert uninterrupted["hashes"] == result["hashes"]


def test_a_job_that_is_running_elsewhere_is_not_started_twice(tiny_dataset, toy_plugin, tmp_path):
    from hwp_bench.runner import Job, run_job
    from hwp_bench.runner.locking import job_lock

    job = Job(
        method="toy-mean",
        capture="capture00",
        dataset=str(tiny_dataset),
        out=str(tmp_path),
        metrics=("psnr",),
        progress=False,
    )
    with job_lock(job.run_dir(), job.capture) as held:  # as another runner would hold it
        assert held
        outcome = run_job(job)
        assert outcome["status"] == "failed" and "lock is held" in outcome["error"]
        assert not (job.run_dir() / "checkpoints").exists()
    assert run_job(job)["status"] == "done"
    assert run_job(job)["status"] == "skipped"


def test_relative_and_absolute_dataset_paths_are_the_same_run(
    tiny_dataset, toy_plugin, tmp_path, monkeypatch
):
    out = tmp_path / "runs"
    monkeypatch.chdir(tiny_dataset.parent)
    args = [
        "run",
        "--method",
        "toy-mean",
        "--split",
        "capture00",
        "--executor",
        "inline",
        "--out",
        out,
        *FAST,
    ]
    code, text = cli(*args, "--dataset", tiny_dataset.name)
    assert code == 0 and "done  capture00" in text, text
    monkeypatch.chdir(tmp_path)
    code, text = cli(*args, "--dataset", tiny_dataset)
    assert code == 0 and "skipped  capture00" in text, text


def test_captures_of_an_unsupported_hand_type_are_reported_not_failed(
    tiny_dataset, toy_plugin, tmp_path, monkeypatch
):
    single = tmp_path / "single_plugin.py"
    single.write_text(
        toy_plugin.read_text().replace(
            'implementation_status="trivial",',
            'implementation_status="trivial", hand_types=("single",),',
        )
    )
    monkeypatch.setenv("HWP_BENCH_METHODS", f"toy-mean={single}:ToyMean")
    code, text = cli(
        "run",
        "--method",
        "toy-mean",
        "--split",
        "all",
        "--dataset",
        tiny_dataset,
        "--executor",
        "inline",
        "--out",
        tmp_path / "runs",
        *FAST,
    )
    assert code == 0, text
    assert (
        "unsupported  capture04 seed 0: toy-mean supports single hands, capture04 is inter" in text
    )
    row = next(line for line in text.splitlines() if line.startswith("| capture04"))
    assert "unsupported" in row and "| -" in row
    assert set(results_of(tmp_path / "runs")) == {result_name("capture00")}


def test_new_data_is_new_work(tiny_dataset, toy_plugin, tmp_path):
    """A dataset regenerated by a newer generator must not be answered with old results."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    args = [
        "run",
        "--method",
        "toy-mean",
        "--split",
        "capture00",
        "--dataset",
        data,
        "--executor",
        "inline",
        "--out",
        tmp_path / "runs",
        *FAST,
    ]
    (data / "hwp_synth.json").write_text('{"generator_version": 4}')
    assert cli(*args)[0] == 0
    assert "skipped  capture00" in cli(*args)[1]
    (data / "hwp_synth.json").write_text('{"generator_version": 5}')
    code, text = cli(*args)
    assert code == 0 and "done  capture00" in text, text
    revisions = sorted(r["dataset"]["revision"] for r in results_of_all(tmp_path / "runs"))
    assert revisions == ["hwp_bench.synth v4", "hwp_bench.synth v5"]


def results_of_all(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*/results/*.json"))]
