"""The runner and the test-pose tracks: the default, a second track without refitting, the
pre-track layout still read, and one-line errors for a track the data cannot give."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL, DEFAULT_TRACK

ARGS = ["--method", "toy-mean", "--executor", "inline", "--metrics", "psnr", "--no-progress"]


def cli(*args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, res.output


def test_default_track_then_a_second_track_renders_again_without_fitting(
    tiny_synth, toy_plugin, tmp_path
):
    out = tmp_path / "runs"
    common = ["run", *ARGS, "--split", "capture00", "--dataset", tiny_synth, "--out", out]
    code, text = cli(*common)
    assert code == 0, text
    assert f"test poses {DEFAULT_TRACK}" in text
    (run,) = out.iterdir()
    res = run / "results" / f"capture00.{DEFAULT_PROTOCOL}.{DEFAULT_TRACK}.json"
    body = json.loads(res.read_text())
    assert body["dataset"]["test_poses"] == DEFAULT_TRACK
    assert len(body["dataset"]["test_poses_sha256"]) == 64
    assert sorted(p.name for p in (run / "renders" / DEFAULT_TRACK / "capture00").iterdir())

    code, text = cli(*common, "--test-poses", "exact")
    assert code == 0, text
    exact = json.loads((run / "results" / f"capture00.{DEFAULT_PROTOCOL}.exact.json").read_text())
    assert exact["dataset"]["test_poses"] == "exact"
    assert exact["dataset"]["test_poses_sha256"] != body["dataset"]["test_poses_sha256"]
    assert exact["extra"]["run_hash"] == body["extra"]["run_hash"]  # the same fitted run
    assert (run / "logs" / "capture00.log").read_text().count("fit done") == 1  # no refit
    # both tracks are kept side by side, and a rerun of either is skipped
    code, text = cli(*common)
    assert code == 0 and "skipped  capture00" in text
    code, text = cli(*common, "--test-poses", "exact")
    assert code == 0 and "skipped  capture00" in text


def test_a_run_folder_from_before_tracks_is_read_as_the_estimated_track(
    tiny_dataset, toy_plugin, tmp_path
):
    out = tmp_path / "runs"
    common = ["run", *ARGS, "--split", "capture00", "--dataset", tiny_dataset, "--out", out]
    code, text = cli(*common, "--test-poses", "estimated")
    assert code == 0, text
    (run,) = out.iterdir()
    # turn it into the old layout: renders/<capture>/, status/<capture>.renders.json,
    # results/<capture>.<protocol>.json without a track
    shutil.move(run / "renders" / "estimated" / "capture00", run / "renders" / "capture00")
    (run / "renders" / "estimated").rmdir()
    shutil.move(
        run / "status" / "capture00.estimated.renders.json",
        run / "status" / "capture00.renders.json",
    )
    new = run / "results" / f"capture00.{DEFAULT_PROTOCOL}.estimated.json"
    old = run / "results" / f"capture00.{DEFAULT_PROTOCOL}.json"
    body = json.loads(new.read_text())
    new.unlink()
    for key in ("test_poses", "test_poses_sha256"):
        body["dataset"].pop(key)
    from hwp_bench.results import write_result

    write_result(old, body)
    code, text = cli(*common, "--test-poses", "estimated")
    assert code == 0 and "skipped  capture00" in text, text
    # re-scoring with another protocol reuses the old renders (no fit, no render)
    code, text = cli(*common, "--test-poses", "estimated", "--protocol", "wildghand-paper")
    assert code == 0, text
    assert (run / "results" / "capture00.wildghand-paper.estimated.json").is_file()
    assert not (run / "renders" / "estimated").exists()
    log = (run / "logs" / "capture00.log").read_text()
    assert log.count("fit done") == 1 and "scoring only" in log


def test_unknown_track_and_exact_on_real_data_fail_in_one_line(tiny_dataset, toy_plugin, tmp_path):
    common = ["run", *ARGS, "--split", "capture00", "--dataset", tiny_dataset]
    code, text = cli(*common, "--out", tmp_path / "a", "--test-poses", "oracle")
    assert code == 2 and "estimated, aligned, exact" in text and "Traceback" not in text
    # the runner tests' dataset has no noise-free parameters (like real HWP)
    code, text = cli(*common, "--out", tmp_path / "b", "--test-poses", "exact")
    assert code == 2 and "Traceback" not in text, text
    assert "--test-poses" in text and "estimated, aligned" in text


def test_a_new_aligner_redoes_aligned_results_from_the_checkpoint_without_refitting(
    tiny_synth, toy_plugin, tmp_path, monkeypatch
):
    """A result on ``aligned`` records the aligner that made its test poses; after an aligner
    change it is not done any more: the job is redone without a second fit (renders from the
    final checkpoint when the poses moved, a rescore when they did not), while ``exact``
    results stay done."""
    import hwp_bench.tracks.align as align

    out = tmp_path / "runs"
    common = ["run", *ARGS, "--split", "capture00", "--dataset", tiny_synth, "--out", out]
    assert cli(*common)[0] == 0
    assert cli(*common, "--test-poses", "exact")[0] == 0
    (run,) = out.iterdir()
    res = run / "results" / f"capture00.{DEFAULT_PROTOCOL}.aligned.json"
    first = json.loads(res.read_text())["dataset"]
    assert first["test_poses_producer"].startswith(f"aligner-v{align.ALIGNER_VERSION}-")
    code, text = cli(*common)
    assert code == 0 and "skipped  capture00" in text

    # A new aligner (here: its version bumped) is new test poses for the aligned track.
    monkeypatch.setattr(align, "ALIGNER_VERSION", align.ALIGNER_VERSION + 1)
    code, text = cli(*common)
    assert code == 0 and "done  capture00" in text and "skipped" not in text, text
    second = json.loads(res.read_text())["dataset"]
    assert second["test_poses_producer"] != first["test_poses_producer"]
    log = (run / "logs" / "capture00.log").read_text()
    assert log.count("fit done") == 1  # never refitted
    # the bumped aligner computed the same poses here: the renders stand, only the score is new
    assert log.count("renders complete: scoring only") == 1
    code, text = cli(*common, "--test-poses", "exact")  # nothing about exact changed
    assert code == 0 and "skipped  capture00" in text


def test_answering_a_finished_job_does_not_import_torch(tmp_path):
    """A rerun of a finished split is answered from result files alone (README: about a
    second): the done-check, the aligned track's producer included, must not pull in torch
    (1.5 s to import here), which importing ``hwp_bench.metrics`` used to do."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from hwp_bench.runner.job import Job, job_is_done\n"
        "from hwp_bench.tracks import track_producer\n"
        "assert track_producer('aligned').startswith('aligner-v')\n"
        f"job = Job(method='mean-color', capture='capture00', out={str(tmp_path)!r})\n"
        "assert job_is_done(job) is False\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
