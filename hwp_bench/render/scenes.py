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
