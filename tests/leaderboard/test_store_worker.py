"""Database and worker: hashed tokens, exact quotas, claims, crash recovery, no half records.

Every test here runs twice, on SQLite and on PostgreSQL (the ``db_url`` fixture): the same
store, the same worker, worker processes killed with SIGKILL and many concurrent uploads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
import pytest
from hwp_leaderboard.database import QuotaExceeded, Store
from hwp_leaderboard.files import FileStore
from hwp_leaderboard.worker import Worker


@pytest.fixture
def setup(tmp_path, ground_truth, lb, db_url):
    storage = FileStore(tmp_path / "lb")
    store = Store(db_url)
    store.create_team("alpha")
    return storage, store


def _enqueue(
    storage, store, tmp_path, frames, lb, *, split="inter", noise=0.05, seed=1, name="s.zip"
):  # noqa: ANN001
    import uuid

    from hwp_leaderboard.archive import inspect_archive

    sub = lb.pack(tmp_path, frames, split, noise=noise, seed=seed, name=name)
    index = inspect_archive(sub)
    sid = uuid.uuid4().hex
    storage.accept(sub, sid)
    team = store.team_by_name("alpha")
    store.add_submission(
        submission_id=sid,
        team_id=team.id,
        quota=None,
        status="pending",
        split=split,
        protocol="hwp-v1",
        method=index.manifest.method,
        manifest=index.manifest.model_dump(exclude_none=True),
        archive=f"archives/{sid}.zip",
    )
    return sid


def test_tokens_are_stored_hashed_and_checked(setup, lb):
    storage, store = setup
    token = store.create_token("alpha", label="ci")
    assert store.team_for_token(token).name == "alpha"
    assert store.team_for_token(token + "x") is None
    assert store.team_for_token(None) is None and store.team_for_token("") is None
    raw = lb.database_dump(store.db.url)
    assert b"alpha" in raw  # the dump does see the tables
    assert token.encode() not in raw and token[5:].encode() not in raw
    assert store.revoke_tokens("alpha") == 1
    assert store.team_for_token(token) is None


def test_quota_is_exact_under_concurrent_inserts(setup):
    _, store = setup
    team = store.team_by_name("alpha")
    results = []

    def add(i: int) -> None:
        try:
            store.add_submission(
                submission_id=f"{i:032x}", team_id=team.id, quota=4, status="failed", reason="x"
            )
            results.append("ok")
        except QuotaExceeded:
            results.append("quota")

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 4 and results.count("quota") == 8
    assert store.used_quota(team.id) == 4
    # the window is 24 h: a day later the quota is free again
    assert store.used_quota(team.id, now=time.time() + 86401) == 0


def test_worker_scores_with_the_reference_metric(setup, tmp_path, frames, ground_truth, lb):
    storage, store = setup
    sid = _enqueue(storage, store, tmp_path, frames, lb, noise=0.05)
    w = Worker(store, storage, ground_truth, scorer_factory=lb.reference_psnr_scorer, lease_s=5)
    assert w.run_once() == sid and w.run_once() is None
    row = store.get(sid)
    assert row["status"] == "done" and row["reason"] is None
    # recompute by hand from the packed (8-bit) renders
    from hwp_leaderboard.archive import inspect_archive, iter_renders

    path = storage.archive_path(sid)
    per_cap = {}
    for cap, idx, color, _ in iter_renders(path, inspect_archive(path)):
        f = next(f for f in frames[cap] if f.index == idx)
        m = f.mask > 0.5
        per_cap.setdefault(cap, []).append(-10 * np.log10(np.mean((color[m] - f.image[m]) ** 2)))
    want = {c: np.mean(v) for c, v in per_cap.items()}
    s = row["scores"]
    for c, v in want.items():
        assert s["captures"][c]["psnr"] == pytest.approx(v, rel=1e-6)
    assert s["metrics"]["psnr"] == pytest.approx(np.mean(list(want.values())), rel=1e-6)
    assert s["tags"]["hoi"]["psnr"] == pytest.approx(
        np.mean([want["capture04"], want["capture05"]])
    )
    assert s["tags"]["blur"]["psnr"] == pytest.approx(want["capture04"])
    assert 24 < s["metrics"]["psnr"] < 28  # noise 0.05 -> ~26 dB
    assert storage.samples(sid) == ["capture04.png", "capture05.png"]


class Crash(BaseException):
    """Stands in for the process dying: no except-Exception handler runs."""


def test_crash_during_scoring_leaves_it_pending_then_it_is_retried(
    setup, tmp_path, frames, ground_truth, lb
):
    storage, store = setup
    sid = _enqueue(storage, store, tmp_path, frames, lb)
    calls = {"n": 0}

    def crashing(protocol):  # noqa: ANN001
        inner = lb.reference_psnr_scorer(protocol)

        def score(color, alpha, frame):  # noqa: ANN001
            calls["n"] += 1
            if calls["n"] == 3:
                raise Crash()
            return inner(color, alpha, frame)

        return score

    w1 = Worker(store, storage, ground_truth, scorer_factory=crashing, lease_s=0.6, name="w1")
    with pytest.raises(Crash):
        w1.run_once()
    row = store.get(sid)
    assert row["status"] == "scoring" and row["scores"] is None and row["attempts"] == 1
    w2 = Worker(
        store, storage, ground_truth, scorer_factory=lb.reference_psnr_scorer, lease_s=5, name="w2"
    )
    assert w2.run_once() is None  # lease still held by the dead worker
    time.sleep(0.7)
    assert w2.run_once() == sid
    row = store.get(sid)
    assert row["status"] == "done" and row["attempts"] == 2 and row["scores"]["num_frames"] == 5
    # the dead worker coming back cannot overwrite the newer result
    assert not store.finish(sid, "w1", status="failed", reason="late")
    assert store.get(sid)["status"] == "done"


def test_internal_errors_retry_then_fail_without_leaking(
    setup, tmp_path, frames, ground_truth, lb, caplog
):
    storage, store = setup
    sid = _enqueue(storage, store, tmp_path, frames, lb)
    secret = float(frames["capture04"][0].image[5, 7, 1])

    def broken(protocol):  # noqa: ANN001
        def score(color, alpha, frame):  # noqa: ANN001
            raise RuntimeError(f"gt pixel {frame.image[5, 7, 1]!r}")

        return score

    w = Worker(store, storage, ground_truth, scorer_factory=broken, lease_s=5, max_attempts=2)
    with caplog.at_level("DEBUG", logger="hwp_leaderboard"):
        w.run_once()
        assert store.get(sid)["status"] == "pending"
        w.run_once()
        w.run_once()
    row = store.get(sid)
    assert row["status"] == "failed" and "server problem" in row["reason"]
    assert repr(secret) not in caplog.text and "RuntimeError" in caplog.text


def test_bad_image_found_while_scoring_fails_with_reason(setup, tmp_path, frames, ground_truth, lb):
    storage, store = setup
    sid = _enqueue(storage, store, tmp_path, frames, lb)
    # corrupt one render after upload-time checks (header intact, data truncated)
    path = storage.archive_path(sid)
    good = lb.png_bytes(np.full((lb.H, lb.W, 3), 9, np.uint8))
    lb.rewrite_zip(path, tmp_path / "c.zip", replace={"renders/capture05/00045.png": good[:-30]})
    (tmp_path / "c.zip").replace(path)
    Worker(store, storage, ground_truth, scorer_factory=lb.reference_psnr_scorer).run_once()
    row = store.get(sid)
    assert row["status"] == "failed" and row["reason"].startswith("bad-png:")
    assert "00045.png" in row["reason"] and row["scores"] is None


def test_schema_has_no_plaintext_token_column(setup, lb):
    _, store = setup
    cols = lb.table_columns(store.db.url, "tokens")
    assert "token_hash" in cols and "token" not in cols


def _pending_rows(store, n):  # noqa: ANN001
    team = store.team_by_name("alpha")
    ids = [f"{i:032x}" for i in range(n)]
    for sid in ids:
        store.add_submission(submission_id=sid, team_id=team.id, quota=None, status="pending")
        time.sleep(0.002)  # distinct creation times: claims go oldest first
    return ids


def test_claims_are_exclusive_and_leases_are_kept_or_lost(setup, db_url):
    _, store = setup
    ids = _pending_rows(store, 12)
    claimed: dict[str, list[str]] = {}
    lock = threading.Lock()

    def claimer(name: str) -> None:
        own = Store(db_url)  # its own connections, as another process would have
        while (row := own.claim(name, lease_s=30, max_attempts=3)) is not None:
            with lock:
                claimed.setdefault(row["id"], []).append(name)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == ids and all(len(v) == 1 for v in claimed.values())
    assert store.counts() == {"pending": 0, "scoring": 12, "done": 0, "failed": 0}

    first, second = ids[0], ids[1]
    holder, other = claimed[first][0], "intruder"
    row = store.get(first)
    assert row["worker"] == holder and row["attempts"] == 1
    # only the holder renews or finishes
    assert not store.renew(first, other, 30) and store.renew(first, holder, 30)
    assert not store.finish(first, other, status="done", scores={"psnr": 1.0})
    assert store.finish(first, holder, status="done", scores={"psnr": 1.0})
    assert store.get(first)["scores"] == {"psnr": 1.0}
    # leases still running are not recovered; run-out ones go back to the queue
    assert store.recover_expired() == 0
    assert store.recover_expired(now=time.time() + 31) == 11
    assert store.counts()["pending"] == 11 and store.get(second)["worker"] is None
    # the dead worker cannot finish what it lost
    assert not store.finish(second, claimed[second][0], status="done", scores={})
    # a submission whose scoring died max_attempts times fails instead of looping
    row = store.claim("w", lease_s=0.01, max_attempts=2)
    assert row["id"] == second and row["attempts"] == 2
    store.recover_expired(now=time.time() + 1)
    nxt = store.claim("w", lease_s=30, max_attempts=2)
    assert nxt["id"] == ids[2]
    failed = store.get(second)
    assert failed["status"] == "failed" and "2 times" in failed["reason"]


# -- worker processes against the real protocol on a dataset folder -----------------------------
def _dataset_submission(dataset_dir, tmp_path, lb, split="single", noise=0.04, seed=3, name="s"):  # noqa: ANN001
    from hwp_leaderboard.pack import pack_submission

    from hwp_bench.data import load_frames

    caps = {"single": ["capture00"], "inter": ["capture04", "capture07"]}[split]
    rng = np.random.default_rng(seed)
    run = tmp_path / f"run-{name}"
    for cap in caps:
        d = run / "renders" / cap
        d.mkdir(parents=True, exist_ok=True)
        for f in load_frames(dataset_dir, cap, "test"):
            img = np.clip(f.image + rng.normal(0, noise, f.image.shape), 0, 1).astype(np.float32)
            np.save(d / f"{f.index:05d}.npy", img)
    manifest = {**lb.MANIFEST, "split": split, "dataset": {"id": "tiny-hwp"}}
    return pack_submission(run, tmp_path / f"{name}.zip", manifest)


def _worker_process(dataset_dir, storage, db_url, log_path, *extra):  # noqa: ANN001
    # Submissions of 2 frames are scored in the worker itself: no scoring processes to start.
    env = {**os.environ, "HWP_SCORING_WORKERS": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from hwp_bench.cli import main; main()",
            "leaderboard",
            "worker",
            "--dataset",
            str(dataset_dir),
            "--dataset-id",
            "tiny-hwp",
            "--storage",
            str(storage),
            "--db",
            db_url,
            "--poll-s",
            "0.1",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(log_path, "w"),  # noqa: SIM115 - the child owns it
        env=env,
    )


def _wait(predicate, timeout, what, procs=()):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        for p in procs:
            assert p.poll() is None, f"a worker process exited ({p.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _without_timing(scores):  # noqa: ANN001
    return {k: v for k, v in scores.items() if k != "scoring_time_s"}


def test_worker_process_killed_mid_scoring_is_rescored_once(dataset_dir, tmp_path, lb, db_url):
    from hwp_leaderboard.archive import inspect_archive
    from hwp_leaderboard.groundtruth import DatasetGroundTruth
    from hwp_leaderboard.scoring import protocol_scorer, score_archive

    gt = DatasetGroundTruth(str(dataset_dir), dataset_id="tiny-hwp")
    storage = FileStore(tmp_path / "state")
    store = Store(db_url)
    team = store.create_team("alpha")
    sub = _dataset_submission(dataset_dir, tmp_path, lb)
    index = inspect_archive(sub, spec=gt.spec("single"))
    sid = uuid.uuid4().hex
    storage.accept(sub, sid)
    store.add_submission(
        submission_id=sid,
        team_id=team.id,
        quota=None,
        status="pending",
        split="single",
        protocol=index.manifest.protocol,
        method=index.manifest.method,
        manifest=index.manifest.model_dump(exclude_none=True),
    )
    # 2 frames with a 2 s pause after each: it is surely mid-scoring when it is killed
    proc = _worker_process(
        dataset_dir, storage.root, db_url, tmp_path / "w1.log", "--lease-s", "1.5",
        "--frame-delay-s", "2",
    )  # fmt: skip
    try:
        _wait(lambda: store.get(sid)["status"] == "scoring", 60, "the claim", [proc])
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    row = store.get(sid)
    assert row["status"] == "scoring" and row["scores"] is None and row["attempts"] == 1
    assert storage.samples(sid) == []  # nothing half-published
    w2 = Worker(store, storage, gt, lease_s=10, name="w2")
    assert w2.run_once() is None  # the dead worker's lease has not run out yet
    _wait(lambda: store.get(sid)["lease_until"] < time.time(), 10, "the lease to run out")
    assert w2.run_once() == sid
    row = store.get(sid)
    assert row["status"] == "done" and row["attempts"] == 2 and row["worker"] is None
    fresh = score_archive(
        storage.archive_path(sid), index, gt, protocol_scorer(index.manifest.protocol)
    )
    assert _without_timing(row["scores"]) == _without_timing(fresh)
    assert row["scores"]["num_frames"] == 2 and 15 < row["scores"]["metrics"]["psnr"] < 40


def test_50_concurrent_uploads_two_worker_processes_nothing_lost_or_twice(
    dataset_dir, tmp_path, lb, db_url
):
    import httpx
    from hwp_leaderboard.groundtruth import DatasetGroundTruth
    from hwp_leaderboard.server import Settings, create_app

    n, variants = 50, 5
    store = Store(db_url)
    store.create_team("alpha")
    token = store.create_token("alpha")
    settings = Settings(storage=tmp_path / "state", database_url=db_url, quota_per_day=n, workers=0)
    gt = DatasetGroundTruth(str(dataset_dir), dataset_id="tiny-hwp")
    subs = [
        _dataset_submission(dataset_dir, tmp_path, lb, noise=0.02 * (v + 1), seed=v, name=f"v{v}")
        .read_bytes()
        for v in range(variants)
    ]  # fmt: skip
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [_worker_process(dataset_dir, settings.storage, db_url, p) for p in logs]
    accepted: dict[str, int] = {}
    lock = threading.Lock()
    try:
        with lb.LiveServer(create_app(settings, gt)) as live:

            def upload(i: int) -> None:
                r = httpx.post(
                    f"{live.url}/api/submissions",
                    content=subs[i % variants],
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=180,
                )
                assert r.status_code == 202, r.text
                with lock:
                    accepted[r.json()["id"]] = i % variants

            threads = [threading.Thread(target=upload, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(accepted) == n
            over = httpx.post(
                f"{live.url}/api/submissions",
                content=subs[0],
                headers={"Authorization": f"Bearer {token}"},
                timeout=180,
            )
            assert over.status_code == 429  # the quota counted every one of them
            _wait(lambda: store.counts()["done"] == n, 180, "all scores", workers)
    finally:
        for p in workers:
            p.terminate()
        for p in workers:
            p.wait(20)
    rows = store.list_submissions()
    assert len(rows) == n and {r["id"] for r in rows} == set(accepted)
    assert all(r["status"] == "done" and r["attempts"] == 1 for r in rows)
    # each worker's log names what it scored: every submission exactly once, both workers busy
    scored = [
        [line.split("submission ")[1].split()[0] for line in p.read_text().splitlines()
         if " scored (" in line]
        for p in logs
    ]  # fmt: skip
    assert sorted(scored[0] + scored[1]) == sorted(accepted)
    assert scored[0] and scored[1]
    # the same archive scores the same, different noise scores differently
    by_variant: dict[int, set] = {}
    for r in rows:
        by_variant.setdefault(accepted[r["id"]], set()).add(r["scores"]["metrics"]["psnr"])
    assert all(len(v) == 1 for v in by_variant.values())
    psnrs = [next(iter(by_variant[v])) for v in range(variants)]
    assert psnrs == sorted(psnrs, reverse=True) and len(set(psnrs)) == variants


def test_a_dataset_size_submission_scores_on_every_core_as_frame_by_frame(
    tmp_path, lb, monkeypatch
):
    """Enough frames for the scoring processes: the same scores as one frame at a time."""
    from hwp_leaderboard.archive import inspect_archive
    from hwp_leaderboard.groundtruth import FramesGroundTruth
    from hwp_leaderboard.scoring import protocol_scorer, score_archive

    from hwp_bench.metrics.parallel import _POOLS, MIN_FRAMES

    h, w = 40, 48  # LPIPS needs crops of at least 32 px
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(0)
    frames = {}
    for cap in ("capture04", "capture05"):
        frames[cap] = []
        for i in range(30):
            mask = ((((yy - 20) / 17) ** 2 + ((xx - 24 - i % 4) / 19) ** 2) <= 1).astype(np.float32)
            image = rng.uniform(0.1, 0.9, (h, w, 3)).astype(np.float32)
            frames[cap].append(lb.inter_test_frame(image, mask, cap, i, 30))
    gt = FramesGroundTruth(frames, {"inter": ["capture04", "capture05"]}, dataset_id="t")
    assert gt.spec("inter").num_frames == 60 >= MIN_FRAMES
    sub = lb.pack(tmp_path, frames, "inter", noise=0.05)
    index = inspect_archive(sub, spec=gt.spec("inter"))
    scorer = protocol_scorer("hwp-v1")
    monkeypatch.setenv("HWP_SCORING_WORKERS", "1")
    alone = score_archive(sub, index, gt, scorer)
    assert 1 not in _POOLS
    monkeypatch.setenv("HWP_SCORING_WORKERS", "2")
    pooled = score_archive(sub, index, gt, scorer)
    assert 2 in _POOLS  # scored on the pool
    for cap in frames:
        for m in ("psnr", "ssim", "lpips"):
            a, b = alone["captures"][cap][m], pooled["captures"][cap][m]
            assert abs(a - b) <= 1e-6 * max(1, abs(a)), (cap, m, a, b)
    assert pooled["num_frames"] == alone["num_frames"] == 60
