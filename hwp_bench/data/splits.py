"""The split rule: contiguous 80/10/10 by frame order, per capture.

Design: docs/design.md, section 'Dataset layout and splits'.

train = [0, floor(0.8 N)), validation = [floor(0.8 N), floor(0.9 N)), test = [floor(0.9 N), N).
The test clip is the last 10% of a capture and is never seen in training; validation sits
between them so that early stopping never peeks at test frames. Integer arithmetic (``8 * N //
10``) avoids float rounding at the boundaries (0.8 * 5 = 4.000000000000001 style surprises).
"""

from __future__ import annotations

SPLITS = ("train", "validation", "test")


def split_bounds(num_frames: int) -> dict[str, tuple[int, int]]:
    """Half-open ``[start, stop)`` frame ranges of each split for a capture of ``num_frames``."""
    n = int(num_frames)
    if n < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")
    a, b = (8 * n) // 10, (9 * n) // 10
    return {"train": (0, a), "validation": (a, b), "test": (b, n)}


def split_of(index: int, num_frames: int) -> str:
    """The split that frame ``index`` of a capture of ``num_frames`` frames belongs to."""
    if not 0 <= index < num_frames:
        raise ValueError(f"frame index {index} outside [0, {num_frames})")
    for name, (lo, hi) in split_bounds(num_frames).items():
        if lo <= index < hi:
            return name
    raise AssertionError("unreachable: the splits cover [0, N)")


def split_indices(num_frames: int) -> dict[str, list[int]]:
    """Frame indices of each split (what ``splits/<capture>.json`` stores for a full capture)."""
    return {name: list(range(lo, hi)) for name, (lo, hi) in split_bounds(num_frames).items()}


def check_split(split: str) -> str:
    """Validate a split name, with a message that lists the valid ones."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    return split
