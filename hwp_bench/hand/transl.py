"""Translations: the toolkit's ``trans`` (the wrist position) and smplx's ``transl``.

The toolkit's hand models are re-centred so that ``trans`` is where the wrist joint ends up.
smplx's ``MANO(...)(transl=...)`` instead adds ``transl`` to MANO in its native frame, where the
rest wrist sits at ``J_regressor[0] @ (v_template + shapedirs @ shape)``: a point that depends on
the shape but never on the pose (the global rotation turns the hand about the wrist). So

    trans = transl + native_wrist(shape)        transl = trans - native_wrist(shape)

with ``native_wrist(shape) = meta["native_wrist"] + meta["native_wrist_shapedirs"] @ shape``, the
numbers :func:`hwp_bench.hand.mano.mano_hand_data` keeps from the MANO pickle (per side: the left
model has its own, after the shape-direction fix). This holds exactly, vertices and joints alike,
with the same pose and shape on both sides (``tests/hand/test_smplx_parity.py``).

Parameters estimated by smplx-based tools (HWP's ``cam_aligned_*``, HaMeR/OmniHands outputs,
InterHand2.6M's ``trans``) go through :func:`transl_to_trans`; hand ours to such a tool through
:func:`trans_to_transl`. Only MANO has a native frame: the open hand has none, and asking for it
is an error. :func:`fit_trans` is the general fallback when only posed vertices are known.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from hwp_bench.hand.constants import NUM_SHAPE, SIDES


def _side_data(model: Any, side: str):
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    if model is None:
        from hwp_bench.hand.loader import hand_data

        right, left = hand_data("mano")
        return right if side == "right" else left
    if hasattr(model, "data") and callable(model.data):  # a HandModel
        return model.data(side)
    return model  # a HandData (of the requested side)


def native_wrist(
    shape: Any, side: str = "right", *, model: Any = None, mano_dir: str | os.PathLike | None = None
) -> Any:
    """Rest wrist [..., 3] in MANO's native frame for ``shape`` [..., 10] (metres).

    ``model``: a :class:`~hwp_bench.hand.HandModel`, a MANO :class:`~hwp_bench.hand.HandData`
    of ``side``, or None for MANO from ``mano_dir`` / ``HWP_MANO_DIR``. Numpy in, numpy out
    (float64); a torch tensor in gives a tensor of its dtype and device (differentiable).
    """
    if model is None and mano_dir is not None:
        from hwp_bench.hand.loader import hand_data

        right, left = hand_data("mano", mano_dir=mano_dir)
        model = right if side == "right" else left
    data = _side_data(model, side)
    meta = getattr(data, "meta", {}) or {}
    if "native_wrist" not in meta:
        name = getattr(data, "name", type(data).__name__)
        raise ValueError(
            f"hand model {name!r} has no native MANO frame: smplx's transl is defined for MANO "
            "only (load_hand_model('mano'), HWP_MANO_DIR)"
        )
    j0 = np.asarray(meta["native_wrist"], np.float64)
    dirs = np.asarray(meta["native_wrist_shapedirs"], np.float64)
    if _is_tensor(shape):
        import torch

        s = shape
        j0t = torch.as_tensor(j0, dtype=s.dtype, device=s.device)
        dt = torch.as_tensor(dirs, dtype=s.dtype, device=s.device)
        return j0t + s[..., :NUM_SHAPE] @ dt[:, : s.shape[-1]].T
    s = np.asarray(shape, np.float64)
    if s.shape[-1] > NUM_SHAPE:
        raise ValueError(f"shape has {s.shape[-1]} coefficients, MANO uses {NUM_SHAPE}")
    return j0 + s @ dirs[:, : s.shape[-1]].T


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _as_pair(a: Any, b: Any) -> tuple[Any, Any]:
    """Both torch (when either is) or both float64 numpy."""
    if _is_tensor(a) or _is_tensor(b):
        import torch

        ref = a if _is_tensor(a) else b
        return (
            torch.as_tensor(a, dtype=ref.dtype, device=ref.device),
            torch.as_tensor(b, dtype=ref.dtype, device=ref.device),
        )
    return np.asarray(a, np.float64), np.asarray(b, np.float64)


def transl_to_trans(
    transl: Any,
    shape: Any,
    side: str = "right",
    *,
    model: Any = None,
    mano_dir: str | os.PathLike | None = None,
) -> Any:
    """The toolkit's ``trans`` (wrist position) for smplx's ``transl`` with ``shape``.

    ``transl`` [..., 3] and ``shape`` [..., 10] broadcast; see :func:`native_wrist` for
    ``model`` and the array types. ``trans_to_transl(transl_to_trans(t, s), s) == t``.
    """
    transl, shape = _as_pair(transl, shape)
    return transl + native_wrist(shape, side, model=model, mano_dir=mano_dir)


def trans_to_transl(
    trans: Any,
    shape: Any,
    side: str = "right",
    *,
    model: Any = None,
    mano_dir: str | os.PathLike | None = None,
) -> Any:
    """smplx's ``transl`` that puts the wrist of a hand with ``shape`` at ``trans``."""
    trans, shape = _as_pair(trans, shape)
    return trans - native_wrist(shape, side, model=model, mano_dir=mano_dir)


def fit_trans(
    model: Any, side: str, pose: Any, shape: Any, vertices: Any
) -> tuple[np.ndarray, float] | None:
    """Least-squares ``trans`` placing ``model``'s hand (``pose``, ``shape``) on ``vertices``.

    For parameters whose translation convention is unknown but whose posed vertices [V, 3]
    are given: the model posed at ``trans = 0`` differs from them by a pure translation when
    they agree, and the mean residual is that translation (exact then). Returns ``(trans, rms)``
    with the RMS residual in metres (large: the vertices do not match the pose and shape), or
    None when the vertex counts differ. Any model with the toolkit's call signature works.
    """
    import torch

    verts = np.asarray(vertices, np.float64).reshape(-1, 3)
    with torch.no_grad():
        out = model(
            torch.as_tensor(np.asarray(pose, np.float64).reshape(1, -1), dtype=torch.float64),
            torch.as_tensor(np.asarray(shape, np.float64).reshape(1, -1), dtype=torch.float64),
            torch.zeros(1, 3, dtype=torch.float64),
            side=side,
        )
    v0 = out.vertices[0].double().numpy()
    if v0.shape != verts.shape:
        return None
    trans = (verts - v0).mean(axis=0)
    rms = float(np.sqrt(((verts - v0 - trans) ** 2).sum(axis=1).mean()))
    return trans, rms
