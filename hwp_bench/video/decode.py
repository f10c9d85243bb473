"""Read videos with PyAV (FFmpeg inside the wheel): probe first, then stream frames.

Why PyAV: its wheel carries FFmpeg's libraries (decoders and the libx264 encoder), so no
system ffmpeg is needed, errors arrive as Python exceptions instead of a subprocess's stderr,
and the container's metadata (frame count, duration, size) is known before any frame is
decoded. That is what lets :func:`check_length` refuse a video that is far too long *before*
the minutes of decoding it would take.

Frames are streamed (never all held in memory) at a *working resolution*: the video's own
size, downscaled so that its longer side is at most ``max_side`` (hand landmarks do not need
4K, and everything downstream, K included, is expressed at this resolution).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hwp_bench.video.errors import VideoError, require

#: Frames a video may have unless the user raises the limit (about 5.5 min at 30 fps).
DEFAULT_MAX_FRAMES = 10_000


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video, before decoding it."""

    path: str
    width: int  # of the encoded frames
    height: int
    fps: float
    num_frames: int  # from the container (exact when it records it, else duration * fps)
    duration_s: float
    codec: str
    frames_exact: bool  # num_frames came from the container's frame count

    def working_size(self, max_side: int | None) -> tuple[int, int]:
        """``(width, height)`` after downscaling so that the longer side is <= ``max_side``
        (even numbers, as video encoders and chroma subsampling want)."""
        w, h = self.width, self.height
        if max_side and max(w, h) > max_side:
            r = max_side / float(max(w, h))
            w, h = max(2, int(round(w * r / 2)) * 2), max(2, int(round(h * r / 2)) * 2)
        return w, h

    def to_json(self) -> dict:
        return asdict(self)


def _open(path: str | os.PathLike):
    av = require("av", "decode videos")
    p = Path(path)
    if not p.exists():
        raise VideoError(f"{p}: no such file")
    if not p.is_file():
        raise VideoError(f"{p}: not a file")
    if p.stat().st_size == 0:
        raise VideoError(f"{p}: empty file, not a video")
    try:
        container = av.open(str(p), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"{p}: not a readable video ({_reason(exc)})") from exc
    if not container.streams.video:
        container.close()
        raise VideoError(f"{p}: the file has no video stream")
    return container


def _reason(exc: BaseException) -> str:
    msg = str(exc).strip() or type(exc).__name__
    return msg.splitlines()[0][:200]


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Metadata of the first video stream (raises :class:`VideoError` with the reason)."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        if width <= 0 or height <= 0:
            raise VideoError(f"{path}: the video stream has no frame size (corrupt header?)")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000.0
        count = int(stream.frames or 0)
        exact = count > 0
        if not exact:
            count = int(round(duration * fps)) if fps > 0 else 0
        return VideoInfo(
            path=str(path),
            width=width,
            height=height,
            fps=fps if fps > 0 else 30.0,
            num_frames=count,
            duration_s=duration,
            codec=str(ctx.name),
            frames_exact=exact,
        )
    finally:
        container.close()


def check_length(info: VideoInfo, *, max_frames: int, every: int = 1) -> int:
    """Frames that will be kept (one in ``every``); a clear error when over ``max_frames``.

    Checked from the container's metadata, before anything is decoded.
    """
    if every < 1:
        raise VideoError(f"--every must be >= 1, got {every}")
    kept = -(-info.num_frames // every) if info.num_frames else 0
    if kept > max_frames:
        minutes = info.num_frames / max(info.fps, 1e-9) / 60.0
        need = -(-info.num_frames // max_frames)
        raise VideoError(
            f"{info.path}: {info.num_frames} frames ({minutes:.1f} min at {info.fps:.0f} fps) "
            f"would give {kept} frames, more than --max-frames {max_frames}. Cut the video, "
            f"keep one frame in {need} with --every {need}, or raise --max-frames."
        )
    return kept


def iter_frames(
    path: str | os.PathLike,
    *,
    size: tuple[int, int] | None = None,
    every: int = 1,
    limit: int | None = None,
) -> Iterator[np.ndarray]:
    """RGB ``uint8 [H, W, 3]`` frames in display order, resized to ``size=(W, H)`` if given.

    Keeps one frame in ``every``; stops after ``limit`` kept frames (a guard against
    containers whose metadata under-reports their length). A decoding failure part way
    raises :class:`VideoError` naming the frame, never a silently shorter video.
    """
    av = require("av", "decode videos")
    container = _open(path)
    k = 0
    kept = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                if k % every == 0:
                    if size is not None and (frame.width, frame.height) != tuple(size):
                        frame = frame.reformat(width=size[0], height=size[1])
                    yield frame.to_ndarray(format="rgb24")
                    kept += 1
                    if limit is not None and kept >= limit:
                        return
                k += 1
        except av.FFmpegError as exc:
            raise VideoError(f"{path}: decoding failed at frame {k} ({_reason(exc)})") from exc
    finally:
        container.close()
    if kept == 0:
        raise VideoError(f"{path}: the video stream holds no decodable frame")


def write_video(
    path: str | os.PathLike,
    frames,
    *,
    fps: float = 30.0,
    crf: int = 18,
    codec: str = "libx264",
) -> Path:
    """Encode RGB ``uint8`` frames (an iterable of ``[H, W, 3]``) as an MP4 (H.264, yuv420p).

    Used to turn HWP-Synth captures into the kind of file a phone produces (lossy H.264 with
    4:2:0 chroma), for the import measurements and the tests. Written to a temporary name and
    renamed, so an interrupted encode leaves no half-written video behind.
    """
    from fractions import Fraction

    av = require("av", "encode videos")
    from hwp_bench.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        container = av.open(str(tmp), mode="w", format="mp4")
        try:
            stream = None
            for img in frames:
                img = np.ascontiguousarray(np.asarray(img, dtype=np.uint8)[..., :3])
                if stream is None:
                    h, w = img.shape[:2]
                    if h % 2 or w % 2:
                        raise ValueError(f"H.264 with 4:2:0 chroma needs even sizes, got {w}x{h}")
                    stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
                    stream.width, stream.height = w, h
                    stream.pix_fmt = "yuv420p"
                    stream.options = {"crf": str(int(crf))}
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            if stream is None:
                raise ValueError("no frames to encode")
            for packet in stream.encode():
                container.mux(packet)
        finally:
            container.close()
        os.chmod(tmp, 0o644)  # a video for people and other tools, not a private temp file
    return path
