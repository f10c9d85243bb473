"""Hand landmarks for every frame of a video: a forward pass, then backward passes over gaps.

A tracking landmarker (MediaPipe in video mode) follows a hand from frame to frame once its
palm detector has found it, but after losing a hand it only finds it again when the palm
detector fires, which can take many frames (measured on an HWP-Synth capture written as H.264:
84% of the hands found going forward). Running the tracker *backwards* from the frame where
the hand was found again recovers most of those frames (94% on the same capture), because the
tracker then starts from a confident detection and follows the hand into the gap.

So: one forward pass over the whole video; then every run of frames with fewer hands than the
video usually shows becomes a *window* ending ``margin`` frames after the run, whose frames are
decoded again, buffered (at most ``max_window`` at a time, so memory stays bounded whatever the
video's length) and fed to a fresh tracker in reverse order. A frame's detections are the union
of both passes, duplicates merged (:func:`hwp_bench.video.tracks.dedupe`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hwp_bench.video.decode import VideoInfo, check_length, iter_frames
from hwp_bench.video.errors import VideoError
from hwp_bench.video.landmarks import FrameDetections
from hwp_bench.video.tracks import dedupe, infer_hand_type


def _bar(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="frame", disable=not enabled, leave=False)


def gap_windows(
    counts: list[int], expected: int, *, margin: int = 15, max_window: int = 256
) -> list[tuple[int, int]]:
    """Frame windows ``[start, stop)`` to track backwards: each covers a run of frames with
    fewer than ``expected`` hands and ends ``margin`` frames after it (clipped to the video),
    merged when they overlap, and at most ``max_window`` frames long (a longer run keeps its
    end, where the backward tracker starts)."""
    n = len(counts)
    runs: list[list[int]] = []
    for i, c in enumerate(counts):
        if c < expected:
            if runs and runs[-1][1] == i:
                runs[-1][1] = i + 1
            else:
                runs.append([i, i + 1])
    windows: list[list[int]] = []
    for a, b in runs:
        stop = min(n, b + margin)
        start = max(a, stop - max_window)
        if windows and start <= windows[-1][1] and stop - windows[-1][0] <= max_window:
            windows[-1][1] = stop
        else:
            windows.append([start, stop])
    return [(a, b) for a, b in windows]


def detect_video(
    path: str | os.PathLike,
    info: VideoInfo,
    estimator_factory: Callable[[], object],
    size: tuple[int, int],
    *,
    every: int = 1,
    max_frames: int,
    hand_type: str | None = None,
    two_way: bool = True,
    progress: bool = True,
    used: list[str] | None = None,
) -> list[FrameDetections]:
    """Detections of every kept frame, in order (see the module docstring). ``used`` gets
    the estimator's name appended (for the import report)."""
    expected_frames = check_length(info, max_frames=max_frames, every=every)
    out: list[FrameDetections] = []
    name = Path(path).name
    est = estimator_factory()
    if used is not None:
        used.append(str(getattr(est, "name", type(est).__name__)))
    bar = _bar(expected_frames or 0, f"hands in {name}", progress)
    try:
        for k, img in enumerate(iter_frames(path, size=size, every=every, limit=max_frames + 1)):
            if k >= max_frames:
                raise VideoError(
                    f"{path}: more than --max-frames {max_frames} frames (the container "
                    "under-reported its length); cut the video or use --every"
                )
            out.append(FrameDetections(k, list(est.detect(img))))
            bar.update(1)
    finally:
        bar.close()
        _close(est)
    if not two_way or not any(f.hands for f in out):
        return out
    kind = hand_type or infer_hand_type(out)
    expected = 2 if kind == "inter" else 1
    counts = [len(dedupe(f.hands)) for f in out]
    windows = gap_windows(counts, expected)
    if not windows:
        return out
    todo = sum(b - a for a, b in windows)
    bar = _bar(todo, f"hands in {name} (backward over gaps)", progress)
    try:
        w = 0
        buf: list[np.ndarray] = []
        for k, img in enumerate(iter_frames(path, size=size, every=every, limit=len(out))):
            if w >= len(windows):
                break
            a, b = windows[w]
            if a <= k < b:
                buf.append(img)
            if k == b - 1:
                est = estimator_factory()
                try:
                    for j, frame in zip(range(b - 1, a - 1, -1), reversed(buf), strict=True):
                        found = list(est.detect(frame))
                        if counts[j] < expected and found:
                            out[j] = FrameDetections(j, dedupe(out[j].hands + found))
                        bar.update(1)
                finally:
                    _close(est)
                buf = []
                w += 1
    finally:
        bar.close()
    return out


def _close(est) -> None:
    close = getattr(est, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - closing a native estimator must not mask errors
            pass
