"""Geometry helpers against the hand model and against each other."""

import torch
from wildghand.geometry import (
    axis_angle_to_matrix,
    laplacian_loss,
    matrix_to_quaternion,
    orthonormalize,
    quaternion_multiply,
    uniform_laplacian,
    vertex_rotations,
)

from hwp_bench.render.projection import quat_to_rotmat


def test_quaternion_round_trip_and_product():
    g = torch.Generator().manual_seed(0)
    aa = torch.randn(500, 3, generator=g) * 1.5
    aa[0] = 0
    aa[1] = torch.tensor([torch.pi, 0, 0])  # 180 degrees: trace = -1
    r = axis_angle_to_matrix(aa)
    q = matrix_to_quaternion(r)
    assert torch.allclose(quat_to_rotmat(q), r, atol=1e-5)
    r2 = axis_angle_to_matrix(torch.randn(500, 3, generator=g))
    q12 = quaternion_multiply(q, matrix_to_quaternion(r2))
    assert torch.allclose(quat_to_rotmat(q12), r @ r2, atol=1e-5)
    noisy = r + 0.01 * torch.randn(500, 3, 3, generator=g)
    o = orthonormalize(noisy)
    assert torch.allclose(o.transpose(-1, -2) @ o, torch.eye(3).expand(500, 3, 3), atol=1e-5)


def test_vertex_rotations_match_the_hand_models_skinning_on_both_sides():
    from hwp_bench.hand import load_hand_model

    hand = load_hand_model("open", 0)
    g = torch.Generator().manual_seed(1)
    pose = torch.randn(3, 48, generator=g) * 0.4
    for side in ("right", "left"):
        out = hand(pose, torch.zeros(3, 10), torch.zeros(3, 3), side=side)
        w = hand.skinning_weights
        ours = vertex_rotations(pose, w)
        theirs = torch.einsum("vj,bjkl->bvkl", w, out.joint_transforms[..., :3])
        assert torch.allclose(ours, theirs, atol=1e-5), side


def test_offsets_through_lbs_equal_lbs_of_offset_template():
    """LBS(template + d) = LBS(template) + A_v d, the identity head (iii) relies on."""
    from hwp_bench.hand import load_hand_model

    hand = load_hand_model("open", 0)
    g = torch.Generator().manual_seed(2)
    pose = torch.randn(2, 48, generator=g) * 0.4
    out = hand(pose, None, None)
    d = torch.randn(hand.num_vertices, 3, generator=g) * 1e-3
    a = vertex_rotations(pose, hand.skinning_weights)
    moved = out.vertices + torch.einsum("bvij,vj->bvi", a, d)
    t = out.joint_transforms  # [B, 16, 3, 4]
    rest = out.rest_vertices + d
    homog = torch.cat([rest, torch.ones_like(rest[..., :1])], -1)
    per = torch.einsum("vj,bjkl->bvkl", hand.skinning_weights, t)
    direct = torch.einsum("bvkl,bvl->bvk", per, homog)
    assert torch.allclose(moved, direct, atol=1e-6)


def test_laplacian_is_zero_on_constants_and_positive_on_noise():
    faces = torch.tensor([[0, 1, 2], [1, 3, 2], [2, 3, 4]])
    lap = uniform_laplacian(faces, 5)
    assert laplacian_loss(lap, torch.ones(5, 3) * 0.7) < 1e-12
    assert laplacian_loss(lap, torch.randn(5, 3)) > 0.01


def test_matrix_to_quaternion_gradient_matches_finite_differences():
    """The backward of the unbind form (the training step's fast path) is the true gradient."""
    g = torch.Generator().manual_seed(3)
    r = axis_angle_to_matrix(torch.randn(6, 3, generator=g, dtype=torch.float64) * 1.2)
    r = (r + 0.05 * torch.randn(6, 3, 3, generator=g, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(matrix_to_quaternion, (r,), eps=1e-6, atol=1e-6)


def test_neighbour_laplacian_equals_the_sparse_operator_in_value_and_gradient():
    """The gather form used in training against the sparse matrix it replaces (open hand,
    subdivision 1: vertices of every valence)."""
    from wildghand.geometry import NeighbourLaplacian

    from hwp_bench.hand import load_hand_model

    hand = load_hand_model("open", 1)
    faces = torch.as_tensor(hand.faces).long()
    n = hand.num_vertices
    sparse, gather = uniform_laplacian(faces, n), NeighbourLaplacian(faces, n)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    xs, xg = x.clone().requires_grad_(), x.clone().requires_grad_()
    ls = laplacian_loss(sparse.double(), xs)
    lg = laplacian_loss(gather, xg)
    assert torch.allclose(ls, lg, rtol=1e-12)
    ls.backward()
    lg.backward()
    assert torch.allclose(xs.grad, xg.grad, rtol=1e-10, atol=1e-14)
    assert float(ls) > 0.1  # a real field, not a constant
