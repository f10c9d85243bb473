"""Axis-angle to rotation matrix, smooth (and exact) at zero angle.

Rodrigues written as ``R = I + a(t) K + b(t) K^2`` with ``K`` the cross-product matrix of the
*unnormalised* axis-angle vector, ``a = sin t / t`` and ``b = (1 - cos t) / t^2``. Both are
even, smooth functions of ``t``; near zero they are evaluated from their Taylor series so the
gradient is exact at the rest pose (a flat hand is the most common input and gradcheck point),
with no epsilon biasing the result.
"""

from __future__ import annotations

import torch

_SMALL = 1e-4


def skew(v: torch.Tensor) -> torch.Tensor:
    """Cross-product matrices [..., 3, 3] of vectors [..., 3]."""
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], dim=-1).reshape(*v.shape[:-1], 3, 3)


def axis_angle_to_matrix(aa: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] from axis-angle vectors [..., 3] (radians)."""
    t2 = (aa * aa).sum(-1)
    small = t2 < _SMALL**2
    t2_safe = torch.where(small, torch.ones_like(t2), t2)
    t = t2_safe.sqrt()
    a = torch.where(small, 1 - t2 / 6 + t2 * t2 / 120, torch.sin(t) / t)
    b = torch.where(small, 0.5 - t2 / 24 + t2 * t2 / 720, (1 - torch.cos(t)) / t2_safe)
    k = skew(aa)
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand_as(k)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


def matrix_to_axis_angle(r: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`axis_angle_to_matrix` for angles below pi (used by pose helpers)."""
    cos = ((r.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    angle = torch.acos(cos)
    vec = torch.stack(
        [r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]],
        dim=-1,
    )
    sin = torch.sin(angle)
    scale = torch.where(sin.abs() < 1e-8, torch.full_like(sin, 0.5), angle / (2 * sin))
    return vec * scale[..., None]
