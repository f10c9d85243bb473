"""``mask_at_box``: pixels whose camera ray hits the padded 3-D box of the hands' mesh.

The WildGHand evaluator (following the HumanNeRF/InstantAvatar lineage) computes SSIM on the
bounding rectangle of this ray-box mask, not of the 2-D hand mask; ``wildghand-paper``
reproduces that. The box is the axis-aligned box of the posed mesh vertices of every hand in
the frame, padded 0.05 m along z, then 0.01 m on all axes. Rays start at the camera centre
(camera space is world space) through integer pixel coordinates ``(u, v)`` (column, row), as in
``get_rays``-style code: direction ``K^-1 [u, v, 1]``. A ray hits when its slab interval
``[t_near, t_far]`` is non-empty with ``t_far > 0``.

Vertices come from the caller (``hand_vertices``) or are posed here with
``hwp_bench.hand.load_hand_model`` from the frame's MANO-convention parameters.
"""

from __future__ import annotations

import numpy as np

__all__ = ["frame_hand_vertices", "mask_at_box", "ray_box_mask"]

Z_PAD = 0.05
ALL_PAD = 0.01


def frame_hand_vertices(frame, *, model_name: str = "open") -> np.ndarray:
    """Posed mesh vertices ``[N, 3]`` (camera space, metres) of every hand of ``frame``."""
    import torch

    from hwp_bench.hand import load_hand_model

    model = load_hand_model(model_name)
    verts = []
    for side, hp in frame.hands.items():
        out = model(
            torch.as_tensor(hp.pose, dtype=torch.float32).reshape(1, 48),
            torch.as_tensor(hp.shape, dtype=torch.float32).reshape(1, 10),
            torch.as_tensor(hp.trans, dtype=torch.float32).reshape(1, 3),
            side=side,
        )
        verts.append(out.vertices[0].detach().cpu().numpy())
    if not verts:
        raise ValueError(f"frame {frame.capture}/{frame.index} has no hands")
    return np.concatenate(verts, axis=0).astype(np.float64)


def ray_box_mask(
    K: np.ndarray, height: int, width: int, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Boolean ``[H, W]``: rays from the origin through each pixel that hit box ``[lo, hi]``."""
    K = np.asarray(K, dtype=np.float64)
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    d = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d  # z component is 1; x/y may be 0 -> +-inf, handled by the slab test
        t0 = lo * inv
        t1 = hi * inv
    tmin = np.minimum(t0, t1)
    tmax = np.maximum(t0, t1)
    # A zero direction component: the ray is inside the slab iff 0 lies in [lo, hi].
    zero = d == 0
    inside = (lo <= 0) & (hi >= 0)
    tmin = np.where(zero, np.where(inside, -np.inf, np.inf), tmin)
    tmax = np.where(zero, np.where(inside, np.inf, -np.inf), tmax)
    near = tmin.max(axis=-1)
    far = tmax.min(axis=-1)
    return (far > near) & (far > 0)


def mask_at_box(frame, hand_vertices: np.ndarray | None = None) -> np.ndarray:
    """The paper evaluator's ``mask_at_box`` for ``frame`` (boolean ``[H, W]``)."""
    v = frame_hand_vertices(frame) if hand_vertices is None else np.asarray(hand_vertices)
    v = v.reshape(-1, 3).astype(np.float64)
    lo = v.min(axis=0)
    hi = v.max(axis=0)
    lo[2] -= Z_PAD
    hi[2] += Z_PAD
    lo -= ALL_PAD
    hi += ALL_PAD
    return ray_box_mask(frame.K, frame.height, frame.width, lo, hi)
