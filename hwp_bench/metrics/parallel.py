"""Scoring many frames at once: chunks of frames across processes, so that scoring uses every core.

Why processes and not torch's intra-op threads: a protocol's per-frame work is many small torch
and numpy operations (region, crops, an SSIM filter, an LPIPS pass on a crop of the frame's own
size) with Python in between. One process with two intra-op threads leaves the second core
idle through the small operations and the Python, and on a busy machine OpenMP's spinning
threads make it slower than one thread. ``N`` single-threaded processes, each scoring whole
chunks of frames, keep ``N`` cores busy through all of it.

Each chunk goes to :meth:`~hwp_bench.metrics.protocols.base.Protocol.score_frames`, which a
protocol may implement with batched tensor operations across the chunk's frames; the default
scores them one by one. Either way every frame gets what ``score_frame`` gives it in this
process (the tests hold every registered protocol to that, to 1e-6; the only differences are
the rounding of sums split over another number of threads).

The pool is started on first use (spawned processes: a couple of seconds to import torch) and
kept for the life of the process, so a leaderboard worker, or an evaluator scoring several
captures, pays that once. Fewer than :data:`MIN_FRAMES` frames, or one worker, are scored in
this process. If a pool process dies (out of memory, killed), the frames it held and the rest
are scored in this process instead: slower, never lost.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = [
    "CHUNK_FRAMES",
    "MIN_FRAMES",
    "WORKERS_ENV",
    "default_workers",
    "iter_scores",
    "map_chunks",
    "score_items",
    "shutdown_pools",
    "warm_up",
]

log = logging.getLogger(__name__)

#: Frames per task sent to a pool process (amortises the transfer and the Python per task).
CHUNK_FRAMES = 8
#: Below this many frames the pool's start-up would cost more than it saves.
MIN_FRAMES = 48

# (pred_color, pred_alpha, frame, hand_vertices): what score_frame takes for one frame.
Item = tuple[Any, Any, Any, Any]

_POOLS: dict[int, Any] = {}
_POOLS_LOCK = threading.Lock()


#: Environment variable that sets the number of scoring processes (e.g. 1 on a server whose
#: web process should keep a core to itself).
WORKERS_ENV = "HWP_SCORING_WORKERS"


def default_workers() -> int:
    """``$HWP_SCORING_WORKERS``, else the cores this process may run on."""
    env = os.environ.get(WORKERS_ENV, "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"{WORKERS_ENV} must be a whole number, not {env!r}") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _init_worker(parent: int) -> None:
    # One thread per process: the pool is the parallelism (see the module docstring).
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)

    # A parent killed with SIGKILL (a leaderboard worker, say) cannot shut its pool down: stop
    # when it is gone rather than linger as an orphan holding memory.
    def watch() -> None:
        import time

        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="hwp-scoring-parent-watch").start()


_CHILD_PROTOCOLS: dict[Any, Any] = {}


def _score_chunk(ref, metrics, chunk: Sequence[Item]) -> list[dict[str, float]]:
    """Runs in a pool process: the chunk's scores from the protocol ``ref`` names."""
    import torch

    if isinstance(ref, str):
        proto = _CHILD_PROTOCOLS.get(ref)
        if proto is None:
            from hwp_bench.metrics.protocols import get_protocol

            proto = _CHILD_PROTOCOLS[ref] = get_protocol(ref)
    else:
        proto = ref
    with torch.no_grad():
        return proto.score_frames(chunk, metrics=metrics)


def _protocol_ref(protocol) -> Any:
    """How a pool process gets the protocol: its registry id when the registered protocol is
    the same one (plugins registered by file path cannot be pickled by reference), else the
    object itself."""
    try:
        from hwp_bench.metrics.protocols import get_protocol

        registered = get_protocol(protocol.id)
        if type(registered) is type(protocol) and registered.to_dict() == protocol.to_dict():
            return protocol.id
    except Exception:  # noqa: BLE001 - unregistered or unusual protocol: send the object
        pass
    return protocol


def _pool(workers: int):
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
            _POOLS[workers] = pool
        return pool


def _drop_pool(workers: int, pool) -> None:
    with _POOLS_LOCK:
        if _POOLS.get(workers) is pool:
            del _POOLS[workers]
    pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def shutdown_pools() -> None:
    """Stop the scoring processes (at exit; also safe to call any time)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _in_process(protocol, chunk: Sequence[Item], metrics) -> list[dict[str, float]]:
    import torch

    with torch.no_grad():
        return protocol.score_frames(chunk, metrics=metrics)


def iter_scores(
    protocol,
    items: Iterable[Item],
    *,
    metrics: tuple[str, ...] | None = None,
    workers: int | None = None,
    total: int | None = None,
    chunk_frames: int = CHUNK_FRAMES,
    min_frames: int = MIN_FRAMES,
) -> Iterator[dict[str, float]]:
    """Yield the scores of each item, in order, consuming ``items`` lazily.

    ``workers``: processes to score in (default :func:`default_workers`); ``total``: how many
    items there are when ``items`` has no length (decides pool or not). At most two chunks
    per worker are in flight, so memory stays bounded however many frames there are.
    """
    workers = default_workers() if workers is None else max(1, int(workers))
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if workers <= 1 or total is None or total < min_frames:
        for chunk in _chunks(items, chunk_frames):
            yield from _in_process(protocol, chunk, metrics)
        return

    from concurrent.futures.process import BrokenProcessPool

    ref = _protocol_ref(protocol)
    pool = _pool(workers)
    inflight: collections.deque = collections.deque()
    broken = False

    def collect(chunk, future) -> list[dict[str, float]]:
        nonlocal broken
        if future is not None and not broken:
            try:
                return future.result()
            except BrokenProcessPool:
                broken = True
                log.warning("a scoring process died; scoring the rest in this process")
                _drop_pool(workers, pool)
        return _in_process(protocol, chunk, metrics)

    for chunk in _chunks(items, chunk_frames):
        future = None  # None: score in this process, in its turn
        if not broken:
            try:
                future = pool.submit(_score_chunk, ref, metrics, chunk)
            except (BrokenProcessPool, RuntimeError):  # the pool died or was shut down
                broken = True
                _drop_pool(workers, pool)
        inflight.append((chunk, future))
        while len(inflight) >= 2 * workers:
            yield from collect(*inflight.popleft())
    while inflight:
        yield from collect(*inflight.popleft())


def _warm() -> int:
    from hwp_bench.metrics.lpips import get_lpips
    from hwp_bench.metrics.protocols import list_protocols

    list_protocols()
    get_lpips()
    return os.getpid()


def warm_up(workers: int | None = None) -> int:
    """Start the scoring processes now and load what scoring needs in each (protocols, the
    LPIPS weights), so that the first frames scored do not wait for it; a leaderboard worker
    calls this when it starts. Returns how many processes are ready (0: scoring runs in this
    process)."""
    workers = default_workers() if workers is None else max(1, int(workers))
    if workers <= 1:
        return 0
    pool = _pool(workers)
    pids = {f.result() for f in [pool.submit(_warm) for _ in range(2 * workers)]}
    return len(pids)


def map_chunks(fn, tasks: Sequence[tuple], *, workers: int | None = None) -> list:
    """``[fn(*task) for task in tasks]`` on the scoring processes, in order (``fn`` must be a
    module-level function). If a process dies, what it held is computed here."""
    from concurrent.futures.process import BrokenProcessPool

    workers = default_workers() if workers is None else max(1, int(workers))
    if workers <= 1:
        return [fn(*task) for task in tasks]
    pool = _pool(workers)
    try:
        futures = [pool.submit(fn, *task) for task in tasks]
    except (BrokenProcessPool, RuntimeError):
        _drop_pool(workers, pool)
        return [fn(*task) for task in tasks]
    out = []
    for task, future in zip(tasks, futures, strict=True):
        try:
            out.append(future.result())
        except BrokenProcessPool:
            _drop_pool(workers, pool)
            out.append(fn(*task))
    return out


def score_items(protocol, items: Sequence[Item], **kwargs) -> list[dict[str, float]]:
    """:func:`iter_scores` as a list."""
    return list(iter_scores(protocol, items, **kwargs))
