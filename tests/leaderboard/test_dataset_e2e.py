"""The real path: a dataset folder (hwp_bench.data.layout), the registered hwp-v1 protocol,
the public export without test pixels, the server started by the CLI in its own process."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import zipfile

import httpx
import numpy as np
import pytest
from hwp_leaderboard.groundtruth import DatasetGroundTruth
from hwp_leaderboard.public_export import export_public

from hwp_bench.data import load_frames
from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL


def _renders_from(root, frames_by_cap, noise, seed=3):  # noqa: ANN001
    rng = np.random.default_rng(seed)
    for cap, frames in frames_by_cap.items():
        d = root / "renders" / cap
        d.mkdir(parents=True, exist_ok=True)
        for f in frames:
            img = np.clip(f.image + rng.normal(0, noise, f.image.shape), 0, 1).astype(np.float32)
            np.save(d / f"{f.index:05d}.npy", img)
    return root


def test_public_export_withholds_test_pixels_only(dataset_dir, tmp_path):
    pub = tmp_path / "public"
    info = export_public(dataset_dir, pub)
    assert (
        info["captures"] == ["capture00", "capture04", "capture07"]
        and info["test_rows_stripped"] == 6
    )
    for cap in info["captures"]:
        full, public = load_frames(dataset_dir, cap, "test"), load_frames(pub, cap, "test")
        assert [f.index for f in public] == [f.index for f in full] == [18, 19]
        for a, b in zip(full, public, strict=True):
            assert b.image.shape == a.image.shape and not b.image.any() and a.image.any()
            assert b.mask is None and a.mask is not None
            np.testing.assert_array_equal(a.K, b.K)
            assert a.hands.keys() == b.hands.keys()
            for side in a.hands:
                np.testing.assert_array_equal(a.hands[side].pose, b.hands[side].pose)
                np.testing.assert_array_equal(a.hands[side].trans, b.hands[side].trans)
            assert a.tags == b.tags
        tr_full, tr_pub = load_frames(dataset_dir, cap, "train"), load_frames(pub, cap, "train")
        assert len(tr_full) == len(tr_pub) == 16
        np.testing.assert_array_equal(tr_full[3].image, tr_pub[3].image)
    # the test pixels appear nowhere in the public folder's files
    gt = load_frames(dataset_dir, "capture04", "test")[0]
    from hwp_bench.data.schema import encode_png

    needle = encode_png(gt.image)
    assert not any(needle in p.read_bytes() for p in pub.rglob("*") if p.is_file())
    with pytest.raises(FileExistsError):
        export_public(dataset_dir, pub)


def test_dataset_ground_truth_spec(dataset_dir):
    gt = DatasetGroundTruth(str(dataset_dir), dataset_id="tiny-hwp")
    assert gt.splits() == ["single", "inter"]
    spec = gt.spec("inter")
    assert spec.frames == {
        "capture04": {18: (40, 48), 19: (40, 48)},
        "capture07": {18: (40, 48), 19: (40, 48)},
    }


def _reference_capture_means(sub, frames, tmp_path):  # noqa: ANN001
    """The metrics module's own folder evaluator on the same 8-bit renders."""
    from hwp_bench.metrics.evaluate import evaluate_folder

    ext = tmp_path / "extracted"
    with zipfile.ZipFile(sub) as zf:
        zf.extractall(ext)
    return {
        cap: evaluate_folder(
            ext / "renders", fr, protocol=DEFAULT_PROTOCOL, dataset={"id": "x"}, progress=False
        )["means"]
        for cap, fr in frames.items()
    }


def test_real_protocol_scores_match_the_metrics_module(dataset_dir, tmp_path, lb):
    import uuid

    from hwp_leaderboard.archive import inspect_archive
    from hwp_leaderboard.database import Store
    from hwp_leaderboard.files import FileStore
    from hwp_leaderboard.pack import pack_submission
    from hwp_leaderboard.worker import Worker

    gt = DatasetGroundTruth(str(dataset_dir), dataset_id="tiny-hwp")
    frames = {c: load_frames(dataset_dir, c, "test") for c in ("capture04", "capture07")}
    run = _renders_from(tmp_path / "run", frames, noise=0.04)
    sub = pack_submission(run, tmp_path / "sub.zip", {**lb.MANIFEST, "split": "inter"})
    storage = FileStore(tmp_path / "state")
    store = Store(storage.default_database_url)
    team = store.create_team("alpha")
    index = inspect_archive(sub, spec=gt.spec("inter"))
    sid = uuid.uuid4().hex
    storage.accept(sub, sid)
    store.add_submission(
        submission_id=sid,
        team_id=team.id,
        quota=None,
        status="pending",
        split="inter",
        protocol="hwp-v1",
        method="m",
        manifest=index.manifest.model_dump(exclude_none=True),
    )
    assert Worker(store, storage, gt).run_once() == sid  # default scorer: the registered protocol
    scores = store.get(sid)["scores"]
    ref = _reference_capture_means(storage.archive_path(sid), frames, tmp_path)
    for cap in frames:
        for m in ("psnr", "ssim", "lpips"):
            assert scores["captures"][cap][m] == pytest.approx(ref[cap][m], rel=1e-9, abs=1e-12), (
                cap,
                m,
            )
    assert scores["metrics"]["psnr"] == pytest.approx(
        (ref["capture04"]["psnr"] + ref["capture07"]["psnr"]) / 2
    )
    assert set(scores["tags"]) == {"hoi", "blur", "complex_pose", "illumination"}
    assert scores["tags"]["blur"]["psnr"] == pytest.approx(scores["captures"]["capture04"]["psnr"])
    assert 20 < scores["metrics"]["psnr"] < 35 and 0 < scores["metrics"]["lpips"] < 0.5


@pytest.mark.slow
def test_cli_server_real_protocol_survives_kill_during_scoring(dataset_dir, tmp_path, lb):
    """Start `hwp-bench leaderboard serve` as a process, submit, kill -9 it mid-scoring,
    restart: the submission is scored exactly once more and matches the metrics module."""
    from hwp_leaderboard.pack import pack_submission
    from typer.testing import CliRunner

    from hwp_bench.cli import app

    state = tmp_path / "state"
    runner = CliRunner()
    assert (
        runner.invoke(
            app, ["leaderboard", "admin", "create-team", "alpha", "--storage", str(state)]
        ).exit_code
        == 0
    )
    token = runner.invoke(
        app, ["leaderboard", "admin", "create-token", "alpha", "--storage", str(state)]
    ).output.strip()
    frames = {c: load_frames(dataset_dir, c, "test") for c in ("capture04", "capture07")}
    run = _renders_from(tmp_path / "run", frames, noise=0.04)
    sub = pack_submission(
        run, tmp_path / "sub.zip", {**lb.MANIFEST, "split": "inter", "dataset": {"id": "tiny-hwp"}}
    )
    port = lb.free_port()

    def start():  # noqa: ANN202
        p = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from hwp_bench.cli import main; main()",
                "leaderboard",
                "serve",
                "--dataset",
                str(dataset_dir),
                "--dataset-id",
                "tiny-hwp",
                "--storage",
                str(state),
                "--port",
                str(port),
                "--poll-s",
                "0.2",
                "--lease-s",
                "1.5",
                "--frame-delay-s",
                "0.5",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    return p
            except httpx.HTTPError:
                time.sleep(0.2)
        p.kill()
        raise AssertionError("server did not start:\n" + (p.stdout.read() if p.stdout else ""))

    auth = {"Authorization": f"Bearer {token}"}
    proc = start()
    try:
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/submissions",
            content=sub.read_bytes(),
            headers=auth,
            timeout=30,
        )
        assert r.status_code == 202, r.text
        sid = r.json()["id"]
        deadline = time.monotonic() + 60
        while (
            httpx.get(f"http://127.0.0.1:{port}/api/submissions/{sid}", headers=auth).json()[
                "status"
            ]
            != "scoring"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    from hwp_leaderboard.database import Store
    from hwp_leaderboard.files import FileStore

    store = Store(FileStore(state).default_database_url)
    row = store.get(sid)
    assert row["status"] == "scoring" and row["scores"] is None and row["attempts"] == 1
    proc = start()
    try:
        deadline = time.monotonic() + 90
        while True:
            body = httpx.get(f"http://127.0.0.1:{port}/api/submissions/{sid}", headers=auth).json()
            if body["status"] in ("done", "failed"):
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(20)
    assert body["status"] == "done", body
    assert body["attempts"] == 2
    scores = body["scores"]
    ref = _reference_capture_means(sub, frames, tmp_path)
    for cap in frames:
        for m in ("psnr", "ssim", "lpips"):
            assert scores["captures"][cap][m] == pytest.approx(ref[cap][m], rel=1e-9, abs=1e-12), (
                cap,
                m,
            )


def test_worker_command_scores_the_queue_once(dataset_dir, tmp_path, lb):
    """`hwp-bench leaderboard worker --once` (a separate scorer process's entry point)."""
    import uuid

    from hwp_leaderboard.archive import inspect_archive
    from hwp_leaderboard.database import Store
    from hwp_leaderboard.files import FileStore
    from hwp_leaderboard.pack import pack_submission
    from typer.testing import CliRunner

    from hwp_bench.cli import app

    frames = {"capture00": load_frames(dataset_dir, "capture00", "test")}
    run = _renders_from(tmp_path / "run", frames, noise=0.03)
    sub = pack_submission(run, tmp_path / "s.zip", {**lb.MANIFEST, "split": "single"})
    storage = FileStore(tmp_path / "state")
    store = Store(storage.default_database_url)
    team = store.create_team("alpha")
    ids = []
    for _ in range(2):
        sid = uuid.uuid4().hex
        (tmp_path / "copy.zip").write_bytes(sub.read_bytes())
        storage.accept(tmp_path / "copy.zip", sid)
        store.add_submission(
            submission_id=sid,
            team_id=team.id,
            quota=None,
            status="pending",
            split="single",
            protocol="hwp-v1",
            method="m",
            manifest=inspect_archive(sub).manifest.model_dump(exclude_none=True),
        )
        ids.append(sid)
    r = CliRunner().invoke(
        app,
        [
            "leaderboard",
            "worker",
            "--once",
            "--dataset",
            str(dataset_dir),
            "--storage",
            str(tmp_path / "state"),
        ],
    )
    assert r.exit_code == 0 and "scored 2 submission(s)" in r.output, r.output
    rows = [store.get(i) for i in ids]
    assert all(r["status"] == "done" for r in rows)
    assert rows[0]["scores"]["metrics"] == rows[1]["scores"]["metrics"]  # same renders, same scores
