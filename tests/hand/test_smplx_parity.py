"""Our MANO layer against smplx.MANO, the implementation the field uses (smplx is a dev extra).

A synthetic MANO-format pickle per hand (random but structurally valid: template, shape and
pose blend shapes, joint regressor, skinning weights, kinematic tree, faces, PCA hand
components; numpy arrays only, so smplx reads it without chumpy) goes to both implementations.
Vertices and the 21 joints (16 + smplx's 5 fingertip vertices) must agree to 1e-5 m after the
documented translation mapping (:mod:`hwp_bench.hand.transl`), for both hands and both dtypes.
"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
import smplx  # the dev extra installs it: CI runs these tests, never skips them
import torch

from hwp_bench.hand import PARENTS, load_hand_model
from hwp_bench.hand.mano import MANO_TIPS, fix_left_shapedirs
from hwp_bench.hand.transl import fit_trans, native_wrist, trans_to_transl, transl_to_trans

TOL = 1e-5  # metres
MIRROR = np.array([-1.0, 1.0, 1.0])


# ----------------------------------------------------------------------------- synthetic MANO


def _bones() -> np.ndarray:
    """16 rest joints laid out like MANO's right hand (native frame: the wrist is not at 0)."""
    wrist = np.array([0.0957, 0.0064, 0.0062])
    j = np.zeros((16, 3))
    j[0] = wrist
    # index, middle, pinky, ring: three joints each along -x; thumb towards +z
    for chain, z in ((1, 0.025), (4, 0.005), (7, -0.035), (10, -0.015)):
        base = wrist + np.array([-0.07, 0.0, z])
        for k in range(3):
            j[chain + k] = base + np.array([-0.03 * k, 0.002 * k, 0.0])
    for k in range(3):
        j[13 + k] = wrist + np.array([-0.025 - 0.025 * k, -0.01, 0.035 + 0.01 * k])
    return j


def synthetic_mano(seed: int = 0) -> dict[str, np.ndarray]:
    """Right-hand MANO arrays: 778 vertices, 1,538 faces, 16 joints (random, valid)."""
    rng = np.random.default_rng(seed)
    joints = _bones()
    parents = np.asarray(PARENTS)
    verts, owner, faces = [], [], []
    for j in range(16):  # a tube of 6 rings x 8 around each bone (48 vertices per joint)
        children = np.nonzero(parents == j)[0]
        end = joints[children].mean(0) if len(children) else joints[j] + [-0.02, 0.0, 0.0]
        start = len(verts)
        for r in range(6):
            centre = joints[j] + (end - joints[j]) * r / 5
            for a in range(8):
                t = 2 * np.pi * a / 8
                verts.append(centre + 0.008 * np.array([0.0, np.cos(t), np.sin(t)]))
                owner.append(j)
        for r in range(5):
            for a in range(8):
                p, q = start + 8 * r + a, start + 8 * r + (a + 1) % 8
                faces += [[p, q, q + 8], [p, q + 8, p + 8]]
    while len(verts) < 778:  # 10 loose vertices on the palm
        verts.append(joints[0] + rng.normal(0, 0.01, 3) - [0.03, 0, 0])
        owner.append(0)
    v = np.asarray(verts) + rng.normal(0, 5e-4, (778, 3))
    owner = np.asarray(owner)
    while len(faces) < 1538:
        faces.append(list(rng.choice(778, 3, replace=False)))
    weights = np.zeros((778, 16))
    main = rng.uniform(0.6, 1.0, 778)
    weights[np.arange(778), owner] = main
    weights[np.arange(778), np.maximum(parents[owner], 0)] += 1 - main
    jreg = np.zeros((16, 778))
    for j in range(16):  # the first ring of each tube averages to its joint
        jreg[j, np.nonzero(owner == j)[0][:8]] = 1 / 8
    kintree = np.array([[2**32 - 1, *PARENTS[1:]], list(range(16))], dtype=np.int64)
    return {
        "v_template": v,
        "f": np.asarray(faces, dtype=np.uint32),
        "weights": weights,
        "posedirs": 0.002 * rng.standard_normal((778, 3, 135)),
        "shapedirs": 0.004 * rng.standard_normal((778, 3, 10)),
        "J_regressor": jreg,
        "kintree_table": kintree,
        "hands_components": np.linalg.qr(rng.standard_normal((45, 45)))[0],
        "hands_mean": 0.2 * rng.standard_normal(45),
    }


def mirrored_left(right: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The left-hand file as MANO releases it: the mirror image, shapedirs x sign wrong."""
    left = dict(right)
    left["v_template"] = right["v_template"] * MIRROR
    left["f"] = right["f"][:, [0, 2, 1]].copy()
    # A mirrored rotation M R M has entry (i, j) times s_i s_j; the offset is mirrored by s_c.
    s = MIRROR
    sign = s[None, :, None] * np.tile((s[:, None] * s[None, :]).reshape(-1), 15)[None, None, :]
    left["posedirs"] = right["posedirs"] * sign
    left["shapedirs"] = right["shapedirs"].copy()  # mirrored would be x * -1: the release bug
    left["hands_mean"] = right["hands_mean"] * np.tile([1.0, -1.0, -1.0], 15)
    return left


@pytest.fixture(scope="module")
def mano_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mano")
    right = synthetic_mano()
    for name, arrays in (("MANO_RIGHT.pkl", right), ("MANO_LEFT.pkl", mirrored_left(right))):
        with open(folder / name, "wb") as fh:
            pickle.dump(arrays, fh, protocol=2)
    return folder


def smplx_layer(mano_dir, side: str, dtype: torch.dtype, *, fix: bool = True):
    """smplx.MANO as the WildGHand authors build it, left shapedirs fixed the same way."""
    layer = smplx.MANO(
        str(mano_dir), is_rhand=side == "right", use_pca=False, flat_hand_mean=True, dtype=dtype
    )
    if side == "left" and fix:
        right = smplx.MANO(str(mano_dir), is_rhand=True, use_pca=False, dtype=dtype)
        fixed, changed = fix_left_shapedirs(layer.shapedirs, right.shapedirs)
        assert changed  # the synthetic left file carries the release's bug
        layer.shapedirs = fixed
    return layer


def smplx_joints21(layer, pose, shape, transl):
    out = layer(betas=shape, global_orient=pose[:, :3], hand_pose=pose[:, 3:], transl=transl)
    tips = list(smplx.vertex_ids.vertex_ids["mano"].values())
    return out.vertices, torch.cat([out.joints, out.vertices[:, tips]], dim=1)


def _inputs(dtype, seed=0, b=8):
    g = torch.Generator().manual_seed(seed)
    pose = 0.6 * torch.randn(b, 48, generator=g, dtype=torch.float64)
    shape = 1.5 * torch.randn(b, 10, generator=g, dtype=torch.float64)
    trans = torch.rand(b, 3, generator=g, dtype=torch.float64) - 0.5 + torch.tensor([0, 0, 0.8])
    return pose.to(dtype), shape.to(dtype), trans.to(dtype)


# ----------------------------------------------------------------------------- parity


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("side", ["right", "left"])
def test_vertices_and_21_joints_match_smplx(mano_dir, side, dtype):
    ours = load_hand_model("mano", mano_dir=mano_dir, dtype=dtype)
    ref = smplx_layer(mano_dir, side, dtype)
    pose, shape, trans = _inputs(dtype, seed=1 if side == "left" else 0)
    transl = trans_to_transl(trans, shape, side, model=ours)
    assert transl.dtype == dtype
    with torch.no_grad():
        out = ours(pose, shape, trans, side=side)
        v_ref, j_ref = smplx_joints21(ref, pose, shape, transl)
    assert out.vertices.dtype == v_ref.dtype == dtype
    torch.testing.assert_close(out.vertices, v_ref, rtol=0, atol=TOL)
    torch.testing.assert_close(out.joints, j_ref, rtol=0, atol=TOL)
    # trans really is the wrist: smplx's posed wrist joint lands there
    torch.testing.assert_close(j_ref[:, 0], trans, rtol=0, atol=TOL)
    # and the comparison is not vacuous: the hands are posed, shaped and far apart
    assert (out.vertices - out.vertices.mean(1, keepdim=True)).abs().max() > 0.05
    assert (v_ref[1:] - v_ref[:1]).abs().max() > 0.1


def test_fingertips_are_smplx_vertex_ids(mano_dir):
    model = load_hand_model("mano", mano_dir=mano_dir)
    assert tuple(model.tip_vertices.tolist()) == MANO_TIPS
    assert MANO_TIPS == tuple(smplx.vertex_ids.vertex_ids["mano"].values())
    assert smplx.vertex_ids.vertex_ids["mano"].keys() == {
        "thumb",
        "index",
        "middle",
        "ring",
        "pinky",
    }


def test_left_shapedirs_fix_is_needed_and_makes_the_hands_mirror(mano_dir):
    ours = load_hand_model("mano", mano_dir=mano_dir, dtype=torch.float64)
    assert ours.data("left").meta["left_shapedirs_fixed"] is True
    pose, shape, trans = _inputs(torch.float64, seed=3)
    flip = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64).repeat(16)
    m = torch.tensor(MIRROR)
    right = ours(pose, shape, trans, side="right")
    left = ours(pose * flip, shape, trans * m, side="left")
    # a left hand with the mirrored pose is the mirror image of the right hand
    torch.testing.assert_close(left.vertices, right.vertices * m, rtol=0, atol=1e-9)
    torch.testing.assert_close(left.joints, right.joints * m, rtol=0, atol=1e-9)
    # smplx's left layer without the fix puts a shaped hand somewhere else
    raw = smplx_layer(mano_dir, "left", torch.float64, fix=False)
    fixed = smplx_layer(mano_dir, "left", torch.float64)
    transl = trans_to_transl(trans * m, shape, "left", model=ours)
    with torch.no_grad():
        v_raw = smplx_joints21(raw, pose * flip, shape, transl)[0]
        v_fix = smplx_joints21(fixed, pose * flip, shape, transl)[0]
    assert (v_raw - v_fix).abs().max() > 1e-3
    torch.testing.assert_close(v_fix, left.vertices, rtol=0, atol=TOL)


# ----------------------------------------------------------------------------- conversions


def test_translation_conversions_both_ways(mano_dir):
    model = load_hand_model("mano", mano_dir=mano_dir, dtype=torch.float64)
    rng = np.random.default_rng(4)
    shape = rng.normal(0, 1, (5, 10))
    trans = rng.normal(0, 0.3, (5, 3))
    for side in ("right", "left"):
        transl = trans_to_transl(trans, shape, side, model=model)
        assert isinstance(transl, np.ndarray) and transl.shape == (5, 3)
        np.testing.assert_allclose(transl_to_trans(transl, shape, side, model=model), trans)
        # the offset is the rest wrist of MANO's native frame: J_regressor row 0 of the shaped
        # template as smplx computes it
        layer = smplx_layer(mano_dir, side, torch.float64)
        v_shaped = layer.v_template + torch.einsum(
            "vcs,bs->bvc", layer.shapedirs, torch.tensor(shape)
        )
        j0 = (layer.J_regressor[0] @ v_shaped).numpy()
        np.testing.assert_allclose(trans - transl, j0, atol=1e-12)
        assert np.abs(j0).max() > 0.05  # MANO's native origin is far from the wrist
    # one shape for a batch broadcasts; torch in, torch out, differentiable
    t = torch.tensor(trans, requires_grad=True)
    out = trans_to_transl(t, torch.tensor(shape[0]), "right", model=model)
    assert isinstance(out, torch.Tensor) and out.shape == (5, 3)
    out.sum().backward()
    torch.testing.assert_close(t.grad, torch.ones(5, 3, dtype=torch.float64))
    np.testing.assert_allclose(
        out.detach().numpy(), trans - native_wrist(shape[0], "right", model=model)
    )
    # the loader's own MANO (HWP_MANO_DIR) is the default model
    np.testing.assert_allclose(
        trans_to_transl(trans, shape, "left", mano_dir=mano_dir),
        trans_to_transl(trans, shape, "left", model=model),
    )


def test_open_hand_has_no_smplx_frame_and_fit_is_the_fallback(mano_dir):
    open_hand = load_hand_model("open", dtype=torch.float64)
    with pytest.raises(ValueError, match="no native MANO frame"):
        trans_to_transl(np.zeros(3), np.zeros(10), model=open_hand)
    with pytest.raises(ValueError, match="side must be"):
        native_wrist(np.zeros(10), "middle", model=open_hand)
    # fit_trans recovers a wrist position from posed smplx vertices (any convention)
    model = load_hand_model("mano", mano_dir=mano_dir, dtype=torch.float64)
    layer = smplx_layer(mano_dir, "right", torch.float64)
    pose, shape, _ = _inputs(torch.float64, seed=5, b=1)
    transl = torch.tensor([[0.1, -0.2, 0.7]], dtype=torch.float64)
    with torch.no_grad():
        v = smplx_joints21(layer, pose, shape, transl)[0][0].numpy()
    trans, rms = fit_trans(model, "right", pose[0].numpy(), shape[0].numpy(), v)
    assert rms < 1e-7  # smplx adds 1e-8 to rotation vectors before taking their norm
    np.testing.assert_allclose(
        trans, transl_to_trans(transl[0].numpy(), shape[0].numpy(), model=model), atol=1e-7
    )
    assert fit_trans(model, "right", pose[0].numpy(), shape[0].numpy(), v[:100]) is None


# ----------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("side", ["right", "left"])
def test_hand_info_prints_smplx_joint_positions(mano_dir, monkeypatch, side):
    from typer.testing import CliRunner

    from hwp_bench.cli import app

    monkeypatch.setenv("HWP_MANO_DIR", str(mano_dir))
    shape = [0.5, -1.0, 0.3]
    args = ["hand", "info", "--model", "mano", "--side", side, "--decimals", "3"]
    res = CliRunner().invoke(app, [*args, "--shape", ",".join(map(str, shape))])
    assert res.exit_code == 0, res.output
    printed = {
        m.group(1): [float(m.group(k)) / 1000 for k in (2, 3, 4)]
        for m in re.finditer(
            r"^\s+(\w+): +(-?\d+\.\d+) +(-?\d+\.\d+) +(-?\d+\.\d+)$", res.output, re.M
        )
    }
    from hwp_bench.hand import ALL_JOINT_NAMES

    assert list(printed) == list(ALL_JOINT_NAMES)
    # smplx at the flat pose with the transl the output names gives the same 21 points
    m = re.search(r"smplx transl = \((-?[\d.]+), (-?[\d.]+), (-?[\d.]+)\) mm", res.output)
    assert m, res.output
    transl = torch.tensor([[float(m.group(k)) / 1000 for k in (1, 2, 3)]], dtype=torch.float64)
    betas = torch.zeros(1, 10, dtype=torch.float64)
    betas[0, :3] = torch.tensor(shape)
    layer = smplx_layer(mano_dir, side, torch.float64)
    with torch.no_grad():
        _, joints = smplx_joints21(layer, torch.zeros(1, 48, dtype=torch.float64), betas, transl)
    np.testing.assert_allclose(np.array(list(printed.values())), joints[0].numpy(), atol=TOL)
    assert abs(joints[0, 0]).max() < 1e-6  # the wrist at the origin: trans = 0


# ----------------------------------------------------------------------------- converter


def test_upstream_converter_places_smplx_hands_by_their_wrist(mano_dir, tmp_path):
    """HWP's cam_aligned is the translation added to the estimator's (smplx) MANO output."""
    from PIL import Image

    from hwp_bench.data.loading import load_frames
    from hwp_bench.data.upstream import convert_upstream

    model = load_hand_model("mano", mano_dir=mano_dir, dtype=torch.float64)
    layer = smplx_layer(mano_dir, "right", torch.float64)
    pose, shape, _ = _inputs(torch.float64, seed=6, b=10)
    transl = torch.tensor([[0.01 * i, -0.02, 0.6] for i in range(10)], dtype=torch.float64)
    with torch.no_grad():
        verts = smplx_joints21(layer, pose, shape, torch.zeros_like(transl))[0].numpy()
        wrists = smplx_joints21(layer, pose, shape, transl)[1][:, 0].numpy()
    cap = tmp_path / "up" / "capture2_subsample3_single"
    cap.mkdir(parents=True)
    entries = []
    for i in range(10):
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(cap / f"{i}.png")
        e = {
            "img_path": f"/somewhere/{i}.png",
            "mano_pose_right": pose[i : i + 1].numpy(),
            "mano_shape_right": shape[i : i + 1].numpy(),
            "cam_aligned_right": transl[i : i + 1].numpy(),
            "bbox_inter": np.array([8.0, 8.0, 56.0, 56.0]),
            "scaled_focal_length": 1250.0,
        }
        if i < 5:  # the others have no vertices: cam_aligned is read as smplx's transl
            e["verts3d_world_right"] = verts[i : i + 1]
        entries.append(e)
    with open(cap / "output.pkl", "wb") as fh:
        pickle.dump(entries, fh)
    report = convert_upstream(
        tmp_path / "up", tmp_path / "out", size=16, progress=False, hand_model=model
    )
    frames = [
        f
        for s in ("train", "validation", "test")
        for f in load_frames(tmp_path / "out", "capture02", s)
    ]
    assert [f.index for f in frames] == list(range(10))
    got = np.stack([f.hands["right"].trans for f in frames])
    np.testing.assert_allclose(got, wrists, atol=TOL)
    notes = {f.index: f.problems for f in report.captures[0].frames}
    assert all(any("read as smplx's transl" in p for p in notes[i]) for i in range(5, 10)), notes
    assert not any("transl" in p or "fits" in p for i in range(5) for p in notes.get(i, []))
