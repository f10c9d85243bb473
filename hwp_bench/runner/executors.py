"""Executors: where :func:`hwp_bench.runner.run_job` runs. All write the same files.

- ``local`` (default): one fresh process per job (spawned, so no state leaks between jobs and a
  crash, a segfault or an out-of-memory kill takes down only that job), at most
  ``cpus // threads`` at a time; with ``gpus`` each concurrent job gets one device through
  ``CUDA_VISIBLE_DEVICES``.
- ``ray``: the same jobs as Ray tasks (``pip install hwp-bench[ray]``), on ``ray.init()``'s local
  cluster or on the one at ``address``; ``out`` (and a dataset folder) must then be a path every
  node can reach (shared storage, see docs/scaling.md). A task whose worker process dies (a
  node lost, an out-of-memory kill) is retried by Ray and resumes from the job's checkpoint.
- ``inline``: in this process, one after another (debugging; no isolation from crashes).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hwp_bench.runner.frames import prefetch
from hwp_bench.runner.job import Job
from hwp_bench.runner.run_job import run_job

EXECUTORS = ("local", "ray", "inline")

Outcome = dict[str, Any]


def default_threads(n_jobs: int, cpus: int) -> int:
    """Threads per job: share the CPU budget among the jobs that can run at once."""
    return max(1, cpus // max(1, min(n_jobs, cpus)))


def run_inline(jobs: Sequence[Job], on_done: Callable[[Outcome], None] | None = None):
    outcomes = []
    for job in jobs:
        outcome = run_job(job)
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes


def _exit_with_parent(parent: int) -> None:
    """Stop this worker when the runner that started it is gone (killed with SIGKILL, say):
    an orphan would keep training while a rerun starts the same job."""
    import threading

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(70)

    threading.Thread(target=watch, daemon=True, name="hwp-bench-parent-watch").start()


#: Thread pools a spawned job sizes at import, before any code of ours runs: set to the job's
#: thread budget in the environment the child starts with. Unset, OpenBLAS starts a pool as
#: wide as the machine in every job, which spins beside the other jobs on the same cores
#: (the pose aligner ran 1.2x slower with two jobs on 2 cores even with the pool limited to
#: one thread at run time). A value the user exported is kept.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_environment(threads: int, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The thread variables a job of ``threads`` threads starts with (those not already set)."""
    environ = os.environ if environ is None else environ
    return {k: str(max(1, int(threads))) for k in THREAD_ENV_VARS if k not in environ}


@contextlib.contextmanager
def _environment(env: dict[str, str]):
    """``env`` in ``os.environ`` for the duration (a spawned child inherits it at start)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _child(job: Job, outcome_path: str, env: dict[str, str], parent: int) -> None:
    os.environ.update(env)
    _exit_with_parent(parent)
    outcome = run_job(job)
    from hwp_bench.io import atomic_write_json

    atomic_write_json(outcome_path, outcome)


#: Datasets whose captures are HWP's (Table II): their hand type is known before any frame loads.
_TABLE_II_DATASETS = ("synth", "synth-clean", "hwp")


def start_order(jobs: Sequence[Job]) -> list[int]:
    """Indices of ``jobs`` in the order a pool of several slots starts them: two-hand first.

    With more jobs than slots, one slot idles while the last job runs alone. A two-hand fit
    takes about 1.6 times a one-hand fit (HWP-Synth quick, docs/fidelity.md), so starting the
    two-hand captures first leaves a short job for the end. The sort is stable: seeds of one
    capture stay together, and captures of other datasets keep the order they were given.
    """
    from hwp_bench.data.tags import CAPTURES

    def two_hands_first(index: int) -> int:
        job = jobs[index]
        info = CAPTURES.get(job.capture) if job.dataset in _TABLE_II_DATASETS else None
        return 0 if info is not None and info.hand_type == "inter" else 1

    return sorted(range(len(jobs)), key=two_hands_first)


def run_local(
    jobs: Sequence[Job],
    *,
    cpus: int | None = None,
    gpus: Sequence[str] = (),
    on_done: Callable[[Outcome], None] | None = None,
    poll_seconds: float = 0.2,
) -> list[Outcome]:
    """Run each job in its own spawned process, within the CPU (and GPU) budget."""
    prefetch(jobs)
    cpus = max(1, cpus or os.cpu_count() or 1)
    threads = max(1, jobs[0].threads) if jobs else 1
    slots = max(1, cpus // threads)
    if gpus:
        slots = min(slots, len(gpus))
    ctx = multiprocessing.get_context("spawn")
    order = start_order(jobs) if slots > 1 else range(len(jobs))
    pending = [(index, jobs[index]) for index in order]
    running: dict[int, tuple[Any, int, Job, Path]] = {}  # slot -> (process, index, job, file)
    outcomes: list[Outcome | None] = [None] * len(jobs)
    tmpdir = Path(tempfile.mkdtemp(prefix="hwp-bench-outcomes-"))
    try:
        while pending or running:
            for slot in range(slots):
                if slot in running or not pending:
                    continue
                index, job = pending.pop(0)
                if slots > 1 and job.progress_position is None:
                    job = replace(job, progress_position=slot)
                env = {"CUDA_VISIBLE_DEVICES": str(gpus[slot])} if gpus else {}
                path = tmpdir / f"{index}.json"
                proc = ctx.Process(
                    target=_child, args=(job, str(path), env, os.getpid()), daemon=False
                )
                with _environment(thread_environment(threads)):
                    proc.start()
                running[slot] = (proc, index, job, path)
            time.sleep(poll_seconds)
            for slot, (proc, index, job, path) in list(running.items()):
                if proc.is_alive():
                    continue
                proc.join()
                outcome = _read_outcome(path, job, proc.exitcode)
                outcomes[index] = outcome
                del running[slot]
                if on_done:
                    on_done(outcome)
    except BaseException:
        for proc, *_ in running.values():
            with contextlib.suppress(Exception):
                proc.terminate()
        for proc, *_ in running.values():
            proc.join(timeout=10)
        raise
    finally:
        for p in tmpdir.glob("*"):
            with contextlib.suppress(OSError):
                p.unlink()
        with contextlib.suppress(OSError):
            tmpdir.rmdir()
    return [o for o in outcomes if o is not None]


def _read_outcome(path: Path, job: Job, exitcode: int | None) -> Outcome:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        pass
    how = f"killed by signal {-exitcode}" if exitcode and exitcode < 0 else f"exit code {exitcode}"
    outcome: Outcome = {
        "method": job.method,
        "capture": job.capture,
        "seed": job.seed,
        "status": "failed",
        "error": f"worker process died ({how}) before reporting; see the job's log",
    }
    with contextlib.suppress(Exception):
        outcome["run"] = job.run_dir().name
        outcome["log"] = str(job.run_dir() / "logs" / f"{job.capture}.log")
    return outcome


def ray_available() -> str | None:
    """None if Ray imports, else how to get it."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "the Ray executor needs Ray: pip install 'hwp-bench[ray]'"
    return None


def run_ray(
    jobs: Sequence[Job],
    *,
    address: str | None = None,
    cpus: int | None = None,
    gpus_per_job: float = 0.0,
    on_done: Callable[[Outcome], None] | None = None,
    max_retries: int = 2,
) -> list[Outcome]:
    """Run the jobs as Ray tasks; every task writes its files under ``job.out`` itself.

    ``max_retries``: how often Ray reruns a task whose worker process died (SIGKILL, OOM, a
    lost node). A rerun is cheap: :func:`run_job` resumes from the last checkpoint, renders
    only what is missing and skips a finished job. A job that *fails* (an exception) is not
    retried: run_job reports it in its outcome instead of raising.
    """
    import ray

    from hwp_bench.methods.registry import ENV_VAR
    from hwp_bench.metrics.protocols.registry import ENV_VAR as PROTOCOLS_ENV_VAR

    prefetch(jobs)
    # Plugins registered through environment variables must be found by the workers too.
    forwarded = (ENV_VAR, PROTOCOLS_ENV_VAR, "HWP_HOME")
    env_vars = {k: os.environ[k] for k in forwarded if k in os.environ}
    started_here = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": True,
            "runtime_env": {"env_vars": env_vars} if env_vars else None,
        }
        if address:
            kwargs["address"] = address
        elif cpus:
            kwargs["num_cpus"] = cpus
        ray.init(**{k: v for k, v in kwargs.items() if v is not None})
        started_here = True
    try:
        # Absolute paths: a Ray worker's working directory is not ours. No per-job bars: Ray
        # would interleave the workers' terminal output; the driver reports each finished job.
        jobs = [
            replace(
                j,
                out=str(Path(j.out).resolve()),
                dataset_path=str(Path(j.dataset_path).resolve()) if j.dataset_path else None,
                progress=False,
                progress_position=None,
            )
            for j in jobs
        ]
        # max_calls=1: a fresh worker process per job, as with the local executor (no state
        # or memory carried from one job to the next; peak memory is the job's own).
        task = ray.remote(max_calls=1)(run_job).options(
            num_cpus=max(1, jobs[0].threads) if jobs else 1,
            num_gpus=gpus_per_job,
            max_retries=max_retries,
        )
        refs = {task.remote(j): (i, j) for i, j in enumerate(jobs)}
        outcomes: list[Outcome | None] = [None] * len(jobs)
        waiting = list(refs)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            for ref in done:
                index, job = refs[ref]
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # worker died, or the task could not be deserialised
                    outcome = {
                        "method": job.method,
                        "capture": job.capture,
                        "seed": job.seed,
                        "status": "failed",
                        "error": f"Ray task failed: {type(exc).__name__}: {exc}",
                    }
                outcomes[index] = outcome
                if on_done:
                    on_done(outcome)
        return [o for o in outcomes if o is not None]
    finally:
        if started_here:
            ray.shutdown()
