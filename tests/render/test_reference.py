"""The reference backend against closed-form cases, and its gradients against finite differences."""

from __future__ import annotations

import math

import torch

from hwp_bench.render import rasterize
from hwp_bench.render.scenes import random_scene
from hwp_bench.render.scenes import simple_camera as make_camera


def _one(mean, scale, opacity, color, dtype=torch.float64):
    means = torch.tensor([mean], dtype=dtype)
    quats = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=dtype)
    scales = torch.full((1, 3), scale, dtype=dtype)
    return (
        means,
        quats,
        scales,
        torch.tensor([opacity], dtype=dtype),
        torch.tensor([color], dtype=dtype),
    )


def test_single_isotropic_gaussian_matches_closed_form():
    w, h, f, z, s, o = 21, 17, 40.0, 2.0, 0.05, 0.8
    vm, K = make_camera(w, h, f)
    means, quats, scales, op, col = _one([0.0, 0.0, z], s, o, [0.2, 0.5, 1.0])
    out = rasterize(means, quats, scales, op, col, vm, K, w, h, backend="reference")
    var = (f * s / z) ** 2 + 0.3  # EWA: J Sigma J^T at the optical axis, plus the 0.3 low-pass
    xs = torch.arange(w, dtype=torch.float64) + 0.5 - w / 2.0
    ys = torch.arange(h, dtype=torch.float64) + 0.5 - h / 2.0
    d2 = ys[:, None] ** 2 + xs[None, :] ** 2
    alpha = torch.clamp_max(o * torch.exp(-0.5 * d2 / var), 0.999)
    alpha = torch.where(alpha >= 1 / 255, alpha, torch.zeros_like(alpha))
    torch.testing.assert_close(out["alpha"], alpha, rtol=0, atol=1e-12)
    torch.testing.assert_close(out["color"], alpha[..., None] * col[0], rtol=0, atol=1e-12)
    depth = torch.where(alpha > 0, torch.full_like(alpha, z), torch.zeros_like(alpha))
    torch.testing.assert_close(out["depth"], depth, rtol=0, atol=1e-12)
    assert 0.0 < float(out["alpha"].min()) or float(out["alpha"].min()) == 0.0
    assert float(out["alpha"].max()) == alpha.max() > 0.7


def test_front_to_back_order_and_background():
    w = h = 5
    vm, K = make_camera(w, h, 10.0)
    means = torch.tensor(
        [[0.0, 0.0, 3.0], [0.0, 0.0, 1.0]], dtype=torch.float64
    )  # far listed first
    quats = torch.tensor([[1.0, 0, 0, 0]] * 2, dtype=torch.float64)
    scales = torch.full((2, 3), 0.5, dtype=torch.float64)
    op = torch.tensor([0.9, 0.6], dtype=torch.float64)
    col = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    bg = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    out = rasterize(means, quats, scales, op, col, vm, K, w, h, background=bg, backend="reference")
    # centre pixel: both Gaussians sit exactly on its centre, so power = 0
    a_near, a_far = 0.6, 0.9
    expect = torch.tensor(
        [a_far * (1 - a_near), a_near, (1 - a_near) * (1 - a_far)], dtype=torch.float64
    )
    torch.testing.assert_close(out["color"][2, 2], expect, rtol=0, atol=1e-12)
    assert math.isclose(float(out["alpha"][2, 2]), 1 - (1 - a_near) * (1 - a_far), abs_tol=1e-12)
    ed = (a_near * 1.0 + (1 - a_near) * a_far * 3.0) / (1 - (1 - a_near) * (1 - a_far))
    assert math.isclose(float(out["depth"][2, 2]), ed, abs_tol=1e-12)


def test_transmittance_stop_rule():
    """Opacity 0.95 stacked: T = 0.05, 0.0025, 1.25e-4, then 6.25e-6 <= 1e-4 stops before the 4th."""
    w = h = 3
    vm, K = make_camera(w, h, 10.0)
    n = 6
    means = torch.tensor([[0.0, 0.0, 1.0 + i] for i in range(n)], dtype=torch.float64)
    quats = torch.tensor([[1.0, 0, 0, 0]] * n, dtype=torch.float64)
    scales = torch.full((n, 3), 1.0, dtype=torch.float64)
    op = torch.full((n,), 0.95, dtype=torch.float64)
    col = torch.eye(n, dtype=torch.float64)
    out = rasterize(means, quats, scales, op, col, vm, K, w, h, backend="reference")
    c = out["color"][1, 1]
    torch.testing.assert_close(
        c, torch.tensor([0.95, 0.05 * 0.95, 0.0025 * 0.95, 0, 0, 0], dtype=torch.float64)
    )
    assert math.isclose(float(out["alpha"][1, 1]), 1 - 1.25e-4, rel_tol=1e-12)


def test_gradcheck_reference_float64():
    w, h = 7, 6
    vm, K = make_camera(w, h, 6.0)
    means, quats, scales, op, col = random_scene(4, seed=3)
    scales = scales * 3
    bg = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    inputs = [t.clone().requires_grad_(True) for t in (means, quats, scales, op, col)]

    def fn(m, q, s, o, c):
        out = rasterize(m, q, s, o, c, vm, K, w, h, background=bg, backend="reference")
        return out["color"], out["alpha"], out["depth"]

    with torch.no_grad():
        assert float(fn(*inputs)[1].max()) > 0.3  # the scene is visible
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)
