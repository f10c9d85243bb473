"""Database and worker: hashed tokens, exact quotas, claims, crash recovery, no half records."""

from __future__ import annotations

import sqlite3
import threading
import time

import numpy as np
import pytest
from hwp_leaderboard.database import QuotaExceeded, Store
from hwp_leaderboard.files import FileStore
from hwp_leaderboard.worker import Worker


@pytest.fixture
def setup(tmp_path, ground_truth, lb):
    storage = FileStore(tmp_path / "lb")
    store = Store(storage.default_database_url)
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


def test_tokens_are_stored_hashed_and_checked(setup):
    storage, store = setup
    token = store.create_token("alpha", label="ci")
    assert store.team_for_token(token).name == "alpha"
    assert store.team_for_token(token + "x") is None
    assert store.team_for_token(None) is None and store.team_for_token("") is None
    raw = storage.root.joinpath("leaderboard.sqlite3").read_bytes()
    for f in storage.root.glob("leaderboard.sqlite3*"):
        raw += f.read_bytes()
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


def test_schema_has_no_plaintext_token_column(setup):
    storage, _ = setup
    con = sqlite3.connect(storage.root / "leaderboard.sqlite3")
    cols = [r[1] for r in con.execute("PRAGMA table_info(tokens)")]
    con.close()
    assert "token_hash" in cols and "token" not in cols
