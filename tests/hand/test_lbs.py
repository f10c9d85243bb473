"""Fast LBS against the slow per-vertex reference; gradients; batching; dtypes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwp_bench.hand import axis_angle_to_matrix, load_hand_model
from hwp_bench.hand.reference import reference_forward
from hwp_bench.hand.rotation import matrix_to_axis_angle


@pytest.fixture(scope="module")
def model64():
    return load_hand_model("open", dtype=torch.float64)


def _random_inputs(b: int, seed: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    pose = 0.5 * torch.randn(b, 48, generator=g, dtype=dtype)
    shape = torch.randn(b, 10, generator=g, dtype=dtype)
    trans = 0.3 * torch.randn(b, 3, generator=g, dtype=dtype)
    return pose, shape, trans


@pytest.mark.parametrize("side", ["right", "left"])
def test_matches_reference(model64, side):
    pose, shape, trans = _random_inputs(3, seed=1)
    out = model64(pose, shape, trans, side=side)
    data = model64.data(side)
    for i in range(3):
        v, j = reference_forward(data, pose[i].numpy(), shape[i].numpy(), trans[i].numpy())
        np.testing.assert_allclose(out.vertices[i].numpy(), v, atol=1e-10)
        np.testing.assert_allclose(out.joints[i].numpy(), j, atol=1e-10)


def test_subdivided_matches_reference():
    model = load_hand_model("open", 1, dtype=torch.float64)
    pose, shape, trans = _random_inputs(1, seed=2)
    out = model(pose, shape, trans)
    v, j = reference_forward(model.data("right"), pose[0].numpy(), shape[0].numpy(), trans[0])
    np.testing.assert_allclose(out.vertices[0].numpy(), v, atol=1e-10)
    np.testing.assert_allclose(out.joints[0].numpy(), j, atol=1e-10)


def test_joint_transforms_reproduce_vertices(model64):
    pose, shape, trans = _random_inputs(2, seed=3)
    out = model64(pose, shape, trans)
    w = model64.skinning_weights
    a = out.joint_transforms  # [B, 16, 3, 4]
    per_vertex = torch.einsum("vk,bkij->bvij", w, a)
    homog = torch.cat([out.rest_vertices, torch.ones_like(out.rest_vertices[..., :1])], -1)
    manual = (per_vertex @ homog.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(manual, out.vertices)


def test_batch_is_independent(model64):
    pose, shape, trans = _random_inputs(4, seed=4)
    full = model64(pose, shape, trans)
    for i in range(4):
        one = model64(pose[i : i + 1], shape[i : i + 1], trans[i : i + 1])
        torch.testing.assert_close(one.vertices[0], full.vertices[i])


def test_global_rotation_about_wrist_and_trans(model64):
    pose = torch.zeros(1, 48, dtype=torch.float64)
    pose[0, :3] = torch.tensor([0.3, -1.1, 0.7])
    trans = torch.tensor([[0.1, -0.2, 0.5]], dtype=torch.float64)
    out = model64(pose, None, trans)
    rest = model64(None).vertices[0]
    rot = axis_angle_to_matrix(pose[0, :3])
    torch.testing.assert_close(out.vertices[0], rest @ rot.T + trans[0])
    torch.testing.assert_close(out.joints[0, 0], trans[0])  # trans is the wrist position


def test_rotation_helpers_roundtrip():
    g = torch.Generator().manual_seed(5)
    aa = torch.randn(50, 3, generator=g, dtype=torch.float64)
    aa = aa / aa.norm(dim=1, keepdim=True) * torch.rand(50, 1, generator=g, dtype=torch.float64) * 3
    aa = torch.cat([aa, torch.zeros(1, 3, dtype=torch.float64), 1e-7 * torch.ones(1, 3)])
    r = axis_angle_to_matrix(aa)
    eye = torch.eye(3, dtype=torch.float64).expand_as(r)
    torch.testing.assert_close(r @ r.transpose(-1, -2), eye)
    torch.testing.assert_close(matrix_to_axis_angle(r), aa)


def test_gradcheck_pose_shape_trans(model64):
    pose, shape, trans = _random_inputs(2, seed=6)
    pose[1] = 0.0  # the rest pose (zero angle) must have exact gradients too
    inputs = tuple(x.clone().requires_grad_(True) for x in (pose, shape, trans))

    def all_vertices(p, s, t):
        return model64(p, s, t).vertices

    # fast mode: random projections of the full Jacobian (every vertex, every input)
    assert torch.autograd.gradcheck(all_vertices, inputs, eps=1e-6, atol=1e-7, fast_mode=True)
    idx = torch.arange(0, model64.num_vertices, 401)

    def some_outputs(p, s, t):
        out = model64(p, s, t)
        return out.vertices[:, idx], out.joints[:, 13:]

    one = tuple(x[1:].detach().clone().requires_grad_(True) for x in inputs)
    assert torch.autograd.gradcheck(some_outputs, one, eps=1e-6, atol=1e-7)


def test_float32_close_to_float64():
    m32 = load_hand_model("open", dtype=torch.float32)
    m64 = load_hand_model("open", dtype=torch.float64)
    pose, shape, trans = _random_inputs(2, seed=7)
    o32 = m32(pose.float(), shape.float(), trans.float())
    o64 = m64(pose, shape, trans)
    assert o32.vertices.dtype == torch.float32
    assert (o32.vertices.double() - o64.vertices).abs().max() < 1e-5
