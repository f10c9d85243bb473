"""Silhouette geometry for the aligner: mask contours, a mesh's contour edges, nearest segments.

Image coordinates follow the rasterizers: pixel ``(row i, col j)`` covers ``[j, j+1) x [i,
i+1)`` and its value is taken at the centre ``(j + 0.5, i + 0.5)``. A contour of a coverage
image is its 0.5 iso-line through the bilinear interpolation of the pixel centres: for a
box-filtered (anti-aliased) mask of a straight edge this is the edge itself, for a binary mask
it runs half-way between the inside and the outside pixel.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "ContourSet",
    "contour_edges",
    "mask_contours",
    "mesh_edges",
    "nearest_on_segments",
]


class ContourSet:
    """Polylines of one mask, flattened into segments ``a[k] -> b[k]`` (image coordinates)."""

    def __init__(self, lines: list[np.ndarray]) -> None:
        self.lines = [np.asarray(line, dtype=np.float64) for line in lines if len(line) >= 2]
        if self.lines:
            self.a = np.concatenate([line[:-1] for line in self.lines])
            self.b = np.concatenate([line[1:] for line in self.lines])
        else:
            self.a = self.b = np.zeros((0, 2))

    def subset(self, keep: np.ndarray) -> ContourSet:
        """The segments ``keep`` (a boolean per segment) only."""
        out = ContourSet([])
        out.lines = self.lines
        out.a, out.b = self.a[keep], self.b[keep]
        return out

    @property
    def points(self) -> np.ndarray:
        """Segment start points: the contour sampled about once per pixel it crosses."""
        return self.a

    def __len__(self) -> int:
        return len(self.a)

    def normals(self) -> np.ndarray:
        """Unit normals of the segments. Every contour from :func:`mask_contours` is oriented
        the same way (the low side of the mask on one side), so a mask's and a model's normals
        can be compared: both point out of the hand, or both into it."""
        d = self.b - self.a
        n = np.stack([-d[:, 1], d[:, 0]], axis=1)
        return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def mask_contours(mask: np.ndarray, level: float = 0.5) -> ContourSet:
    """The ``level`` iso-lines of a coverage mask ``[H, W]`` in image coordinates.

    The mask is padded with zeros so that a hand touching the border still has closed
    contours (the part along the border never matches a model edge and is down-weighted by the
    aligner's robust loss).
    """
    from skimage.measure import find_contours

    m = np.pad(np.asarray(mask, dtype=np.float64), 1)
    lines = []
    for c in find_contours(m, level):
        lines.append(c[:, ::-1] - 1.0 + 0.5)  # (row, col) of the padded grid -> (x, y)
    return ContourSet(lines)


@functools.lru_cache(maxsize=8)
def _edges_of(faces_bytes: bytes, nfaces: int) -> tuple[np.ndarray, np.ndarray]:
    faces = np.frombuffer(faces_bytes, dtype=np.int64).reshape(nfaces, 3)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    owner = np.tile(np.arange(nfaces), 3)
    key = np.sort(e, axis=1)
    order = np.lexsort((key[:, 1], key[:, 0]))
    key, owner = key[order], owner[order]
    new = np.ones(len(key), dtype=bool)
    new[1:] = np.any(key[1:] != key[:-1], axis=1)
    start = np.nonzero(new)[0]
    count = np.diff(np.append(start, len(key)))
    edges = key[start]
    adj = np.full((len(edges), 2), -1, dtype=np.int64)
    adj[:, 0] = owner[start]
    two = count >= 2
    adj[two, 1] = owner[start[two] + 1]
    return edges, adj


def mesh_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique edges ``[E, 2]`` of a triangle mesh and their adjacent faces ``[E, 2]`` (-1 for
    a border edge). Cached per face array."""
    f = np.ascontiguousarray(faces, dtype=np.int64)
    return _edges_of(f.tobytes(), len(f))


def contour_edges(xy: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Edges ``[C, 2]`` (vertex ids) that can lie on the projected silhouette of a mesh.

    ``xy`` are the vertices' image positions. A face is front-facing when its screen-space area
    is negative (outward winding, OpenCV axes: the convention of the HWP-Synth rasterizer); a
    contour edge separates a front face from a back face, or borders a front face alone (the
    open wrist).
    """
    edges, adj = mesh_edges(faces)
    f = np.asarray(faces, dtype=np.int64)
    a, b, c = xy[f[:, 0]], xy[f[:, 1]], xy[f[:, 2]]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    front = area < 0
    f0 = front[adj[:, 0]]
    f1 = np.where(adj[:, 1] >= 0, front[np.maximum(adj[:, 1], 0)], False)
    keep = (f0 != f1) | ((adj[:, 1] < 0) & f0)
    return edges[keep]


def nearest_on_segments(
    points: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    *,
    chunk: int = 512,
    point_normals: np.ndarray | None = None,
    segment_normals: np.ndarray | None = None,
    min_cos: float = -1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point, the nearest segment ``a[k] -> b[k]``: (index, parameter in [0, 1],
    distance). Brute force in chunks (a few hundred points against a few thousand segments).

    With normals, only segments whose normal agrees with the point's (cosine >= ``min_cos``)
    are candidates; a point without any gets distance ``inf``.
    """
    points = np.asarray(points, dtype=np.float64)
    if len(a) == 0:
        raise ValueError("no segments to match against")
    d = b - a
    length2 = np.maximum((d * d).sum(axis=1), 1e-18)
    idx = np.empty(len(points), dtype=np.int64)
    par = np.empty(len(points))
    dist = np.empty(len(points))
    for s in range(0, len(points), chunk):
        p = points[s : s + chunk]
        t = np.clip(((p[:, None, :] - a[None]) * d[None]).sum(-1) / length2[None], 0.0, 1.0)
        q = a[None] + t[..., None] * d[None]
        dd = ((p[:, None, :] - q) ** 2).sum(-1)
        if point_normals is not None and segment_normals is not None:
            cos = point_normals[s : s + chunk] @ segment_normals.T
            dd = np.where(cos >= min_cos, dd, np.inf)
        k = dd.argmin(axis=1)
        rows = np.arange(len(p))
        idx[s : s + chunk] = k
        par[s : s + chunk] = t[rows, k]
        dist[s : s + chunk] = np.sqrt(dd[rows, k])
    return idx, par, dist
