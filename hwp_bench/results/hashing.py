"""SHA-256 fingerprints of predictions and ground truth (configs: :mod:`hwp_bench.io.canonical`).

A result file carries the hash of exactly what was scored, so that anyone holding the renders
(or the dataset) can check that a number belongs to them. The hash is over pixel values, not
file bytes: the runner (float arrays in memory) and the evaluator (reading ``.npy`` or ``.png``
back) then agree, and a re-encoded PNG with the same pixels keeps its hash.

Canonical stream, frames sorted by index: ``b"frame"``, index (int64 LE), height, width,
channels (int64 LE), the image as float32 little-endian C-order bytes (uint8 input is converted
as ``u8.astype(float32) / 255``), then ``b"alpha"`` + float32 bytes (or ``b"mask"`` for ground
truth) or ``b"none"``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["hash_ground_truth", "hash_predictions", "to_float32"]


def to_float32(x) -> np.ndarray:
    """Array as little-endian float32 C-order (uint8 mapped to [0, 1])."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray(a, dtype="<f4")


def _update(h, index: int, image, extra, tag: bytes) -> None:
    img = to_float32(image)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ValueError(f"frame {index}: expected an HxWxC image, got shape {img.shape}")
    h.update(b"frame" + struct.pack("<4q", int(index), *img.shape))
    h.update(img.tobytes())
    if extra is None:
        h.update(b"none")
    else:
        h.update(tag + to_float32(extra).tobytes())


def hash_predictions(items: Iterable[tuple[int, Any, Any]]) -> str:
    """SHA-256 of ``(index, color HxWx3, alpha HxW or None)`` items (any order)."""
    h = hashlib.sha256()
    for index, color, alpha in sorted(items, key=lambda it: int(it[0])):
        _update(h, index, color, alpha, b"alpha")
    return h.hexdigest()


def hash_ground_truth(frames: Iterable) -> str:
    """SHA-256 of the frames' images and masks (``hwp_bench.data.Frame`` objects)."""
    h = hashlib.sha256()
    for f in sorted(frames, key=lambda fr: int(fr.index)):
        _update(h, f.index, f.image, f.mask, b"mask")
    return h.hexdigest()
