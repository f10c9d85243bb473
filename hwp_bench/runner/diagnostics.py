"""Save what ``method.diagnostics()`` returns: scalars into the result file, arrays to disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def save_diagnostics(method, run_dir: Path, capture: str, logger) -> dict[str, Any]:
    """JSON-able diagnostics go into the result file (``extra.diagnostics``); arrays, and
    dicts of arrays, into ``diagnostics/<capture>/arrays.npz``, with each 2-D map also as a
    grey PNG (``<key>_<sub>.png``, scaled by its maximum) for the HTML report.

    Diagnostics are extras (WildGHand: per-frame omega, PAO weight maps): a method whose
    ``diagnostics()`` fails still gets its renders scored, and the log says why.
    """
    try:
        diag = dict(method.diagnostics() or {})
    except Exception as exc:
        logger.warning("diagnostics() failed: %s: %s", type(exc).__name__, exc)
        return {}
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for key, value in diag.items():
        value = _as_array(value)
        if isinstance(value, np.ndarray):
            arrays[str(key)] = value
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(_as_array(v), np.ndarray) for v in value.values())
        ):
            for sub, v in value.items():
                name = f"{key}_{int(sub):05d}" if str(sub).isdigit() else f"{key}_{sub}"
                arrays[name] = _as_array(v)
        elif _jsonable(value):
            scalars[str(key)] = value
        else:
            logger.warning("diagnostic %r is neither JSON nor arrays: not saved", key)
    if arrays:
        from PIL import Image

        from hwp_bench.io import atomic_path

        folder = run_dir / "diagnostics" / capture
        with atomic_path(folder / "arrays.npz") as tmp:
            np.savez_compressed(tmp, **arrays)
        for name, arr in arrays.items():
            if arr.ndim == 2 and np.issubdtype(arr.dtype, np.number) and np.isfinite(arr).all():
                top = float(arr.max())
                img = np.clip(arr / top, 0, 1) if top > 0 else np.zeros_like(arr, np.float64)
                with atomic_path(folder / f"{name}.png") as tmp:
                    Image.fromarray(np.round(img * 255).astype(np.uint8), mode="L").save(
                        tmp, format="PNG"
                    )
        logger.info("saved %d diagnostic arrays under %s", len(arrays), folder)
    return scalars


def _as_array(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return value


def _jsonable(v) -> bool:
    try:
        json.dumps(v, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False
