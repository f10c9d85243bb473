"""Textured primitive geometry for HWP-Synth's objects and backdrop.

Each builder returns a :class:`Geometry` in its local frame: vertices, faces (outward winding),
per-corner UVs and per-corner normals (flat for box faces, smooth around cylinders). The
scene places them with a rotation and translation (:meth:`Geometry.transformed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Geometry:
    verts: np.ndarray  # [V,3]
    faces: np.ndarray  # [F,3] int64
    corner_uv: np.ndarray  # [F,3,2]
    corner_normals: np.ndarray  # [F,3,3]

    def transformed(self, R: np.ndarray, t: np.ndarray) -> Geometry:
        """The geometry moved by ``x -> R x + t`` (normals rotated)."""
        return Geometry(
            self.verts @ R.T + t,
            self.faces,
            self.corner_uv,
            self.corner_normals @ R.T,
        )


def _quads_to_tris(quads: np.ndarray) -> np.ndarray:
    return np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])


def box(sx: float, sy: float, sz: float) -> Geometry:
    """Axis-aligned box centred at the origin; every face maps the full texture."""
    hx, hy, hz = sx / 2, sy / 2, sz / 2
    # (normal, u axis, v axis, half extents along them, offset along the normal)
    specs = [
        ((0, 0, 1), (1, 0, 0), (0, 1, 0), hx, hy, hz),
        ((0, 0, -1), (-1, 0, 0), (0, 1, 0), hx, hy, hz),
        ((1, 0, 0), (0, 0, -1), (0, 1, 0), hz, hy, hx),
        ((-1, 0, 0), (0, 0, 1), (0, 1, 0), hz, hy, hx),
        ((0, 1, 0), (1, 0, 0), (0, 0, -1), hx, hz, hy),
        ((0, -1, 0), (1, 0, 0), (0, 0, 1), hx, hz, hy),
    ]
    verts, faces, uvs, normals = [], [], [], []
    for k, (n, u, v, hu, hv, hn) in enumerate(specs):
        n, u, v = np.array(n, float), np.array(u, float), np.array(v, float)
        c = n * hn
        quad = np.array(
            [c - u * hu - v * hv, c + u * hu - v * hv, c + u * hu + v * hv, c - u * hu + v * hv]
        )
        # outward winding: (q1-q0) x (q2-q0) along n for OpenCV y-down is checked below
        if np.dot(np.cross(quad[1] - quad[0], quad[2] - quad[0]), n) < 0:
            quad = quad[::-1]
        verts.append(quad)
        base = 4 * k
        tri = np.array([[base, base + 1, base + 2], [base, base + 2, base + 3]])
        faces.append(tri)
        quv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
        uvs.append(quv[[[0, 1, 2], [0, 2, 3]]])
        normals.append(np.broadcast_to(n, (2, 3, 3)))
    return Geometry(
        np.concatenate(verts), np.concatenate(faces), np.concatenate(uvs), np.concatenate(normals)
    )


def cylinder(radius: float, length: float, segments: int = 16, caps: bool = True) -> Geometry:
    """Cylinder along local z, centred; u wraps around, v runs along the axis."""
    ang = np.linspace(0, 2 * np.pi, segments + 1)
    ring = np.stack([np.cos(ang), np.sin(ang)], 1)
    verts, faces, uvs, normals = [], [], [], []
    lo = np.concatenate([ring * radius, np.full((segments + 1, 1), -length / 2)], 1)
    hi = np.concatenate([ring * radius, np.full((segments + 1, 1), length / 2)], 1)
    verts = np.concatenate([lo, hi])
    n_side = np.concatenate([ring, np.zeros((segments + 1, 1))], 1)
    vn = np.concatenate([n_side, n_side])
    vuv = np.concatenate(
        [
            np.stack([ang / (2 * np.pi), np.zeros(segments + 1)], 1),
            np.stack([ang / (2 * np.pi), np.ones(segments + 1)], 1),
        ]
    )
    s = segments + 1
    quads = np.array([[i, i + 1, s + i + 1, s + i] for i in range(segments)])
    tri = _quads_to_tris(quads)
    # outward winding check on the first triangle
    p = verts[tri[0]]
    if np.dot(np.cross(p[1] - p[0], p[2] - p[0]), vn[tri[0]].mean(0)) < 0:
        tri = tri[:, ::-1]
    faces = [tri]
    uvs = [vuv[tri]]
    normals = [vn[tri]]
    allv = [verts]
    if caps:
        for sign, rim in ((-1, lo), (1, hi)):
            base = sum(len(v) for v in allv)
            centre = np.array([[0, 0, sign * length / 2]])
            allv.append(np.concatenate([centre, rim[:-1]]))
            t = np.array(
                [[base, base + 1 + i, base + 1 + (i + 1) % segments] for i in range(segments)]
            )
            pv = np.concatenate(allv)[t[0]]
            if np.dot(np.cross(pv[1] - pv[0], pv[2] - pv[0]), [0, 0, sign]) < 0:
                t = t[:, ::-1]
            faces.append(t)
            cuv = np.concatenate([[[0.5, 0.5]], 0.5 + 0.5 * ring[:-1]])
            uvs.append(cuv[t - base])
            normals.append(np.broadcast_to(np.array([0, 0, sign], float), (len(t), 3, 3)))
    return Geometry(
        np.concatenate(allv), np.concatenate(faces), np.concatenate(uvs), np.concatenate(normals)
    )


def plane(sx: float, sy: float, nx: int = 1, ny: int = 1) -> Geometry:
    """Rectangle in the local xy plane, normal -z (facing a camera looking down +z)."""
    xs = np.linspace(-sx / 2, sx / 2, nx + 1)
    ys = np.linspace(-sy / 2, sy / 2, ny + 1)
    X, Y = np.meshgrid(xs, ys)
    verts = np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], 1)
    uv = np.stack([(X.ravel() + sx / 2) / sx, (Y.ravel() + sy / 2) / sy], 1)
    idx = np.arange(X.size).reshape(ny + 1, nx + 1)
    quads = np.stack([idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]], -1).reshape(-1, 4)
    tri = _quads_to_tris(quads)
    p = verts[tri[0]]
    if np.dot(np.cross(p[1] - p[0], p[2] - p[0]), [0, 0, -1]) < 0:
        tri = tri[:, ::-1]
    return Geometry(
        verts, tri, uv[tri], np.broadcast_to(np.array([0, 0, -1.0]), (len(tri), 3, 3)).copy()
    )


def rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix about ``axis`` by ``angle`` (Rodrigues)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / max(np.linalg.norm(a), 1e-20)
    Kx = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * Kx + (1 - np.cos(angle)) * Kx @ Kx


def look_rotation(z_axis: np.ndarray, up_hint: np.ndarray) -> np.ndarray:
    """Rotation whose local z maps to ``z_axis`` and local y is as close as possible to
    ``up_hint``: how objects are aimed (a pen along a finger, a phone along the palm)."""
    z = np.asarray(z_axis, dtype=np.float64)
    z = z / max(np.linalg.norm(z), 1e-20)
    y = np.asarray(up_hint, dtype=np.float64) - z * np.dot(up_hint, z)
    if np.linalg.norm(y) < 1e-9:
        y = np.array([1.0, 0, 0]) - z * z[0]
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return np.stack([x, y, z], 1)
