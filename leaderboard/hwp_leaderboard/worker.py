"""The scoring worker: claims pending submissions, scores them, records the outcome.

Runs as threads inside the server (``workers >= 1``) or as its own process (``hwp-bench
leaderboard worker``); several may run against one database, the claim is a transaction. While
scoring, a heartbeat renews the claim's lease; if the process dies the lease runs out and the
submission returns to ``pending`` (see :mod:`hwp_leaderboard.database`).

Outcomes: a :class:`SubmissionError` fails the submission with its reason (the team's fault);
any other exception is a server problem, so the submission goes back to ``pending`` and is
retried, at most ``max_attempts`` times. Logs name submissions and exception types only: no
images, no metric values of single frames, nothing derived from the ground truth's pixels.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from hwp_leaderboard.archive import inspect_archive
from hwp_leaderboard.database import Store
from hwp_leaderboard.errors import SubmissionError
from hwp_leaderboard.files import FileStore
from hwp_leaderboard.groundtruth import GroundTruth
from hwp_leaderboard.limits import DEFAULT_LIMITS, Limits
from hwp_leaderboard.scoring import ScorerFactory, protocol_scorer, score_archive

log = logging.getLogger("hwp_leaderboard.worker")


def _where(exc: BaseException) -> str:
    """Where an exception was raised (file:line, innermost frame): enough for an operator to
    find the bug, without the message, which might quote data."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{os.path.basename(last.filename)}:{last.lineno} in {last.name}"


class Worker:
    def __init__(
        self,
        store: Store,
        storage: FileStore,
        ground_truth: GroundTruth,
        *,
        scorer_factory: ScorerFactory = protocol_scorer,
        limits: Limits = DEFAULT_LIMITS,
        lease_s: float = 120.0,
        max_attempts: int = 3,
        poll_s: float = 2.0,
        frame_delay_s: float = 0.0,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.storage = storage
        self.ground_truth = ground_truth
        self.scorer_factory = scorer_factory
        self.limits = limits
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.poll_s = poll_s
        # Pause after each frame: keeps a scorer from saturating a small shared server.
        self.frame_delay_s = frame_delay_s
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.wake = threading.Event()
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one step -----------------------------------------------------------------------
    def run_once(self) -> str | None:
        """Recover expired claims, then claim and score one submission; return its id."""
        recovered = self.store.recover_expired()
        if recovered:
            log.warning("returned %d interrupted submission(s) to the queue", recovered)
        row = self.store.claim(self.name, self.lease_s, self.max_attempts)
        if row is None:
            return None
        self.process(row)
        return row["id"]

    def process(self, row: dict) -> str:
        sid = row["id"]
        stop_beat = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(sid, stop_beat), daemon=True)
        beat.start()
        try:
            try:
                path = self.storage.archive_path(sid)
                split = row["split"]
                spec = self.ground_truth.spec(split)
                index = inspect_archive(path, spec=spec, limits=self.limits, check_headers=False)
                scorer = self.scorer_factory(index.manifest.protocol)
                progress = None
                if self.frame_delay_s > 0:
                    delay = self.frame_delay_s

                    def progress(done: int, total: int) -> None:
                        time.sleep(delay)

                scores = score_archive(
                    path, index, self.ground_truth, scorer, limits=self.limits, progress=progress
                )
                self.storage.write_samples(sid, path, index, self.limits)
            except SubmissionError as exc:
                self.store.finish(
                    sid, self.name, status="failed", reason=f"{exc.code}: {exc.reason}"
                )
                log.info("submission %s failed: %s", sid, exc.code)
                return "failed"
            except Exception as exc:  # noqa: BLE001 - server-side problem: retry later
                log.error(
                    "internal error scoring %s (attempt %s): %s at %s",
                    sid,
                    row.get("attempts"),
                    type(exc).__name__,
                    _where(exc),
                )
                self.store.finish(sid, self.name, status="pending")
                return "pending"
            if self.store.finish(sid, self.name, status="done", scores=scores):
                log.info("submission %s scored (%d frames)", sid, scores["num_frames"])
                return "done"
            log.warning("submission %s: claim lost before the result was recorded", sid)
            return "lost-claim"
        finally:
            stop_beat.set()

    def _heartbeat(self, sid: str, stop: threading.Event) -> None:
        while not stop.wait(self.lease_s / 3.0):
            try:
                self.store.renew(sid, self.name, self.lease_s)
            except Exception as exc:  # noqa: BLE001 - a missed beat only shortens the lease
                log.warning("lease renewal for %s failed: %s", sid, type(exc).__name__)

    # -- loop ---------------------------------------------------------------------------
    def run_forever(self) -> None:
        if self.scorer_factory is protocol_scorer:
            # The registered protocols score in chunks on every core: start those processes
            # now rather than when the first submission is waiting.
            from hwp_bench.metrics.parallel import warm_up

            try:
                ready = warm_up()
                if ready:
                    log.info("%d scoring processes ready", ready)
            except Exception as exc:  # noqa: BLE001 - scoring still works, it starts them later
                log.warning("could not start the scoring processes yet: %s", type(exc).__name__)
        while not self.stop.is_set():
            try:
                did = self.run_once()
            except Exception as exc:  # noqa: BLE001 - keep the worker alive (db busy, ...)
                log.error("worker step failed: %s", type(exc).__name__)
                did = None
            if did is None:
                self.wake.wait(self.poll_s)
                self.wake.clear()

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(
            target=self.run_forever, name=f"scorer-{self.name}", daemon=True
        )
        self._thread.start()
        return self._thread

    def shutdown(self, timeout: float = 30.0) -> None:
        self.stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def drain(self, timeout: float = 60.0) -> int:
        """Score until the queue is empty (CLI ``worker --once`` and tests); return how many."""
        n = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.run_once() is not None:
            n += 1
        return n
