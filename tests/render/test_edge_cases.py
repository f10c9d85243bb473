"""Edge cases with defined behaviour, checked on every CPU backend."""

from __future__ import annotations

import pytest
import torch

from hwp_bench.render import rasterize
from hwp_bench.render.scenes import random_scene, simple_camera

BACKENDS = ["reference", "cpu"]

D = torch.float64


def _single(mean, scale=0.05, opacity=0.8, color=(0.2, 0.5, 1.0)):
    return (
        torch.tensor([mean], dtype=D),
        torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=D),
        torch.full((1, 3), float(scale), dtype=D),
        torch.tensor([opacity], dtype=D),
        torch.tensor([color], dtype=D),
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "mean",
    [
        [0.0, 0.0, 0.005],  # in front of the camera but closer than the 0.01 near plane
        [0.0, 0.0, -1.0],  # behind the camera
        [5.0, 0.0, 1.0],  # far right of the image
        [0.0, -5.0, 1.0],  # far above the image
    ],
)
def test_culled_gaussians_render_nothing_and_have_zero_gradient(backend, mean):
    vm, K = simple_camera(16, 12, 20.0)
    params = [t.requires_grad_(True) for t in _single(mean)]
    bg = torch.tensor([0.3, 0.3, 0.3], dtype=D)
    out = rasterize(*params, vm, K, 16, 12, background=bg, backend=backend)
    assert torch.equal(out["alpha"], torch.zeros(12, 16, dtype=D))
    assert torch.equal(out["color"], bg.expand(12, 16, 3))
    assert torch.equal(out["depth"], torch.zeros(12, 16, dtype=D))
    (out["color"].sum() + out["alpha"].sum()).backward()
    for p in params:
        assert p.grad is None or torch.count_nonzero(p.grad) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_scale_is_the_low_pass_blob(backend):
    """A point Gaussian still renders as the 0.3 px^2 anti-aliasing blob, as in gsplat."""
    vm, K = simple_camera(9, 9, 20.0)
    out = rasterize(*_single([0.0, 0.0, 1.0], scale=0.0, opacity=1.0), vm, K, 9, 9, backend=backend)
    assert float(out["alpha"][4, 4]) == pytest.approx(0.999)  # power 0, clamped to 0.999
    d2 = 1.0  # neighbouring pixel centre
    assert float(out["alpha"][4, 5]) == pytest.approx(
        torch.exp(torch.tensor(-0.5 * d2 / 0.3)).item()
    )
    assert float(out["alpha"][4, 6]) == 0.0  # exp(-4/0.6) < 1/255: skipped


@pytest.mark.parametrize("backend", BACKENDS)
def test_huge_scale_covers_the_image_uniformly(backend):
    vm, K = simple_camera(8, 6, 10.0)
    out = rasterize(*_single([0.0, 0.0, 2.0], scale=1e4, opacity=0.5), vm, K, 8, 6, backend=backend)
    torch.testing.assert_close(out["alpha"], torch.full((6, 8), 0.5, dtype=D), rtol=0, atol=1e-7)
    torch.testing.assert_close(out["depth"], torch.full((6, 8), 2.0, dtype=D), rtol=0, atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_opacity_zero_and_one(backend):
    vm, K = simple_camera(9, 9, 20.0)
    out0 = rasterize(*_single([0.0, 0.0, 1.0], opacity=0.0), vm, K, 9, 9, backend=backend)
    assert float(out0["alpha"].max()) == 0.0
    out1 = rasterize(*_single([0.0, 0.0, 1.0], opacity=1.0), vm, K, 9, 9, backend=backend)
    assert float(out1["alpha"].max()) == pytest.approx(0.999)  # alpha is clamped to 0.999


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_gaussians_gives_background(backend):
    vm, K = simple_camera(4, 3, 5.0)
    empty = [torch.zeros((0,) + s, dtype=D) for s in [(3,), (4,), (3,), (), (2,)]]
    bg = torch.tensor([0.25, 0.75], dtype=D)
    out = rasterize(*empty, vm, K, 4, 3, background=bg, backend=backend)
    assert out["color"].shape == (3, 4, 2)
    assert torch.equal(out["color"], bg.expand(3, 4, 2))
    assert torch.equal(out["alpha"], torch.zeros(3, 4, dtype=D))


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_pixel_image(backend):
    vm, K = simple_camera(1, 1, 2.0)
    out = rasterize(*_single([0.0, 0.0, 1.0], scale=0.2, opacity=0.5), vm, K, 1, 1, backend=backend)
    assert out["color"].shape == (1, 1, 3)
    assert float(out["alpha"][0, 0]) == pytest.approx(0.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_feature_channels_and_batched_cameras(backend):
    vm, K = simple_camera(10, 8, 12.0)
    scene = random_scene(20, seed=1, channels=7)
    vms = torch.stack([vm, vm.clone()])
    vms[1, 0, 3] = 0.1  # second camera shifted
    out = rasterize(*scene, vms, K, 10, 8, backend=backend)
    assert out["color"].shape == (2, 8, 10, 7) and out["alpha"].shape == (2, 8, 10)
    single = rasterize(*scene, vms[1], K, 10, 8, backend=backend)
    torch.testing.assert_close(out["color"][1], single["color"], rtol=0, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("which", [0, 1, 2, 3, 4])
def test_nan_input_is_a_clear_error(backend, which):
    vm, K = simple_camera(8, 8, 10.0)
    scene = list(random_scene(5, seed=0))
    scene[which] = scene[which].clone()
    scene[which].view(-1)[0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        rasterize(*scene, vm, K, 8, 8, backend=backend)


def test_invalid_inputs_are_clear_errors():
    vm, K = simple_camera(8, 8, 10.0)
    means, quats, scales, op, col = random_scene(5, seed=0)
    with pytest.raises(ValueError, match="opacities"):
        rasterize(means, quats, scales, op + 1.0, col, vm, K, 8, 8)
    with pytest.raises(ValueError, match="scales"):
        rasterize(means, quats, -scales, op, col, vm, K, 8, 8)
    with pytest.raises(ValueError, match="quats"):
        rasterize(means, quats * 0, scales, op, col, vm, K, 8, 8)
    with pytest.raises(ValueError, match="shape"):
        rasterize(means, quats[:3], scales, op, col, vm, K, 8, 8)
    with pytest.raises(ValueError, match="backend"):
        rasterize(means, quats, scales, op, col, vm, K, 8, 8, backend="opengl")
    with pytest.raises(ValueError, match="width"):
        rasterize(means, quats, scales, op, col, vm, K, 0, 8)
    with pytest.raises(ValueError, match="background"):
        rasterize(means, quats, scales, op, col, vm, K, 8, 8, background=torch.zeros(2))


def test_auto_backend_is_cpu_without_cuda():
    from hwp_bench.render import resolve_backend

    assert resolve_backend("auto", torch.device("cpu")) == "cpu"
    assert resolve_backend("reference", torch.device("cpu")) == "reference"


def test_cpu_backend_works_in_a_forked_child():
    """A forked worker (DataLoader, multiprocessing) must not wait on the parent's thread pool."""
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork on this platform")
    vm, K = simple_camera(40, 40, 40.0)
    scene = random_scene(200, seed=2)
    expect = rasterize(*scene, vm, K, 40, 40, backend="cpu")["alpha"]  # parent pool exists now
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_render_alpha, (scene, vm, K)).get(timeout=120)
    assert torch.equal(got, expect)


def _render_alpha(scene, vm, K):
    return rasterize(*scene, vm, K, 40, 40, backend="cpu")["alpha"]
