"""The cpu backend's numba projection (hand-written backward) against the torch projection."""

from __future__ import annotations

import numpy as np
import torch

from hwp_bench.render import _project_kernels
from hwp_bench.render.projection import EPS2D, FAR_PLANE, NEAR_PLANE, project
from hwp_bench.render.scenes import random_scene


def _camera():
    angle = torch.tensor(0.3, dtype=torch.float64)
    c, s = torch.cos(angle), torch.sin(angle)
    vm = torch.eye(4, dtype=torch.float64)
    vm[:3, :3] = torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=torch.float64)
    vm[:3, 3] = torch.tensor([0.1, -0.05, 0.2], dtype=torch.float64)
    K = torch.tensor([[60.0, 0, 30.0], [0, 55.0, 22.0], [0, 0, 1]], dtype=torch.float64)
    return vm, K


def test_numba_projection_matches_torch_values_and_vjp():
    w, h = 64, 48
    vm, K = _camera()
    means, quats, scales, op, _ = random_scene(400, seed=11)
    means = means * torch.tensor([3.0, 3.0, 1.0], dtype=torch.float64)  # many off-screen: FOV clamp
    means[:5, 2] = torch.tensor([0.005, -1.0, 0.0, 1e-3, 0.5], dtype=torch.float64)  # near plane
    op[5:10] = torch.tensor([0.0, 1e-3, 0.5 / 255, 1.0, 1 / 255 + 1e-9], dtype=torch.float64)
    params = [t.clone().requires_grad_(True) for t in (means, quats, scales)]
    ref = project(*params, op, vm, K, w, h)

    n = means.shape[0]
    m2, con, dep = np.zeros((n, 2)), np.zeros((n, 3)), np.zeros(n)
    radii, valid = np.zeros((n, 2)), np.zeros(n, np.bool_)
    R = np.ascontiguousarray(vm[:3, :3].numpy())
    t = np.ascontiguousarray(vm[:3, 3].numpy())
    args = (means.numpy(), quats.numpy(), scales.numpy())
    _project_kernels.project_forward(
        *args, op.numpy(), R, t, K.numpy(), w, h, NEAR_PLANE, FAR_PLANE, EPS2D,
        m2, con, dep, radii, valid,
    )  # fmt: skip
    v = ref.valid.numpy()
    assert 50 < v.sum() < n - 50  # both culled and visible Gaussians are exercised
    np.testing.assert_array_equal(valid, v)
    np.testing.assert_array_equal(radii, ref.radii.numpy())
    np.testing.assert_allclose(dep, ref.depths.detach().numpy(), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(m2[v], ref.means2d.detach().numpy()[v], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(con[v], ref.conics.detach().numpy()[v], rtol=1e-10, atol=1e-14)

    g = torch.Generator().manual_seed(0)
    gm2 = torch.randn(n, 2, generator=g, dtype=torch.float64) * ref.valid[:, None]
    gcon = torch.randn(n, 3, generator=g, dtype=torch.float64) * 100 * ref.valid[:, None]
    gdep = torch.randn(n, generator=g, dtype=torch.float64) * ref.valid
    loss = (ref.means2d * gm2).sum() + (ref.conics * gcon).sum() + (ref.depths * gdep).sum()
    gref = torch.autograd.grad(loss, params)
    out = [np.zeros((n, 3)), np.zeros((n, 4)), np.zeros((n, 3))]
    _project_kernels.project_backward(
        *args, R, t, K.numpy(), w, h, EPS2D, valid,
        gm2.numpy(), gcon.numpy(), gdep.numpy(), *out,
    )  # fmt: skip
    for name, got, want in zip(("means", "quats", "scales"), out, gref, strict=True):
        want = want.numpy()
        assert np.abs(want).max() > 0, name
        np.testing.assert_allclose(
            got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max(), err_msg=name
        )
