"""Triangle rasterizer with a z-buffer: which triangle covers each pixel, and where in it.

This is HWP-Synth's own mesh renderer, deliberately independent of the Gaussian renderer in
``hwp_bench.render`` (a benchmark whose ground truth came out of the same code as the methods
under test would hide that code's bugs). It only answers visibility: per pixel, the nearest
triangle's id, its perspective-correct barycentric coordinates and the depth. Shading
(textures, normals, light, shadows) lives in :mod:`hwp_bench.synth.shading`.

Conventions: camera space is OpenCV (x right, y down, z forward). Pixel ``(row i, col j)``
covers ``[j, j+1) x [i, i+1)`` in image coordinates and is sampled at its centre
``(j + 0.5, i + 0.5)``, as gsplat does, so supersampling by ``s`` (scale ``K`` by ``s``) and
averaging ``s x s`` blocks is an exact box filter of the low-resolution pixel.

The fast path is a serial numba kernel (serial on purpose: the z-test then resolves exact depth
ties by triangle order, so the output is bit-for-bit deterministic). :func:`rasterize_reference`
is the slow, obviously correct numpy version the tests compare it against.
"""

from __future__ import annotations

import numba
import numpy as np

NEAR = 1e-3


@numba.njit(cache=True, nogil=True)
def _raster_kernel(sx, sy, sz, faces, bias, cull, width, height, perspective, face_id, bary, depth):
    """Scan-convert every triangle; keep the nearest fragment per pixel.

    ``sx, sy`` are screen positions of the vertices, ``sz`` their depth (camera z for
    perspective, any linear depth for orthographic). ``bias[f]`` is added to triangle ``f``'s
    depth for the z-test only (lets a forearm never hide the hand it is attached to). The
    depth buffer holds the biased depth. ``cull[f]`` drops triangle ``f`` when it faces away
    from the camera (outward winding, OpenCV axes: front faces have negative screen area).
    Buffers are filled in place.
    """
    nf = faces.shape[0]
    for f in range(nf):
        a = faces[f, 0]
        b = faces[f, 1]
        c = faces[f, 2]
        za = sz[a]
        zb = sz[b]
        zc = sz[c]
        if perspective and (za < NEAR or zb < NEAR or zc < NEAR):
            continue
        xa = sx[a]
        ya = sy[a]
        xb = sx[b]
        yb = sy[b]
        xc = sx[c]
        yc = sy[c]
        area = (xb - xa) * (yc - ya) - (yb - ya) * (xc - xa)
        if area == 0.0 or not np.isfinite(area):
            continue
        if cull[f] and area > 0.0:
            continue
        inv_area = 1.0 / area
        xmin = min(xa, min(xb, xc))
        xmax = max(xa, max(xb, xc))
        ymin = min(ya, min(yb, yc))
        ymax = max(ya, max(yb, yc))
        j0 = max(int(np.floor(xmin - 0.5)), 0)
        j1 = min(int(np.ceil(xmax - 0.5)), width - 1)
        i0 = max(int(np.floor(ymin - 0.5)), 0)
        i1 = min(int(np.ceil(ymax - 0.5)), height - 1)
        if j0 > j1 or i0 > i1:
            continue
        for i in range(i0, i1 + 1):
            py = i + 0.5
            for j in range(j0, j1 + 1):
                px = j + 0.5
                # Edge functions, normalised so that they are the screen-space barycentrics.
                w0 = ((xb - px) * (yc - py) - (yb - py) * (xc - px)) * inv_area
                w1 = ((xc - px) * (ya - py) - (yc - py) * (xa - px)) * inv_area
                w2 = 1.0 - w0 - w1
                if w0 < 0.0 or w1 < 0.0 or w2 < 0.0:
                    continue
                if perspective:
                    q0 = w0 / za
                    q1 = w1 / zb
                    q2 = w2 / zc
                    s = q0 + q1 + q2
                    z = 1.0 / s
                    b0 = q0 * z
                    b1 = q1 * z
                    b2 = q2 * z
                else:
                    z = w0 * za + w1 * zb + w2 * zc
                    b0 = w0
                    b1 = w1
                    b2 = w2
                z = z + bias[f]
                if z < depth[i, j]:
                    depth[i, j] = z
                    face_id[i, j] = f
                    bary[i, j, 0] = b0
                    bary[i, j, 1] = b1
                    bary[i, j, 2] = b2


def _alloc(height: int, width: int):
    face_id = np.full((height, width), -1, dtype=np.int32)
    bary = np.zeros((height, width, 3), dtype=np.float64)
    depth = np.full((height, width), np.inf, dtype=np.float64)
    return face_id, bary, depth


def project(verts: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pinhole projection of camera-space points to pixel coordinates (and their depth)."""
    v = np.asarray(verts, dtype=np.float64)
    z = v[:, 2]
    safe = np.where(np.abs(z) < 1e-12, 1e-12, z)
    x = K[0, 0] * v[:, 0] / safe + K[0, 1] * v[:, 1] / safe + K[0, 2]
    y = K[1, 1] * v[:, 1] / safe + K[1, 2]
    return x, y, z


def rasterize(
    verts: np.ndarray,
    faces: np.ndarray,
    K: np.ndarray,
    width: int,
    height: int,
    face_bias: np.ndarray | None = None,
    face_cull: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Perspective rasterization of a triangle mesh given in camera space.

    Returns ``face_id [H,W] int32`` (-1 where empty), ``bary [H,W,3] float64``
    (perspective-correct: they interpolate 3D attributes exactly) and ``depth [H,W]`` (camera z,
    ``inf`` where empty). Triangles with a vertex closer than ``NEAR`` are dropped (HWP-Synth
    scenes never come near the camera). Both windings are drawn.
    """
    sx, sy, sz = project(verts, np.asarray(K, dtype=np.float64))
    face_id, bary, depth = _alloc(height, width)
    bias = np.zeros(len(faces)) if face_bias is None else np.asarray(face_bias, np.float64)
    cull = np.zeros(len(faces), np.bool_) if face_cull is None else np.asarray(face_cull, np.bool_)
    _raster_kernel(
        sx, sy, sz, np.ascontiguousarray(faces, dtype=np.int64), bias, cull, width, height, True,
        face_id, bary, depth,
    )  # fmt: skip
    return face_id, bary, depth


def rasterize_ortho(
    xy: np.ndarray, z: np.ndarray, faces: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthographic rasterization: vertices already in pixel coordinates, linear depth ``z``.

    Used for shadow maps (a directional light is an orthographic camera) and for baking
    textures in UV space (``xy`` = UV times texture size).
    """
    xy = np.asarray(xy, dtype=np.float64)
    face_id, bary, depth = _alloc(height, width)
    _raster_kernel(
        np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]),
        np.ascontiguousarray(z, dtype=np.float64), np.ascontiguousarray(faces, dtype=np.int64),
        np.zeros(len(faces)), np.zeros(len(faces), np.bool_), width, height, False,
        face_id, bary, depth,
    )  # fmt: skip
    return face_id, bary, depth


def rasterize_reference(
    verts: np.ndarray, faces: np.ndarray, K: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slow, obviously correct rasterizer for tests: for every pixel, intersect the camera ray
    with every triangle in 3D (Moller-Trumbore) and keep the nearest hit.

    The barycentrics come straight from the 3D ray-triangle intersection, so they are correct
    by construction and check the kernel's perspective correction independently.
    """
    K = np.asarray(K, dtype=np.float64)
    v = np.asarray(verts, dtype=np.float64)
    Kinv = np.linalg.inv(K)
    face_id, bary, depth = _alloc(height, width)
    jj, ii = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    rays = np.stack([jj, ii, np.ones_like(jj)], -1) @ Kinv.T  # z component is 1
    rays = rays.reshape(-1, 3)
    best = np.full(rays.shape[0], np.inf)
    for f, (a, b, c) in enumerate(np.asarray(faces)):
        if min(v[a, 2], v[b, 2], v[c, 2]) < NEAR:
            continue
        e1 = v[b] - v[a]
        e2 = v[c] - v[a]
        p = np.cross(rays, e2)
        det = p @ e1
        ok = np.abs(det) > 1e-18
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        tvec = -v[a]
        u = (p @ tvec) * inv
        q = np.cross(tvec, e1)
        w = (rays @ q) * inv
        t = (q @ e2) * inv
        hit = ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > 0)
        z = t  # rays have unit z, so the ray parameter is the depth
        better = hit & (z < best)
        idx = np.nonzero(better)[0]
        best[idx] = z[idx]
        fi = face_id.reshape(-1)
        fi[idx] = f
        bb = bary.reshape(-1, 3)
        bb[idx, 0] = 1 - u[idx] - w[idx]
        bb[idx, 1] = u[idx]
        bb[idx, 2] = w[idx]
    depth = best.reshape(height, width)
    return face_id, bary, depth
