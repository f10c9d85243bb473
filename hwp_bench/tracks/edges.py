"""Image edges at the hand's inner occluding contours: evidence the mask does not carry.

A hand mask shows the outline of the hand, not a finger folded in front of the palm or of
another finger. Where the posed hand model shows such an *inner occluding contour* (a mesh edge
between a front-facing and a back-facing face whose surface behind it, in the image, lies at
least ``depth_gap`` farther from the camera), the frame's picture usually shows an edge: the
finger's rim against the palm. The aligner (``AlignConfig(image_edges=True)``) then

1. samples points along those projected mesh edges (:func:`occluding_samples`; each point sits
   on an edge ``ia -> ib`` at a parameter ``t``, so it moves with the edge's two projected
   vertices exactly as the silhouette's model contour points do);
2. searches the frame's grey-level gradient along the edge's image normal, within
   ``search_px``, for its strongest peak (:func:`peak_offsets`: sub-pixel by a parabola through
   the peak and its neighbours; a peak that is weak or at the end of the range is no evidence);
3. adds the offsets as Cauchy-robust point-to-line residuals beside the silhouette's.

Conventions as in :mod:`hwp_bench.tracks.contours`: pixel ``(row i, col j)`` has its value at
the image point ``(j + 0.5, i + 0.5)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwp_bench.tracks.contours import mesh_edges

__all__ = ["EdgeSamples", "grey_gradient", "occluding_samples", "peak_offsets"]


def grey_gradient(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient ``(gx, gy)`` of the image's grey level (mean of its
    channels), in grey levels per pixel."""
    img = np.asarray(image, dtype=np.float64)
    grey = img.mean(axis=-1) if img.ndim == 3 else img
    gy, gx = np.gradient(grey)
    return gx, gy


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``img`` interpolated bilinearly between pixel centres at image points ``(x, y)``
    (clamped at the border)."""
    h, w = img.shape
    u = np.clip(x - 0.5, 0.0, w - 1.0)
    v = np.clip(y - 0.5, 0.0, h - 1.0)
    j0 = np.minimum(np.floor(u).astype(np.int64), w - 2 if w > 1 else 0)
    i0 = np.minimum(np.floor(v).astype(np.int64), h - 2 if h > 1 else 0)
    fu, fv = u - j0, v - i0
    j1, i1 = np.minimum(j0 + 1, w - 1), np.minimum(i0 + 1, h - 1)
    top = (1 - fu) * img[i0, j0] + fu * img[i0, j1]
    bottom = (1 - fu) * img[i1, j0] + fu * img[i1, j1]
    return (1 - fv) * top + fv * bottom


def peak_offsets(
    gx: np.ndarray,
    gy: np.ndarray,
    points: np.ndarray,
    normals: np.ndarray,
    *,
    search_px: float = 2.0,
    step_px: float = 1.0,
    min_gradient: float = 0.02,
) -> np.ndarray:
    """Signed offset, along each unit normal, from each point to the strongest peak of the
    gradient's magnitude along that normal within ``+-search_px`` (``nan`` where none counts).

    The directional derivative ``|g . n|`` is sampled every ``step_px`` (bilinear between pixel
    centres); the peak is refined by a parabola through it and its two neighbours. A peak below
    ``min_gradient`` (grey levels per pixel) or at either end of the range is dropped: the edge
    is weak or lies beyond the search.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    normals = np.asarray(normals, dtype=np.float64).reshape(-1, 2)
    n_steps = int(round(search_px / step_px))
    s = np.arange(-n_steps, n_steps + 1) * step_px
    if len(points) == 0:
        return np.zeros(0)
    x = points[:, None, 0] + s[None] * normals[:, None, 0]
    y = points[:, None, 1] + s[None] * normals[:, None, 1]
    g = np.abs(
        _bilinear(gx, x, y) * normals[:, None, 0] + _bilinear(gy, x, y) * normals[:, None, 1]
    )
    rows = np.arange(len(points))
    k = g.argmax(axis=1)
    inner = (k > 0) & (k < len(s) - 1)
    kk = np.clip(k, 1, len(s) - 2)
    g0, gm, gp = g[rows, kk], g[rows, kk - 1], g[rows, kk + 1]
    curv = gm - 2.0 * g0 + gp
    frac = np.where(curv < 0, 0.5 * (gm - gp) / np.where(curv < 0, curv, -1.0), 0.0)
    frac = np.clip(frac, -0.5, 0.5)
    out = s[kk] + frac * step_px
    ok = inner & (g0 >= min_gradient) & np.isfinite(out)
    return np.where(ok, out, np.nan)


@dataclass
class EdgeSamples:
    """Points on visible inner occluding mesh edges: point ``k`` lies on the edge from global
    vertex ``ia[k]`` to ``ib[k]`` at parameter ``t[k]``, at image position ``p[k]``; ``n[k]`` is
    the edge's unit image normal, pointing away from the occluding surface (towards the
    surface behind it)."""

    ia: np.ndarray
    ib: np.ndarray
    t: np.ndarray
    p: np.ndarray
    n: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    def subset(self, keep: np.ndarray) -> EdgeSamples:
        return EdgeSamples(self.ia[keep], self.ib[keep], self.t[keep], self.p[keep], self.n[keep])


def _fold_edges(xy: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges ``[C, 2]`` between a front- and a back-facing face (the mesh's contour
    generator, without the open border), and the third vertex of each one's front face."""
    edges, adj = mesh_edges(faces)
    f = np.asarray(faces, dtype=np.int64)
    a, b, c = xy[f[:, 0]], xy[f[:, 1]], xy[f[:, 2]]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    front = area < 0
    two = adj[:, 1] >= 0
    f0 = front[adj[:, 0]]
    f1 = np.where(two, front[np.maximum(adj[:, 1], 0)], False)
    keep = two & (f0 != f1)
    edges, adj, f0 = edges[keep], adj[keep], f0[keep]
    owner = f[np.where(f0, adj[:, 0], adj[:, 1])]
    third = owner.sum(axis=1) - edges.sum(axis=1)
    return edges, third


def occluding_samples(
    verts: list[np.ndarray],
    faces: list[np.ndarray],
    xy: list[np.ndarray],
    K: np.ndarray,
    height: int,
    width: int,
    *,
    depth_gap: float = 0.008,
    supersample: int = 2,
    spacing_px: float = 1.0,
    behind_px: float = 1.5,
    front_px: float = 0.5,
    margin_px: float = 3.0,
) -> EdgeSamples:
    """Samples, about every ``spacing_px``, of the hands' visible inner occluding contours.

    ``verts`` are each hand's camera-space vertices, ``xy`` their projections, ``faces`` its
    triangles. The union of the hands is rasterized (front faces, ``supersample`` samples per
    pixel and axis) with its depth. A point on a front/back mesh edge counts when the surface
    ``behind_px`` beyond it (along the normal away from the edge's front face) is covered and
    at least ``depth_gap`` metres farther than the edge (a finger in front of the palm or of
    another finger; an uncovered pixel there is the outer silhouette, the mask's business), and
    the surface ``front_px`` on its own side is not more than ``depth_gap`` nearer (the edge is
    not hidden). Points within ``margin_px`` of the image border are left out (the search
    would leave the picture).
    """
    from hwp_bench.synth.raster import rasterize

    offsets = np.cumsum([0] + [len(v) for v in verts])
    v = np.concatenate([np.asarray(x, dtype=np.float64) for x in verts])
    all_xy = np.concatenate([np.asarray(x, dtype=np.float64) for x in xy])
    f = np.concatenate(
        [np.asarray(fc, np.int64) + o for fc, o in zip(faces, offsets, strict=False)]
    )
    ss = int(supersample)
    Ks = np.asarray(K, dtype=np.float64).copy()
    Ks[:2] *= ss
    _, _, depth = rasterize(v, f, Ks, width * ss, height * ss, None, np.ones(len(f), dtype=bool))

    edges, third = [], []
    for k, fc in enumerate(faces):
        e, c = _fold_edges(np.asarray(xy[k], np.float64), np.asarray(fc, np.int64))
        edges.append(e + offsets[k])
        third.append(c + offsets[k])
    e = np.concatenate(edges)
    c = np.concatenate(third)
    a, b = all_xy[e[:, 0]], all_xy[e[:, 1]]
    d = b - a
    length = np.linalg.norm(d, axis=1)
    ok = length > 1e-9
    e, c, a, d, length = e[ok], c[ok], a[ok], d[ok], length[ok]
    n = np.stack([-d[:, 1], d[:, 0]], axis=1) / length[:, None]
    n = np.where((((all_xy[c] - a) * n).sum(1) > 0)[:, None], -n, n)  # away from the front face
    count = np.maximum(1, np.ceil(length / spacing_px)).astype(np.int64)
    which = np.repeat(np.arange(len(e)), count)
    start = np.cumsum(count) - count
    t = (np.arange(len(which)) - start[which] + 0.5) / count[which]
    p = a[which] + t[:, None] * d[which]
    nn = n[which]
    z = (1 - t) * v[e[which, 0], 2] + t * v[e[which, 1], 2]

    def depth_at(q):
        j = np.floor(q[:, 0] * ss).astype(np.int64)
        i = np.floor(q[:, 1] * ss).astype(np.int64)
        inside = (j >= 0) & (i >= 0) & (j < width * ss) & (i < height * ss)
        out = np.full(len(q), np.inf)
        out[inside] = depth[i[inside], j[inside]]
        return out

    behind = depth_at(p + behind_px * nn)
    front = depth_at(p - front_px * nn)
    x, y = p[:, 0], p[:, 1]
    inside = (x > margin_px) & (y > margin_px) & (x < width - margin_px) & (y < height - margin_px)
    keep = np.isfinite(behind) & (behind >= z + depth_gap) & (front >= z - depth_gap) & inside
    return EdgeSamples(e[which, 0], e[which, 1], t, p, nn).subset(keep)
