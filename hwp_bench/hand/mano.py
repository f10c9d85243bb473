"""MANO (Romero et al. 2017) from the user's own ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl``.

MANO's licence forbids redistribution, so the files are never shipped: point ``HWP_MANO_DIR``
(or ``mano_dir=``) at the folder holding them (or at the ``mano_v1_2`` folder with ``models/``
inside). The pickles are read with the restricted unpickler (:mod:`hwp_bench.hand.chumpy_stub`),
never with chumpy or plain pickle.

Conventions (docs/design.md, section 'Hand models') are smplx's ``MANO(use_pca=False,
flat_hand_mean=True)``: the 45 finger values are plain axis-angle (no PCA) and zero is MANO's
flat template hand (``hands_mean`` is not added). Vertices and the 21 joints equal smplx's (tested
to 1e-5 m in ``tests/hand/test_smplx_parity.py``, see docs/hand_mano.md) with one documented
difference: the model is re-centred so that the rest wrist joint is at the origin for every
shape, making ``trans`` the wrist position (the toolkit's convention) where smplx's ``transl``
moves MANO's native origin. The rest wrist in that native frame is kept in ``HandData.meta``
(``native_wrist``, ``native_wrist_shapedirs``), and :mod:`hwp_bench.hand.transl` converts
between the two. The 5 fingertips appended after the 16 joints are smplx's
``VERTEX_IDS["mano"]`` vertices, in its order (thumb, index, middle, ring, pinky).

MANO's left pickle has the x components of its shape directions with the wrong sign (a known
defect of the release, smplx issue 48); :func:`fix_left_shapedirs` corrects it here, the same
correction the WildGHand authors apply to their smplx left layer, so left and right shapes mirror.
MANO ships no UV map: a two-chart planar map (palm side and back side, split by face normal,
seam-exact per corner) is generated so texturing code works; bring a real atlas for quality.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.hand.chumpy_stub import mano_substitutes, to_array
from hwp_bench.hand.constants import PARENTS
from hwp_bench.hand.data import HandData
from hwp_bench.io import safe_load_pickle

ENV = "HWP_MANO_DIR"
FILES = {"right": "MANO_RIGHT.pkl", "left": "MANO_LEFT.pkl"}
# MANO's fingertip vertices (thumb, index, middle, ring, pinky): smplx's VERTEX_IDS["mano"]
# (smplx 0.1.28), which HaMeR-style estimators append as joints 16-20. Some other tools (manopth
# demos, FreiHAND-style regressors) use 745, 317, 444, 556, 673, a neighbouring vertex each.
MANO_TIPS = (744, 320, 443, 554, 671)
REQUIRED = ("v_template", "f", "weights", "posedirs", "shapedirs", "J_regressor", "kintree_table")
MAX_BYTES = 256 * 1024**2


def find_mano_file(side: str, mano_dir: str | os.PathLike | None = None) -> Path:
    """Path of the MANO pickle for ``side``; a clear error naming ``HWP_MANO_DIR`` if absent."""
    root = mano_dir if mano_dir is not None else os.environ.get(ENV)
    name = FILES[side]
    hint = (
        f"MANO is not bundled (its licence forbids it). Download it from "
        f"https://mano.is.tue.mpg.de (free registration) and set {ENV} (or pass mano_dir=) "
        f"to the folder holding {FILES['right']} and {FILES['left']}."
    )
    if not root:
        raise FileNotFoundError(f"{ENV} is not set, so {name} cannot be found. {hint}")
    base = Path(root).expanduser()
    for cand in (base / name, base / "models" / name, base / "mano" / name):
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"{name} not found in {ENV}={str(base)!r}. {hint}")


def read_mano_pickle(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The MANO arrays of one pickle as plain numpy (restricted unpickler, no chumpy)."""
    raw = safe_load_pickle(path, substitutes=mano_substitutes(), max_bytes=MAX_BYTES)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: not a MANO pickle (top level is {type(raw).__name__})")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise ValueError(f"{path}: not a MANO pickle, missing {missing}")
    return {k: to_array(v, k) for k, v in raw.items() if not isinstance(v, str)}


def _planar_uvs(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two planar charts (palm side / back side) in one [0, 1] atlas, per corner."""
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    chart = (fn[:, 1] > 0).astype(np.int64)  # palm faces -y
    lo, hi = verts[:, [0, 2]].min(0), verts[:, [0, 2]].max(0)
    span = (hi - lo).max()
    local = (verts[:, [0, 2]] - lo) / span  # [V, 2] in [0, 1]
    keys = faces * 2 + chart[:, None]  # (vertex, chart) pairs
    uniq, uv_faces = np.unique(keys.reshape(-1), return_inverse=True)
    vert, ch = uniq // 2, uniq % 2
    uv = local[vert] * np.array([0.5, 1.0]) + np.stack([0.5 * ch, np.zeros_like(ch)], 1)
    return uv, uv_faces.reshape(faces.shape)


def _choose_tips(v: np.ndarray, j: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Fingertips for a MANO-structured mesh that is not MANO's 778-vertex one (tests)."""
    tips = []
    for j2, j3 in ((14, 15), (2, 3), (5, 6), (11, 12), (8, 9)):
        cand = np.nonzero(w.argmax(1) == j3)[0]
        if len(cand) == 0:
            cand = np.arange(len(v))
        d = j[j3] - j[j2]
        tips.append(int(cand[np.argmax((v[cand] - j[j3]) @ d)]))
    return np.asarray(tips)


def mano_hand_data(arrays: dict[str, np.ndarray], side: str, name: str = "mano") -> HandData:
    """Convert MANO arrays to :class:`HandData` (wrist-centred, MANO joint order)."""
    v = np.asarray(arrays["v_template"], dtype=np.float64)
    nv = v.shape[0]
    faces = np.asarray(arrays["f"]).astype(np.int64)
    weights = np.asarray(arrays["weights"], dtype=np.float64)
    shapedirs = np.asarray(arrays["shapedirs"], dtype=np.float64)[:, :, :10]
    posedirs = np.asarray(arrays["posedirs"], dtype=np.float64)
    jreg = np.asarray(arrays["J_regressor"], dtype=np.float64)
    kintree = np.asarray(arrays["kintree_table"]).astype(np.int64)
    parents = tuple(int(p) if k else -1 for k, p in enumerate(kintree[0]))
    problems = []
    if parents != PARENTS:
        problems.append(f"kintree_table parents {parents} are not MANO's {PARENTS}")
    for key, arr, want in (
        ("weights", weights, (nv, 16)),
        ("shapedirs", shapedirs, (nv, 3, 10)),
        ("posedirs", posedirs, (nv, 3, 135)),
        ("J_regressor", jreg, (16, nv)),
    ):
        if arr.shape != want:
            problems.append(f"{key} has shape {arr.shape}, expected {want}")
    if problems:
        raise ValueError(f"not a MANO model: {'; '.join(problems)}")
    j = jreg @ v
    jdirs = np.einsum("jv,vcs->jcs", jreg, shapedirs)
    # The rest wrist in MANO's native frame (where smplx's transl applies), linear in shape.
    native = {"native_wrist": j[0].copy(), "native_wrist_shapedirs": jdirs[0].copy()}
    # Re-centre: the rest wrist joint at the origin for every shape.
    v = v - j[0]
    shapedirs = shapedirs - jdirs[0][None]
    j = j - j[0]
    jdirs = jdirs - jdirs[0][None]
    weights = weights / weights.sum(1, keepdims=True)
    tips = np.asarray(MANO_TIPS) if nv == 778 else _choose_tips(v, j, weights)
    uv, uv_faces = _planar_uvs(v, faces)
    vertex_uvs = np.zeros((nv, 2))
    vertex_uvs[faces.reshape(-1)] = uv[uv_faces.reshape(-1)]
    return HandData(
        name=name,
        side=side,
        v_template=v,
        shapedirs=shapedirs,
        j_template=j,
        j_shapedirs=jdirs,
        weights=weights,
        faces=faces,
        tip_vertices=tips,
        uv_coords=uv,
        uv_faces=uv_faces,
        vertex_uvs=vertex_uvs,
        posedirs=posedirs,
        meta={"source": "MANO", "uv": "generated planar two-chart map", **native},
    )


def fix_left_shapedirs(left: Any, right: Any) -> tuple[Any, bool]:
    """``left``'s shape directions [V, 3, K] with the release's x sign error corrected.

    In the released ``MANO_LEFT.pkl`` the x components of ``shapedirs`` equal the right
    hand's instead of being their mirror image (smplx issue 48). Which of the two the left
    array is closer to decides; returns ``(fixed, changed)``. Works on numpy arrays and torch
    tensors alike (pass smplx's ``left.shapedirs`` and ``right.shapedirs`` to fix an smplx
    left layer the way the WildGHand authors and this toolkit do).
    """
    same = abs(left[:, 0] - right[:, 0]).sum()
    mirrored = abs(left[:, 0] + right[:, 0]).sum()
    if not same < mirrored:
        return left, False
    fixed = left.clone() if hasattr(left, "clone") else np.array(left, copy=True)
    fixed[:, 0] *= -1
    return fixed, True


def load_mano(side: str, mano_dir: str | os.PathLike | None = None) -> HandData:
    """MANO for ``side`` ("right" or "left") from ``mano_dir`` or ``HWP_MANO_DIR``."""
    data = mano_hand_data(read_mano_pickle(find_mano_file(side, mano_dir)), side)
    if side == "left":
        right = mano_hand_data(read_mano_pickle(find_mano_file("right", mano_dir)), "right")
        sd, changed = fix_left_shapedirs(data.shapedirs, right.shapedirs)
        if changed:
            flip = np.array([-1.0, 1.0, 1.0])[:, None]
            meta = dict(data.meta, left_shapedirs_fixed=True)
            meta["native_wrist_shapedirs"] = meta["native_wrist_shapedirs"] * flip
            data = data.replace(shapedirs=sd, j_shapedirs=data.j_shapedirs * flip, meta=meta)
    return data
