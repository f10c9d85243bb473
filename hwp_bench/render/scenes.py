"""Scenes for tests and benchmarks of the rasterizer: random clouds and the standard hand scenes.

Kept in the package (not in tests/) so that the benchmark script, the tests and users
reproducing the README figures build exactly the same scenes.
"""

from __future__ import annotations

import torch


def simple_camera(width: int, height: int, focal: float, dtype=torch.float64):
    """Identity extrinsics and a pinhole K with the principal point at the image centre."""
    K = torch.tensor(
        [[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]], dtype=dtype
    )
    return torch.eye(4, dtype=dtype), K


def random_scene(n: int, seed: int, dtype=torch.float64, channels: int = 3, depth: float = 2.0):
    """Random anisotropic, rotated Gaussians around (0, 0, depth) in front of the camera.

    Returns (means, quats, scales, opacities, colors).
    """
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 3, generator=g, dtype=dtype) * torch.tensor([0.4, 0.4, 0.3], dtype=dtype)
    means[:, 2] += depth
    quats = torch.randn(n, 4, generator=g, dtype=dtype)
    scales = torch.rand(n, 3, generator=g, dtype=dtype) * 0.08 + 0.005
    opacities = torch.rand(n, generator=g, dtype=dtype) * 0.98 + 0.01
    colors = torch.rand(n, channels, generator=g, dtype=dtype)
    return means, quats, scales, opacities, colors


def ellipsoid_mesh(n_points: int, seed: int = 0, radii=(0.05, 0.09, 0.02), dtype=torch.float64):
    """A closed triangulated ellipsoid (convex hull of Fibonacci-sphere points), hand-sized.

    A stand-in surface with the property that matters for rasterization: two overlapping
    layers (front and back) of dense, nearly opaque Gaussians.
    """
    from scipy.spatial import ConvexHull

    i = torch.arange(n_points, dtype=torch.float64) + 0.5
    phi = torch.acos(1 - 2 * i / n_points)
    theta = torch.pi * (1 + 5**0.5) * i
    pts = torch.stack(
        [torch.cos(theta) * torch.sin(phi), torch.sin(theta) * torch.sin(phi), torch.cos(phi)], -1
    )
    faces = torch.from_numpy(ConvexHull(pts.numpy()).simplices.astype("int64"))
    verts = pts * torch.tensor(radii, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    verts = verts + 0.002 * torch.randn(verts.shape, generator=g, dtype=torch.float64)
    return verts.to(dtype), faces


def mesh_scene(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    width: int,
    height: int,
    *,
    fill: float = 0.6,
    opacity: float = 0.9,
    yaw: float = 0.5,
    pitch: float = -0.3,
):
    """One Gaussian per vertex of a mesh, framed by a camera: the standard benchmark recipe.

    Isotropic scales are half the mean length of the edges at each vertex, opacity 0.9, colours
    from the vertex normals' direction. The mesh is put in its principal axes (longest along x,
    flattest along the view), turned by ``yaw``/``pitch``, and the camera (focal 1.2 x width,
    principal point at the centre) is placed so that the larger side of the bounding box
    spans about ``fill`` of the image. Returns (means, quats, scales,
    opacities, colors, viewmat, K).
    """
    dtype = vertices.dtype
    v = vertices.detach().to(torch.float64)
    v = v - v.mean(0)
    # principal axes: longest along image x, flattest along the viewing direction
    _, _, vt = torch.linalg.svd(v, full_matrices=False)
    if torch.det(vt) < 0:
        vt[2] = -vt[2]
    v = v @ vt.T
    cy, cp = torch.cos(torch.tensor(yaw)), torch.cos(torch.tensor(pitch))
    sy, sp = torch.sin(torch.tensor(yaw)), torch.sin(torch.tensor(pitch))
    ry = torch.tensor([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]], dtype=torch.float64)
    rx = torch.tensor([[1, 0, 0], [0, cp, -sp], [0, sp, cp]], dtype=torch.float64)
    v = v @ (rx @ ry).T
    edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    lengths = (v[edges[:, 0]] - v[edges[:, 1]]).norm(dim=1)
    total = torch.zeros(v.shape[0], dtype=torch.float64).index_add_(0, edges[:, 0], lengths)
    total.index_add_(0, edges[:, 1], lengths)
    count = torch.zeros(v.shape[0], dtype=torch.float64).index_add_(
        0, edges.reshape(-1), torch.ones(edges.numel(), dtype=torch.float64)
    )
    scale = 0.5 * total / count.clamp_min(1)
    fn = torch.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]], dim=1)
    normals = torch.zeros_like(v).index_add_(0, faces.reshape(-1), fn.repeat_interleave(3, 0))
    normals = normals / normals.norm(dim=1, keepdim=True).clamp_min(1e-12)
    focal = 1.2 * width
    extent = max(float(v[:, 0].max() - v[:, 0].min()), float(v[:, 1].max() - v[:, 1].min()))
    # perspective: the near half of the mesh looks larger; place by the front depth
    depth = focal * extent / (fill * min(width, height)) - float(v[:, 2].min())
    means = v + torch.tensor([0.0, 0.0, depth], dtype=torch.float64)
    n = v.shape[0]
    quats = torch.zeros(n, 4, dtype=torch.float64)
    quats[:, 0] = 1.0
    scales = scale[:, None].expand(n, 3).clone()
    opacities = torch.full((n,), opacity, dtype=torch.float64)
    colors = 0.5 + 0.5 * normals
    viewmat = torch.eye(4, dtype=torch.float64)
    K = torch.tensor(
        [[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
    )
    return tuple(t.to(dtype) for t in (means, quats, scales, opacities, colors, viewmat, K))


def hand_scene(subdivision: int, size: int, *, pose: str = "relaxed", dtype=torch.float32):
    """The standard benchmark scene: the open right hand, posed, one Gaussian per vertex.

    S1 = ``hand_scene(1, 128)``, S2 = ``hand_scene(2, 256)``: the ``relaxed`` named pose,
    subdivided ``subdivision`` times, isotropic scales half the local edge length, opacity
    0.9, turned by yaw 0.5 / pitch -0.3 rad and framed to fill ~60% of a square image
    (see :func:`mesh_scene`). Returns (means, quats, scales, opacities, colors, viewmat, K).
    """
    from hwp_bench.hand import load_hand_model
    from hwp_bench.hand.poses import named_pose

    model = load_hand_model("open", subdivision=subdivision, dtype=torch.float64)
    out = model(
        torch.as_tensor(named_pose(pose), dtype=torch.float64)[None],
        torch.zeros(1, 10, dtype=torch.float64),
        torch.zeros(1, 3, dtype=torch.float64),
        side="right",
    )
    scene = mesh_scene(out.vertices[0].detach(), model.faces_for("right"), size, size)
    return tuple(t.to(dtype) for t in scene)
