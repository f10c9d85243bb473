"""numba EWA projection for the ``cpu`` backend, forward and hand-written backward.

The same mathematics as ``hwp_bench.render.projection.project`` (the torch version the
``reference`` backend differentiates with autograd, and which the tests hold this one to), one
Gaussian per loop iteration in float64. On a CPU the torch version spends most of its time in
the per-op overhead of ~100 small tensor ops and their autograd nodes; this loop is ~20x cheaper.

Per Gaussian: ``x_c = R x + t``; ``M = R Rq(q/|q|) diag(s)``; ``rz = 1/z``;
``u = clamp(x_c/z)``, ``v = clamp(y_c/z)`` (1.3x the field of view); the rows of ``J M`` are
``j = fx rz (M_0 - u M_2)`` and ``k = fy rz (M_1 - v M_2)``; ``Sigma2d = [[j.j + eps, j.k],
[j.k, k.k + eps]]``; conic = inverse; ``mean2d = (fx x rz + cx, fy y rz + cy)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

ALPHA_MIN = 1.0 / 255.0
EXTEND_MAX = 3.33


@njit(inline="always")
def _rotation(qw, qx, qy, qz, out):  # pragma: no cover - jitted
    """Rotation matrix of a quaternion into ``out`` (3x3); returns (|q|, unit q)."""
    norm = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
    w = qw / norm
    x = qx / norm
    y = qy / norm
    z = qz / norm
    out[0, 0] = 1.0 - 2.0 * (y * y + z * z)
    out[0, 1] = 2.0 * (x * y - w * z)
    out[0, 2] = 2.0 * (x * z + w * y)
    out[1, 0] = 2.0 * (x * y + w * z)
    out[1, 1] = 1.0 - 2.0 * (x * x + z * z)
    out[1, 2] = 2.0 * (y * z - w * x)
    out[2, 0] = 2.0 * (x * z - w * y)
    out[2, 1] = 2.0 * (y * z + w * x)
    out[2, 2] = 1.0 - 2.0 * (x * x + y * y)
    return norm, w, x, y, z


@njit(nogil=True, cache=True)
def project_forward(
    means,
    quats,
    scales,
    opacities,
    R,
    t,
    K,
    width,
    height,
    near,
    far,
    eps2d,
    means2d,
    conics,
    depths,
    radii,
    valid,
):  # pragma: no cover - jitted
    """Fill means2d [N,2], conics [N,3], depths [N], radii [N,2], valid [N] (culling rules of
    ``projection.project``)."""
    fx = K[0, 0]
    fy = K[1, 1]
    cx = K[0, 2]
    cy = K[1, 2]
    tan_fovx = 0.5 * width / fx
    tan_fovy = 0.5 * height / fy
    lim_x_pos = (width - cx) / fx + 0.3 * tan_fovx
    lim_x_neg = cx / fx + 0.3 * tan_fovx
    lim_y_pos = (height - cy) / fy + 0.3 * tan_fovy
    lim_y_neg = cy / fy + 0.3 * tan_fovy
    rq = np.empty((3, 3))
    for g in range(means.shape[0]):
        valid[g] = False
        radii[g, 0] = 0.0
        radii[g, 1] = 0.0
        mx = means[g, 0]
        my = means[g, 1]
        mz = means[g, 2]
        x = R[0, 0] * mx + R[0, 1] * my + R[0, 2] * mz + t[0]
        y = R[1, 0] * mx + R[1, 1] * my + R[1, 2] * mz + t[1]
        z = R[2, 0] * mx + R[2, 1] * my + R[2, 2] * mz + t[2]
        depths[g] = z
        if not (z >= near and z <= far):
            continue
        _rotation(quats[g, 0], quats[g, 1], quats[g, 2], quats[g, 3], rq)
        rz = 1.0 / z
        u = min(lim_x_pos, max(-lim_x_neg, x * rz))
        v = min(lim_y_pos, max(-lim_y_neg, y * rz))
        a = eps2d
        b = 0.0
        c = eps2d
        for k in range(3):
            s = scales[g, k]
            m0 = (R[0, 0] * rq[0, k] + R[0, 1] * rq[1, k] + R[0, 2] * rq[2, k]) * s
            m1 = (R[1, 0] * rq[0, k] + R[1, 1] * rq[1, k] + R[1, 2] * rq[2, k]) * s
            m2 = (R[2, 0] * rq[0, k] + R[2, 1] * rq[1, k] + R[2, 2] * rq[2, k]) * s
            jk = fx * rz * (m0 - u * m2)
            kk = fy * rz * (m1 - v * m2)
            a += jk * jk
            b += jk * kk
            c += kk * kk
        det = a * c - b * b
        if not det > 0.0:
            continue
        conics[g, 0] = c / det
        conics[g, 1] = -b / det
        conics[g, 2] = a / det
        px = fx * x * rz + cx
        py = fy * y * rz + cy
        means2d[g, 0] = px
        means2d[g, 1] = py
        op = opacities[g]
        if not op >= ALPHA_MIN:
            continue
        extend = min(EXTEND_MAX, math.sqrt(2.0 * math.log(op / ALPHA_MIN)))
        rx = math.ceil(extend * math.sqrt(a))
        ry = math.ceil(extend * math.sqrt(c))
        if px + rx <= 0 or px - rx >= width or py + ry <= 0 or py - ry >= height:
            continue
        if rx <= 0 and ry <= 0:
            continue
        radii[g, 0] = rx
        radii[g, 1] = ry
        valid[g] = True


@njit(nogil=True, cache=True)
def project_backward(
    means,
    quats,
    scales,
    R,
    t,
    K,
    width,
    height,
    eps2d,
    valid,
    g_means2d,
    g_conics,
    g_depths,
    g_means,
    g_quats,
    g_scales,
):  # pragma: no cover - jitted
    """Vector-Jacobian product of ``project_forward`` for the valid Gaussians (others: 0).

    Chain, per Gaussian: conic = inverse(Sigma2d) -> (a, b, c) -> rows j, k of J M ->
    (M, rz, u, v) -> (x_c, s, Rq) -> (means, scales, unit q) -> q (through q / |q|).
    """
    fx = K[0, 0]
    fy = K[1, 1]
    cx = K[0, 2]
    cy = K[1, 2]
    tan_fovx = 0.5 * width / fx
    tan_fovy = 0.5 * height / fy
    lim_x_pos = (width - cx) / fx + 0.3 * tan_fovx
    lim_x_neg = cx / fx + 0.3 * tan_fovx
    lim_y_pos = (height - cy) / fy + 0.3 * tan_fovy
    lim_y_neg = cy / fy + 0.3 * tan_fovy
    rq = np.empty((3, 3))
    mm = np.empty((3, 3))  # M = R Rq diag(s), rows = camera axes
    rr = np.empty((3, 3))  # R Rq
    jr = np.empty(3)
    kr = np.empty(3)
    g_m = np.empty((3, 3))
    g_rq = np.empty((3, 3))
    for g in range(means.shape[0]):
        for i in range(3):
            g_means[g, i] = 0.0
            g_scales[g, i] = 0.0
        for i in range(4):
            g_quats[g, i] = 0.0
        if not valid[g]:
            continue
        mx = means[g, 0]
        my = means[g, 1]
        mz = means[g, 2]
        x = R[0, 0] * mx + R[0, 1] * my + R[0, 2] * mz + t[0]
        y = R[1, 0] * mx + R[1, 1] * my + R[1, 2] * mz + t[1]
        z = R[2, 0] * mx + R[2, 1] * my + R[2, 2] * mz + t[2]
        qnorm, w, qx, qy, qz = _rotation(quats[g, 0], quats[g, 1], quats[g, 2], quats[g, 3], rq)
        rz = 1.0 / z
        xr = x * rz
        yr = y * rz
        u = min(lim_x_pos, max(-lim_x_neg, xr))
        v = min(lim_y_pos, max(-lim_y_neg, yr))
        a = eps2d
        b = 0.0
        c = eps2d
        for k in range(3):
            for i in range(3):
                rr[i, k] = R[i, 0] * rq[0, k] + R[i, 1] * rq[1, k] + R[i, 2] * rq[2, k]
                mm[i, k] = rr[i, k] * scales[g, k]
            jr[k] = fx * rz * (mm[0, k] - u * mm[2, k])
            kr[k] = fy * rz * (mm[1, k] - v * mm[2, k])
            a += jr[k] * jr[k]
            b += jr[k] * kr[k]
            c += kr[k] * kr[k]
        inv = 1.0 / (a * c - b * b)
        gA = g_conics[g, 0]
        gB = g_conics[g, 1]
        gC = g_conics[g, 2]
        # conic = (c, -b, a) * inv, inv = 1 / (a c - b^2)
        s_inv = gA * c - gB * b + gC * a
        ga = gC * inv - s_inv * inv * inv * c
        gc = gA * inv - s_inv * inv * inv * a
        gb = -gB * inv + 2.0 * s_inv * inv * inv * b
        gu = 0.0
        gv = 0.0
        grz = 0.0
        for k in range(3):
            gj = 2.0 * ga * jr[k] + gb * kr[k]
            gk = 2.0 * gc * kr[k] + gb * jr[k]
            g_m[0, k] = gj * fx * rz
            g_m[1, k] = gk * fy * rz
            g_m[2, k] = -(gj * fx * rz * u + gk * fy * rz * v)
            gu -= gj * fx * rz * mm[2, k]
            gv -= gk * fy * rz * mm[2, k]
            grz += gj * fx * (mm[0, k] - u * mm[2, k]) + gk * fy * (mm[1, k] - v * mm[2, k])
        gmx = g_means2d[g, 0]
        gmy = g_means2d[g, 1]
        gx = gmx * fx * rz
        gy = gmy * fy * rz
        grz += gmx * fx * x + gmy * fy * y
        if -lim_x_neg <= xr <= lim_x_pos:
            gx += gu * rz
            grz += gu * x
        if -lim_y_neg <= yr <= lim_y_pos:
            gy += gv * rz
            grz += gv * y
        gz = g_depths[g] - grz * rz * rz
        for i in range(3):
            g_means[g, i] = R[0, i] * gx + R[1, i] * gy + R[2, i] * gz
        # M = (R Rq) diag(s)
        for k in range(3):
            acc = 0.0
            for i in range(3):
                acc += g_m[i, k] * rr[i, k]
            g_scales[g, k] = acc
        for j in range(3):
            for k in range(3):
                acc = 0.0
                for i in range(3):
                    acc += R[i, j] * g_m[i, k]
                g_rq[j, k] = acc * scales[g, k]
        G = g_rq
        dw = 2.0 * (qx * (G[2, 1] - G[1, 2]) + qy * (G[0, 2] - G[2, 0]) + qz * (G[1, 0] - G[0, 1]))
        dx = 2.0 * (
            -2.0 * qx * (G[1, 1] + G[2, 2])
            + qy * (G[0, 1] + G[1, 0])
            + qz * (G[0, 2] + G[2, 0])
            + w * (G[2, 1] - G[1, 2])
        )
        dy = 2.0 * (
            -2.0 * qy * (G[0, 0] + G[2, 2])
            + qx * (G[0, 1] + G[1, 0])
            + w * (G[0, 2] - G[2, 0])
            + qz * (G[1, 2] + G[2, 1])
        )
        dz = 2.0 * (
            -2.0 * qz * (G[0, 0] + G[1, 1])
            + w * (G[1, 0] - G[0, 1])
            + qx * (G[0, 2] + G[2, 0])
            + qy * (G[1, 2] + G[2, 1])
        )
        dot = w * dw + qx * dx + qy * dy + qz * dz
        g_quats[g, 0] = (dw - w * dot) / qnorm
        g_quats[g, 1] = (dx - qx * dot) / qnorm
        g_quats[g, 2] = (dy - qy * dot) / qnorm
        g_quats[g, 3] = (dz - qz * dot) / qnorm
