"""EWA projection of 3D Gaussians to screen-space 2D Gaussians (pure torch, autograd).

Shared by the ``reference`` and ``cpu`` backends: only the per-pixel compositing differs
between them, so the projection is written once, differentiated by autograd, and checked on
its own against closed-form cases in the tests.

Conventions follow gsplat's pinhole ``fully_fused_projection`` (read, not copied):

- camera space ``x_c = R x + t`` from the world-to-camera ``viewmat``; OpenCV axes (z forward);
- covariance ``Sigma = (Rq S)(Rq S)^T`` from the normalised wxyz quaternion and the scales;
- Jacobian of the pinhole map at the mean, with ``x/z`` and ``y/z`` clamped to 1.3x the field of
  view (the clamp affects the covariance only, never the projected mean);
- a 0.3 px^2 low-pass added to the 2D covariance ("classic" mode: opacity is not compensated);
- culled (``valid`` False): depth outside [near, far], non-positive 2D determinant, opacity below
  1/255, or a screen box entirely outside the image.

The screen box is gsplat's opacity-aware box (gsplat >= 1.5): half-widths
``ceil(extend * sqrt(Sigma2d_xx))`` and ``ceil(extend * sqrt(Sigma2d_yy))`` with
``extend = min(3.33, sqrt(2 ln(255 opacity)))``, i.e. at most the 3-sigma rule's 3.33 sigma and
exactly the ellipse outside which alpha < 1/255. Every pixel where a Gaussian can pass the
1/255 alpha test therefore lies in its box, so the rendered image does not depend on tiling:
the box is a culling device, never part of the semantics (see ``hwp_bench.render`` docs).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

NEAR_PLANE = 0.01
FAR_PLANE = 1e10
EPS2D = 0.3
ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4
EXTEND_MAX = 3.33


@dataclass
class Projected:
    """Screen-space Gaussians, one row per input Gaussian (culled rows hold safe dummies)."""

    means2d: torch.Tensor  # [N, 2] pixel coordinates (pixel centres at +0.5)
    conics: (
        torch.Tensor
    )  # [N, 3] inverse 2D covariance (a, b, c): power = a dx^2/2 + b dx dy + c dy^2/2
    depths: torch.Tensor  # [N] camera-space z
    radii: torch.Tensor  # [N, 2] float64 box half-widths in whole pixels (0 when culled), no grad
    valid: torch.Tensor  # [N] bool


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [N,3,3] from wxyz quaternions [N,4] (normalised here)."""
    q = quats / quats.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y - w * z),
            2 * (x * z + w * y),
            2 * (x * y + w * z),
            1 - 2 * (x * x + z * z),
            2 * (y * z - w * x),
            2 * (x * z - w * y),
            2 * (y * z + w * x),
            1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(quats.shape[:-1] + (3, 3))


def _quat_products_to_rotmat(dtype: torch.dtype, device) -> torch.Tensor:
    """Constant [16, 9] map from the outer product q q^T (flattened) to R(q) (flattened).

    On unit quaternions R is a linear function of q q^T (the homogeneous form, e.g.
    R_00 = w^2 + x^2 - y^2 - z^2); the normalisation becomes a division of q q^T by |q|^2.
    """
    a = torch.zeros(4, 4, 9, dtype=torch.float64)
    w, x, y, z = range(4)
    terms = {
        0: [(w, w, 1), (x, x, 1), (y, y, -1), (z, z, -1)],
        1: [(x, y, 2), (w, z, -2)],
        2: [(x, z, 2), (w, y, 2)],
        3: [(x, y, 2), (w, z, 2)],
        4: [(w, w, 1), (x, x, -1), (y, y, 1), (z, z, -1)],
        5: [(y, z, 2), (w, x, -2)],
        6: [(x, z, 2), (w, y, -2)],
        7: [(y, z, 2), (w, x, 2)],
        8: [(w, w, 1), (x, x, -1), (y, y, -1), (z, z, 1)],
    }
    for k, items in terms.items():
        for i, j, c in items:
            a[i, j, k] += c
    return a.reshape(16, 9).to(dtype=dtype, device=device)


def covariance3d(quats: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """World-space covariance [N,3,3] = (R S)(R S)^T."""
    m = quat_to_rotmat(quats) * scales[..., None, :]
    return m @ m.transpose(-1, -2)


def project(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    viewmat: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
    *,
    near_plane: float = NEAR_PLANE,
    far_plane: float = FAR_PLANE,
    eps2d: float = EPS2D,
) -> Projected:
    """Project Gaussians through one pinhole camera; differentiable in every float input.

    Culled rows get finite placeholder values (computed from sanitised inputs) so that masked
    entries never inject NaN or inf into the gradients.
    """
    R = viewmat[:3, :3]
    t = viewmat[:3, 3]
    mean_c = means @ R.T + t
    # Camera-space covariance factor M_c = R Rq diag(s), so that Sigma_c = M_c M_c^T and the
    # 2D covariance is (J M_c)(J M_c)^T: a few [N,3] ops instead of batched 3x3 products
    # (tiny batched matmuls dominate the cost of the projection on a CPU otherwise).
    # R_view Rq(q) is linear in q q^T / |q|^2: one [N,16] x [16,9] product (the view rotation
    # folded into the constant map) replaces the quaternion algebra and a batched matmul.
    n = means.shape[0]
    qq = (quats[:, :, None] * quats[:, None, :]).reshape(n, 16) / (quats * quats).sum(-1, True)
    rot_map = _quat_products_to_rotmat(means.dtype, means.device).reshape(16, 3, 3)
    rot_map = torch.einsum("ab,kbc->kac", R, rot_map).reshape(16, 9)
    m_c = (qq @ rot_map).reshape(n, 3, 3) * scales[:, None, :]
    x, y, z = mean_c.unbind(-1)
    in_depth = (z >= near_plane) & (z <= far_plane)
    z_safe = torch.where(in_depth, z, torch.ones_like(z))

    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    tan_fovx = 0.5 * width / fx
    tan_fovy = 0.5 * height / fy
    lim_x_pos = (width - cx) / fx + 0.3 * tan_fovx
    lim_x_neg = cx / fx + 0.3 * tan_fovx
    lim_y_pos = (height - cy) / fy + 0.3 * tan_fovy
    lim_y_neg = cy / fy + 0.3 * tan_fovy
    rz = 1.0 / z_safe
    # J = [[fx/z, 0, -fx tx/z^2], [0, fy/z, -fy ty/z^2]] with tx/z, ty/z clamped to 1.3x the FOV
    ux = torch.minimum(lim_x_pos, torch.maximum(-lim_x_neg, x * rz))
    uy = torch.minimum(lim_y_pos, torch.maximum(-lim_y_neg, y * rz))
    j_rows = (fx * rz)[:, None] * (m_c[:, 0, :] - ux[:, None] * m_c[:, 2, :])
    k_rows = (fy * rz)[:, None] * (m_c[:, 1, :] - uy[:, None] * m_c[:, 2, :])
    a = (j_rows * j_rows).sum(-1) + eps2d
    b = (j_rows * k_rows).sum(-1)
    c = (k_rows * k_rows).sum(-1) + eps2d
    det = a * c - b * b
    ok = in_depth & (det > 0)
    det_safe = torch.where(ok, det, torch.ones_like(det))
    conics = torch.stack([c / det_safe, -b / det_safe, a / det_safe], dim=-1)
    means2d = torch.stack([fx * x * rz + cx, fy * y * rz + cy], dim=-1)

    with torch.no_grad():
        op = opacities.detach().to(torch.float64)
        ok = ok & (op >= ALPHA_MIN)
        extend = torch.sqrt(2.0 * torch.log(op.clamp_min(ALPHA_MIN) / ALPHA_MIN)).clamp_max(
            EXTEND_MAX
        )
        a64 = torch.where(ok, a.detach().to(torch.float64), torch.zeros_like(op))
        c64 = torch.where(ok, c.detach().to(torch.float64), torch.zeros_like(op))
        rx = torch.ceil(extend * a64.clamp_min(0).sqrt())
        ry = torch.ceil(extend * c64.clamp_min(0).sqrt())
        m2 = means2d.detach().to(torch.float64)
        inside = (
            (m2[:, 0] + rx > 0)
            & (m2[:, 0] - rx < width)
            & (m2[:, 1] + ry > 0)
            & (m2[:, 1] - ry < height)
        )
        ok = ok & inside & ((rx > 0) | (ry > 0))
        # Kept as float64: a huge Gaussian far off-screen can still cover the image, and its
        # half-width must not be clipped or overflow an integer.
        radii = torch.stack([rx, ry], dim=-1)
        radii = torch.where(ok[:, None], radii, torch.zeros_like(radii))
    return Projected(means2d=means2d, conics=conics, depths=z, radii=radii, valid=ok)


def pixel_centres(width: int, height: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Flattened pixel-centre coordinates (x, y), row-major, centres at +0.5 as in gsplat."""
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=dtype) + 0.5,
        torch.arange(width, dtype=dtype) + 0.5,
        indexing="ij",
    )
    return xs.reshape(-1), ys.reshape(-1)


__all__ = [
    "ALPHA_MAX",
    "ALPHA_MIN",
    "EPS2D",
    "EXTEND_MAX",
    "FAR_PLANE",
    "NEAR_PLANE",
    "T_MIN",
    "Projected",
    "covariance3d",
    "pixel_centres",
    "project",
    "quat_to_rotmat",
]
