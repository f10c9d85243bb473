"""``load_hand_model``: one cached entry point for every hand model and subdivision level."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import torch

from hwp_bench.hand.data import HandData
from hwp_bench.hand.model import HandModel

MODEL_NAMES = ("open", "mano")
_CACHE: dict[tuple, HandModel] = {}
_DATA_CACHE: dict[tuple, tuple[HandData, HandData]] = {}
_LOCK = threading.Lock()


def _base_sides(name: str, mano_dir: str | None) -> tuple[HandData, HandData]:
    if name == "open":
        from hwp_bench.hand.open_hand import load_open_hand

        right = load_open_hand()
        return right, right.mirrored()
    if name == "mano":
        from hwp_bench.hand.mano import load_mano

        return load_mano("right", mano_dir), load_mano("left", mano_dir)
    raise ValueError(f"unknown hand model {name!r}; choose one of {MODEL_NAMES}")


def hand_data(
    name: str = "open",
    subdivision: int = 0,
    *,
    mano_dir: str | os.PathLike | None = None,
    scheme: str = "midpoint",
) -> tuple[HandData, HandData]:
    """Right and left :class:`HandData` of a model at a subdivision level (cached)."""
    if int(subdivision) != subdivision or subdivision < 0:
        raise ValueError(f"subdivision must be an integer >= 0, got {subdivision!r}")
    subdivision = int(subdivision)
    key_dir = None if mano_dir is None else str(Path(mano_dir).expanduser().resolve())
    if name == "mano" and key_dir is None:
        key_dir = os.environ.get("HWP_MANO_DIR")
    key = (name, subdivision, key_dir, scheme if subdivision else None)
    with _LOCK:
        if key in _DATA_CACHE:
            return _DATA_CACHE[key]
    if subdivision == 0:
        sides = _base_sides(name, key_dir)
    else:
        from hwp_bench.hand.subdivide import subdivide_hand

        right0, left0 = hand_data(name, subdivision - 1, mano_dir=key_dir, scheme=scheme)
        sides = (subdivide_hand(right0, scheme), subdivide_hand(left0, scheme))
    with _LOCK:
        _DATA_CACHE[key] = sides
    return sides


def load_hand_model(
    name: str = "open",
    subdivision: int = 0,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    mano_dir: str | os.PathLike | None = None,
    scheme: str = "midpoint",
) -> HandModel:
    """The hand model ``name`` ("open" or "mano") subdivided ``subdivision`` times.

    Cached per (name, level, dtype, device, MANO folder): repeated calls return the same
    object, so treat its tensors as read-only. ``mano`` reads ``MANO_RIGHT.pkl`` and
    ``MANO_LEFT.pkl`` from ``mano_dir`` or the ``HWP_MANO_DIR`` environment variable.
    ``scheme`` is the subdivision scheme, "midpoint" (default, the surface stays put) or "loop"
    (see :mod:`hwp_bench.hand.subdivide`).
    """
    right, left = hand_data(name, subdivision, mano_dir=mano_dir, scheme=scheme)
    key = (name, subdivision, str(dtype), str(torch.device(device)), id(right))
    with _LOCK:
        model = _CACHE.get(key)
    if model is None:
        model = HandModel(right, left, dtype=dtype, device=device)
        with _LOCK:
            model = _CACHE.setdefault(key, model)
    return model
