"""The open hand: MANO joint order, canonical flat rest pose, interface shapes, mirror."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwp_bench.hand import JOINT_NAMES, PARENTS, load_hand_model
from hwp_bench.hand.poses import POSES, mirror_pose


@pytest.fixture(scope="module")
def model():
    return load_hand_model("open", dtype=torch.float64)


def test_counts_and_attributes(model):
    assert model.num_vertices == 1609
    assert tuple(model.faces.shape) == (3196, 3) and model.faces.dtype == torch.long
    assert tuple(model.skinning_weights.shape) == (1609, 16)
    torch.testing.assert_close(model.skinning_weights.sum(1), torch.ones(1609, dtype=model.dtype))
    assert tuple(model.vertex_uvs.shape) == (1609, 2)
    assert model.uv_coords.min() >= 0 and model.uv_coords.max() <= 1
    assert model.vertex_uvs.min() >= 0 and model.vertex_uvs.max() <= 1
    assert tuple(model.uv_faces.shape) == (3196, 3)
    assert int(model.uv_faces.max()) == model.uv_coords.shape[0] - 1


def test_rest_pose_is_mano_flat_hand(model):
    out = model(torch.zeros(1, 48), torch.zeros(1, 10), torch.zeros(1, 3))
    j = out.joints[0].numpy()
    assert out.joints.shape == (1, 21, 3)
    np.testing.assert_allclose(j[0], 0.0, atol=1e-9)  # wrist at the origin
    name = {n: i for i, n in enumerate(JOINT_NAMES)}
    # Fingers point along -x: every finger's joints (and tip) go further along -x.
    tips = {"thumb": 16, "index": 17, "middle": 18, "ring": 19, "pinky": 20}
    for finger in ("index", "middle", "ring", "pinky"):
        chain = [0] + [name[f"{finger}{k}"] for k in (1, 2, 3)] + [tips[finger]]
        xs = j[chain, 0]
        assert np.all(np.diff(xs) < -0.01), (finger, xs)
        # straight: joints 1..tip nearly collinear, and in the palm plane (|y| small)
        seg = np.diff(j[chain[1:]], axis=0)
        seg /= np.linalg.norm(seg, axis=1, keepdims=True)
        assert np.all(seg @ seg[0] > 0.99), finger
        assert np.abs(seg[:, 1]).max() < 0.02
    # Across the hand: thumb side +z, index > middle > ring > pinky in z.
    z = [j[name[f"{f}1"], 2] for f in ("index", "middle", "ring", "pinky")]
    assert z == sorted(z, reverse=True)
    assert j[name["thumb3"], 2] > j[name["index1"], 2]
    # kinematic tree is MANO's
    assert tuple(model.parents) == PARENTS
    # hand length is adult sized (wrist to middle fingertip, 15-25 cm)
    assert 0.15 < np.linalg.norm(j[18]) < 0.25


def test_fist_flexes_towards_palm(model):
    flat = model(torch.zeros(1, 48)).joints[0]
    fist = model(torch.as_tensor(POSES["fist"])[None]).joints[0]
    # palm faces -y: the proximal phalanges point to -y, fingertips come back to the palm
    for mcp, pip, tip in ((1, 2, 17), (4, 5, 18), (10, 11, 19), (7, 8, 20)):
        assert fist[pip, 1] < fist[mcp, 1] - 0.015
        assert fist[tip].norm() < 0.65 * flat[tip].norm()


def test_left_is_mirror_of_right(model):
    g = torch.Generator().manual_seed(0)
    pose = 0.4 * torch.randn(3, 48, generator=g, dtype=torch.float64)
    shape = torch.randn(3, 10, generator=g, dtype=torch.float64)
    trans = torch.randn(3, 3, generator=g, dtype=torch.float64)
    flip = torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    right = model(pose, shape, trans, side="right")
    left = model(torch.as_tensor(mirror_pose(pose.numpy())), shape, trans * flip, side="left")
    torch.testing.assert_close(left.vertices, right.vertices * flip)
    torch.testing.assert_close(left.joints, right.joints * flip)
    # winding stays outward on both sides: positive enclosed volume
    for side, out in (("right", right), ("left", left)):
        v = out.vertices[0]
        f = model.faces_for(side)
        vol = v[f[:, 0]] * torch.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]], dim=1)
        assert vol.sum() / 6 > 1e-4, side


def test_cached_and_dtypes():
    a = load_hand_model("open")
    assert a is load_hand_model("open")
    assert a.dtype == torch.float32
    out = a(torch.zeros(2, 48, dtype=torch.float64))
    assert out.vertices.dtype == torch.float32 and out.vertices.shape == (2, 1609, 3)
