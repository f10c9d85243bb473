"""The cpu backend against the dense reference: values and gradients, float64 and float32."""

from __future__ import annotations

import pytest
import torch

from hwp_bench.render import cpu as cpu_backend
from hwp_bench.render import rasterize
from hwp_bench.render.scenes import hand_scene, random_scene, simple_camera


def _outputs_and_grads(scene, viewmat, K, width, height, backend, background=None):
    params = [t.detach().clone().requires_grad_(True) for t in scene]
    out = rasterize(*params, viewmat, K, width, height, background=background, backend=backend)
    g = torch.Generator().manual_seed(7)
    loss = sum(
        (out[k] * torch.rand(out[k].shape, generator=g, dtype=out[k].dtype)).sum()
        for k in ("color", "alpha", "depth")
    )
    grads = torch.autograd.grad(loss, params)
    return {k: v.detach() for k, v in out.items()}, grads


def _compare(
    scene, viewmat, K, width, height, fwd_tol, grad_rel_tol, background=None, isotropic=False
):
    ref, gref = _outputs_and_grads(scene, viewmat, K, width, height, "reference", background)
    got, ggot = _outputs_and_grads(scene, viewmat, K, width, height, "cpu", background)
    assert float(ref["alpha"].max()) > 0.5  # the scene is actually visible
    for key in ("color", "alpha", "depth"):
        err = (got[key] - ref[key]).abs().max().item()
        assert err <= fwd_tol, (key, err)
    for name, a, b in zip(
        ("means", "quats", "scales", "opacities", "colors"), ggot, gref, strict=True
    ):
        if isotropic and name == "quats":
            # rotating an isotropic Gaussian changes nothing: both gradients are rounding noise
            scale = gref[0].norm()
            assert a.norm() <= 1e-5 * scale and b.norm() <= 1e-5 * scale
            continue
        assert torch.count_nonzero(b) > 0, name
        rel = ((a - b).norm() / b.norm()).item()
        assert rel <= grad_rel_tol, (name, rel)


@pytest.mark.parametrize("seed,channels", [(0, 3), (1, 1), (2, 5)])
def test_random_scenes_float64(seed, channels):
    vm, K = simple_camera(40, 32, 45.0)
    scene = random_scene(250, seed=seed, channels=channels)
    bg = torch.linspace(0.1, 0.9, channels, dtype=torch.float64)
    _compare(scene, vm, K, 40, 32, fwd_tol=1e-10, grad_rel_tol=1e-9, background=bg)


def test_random_scene_float32():
    vm, K = simple_camera(48, 40, 50.0, dtype=torch.float32)
    scene = random_scene(400, seed=3, dtype=torch.float32)
    _compare(scene, vm, K, 48, 40, fwd_tol=1e-5, grad_rel_tol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_hand_scene(dtype):
    """The open hand (1,609 Gaussians, saturating front and back layers) at 56x56."""
    means, quats, scales, opacities, colors, vm, K = hand_scene(0, 56, dtype=dtype)
    scene = (means, quats, scales, opacities, colors)
    tol = (1e-10, 1e-9) if dtype == torch.float64 else (1e-5, 1e-4)
    _compare(scene, vm, K, 56, 56, fwd_tol=tol[0], grad_rel_tol=tol[1], isotropic=True)


def test_results_do_not_depend_on_tiles_or_threads(monkeypatch):
    vm, K = simple_camera(45, 37, 50.0)
    scene = random_scene(300, seed=4)
    base, gbase = _outputs_and_grads(scene, vm, K, 45, 37, "cpu")
    monkeypatch.setattr(cpu_backend, "TILE_SIZE", 8)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        other, gother = _outputs_and_grads(scene, vm, K, 45, 37, "cpu")
    finally:
        torch.set_num_threads(threads)
    for key in base:
        torch.testing.assert_close(other[key], base[key], rtol=0, atol=1e-13)
    for a, b in zip(gother, gbase, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)
