"""Subdivision of a hand model to any level, with every per-vertex quantity carried along.

One level splits each triangle into four by inserting a vertex on every edge, so
``V' = V + E`` and ``F' = 4F`` (MANO: 778 -> 3,093 -> 12,337 -> 49,281 vertices; the open hand:
1,609 -> 6,413 -> 25,609 -> 102,353). Old vertices keep their indices, new ones follow in edge
order, so fingertip indices stay valid.

Every per-vertex array (template, shape and pose blend shapes, skinning weights) is mapped by
the same sparse matrix ``S`` [V', V], whose rows are non-negative and sum to one: weights still
sum to one and stay in [0, 1], and the model stays linear in its parameters. Two schemes:

* ``midpoint`` (default): an edge vertex is the average of the edge's ends; old vertices stay.
  The surface does not move, so the subdivided hand poses exactly like the original one and
  texture coordinates stay exact. This is what MANO-HD style "one Gaussian per vertex" needs.
* ``loop``: Loop's smoothing stencils (Warren's weights, boundary rules on the wrist opening).
  Rounder, but the surface shrinks slightly (fingertips get a little shorter).

UVs are interpolated per corner at edge midpoints in both schemes (a seam edge gets one new UV
per side), so ``uv_coords`` / ``uv_faces`` texture the new mesh seam-exactly.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from hwp_bench.hand.data import HandData

SCHEMES = ("midpoint", "loop")


def edge_table(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique edges [E, 2], the edge of each face side [F, 3] and each side's opposite vertex.

    Face sides are (v0, v1), (v1, v2), (v2, v0); ``opposite`` [3F] is aligned with the sides
    flattened side-major (all (v0, v1) first).
    """
    f = faces.shape[0]
    sides = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    lo, hi = sides.min(1).astype(np.int64), sides.max(1).astype(np.int64)
    n = int(hi.max()) + 1 if len(hi) else 1
    keys, inv = np.unique(lo * n + hi, return_inverse=True)  # 1-D keys: much faster
    edges = np.stack([keys // n, keys % n], axis=1)
    inv = inv.reshape(-1)
    face_edge = inv.reshape(3, f).T
    opposite = np.concatenate([faces[:, 2], faces[:, 0], faces[:, 1]])
    return edges, face_edge, np.stack([inv, opposite], axis=1)


def split_faces(faces: np.ndarray, face_edge: np.ndarray, num_vertices: int) -> np.ndarray:
    """Four triangles per face, same winding: three corners and the middle one."""
    v0, v1, v2 = faces.T
    m01, m12, m20 = (num_vertices + face_edge).T
    out = np.stack(
        [
            np.stack([v0, m01, m20], 1),
            np.stack([m01, v1, m12], 1),
            np.stack([m20, m12, v2], 1),
            np.stack([m01, m12, m20], 1),
        ],
        axis=1,
    )
    return out.reshape(-1, 3)


def midpoint_matrix(num_vertices: int, edges: np.ndarray) -> sp.csr_matrix:
    e = edges.shape[0]
    rows = np.concatenate([np.arange(num_vertices), num_vertices + np.repeat(np.arange(e), 2)])
    cols = np.concatenate([np.arange(num_vertices), edges.reshape(-1)])
    vals = np.concatenate([np.ones(num_vertices), np.full(2 * e, 0.5)])
    return sp.csr_matrix((vals, (rows, cols)), shape=(num_vertices + e, num_vertices))


def loop_matrix(num_vertices: int, edges: np.ndarray, side_info: np.ndarray) -> sp.csr_matrix:
    e = edges.shape[0]
    edge_of_side, opposite = side_info[:, 0], side_info[:, 1]
    valence = np.bincount(edge_of_side, minlength=e)
    boundary_edge = valence == 1
    rows, cols, vals = [], [], []
    # Odd (edge) vertices.
    r = num_vertices + np.arange(e)
    w_end = np.where(boundary_edge, 0.5, 0.375)
    rows += [r, r]
    cols += [edges[:, 0], edges[:, 1]]
    vals += [w_end, w_end]
    interior_side = ~boundary_edge[edge_of_side]
    rows.append(num_vertices + edge_of_side[interior_side])
    cols.append(opposite[interior_side])
    vals.append(np.full(int(interior_side.sum()), 0.125))
    # Even (old) vertices.
    degree = np.bincount(edges.reshape(-1), minlength=num_vertices)
    on_boundary = np.zeros(num_vertices, dtype=bool)
    on_boundary[edges[boundary_edge].reshape(-1)] = True
    n = np.maximum(degree, 1).astype(np.float64)
    beta = np.where(n > 3, 3.0 / (8.0 * n), 3.0 / 16.0)
    self_w = np.where(on_boundary, 0.75, 1.0 - n * beta)
    rows.append(np.arange(num_vertices))
    cols.append(np.arange(num_vertices))
    vals.append(self_w)
    a, b = edges[:, 0], edges[:, 1]
    for src, dst in ((a, b), (b, a)):
        interior = ~on_boundary[src]
        rows.append(src[interior])
        cols.append(dst[interior])
        vals.append(beta[src[interior]])
        bnd = on_boundary[src] & boundary_edge
        rows.append(src[bnd])
        cols.append(dst[bnd])
        vals.append(np.full(int(bnd.sum()), 0.125))
    shape = (num_vertices + e, num_vertices)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    )


def subdivision_matrix(
    faces: np.ndarray, num_vertices: int, scheme: str = "midpoint"
) -> tuple[sp.csr_matrix, np.ndarray]:
    """The [V', V] matrix of one subdivision step and the new faces [4F, 3]."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    edges, face_edge, side_info = edge_table(faces)
    new_faces = split_faces(faces, face_edge, num_vertices)
    if scheme == "midpoint":
        return midpoint_matrix(num_vertices, edges), new_faces
    return loop_matrix(num_vertices, edges, side_info), new_faces


def _apply(s: sp.csr_matrix, x: np.ndarray) -> np.ndarray:
    flat = x.reshape(x.shape[0], -1)
    return np.asarray(s @ flat).reshape(s.shape[0], *x.shape[1:])


def subdivide_hand(data: HandData, scheme: str = "midpoint") -> HandData:
    """``data`` subdivided once (see the module docstring)."""
    s, faces = subdivision_matrix(data.faces, data.num_vertices, scheme)
    uv_edges, uv_face_edge, _ = edge_table(data.uv_faces)
    u = data.uv_coords.shape[0]
    uv_coords = np.concatenate(
        [data.uv_coords, 0.5 * (data.uv_coords[uv_edges[:, 0]] + data.uv_coords[uv_edges[:, 1]])]
    )
    uv_faces = split_faces(data.uv_faces, uv_face_edge, u)
    # One UV per vertex from the corners (a seam vertex takes one of its sides).
    vertex_uvs = np.zeros((s.shape[0], 2))
    vertex_uvs[faces.reshape(-1)] = uv_coords[uv_faces.reshape(-1)]
    weights = _apply(s, data.weights)
    weights = weights / weights.sum(1, keepdims=True)
    return data.replace(
        v_template=_apply(s, data.v_template),
        shapedirs=_apply(s, data.shapedirs),
        posedirs=None if data.posedirs is None else _apply(s, data.posedirs),
        weights=weights,
        faces=faces,
        uv_coords=uv_coords,
        uv_faces=uv_faces,
        vertex_uvs=vertex_uvs,
        subdivision=data.subdivision + 1,
        meta={**data.meta, "subdivision_scheme": scheme},
    )
