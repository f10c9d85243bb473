"""A tiny shaded mesh renderer (numpy z-buffer) to look at hand models.

Orthographic views, a head-light with Gouraud shading, no dependencies beyond numpy: enough for
a person to judge at a glance that a model and a pose look like a hand, in tests and on
machines without OpenGL. Not used for benchmark images (those come from the synth renderer).
"""

from __future__ import annotations

import numpy as np

# (view direction, image-up direction) in the canonical hand frame: fingers -x, thumb +z,
# palm -y. "palm" looks at the palm, "back" at the back of the hand, "side" from the thumb side.
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "palm": ((0.0, 1.0, 0.0), (-1.0, 0.0, 0.0)),
    "back": ((0.0, -1.0, 0.0), (-1.0, 0.0, 0.0)),
    "side": ((0.0, 0.0, -1.0), (-1.0, 0.0, 0.0)),
}
SKIN = np.array([0.87, 0.68, 0.58])


def view_basis(view: str, side: str = "right") -> np.ndarray:
    """Rows: image right, image down, viewing direction (a rotation matrix).

    The left hand is the mirror image (fingers along +x), so its "up" is flipped to keep the
    fingers pointing up in the picture.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; known: {', '.join(VIEWS)}")
    d, up = (np.asarray(x, dtype=np.float64) for x in VIEWS[view])
    if side == "left":
        up = up * np.array([-1.0, 1.0, 1.0])
    down = -up
    right = np.cross(down, d)
    return np.stack([right, down, d])


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals [V, 3] (outward for outward winding)."""
    fn = np.cross(
        vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]]
    )
    vn = np.zeros_like(vertices)
    for c in range(3):
        np.add.at(vn, faces[:, c], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


def render_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    *,
    view: str = "palm",
    side: str = "right",
    size: int = 256,
    extent: float | None = None,
    center: np.ndarray | None = None,
    color: np.ndarray = SKIN,
    background: float = 1.0,
) -> np.ndarray:
    """Render ``vertices`` [V, 3] / ``faces`` [F, 3] to an RGB float image [size, size, 3].

    ``extent`` is the width in metres the image spans (default: fit the mesh with a margin);
    ``center`` the point at the image centre (default: the bounding-box centre).
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    basis = view_basis(view, side)
    cam = vertices @ basis.T  # x right, y down, z depth
    if center is None:
        center_cam = (cam.min(0) + cam.max(0)) / 2
    else:
        center_cam = np.asarray(center, dtype=np.float64) @ basis.T
    if extent is None:
        extent = 1.15 * float((cam.max(0) - cam.min(0))[:2].max())
    scale = size / extent
    px = (cam[:, 0] - center_cam[0]) * scale + size / 2
    py = (cam[:, 1] - center_cam[1]) * scale + size / 2
    depth = cam[:, 2]
    normals = vertex_normals(vertices, faces) @ basis.T
    # Head-light: surfaces facing the camera (normal towards -view) are lit.
    shade = 0.25 + 0.75 * np.clip(-normals[:, 2], 0.0, 1.0)

    zbuf = np.full((size, size), np.inf)
    inten = np.zeros((size, size))
    hit = np.zeros((size, size), dtype=bool)
    x0, x1, x2 = px[faces[:, 0]], px[faces[:, 1]], px[faces[:, 2]]
    y0, y1, y2 = py[faces[:, 0]], py[faces[:, 1]], py[faces[:, 2]]
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    for f in np.nonzero(np.abs(area) > 1e-12)[0]:
        xs, ys = (x0[f], x1[f], x2[f]), (y0[f], y1[f], y2[f])
        lo_x, hi_x = max(int(np.floor(min(xs))), 0), min(int(np.ceil(max(xs))), size - 1)
        lo_y, hi_y = max(int(np.floor(min(ys))), 0), min(int(np.ceil(max(ys))), size - 1)
        if lo_x > hi_x or lo_y > hi_y:
            continue
        gx, gy = np.meshgrid(np.arange(lo_x, hi_x + 1) + 0.5, np.arange(lo_y, hi_y + 1) + 0.5)
        a = area[f]
        w0 = ((x1[f] - gx) * (y2[f] - gy) - (x2[f] - gx) * (y1[f] - gy)) / a
        w1 = ((x2[f] - gx) * (y0[f] - gy) - (x0[f] - gx) * (y2[f] - gy)) / a
        w2 = 1.0 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        if not inside.any():
            continue
        i, j, k = faces[f]
        z = w0 * depth[i] + w1 * depth[j] + w2 * depth[k]
        sub = zbuf[lo_y : hi_y + 1, lo_x : hi_x + 1]
        closer = inside & (z < sub)
        if not closer.any():
            continue
        sub[closer] = z[closer]
        s = w0 * shade[i] + w1 * shade[j] + w2 * shade[k]
        inten[lo_y : hi_y + 1, lo_x : hi_x + 1][closer] = s[closer]
        hit[lo_y : hi_y + 1, lo_x : hi_x + 1][closer] = True
    img = np.full((size, size, 3), background, dtype=np.float64)
    img[hit] = inten[hit, None] * color[None, :]
    return img
