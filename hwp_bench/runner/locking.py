"""One exclusive advisory lock per job, so two processes never train into the same folder."""

from __future__ import annotations

import contextlib
from pathlib import Path


@contextlib.contextmanager
def job_lock(run_dir: Path, capture: str):
    """An exclusive advisory lock per job, released by the OS if the process dies, so that a
    rerun never trains into the checkpoint folder of a job that is still running."""
    import fcntl

    path = run_dir / "locks" / f"{capture}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
