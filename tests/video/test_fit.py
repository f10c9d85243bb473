"""The fitter on synthetic landmarks with known parameters (no estimator needed).

Landmarks are the known hand's 21 joints projected with HWP's camera (128 px frames), plus
1 px of noise; the fit must give them back within a fraction of the noise in 2D and within
about a centimetre in 3D after root alignment (the hand's size is the one thing 2D cannot
pin down under HWP's long focal length, and the mean shape absorbs it).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwp_bench.hand import load_hand_model
from hwp_bench.hand.poses import named_pose
from hwp_bench.video.fit import (
    FitConfig,
    FitWeights,
    TrackObservations,
    cube_rotations,
    fit_track,
    joints_only_model,
    project,
    robust_kernel,
)
from hwp_bench.video.importer import default_intrinsics
from hwp_bench.video.landmarks import MP_TO_MODEL
from hwp_bench.video.prior import PosePrior

FAST = FitConfig(search_steps=30, steps=150)


@pytest.fixture(scope="module")
def model():
    return load_hand_model("open")


def _rot(axis, angle):
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(np.asarray(axis, float) / np.linalg.norm(axis) * angle)


def _scene(model, side, pose_name, frames=5, seed=0):
    """Known parameters for a few frames of slow motion, and their landmarks."""
    rng = np.random.default_rng(seed)
    K = default_intrinsics(128, 128)  # HWP's focal: 2500 px
    base = _rot([1.0, 0.3, 0.2], 2.0)
    poses, trans = [], []
    fingers = named_pose(pose_name, side)[3:]
    for t in range(frames):
        glob = (_rot([0, 0, 1], 0.05 * t) * base).as_rotvec()
        poses.append(np.concatenate([glob, fingers]))
        trans.append([0.01 * t, -0.01, 4.9])
    pose = torch.tensor(np.array(poses), dtype=torch.float32)
    shape = torch.tensor(rng.normal(0, 0.5, (1, 10)), dtype=torch.float32).expand(frames, -1)
    tr = torch.tensor(np.array(trans), dtype=torch.float32)
    J = model(pose, shape, tr, side=side).joints.double()
    uv = project(J, torch.as_tensor(K)).numpy()[:, list(MP_TO_MODEL)]
    z = J[..., 2].numpy()
    rel = ((z - z[:, :1]) * K[0, 0] / z[:, :1])[:, list(MP_TO_MODEL)]
    return K, J.numpy(), uv, rel


def _errors(model, side, K, J, fit):
    Jf = fit.joints
    e2 = np.linalg.norm(
        project(torch.as_tensor(Jf), torch.as_tensor(K)).numpy()
        - project(torch.as_tensor(J), torch.as_tensor(K)).numpy(),
        axis=-1,
    )
    e3 = np.linalg.norm((Jf - Jf[:, :1]) - (J - J[:, :1]), axis=-1) * 1000
    return e2, e3


def test_joints_only_model_gives_the_full_models_joints(model):
    small = joints_only_model(model)
    assert small.num_vertices == 5
    rng = np.random.default_rng(1)
    for side in ("right", "left"):
        pose = torch.tensor(rng.normal(0, 0.4, (4, 48)), dtype=torch.float32)
        shape = torch.tensor(rng.normal(0, 1, (4, 10)), dtype=torch.float32)
        trans = torch.tensor(rng.normal(0, 0.1, (4, 3)), dtype=torch.float32)
        a = model(pose, shape, trans, side=side).joints
        b = small(pose, shape, trans, side=side).joints
        assert torch.allclose(a, b, atol=1e-6)


def test_cube_rotations_are_24_distinct_rotations():
    from scipy.spatial.transform import Rotation

    R = Rotation.from_rotvec(cube_rotations()).as_matrix()
    assert R.shape == (24, 3, 3)
    assert np.allclose(np.linalg.det(R), 1.0)
    flat = {tuple(np.rint(r).astype(int).ravel()) for r in R}
    assert len(flat) == 24


@pytest.mark.parametrize("side,pose_name", [("right", "grasp"), ("left", "relaxed")])
def test_fit_recovers_known_parameters_from_noisy_landmarks(model, side, pose_name):
    K, J, uv, rel = _scene(model, side, pose_name)
    rng = np.random.default_rng(2)
    obs = TrackObservations(uv + rng.normal(0, 1.0, uv.shape), np.ones(len(uv), bool), K, depth=rel)
    fit = fit_track(obs, model, side, FAST)
    e2, e3 = _errors(model, side, K, J, fit)
    assert np.median(e2) < 1.0, np.median(e2)  # px, from 1 px of landmark noise
    assert np.mean(e3) < 12.0, np.mean(e3)  # mm after root alignment
    assert np.nanmedian(fit.residual_px) < 2.0
    # The wrist's depth follows from the hand's size in the image: within 15%.
    assert abs(fit.trans[0, 2] - 4.9) / 4.9 < 0.15


def test_robust_kernels_agree_near_zero_and_geman_mcclure_lets_go_of_outliers():
    c = 0.04
    e = torch.linspace(0.0, 1.0, 2001, dtype=torch.float64, requires_grad=True)
    gm = robust_kernel(e**2, c, "geman-mcclure", 3.0)
    cauchy = robust_kernel(e**2, c, "cauchy")
    small = e.detach() < 0.1 * c
    quad = (e.detach() / c) ** 2
    assert torch.allclose(gm.detach()[small], quad[small], rtol=1e-2)
    assert torch.allclose(cauchy.detach()[small], quad[small], rtol=1e-2)
    assert float(gm.detach().max()) < 9.0  # bounded by outlier_scale^2
    (pull_gm,) = torch.autograd.grad(gm.sum(), e)
    (pull_c,) = torch.autograd.grad(cauchy.sum(), e)
    # Within the ordinary noise (1.5 c) Geman-McClure is nearer the quadratic than Cauchy; far
    # out (25 c, 8 of its outlier scales) its pull has all but vanished, Cauchy's has not.
    mid, far = 60, 2000  # e = 1.5 c and e = 25 c
    assert float(gm.detach()[mid]) > float(cauchy.detach()[mid])
    assert float(pull_gm[far]) < 0.15 * float(pull_c[far])
    assert float(pull_gm[far]) < 0.01 * float(pull_gm.max())  # redescending
    with pytest.raises(ValueError, match="geman-mcclure, cauchy"):
        robust_kernel(e**2, c, "huber")


def test_geman_mcclure_fit_ignores_a_misplaced_finger(model):
    # One frame's index finger (3 landmarks) put 25 px away (0.3 of the hand's size): the
    # default kernel fits the hand as if the finger were not there.
    K, J, uv, rel = _scene(model, "right", "relaxed", frames=3)
    bad = uv.copy()
    bad[1, 6:9] += [25.0, 0.0]
    obs = TrackObservations(bad, np.ones(3, bool), K, depth=rel)
    assert FitWeights().robust_kernel == "geman-mcclure"
    fit = fit_track(obs, model, "right", FAST)
    e2, _ = _errors(model, "right", K, J, fit)
    assert np.median(e2[1]) < 1.0, np.median(e2[1])
    assert e2[1].max() < 3.0, e2[1].max()  # the finger too, from the other frames


def test_fit_interpolates_a_frame_without_landmarks(model):
    K, J, uv, rel = _scene(model, "right", "relaxed", frames=5)
    observed = np.array([True, True, False, True, True])
    obs = TrackObservations(np.where(observed[:, None, None], uv, 0.0), observed, K, depth=rel)
    fit = fit_track(obs, model, "right", FAST)
    e2, _ = _errors(model, "right", K, J, fit)
    assert np.isnan(fit.residual_px[2]) and not np.isnan(fit.residual_px[1])
    assert np.median(e2[2]) < 2.0  # the gap frame lands between its neighbours


def test_fitting_the_wrong_hand_side_does_not_match(model):
    # A left hand's landmarks: a mirrored hand can reproduce the 2D points (a mirror image is a
    # rotation plus a depth flip under a long lens), but not the depth order nor a natural
    # pose, so its energy is higher and its 3D joints are far off. Hence the care about the
    # handedness convention: 2D landmarks alone cannot tell the sides apart.
    K, J, uv, rel = _scene(model, "left", "grasp", frames=3)
    obs = TrackObservations(uv, np.ones(3, bool), K, depth=rel)
    good = fit_track(obs, model, "left", FAST)
    bad = fit_track(obs, model, "right", FAST)
    _, e3_good = _errors(model, "left", K, J, good)
    _, e3_bad = _errors(model, "right", K, J, bad)
    assert bad.energy > 1.5 * good.energy
    assert e3_bad.mean() > 2 * e3_good.mean() and e3_bad.mean() > 15.0


def test_prior_is_zero_inside_the_limits_and_grows_with_twist(model):
    rest = model(None, None, None, side="right").joints[0].double().numpy()
    prior = PosePrior(rest, "right")
    flat = torch.zeros(1, 45)
    assert float(prior(flat)) == 0.0
    curl = torch.as_tensor(prior.curl(0.8), dtype=torch.float32)[None]
    loc = prior.local(curl)
    assert torch.allclose(loc[0, :12, 0], torch.full((12,), 0.8), atol=1e-5)  # pure flexion
    twisted = curl.clone().reshape(1, 15, 3)
    twisted[0, 1] += 0.5 * prior.frames[1][:, 2]  # twist the index PIP about its bone
    assert float(prior(twisted.reshape(1, 45))) > float(prior(curl)) + 0.1
    # Flexion curls towards the palm: the index tip moves along the palm normal's side.
    J0 = model(None, None, None, side="right").joints[0]
    pose = torch.zeros(1, 48)
    pose[0, 3:] = curl[0]
    J1 = model(pose, None, None, side="right").joints[0]
    normal = np.cross(rest[1] - rest[0], rest[7] - rest[0])
    assert float((J1[17] - J0[17]).double().numpy() @ normal) > 0
