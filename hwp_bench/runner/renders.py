"""Rendered frames on disk: the format shared by the runner, the evaluator and the leaderboard.

``<dir>/<index:05d>.npy`` float32 HxWx3 in [0, 1] (preferred for scoring: no quantisation),
``<dir>/<index:05d>.png`` 8-bit RGB (for eyes and for submissions), and optionally
``<dir>/<index:05d>.alpha.npy`` float32 HxW silhouette. Readers take the index from
``int(stem)``. Every file is written atomically, so a folder interrupted mid-write never holds a
truncated frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwp_bench.io import atomic_path

#: Refuse absurd frames from untrusted folders (leaderboard submissions use the same reader).
MAX_PIXELS = 4096 * 4096


def as_color(color) -> np.ndarray:
    """HxWx3 float32 in [0, 1] from whatever a method returned (torch or numpy, any float)."""
    arr = _to_numpy(color).astype(np.float32, copy=False)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"render()['color'] must be HxWx3, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("render()['color'] contains NaN or infinity")
    return np.clip(arr, 0.0, 1.0)


def as_alpha(alpha, shape: tuple[int, int]) -> np.ndarray | None:
    if alpha is None:
        return None
    arr = _to_numpy(alpha).astype(np.float32, copy=False)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.shape != tuple(shape):
        raise ValueError(f"render()['alpha'] must be {shape}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("render()['alpha'] contains NaN or infinity")
    return np.clip(arr, 0.0, 1.0)


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def to_uint8(color: np.ndarray) -> np.ndarray:
    return np.round(np.clip(color, 0.0, 1.0) * 255.0).astype(np.uint8)


def write_frame(folder: str | Path, index: int, color: np.ndarray, alpha: np.ndarray | None):
    """Write one rendered frame (npy, png and, if given, alpha.npy) atomically."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{int(index):05d}"
    with atomic_path(folder / f"{stem}.npy") as tmp:
        np.save(tmp, np.ascontiguousarray(color, dtype=np.float32))
    if alpha is not None:
        with atomic_path(folder / f"{stem}.alpha.npy") as tmp:
            np.save(tmp, np.ascontiguousarray(alpha, dtype=np.float32))
    with atomic_path(folder / f"{stem}.png") as tmp:
        Image.fromarray(to_uint8(color), mode="RGB").save(tmp, format="PNG")


def read_frame(folder: str | Path, index: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Read one frame back: the npy if present (exact), else the png; alpha if present."""
    from PIL import Image

    folder = Path(folder)
    stem = f"{int(index):05d}"
    npy = folder / f"{stem}.npy"
    if npy.is_file():
        color = np.load(npy, allow_pickle=False)
    else:
        png = folder / f"{stem}.png"
        with Image.open(png) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ValueError(f"{png} is too large ({im.width}x{im.height})")
            color = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    color = as_color(color)
    alpha = None
    anpy, apng = folder / f"{stem}.alpha.npy", folder / f"{stem}.alpha.png"
    if anpy.is_file():
        alpha = np.load(anpy, allow_pickle=False)
    elif apng.is_file():
        with Image.open(apng) as im:
            alpha = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    return color, as_alpha(alpha, color.shape[:2])


def frame_indices(folder: str | Path) -> list[int]:
    """Indices of the frames in a render folder (from ``<index>.npy`` or ``<index>.png``)."""
    out = set()
    for p in Path(folder).iterdir():
        name = p.name
        for suffix in (".npy", ".png"):
            stem = name[: -len(suffix)] if name.endswith(suffix) else None
            if stem is not None and stem.isdigit():
                out.add(int(stem))
    return sorted(out)
