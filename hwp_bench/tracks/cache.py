"""Aligned test poses, computed once per dataset and shared by every method.

The aligned parameters of a capture's test frames are a pure function of what the aligner
reads (each frame's camera, estimated hand parameters and hand mask) and of the aligner's
configuration. That function's inputs are hashed into the cache key, so:

* every method, every run and the leaderboard get the *same* parameters for the same data
  (and a changed mask, estimate or aligner is a new key, never a stale hit);
* the work is done once: the file ``<cache_dir>/aligned-poses/<capture>-<key>.json`` is written
  atomically, under a lock, so concurrent jobs of one capture wait for the first instead of
  aligning the same frames twice.

The file holds parameters and fit statistics only (JSON), and is checked before use: a file
that does not parse, has another key or misses frames is recomputed. While a capture is being
aligned, the frames done so far are kept beside it (``<capture>-<key>.partial.json``, written
atomically after each frame), so an interrupted alignment resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwp_bench.data.frame import Frame, HandParams
from hwp_bench.tracks.align import AlignConfig, align_frame

__all__ = ["AlignedFrame", "aligned_frames", "cache_key", "cache_path"]

SCHEMA = "hwp-bench-aligned-poses"
_MAX_BYTES = 32 * 1024**2


@dataclass
class AlignedFrame:
    """One test frame's aligned parameters and how the fit went."""

    hands: dict[str, HandParams]
    status: str
    initial_residual_px: float
    residual_px: float
    rounds: int

    def to_dict(self) -> dict:
        return {
            "hands": {s: _hand_dict(hp) for s, hp in sorted(self.hands.items())},
            "status": self.status,
            "initial_residual_px": _num(self.initial_residual_px),
            "residual_px": _num(self.residual_px),
            "rounds": int(self.rounds),
        }

    @classmethod
    def from_dict(cls, d: dict) -> AlignedFrame:
        hands = {
            str(s): HandParams(h["pose"], h["shape"], h["trans"]) for s, h in d["hands"].items()
        }
        nan = float("nan")
        return cls(
            hands,
            str(d["status"]),
            nan if d.get("initial_residual_px") is None else float(d["initial_residual_px"]),
            nan if d.get("residual_px") is None else float(d["residual_px"]),
            int(d.get("rounds", 0)),
        )


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def _hand_dict(hp: HandParams) -> dict:
    return {
        "pose": [float(v) for v in np.asarray(hp.pose, np.float32)],
        "shape": [float(v) for v in np.asarray(hp.shape, np.float32)],
        "trans": [float(v) for v in np.asarray(hp.trans, np.float32)],
    }


def _frame_digest(frame: Frame) -> str:
    h = hashlib.sha256()
    h.update(f"{frame.capture}/{int(frame.index)}/{frame.height}x{frame.width}".encode())
    h.update(np.ascontiguousarray(frame.K, dtype=np.float32).tobytes())
    for side in sorted(frame.hands):
        hp = frame.hands[side]
        h.update(side.encode())
        for arr in (hp.pose, hp.shape, hp.trans):
            h.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
    if frame.mask is not None:
        h.update(np.ascontiguousarray(frame.mask, dtype=np.float32).tobytes())
    return h.hexdigest()


def cache_key(frames: Sequence[Frame], config: AlignConfig) -> str:
    """SHA-256 of the aligner's configuration and of every input of every frame."""
    from hwp_bench.io.canonical import canonical_hash

    body = {
        "aligner": config.to_dict(),
        "frames": sorted([int(f.index), _frame_digest(f)] for f in frames),
    }
    return canonical_hash(body)


def cache_path(capture: str, key: str) -> Path:
    from hwp_bench.paths import cache_dir

    if not capture or "/" in capture or "\\" in capture or capture.startswith("."):
        raise ValueError(f"unsafe capture name {capture!r}")
    return cache_dir() / "aligned-poses" / f"{capture}-{key[:24]}.json"


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read(
    path: Path, key: str, indices: set[int], *, partial: bool = False
) -> dict[int, AlignedFrame] | None:
    """The frames of a cache file with this key: all of ``indices``, or (``partial``, the
    progress file of an interrupted alignment) any subset of them."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            return None
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("schema") != SCHEMA or body.get("key") != key:
            return None
        out = {int(i): AlignedFrame.from_dict(d) for i, d in body["frames"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if partial:
        return out if set(out) <= indices else None
    return out if set(out) == indices else None


def partial_path(path: Path) -> Path:
    """Where the frames aligned so far are kept while a capture's alignment runs: an
    interrupted alignment resumes from them (each frame's fit depends on that frame only, so
    the finished file is the same). Never read as a finished cache file."""
    return path.with_name(f"{path.stem}.partial.json")


def _write(path: Path, key: str, capture: str, config: AlignConfig, frames: dict) -> None:
    from hwp_bench.io import atomic_write_json

    atomic_write_json(
        path,
        {
            "schema": SCHEMA,
            "key": key,
            "capture": capture,
            "aligner": config.to_dict(),
            "frames": {str(i): a.to_dict() for i, a in sorted(frames.items())},
        },
    )


def aligned_frames(
    frames: Sequence[Frame],
    *,
    config: AlignConfig | None = None,
    progress: bool = False,
    use_cache: bool = True,
    on_frame: Callable[[int], None] | None = None,
) -> dict[int, AlignedFrame]:
    """Aligned parameters of ``frames`` (all of one capture), keyed by frame index.

    Read from the cache when there, else computed (with a progress bar when ``progress``) and
    cached. ``on_frame`` is called after each frame that had to be aligned.
    """
    config = config or AlignConfig()
    frames = list(frames)
    if not frames:
        return {}
    captures = {f.capture for f in frames}
    if len(captures) != 1:
        raise ValueError(f"aligned_frames takes the frames of one capture, got {sorted(captures)}")
    capture = captures.pop()
    key = cache_key(frames, config)
    indices = {int(f.index) for f in frames}
    if not use_cache:
        return _compute(frames, config, progress, on_frame)
    path = cache_path(capture, key)
    found = _read(path, key, indices)
    if found is not None:
        return found
    with _lock(path):
        found = _read(path, key, indices)  # another process may have finished meanwhile
        if found is not None:
            return found
        progress_file = partial_path(path)
        done = _read(progress_file, key, indices, partial=True) or {}

        def keep(result: dict[int, AlignedFrame]) -> None:
            _write(progress_file, key, capture, config, result)

        result = _compute(frames, config, progress, on_frame, done=done, save=keep)
        _write(path, key, capture, config, result)
        progress_file.unlink(missing_ok=True)
    return result


def _compute(
    frames, config, progress, on_frame, *, done=None, save=None
) -> dict[int, AlignedFrame]:
    """Align every frame not in ``done`` (frames aligned before an interruption), calling
    ``save`` with everything aligned so far after each frame."""
    from tqdm.auto import tqdm

    out: dict[int, AlignedFrame] = dict(done or {})
    todo = [f for f in frames if int(f.index) not in out]
    cap = frames[0].capture
    bar = tqdm(
        todo,
        desc=f"align poses to masks {cap}",
        unit="frame",
        disable=not progress,
        initial=len(frames) - len(todo),
        total=len(frames),
    )
    for f in bar:
        r = align_frame(f, config)
        out[int(f.index)] = AlignedFrame(
            r.hands, r.status, r.initial_residual_px, r.residual_px, r.rounds
        )
        if save is not None:
            save(out)
        if on_frame is not None:
            on_frame(int(f.index))
    return out
