"""Training-pose refinement (``wildghand.refine``): the maths, the hook, and what it buys."""

from __future__ import annotations

import numpy as np
import torch
from wildghand.refine import (
    PoseCorrections,
    apply_correction,
    axis_angle_to_quaternion,
    prior_scales,
    quaternion_to_axis_angle,
)

from hwp_bench.hand import axis_angle_to_matrix, load_hand_model

from .conftest import clip_psnr, short_fit


def test_quaternion_round_trip_and_composition_match_rotation_matrices():
    gen = torch.Generator().manual_seed(0)
    aa = torch.randn(64, 3, generator=gen) * 1.2
    aa[0] = 0.0  # identity: the small-angle branches
    aa[1] = torch.tensor([1e-7, 0.0, -2e-7])
    back = quaternion_to_axis_angle(axis_angle_to_quaternion(aa))
    assert torch.allclose(axis_angle_to_matrix(back), axis_angle_to_matrix(aa), atol=1e-5)
    # apply_correction composes exp(delta) on the left of the global rotation.
    delta = torch.zeros(64, 51)
    delta[:, :3] = torch.randn(64, 3, generator=gen) * 0.1
    delta[:, 3:6] = torch.randn(64, 3, generator=gen) * 0.01
    delta[:, 6:] = torch.randn(64, 45, generator=gen) * 0.1
    pose = torch.cat([aa, torch.randn(64, 45, generator=gen) * 0.3], -1)
    trans = torch.randn(64, 3, generator=gen)
    new_pose, new_trans = apply_correction(pose, trans, delta)
    want = axis_angle_to_matrix(delta[:, :3]) @ axis_angle_to_matrix(aa)
    assert torch.allclose(axis_angle_to_matrix(new_pose[:, :3]), want, atol=1e-5)
    assert torch.allclose(new_pose[:, 3:], pose[:, 3:] + delta[:, 6:])
    assert torch.allclose(new_trans, trans + delta[:, 3:6])
    # Zero corrections are the identity, with finite gradients there.
    u = torch.zeros(2, 51, requires_grad=True)
    p2, t2 = apply_correction(pose[:2], trans[:2], u * 0.05)
    assert torch.allclose(p2, pose[:2], atol=1e-6) and torch.allclose(t2, trans[:2])
    (p2.sum() + t2.sum()).backward()
    assert torch.isfinite(u.grad).all() and u.grad.abs().sum() > 0


def _teacher(size=64):
    """An opaque Gaussian per vertex of the open hand, coloured by template position."""
    from hwp_bench.render import rasterize

    hand = load_hand_model("open", 0)
    rest = hand(torch.zeros(1, 48), torch.zeros(1, 10), torch.zeros(1, 3)).vertices[0]
    u = (rest - rest.min(0).values) / (rest.max(0).values - rest.min(0).values)
    colors = torch.stack([0.3 + 0.6 * u[:, 1], 0.2 + 0.6 * u[:, 0], 0.2 + 0.6 * u[:, 2]], -1)
    f = 1.6 * size
    K = torch.tensor([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1.0]])

    def render(pose, trans):
        v = hand(pose, torch.zeros(1, 10), trans).vertices[0]
        n = v.shape[0]
        return rasterize(
            v,
            torch.tensor([1.0, 0, 0, 0]).expand(n, 4),
            torch.full((n, 3), 0.004),
            torch.full((n,), 0.95),
            colors,
            torch.eye(4),
            K,
            size,
            size,
            background=torch.zeros(3),
        )

    def joints_px(pose, trans):
        j = hand(pose, torch.zeros(1, 10), trans).joints[0]
        p = j @ K.T
        return p[:, :2] / p[:, 2:]

    return render, joints_px


def test_refinement_recovers_a_known_pose_offset_on_a_synthetic_frame():
    """A frame rendered at the true pose; the estimate is off by a rotation of the hand, a
    wrist shift and bent fingers. Fitting the corrections to the frame (appearance fixed)
    brings the joints from about 3 px off to a fraction of a pixel."""
    render, joints_px = _teacher()
    pose = torch.zeros(1, 48)
    pose[0, :3] = torch.tensor([-np.pi / 2, 0.2, 0.1])
    pose[0, 3:] = torch.linspace(-0.2, 0.3, 45)
    trans = torch.tensor([[0.1, 0.0, 0.5]])
    with torch.no_grad():
        target = render(pose, trans)["color"]
    err_rot = torch.tensor([[0.06, -0.08, 0.05]])
    # The estimate: R_est = exp(err) R_true, wrist 4 mm off, two finger joints bent 0.25 rad.
    est_pose, est_trans = apply_correction(
        pose,
        trans,
        torch.cat([err_rot, torch.tensor([[0.008, -0.006, 0.0]]), torch.zeros(1, 45)], -1),
    )
    est_pose = est_pose.clone()
    est_pose[0, 3 + 3 * 1] += 0.25  # index2
    est_pose[0, 3 + 3 * 4] += 0.25  # middle2
    before = (joints_px(est_pose, est_trans) - joints_px(pose, trans)).norm(dim=-1).mean()

    cfg = {
        "refine_sigma_rot": 0.05,
        "refine_sigma_trans": 0.005,
        "refine_sigma_fingers": 0.1,
    }
    corr = PoseCorrections(1, ("right",), prior_scales(cfg))
    opt = torch.optim.Adam(corr.parameters(), lr=0.05)
    for _ in range(150):
        p, t = corr.correct("right", 0, est_pose, est_trans)
        loss = (render(p, t)["color"] - target).abs().mean() + 1e-4 * corr.prior(0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        p, t = corr.correct("right", 0, est_pose, est_trans)
        after = (joints_px(p, t) - joints_px(pose, trans)).norm(dim=-1).mean()
    print(float(before), float(after))
    assert before > 2.0, float(before)
    assert after < 0.3 * before, (float(before), float(after))


def _noised(frames, seed: int):
    """Copies of ``frames`` whose hand parameters carry estimator-like noise: the hand turned
    by ~0.06 rad, the wrist moved by ~4 mm, every finger joint bent by ~0.12 rad."""
    import dataclasses

    from hwp_bench.data import HandParams

    gen = torch.Generator().manual_seed(seed)
    out = []
    for f in frames:
        hp = f.hands["right"]
        delta = torch.cat(
            [
                torch.randn(1, 3, generator=gen) * 0.06,
                torch.randn(1, 3, generator=gen) * torch.tensor([0.004, 0.004, 0.0]),
                torch.randn(1, 45, generator=gen) * 0.12,
            ],
            -1,
        )
        pose, trans = apply_correction(
            torch.as_tensor(np.asarray(hp.pose, np.float32))[None],
            torch.as_tensor(np.asarray(hp.trans, np.float32))[None],
            delta,
        )
        noisy = HandParams(pose=pose[0].numpy(), shape=np.asarray(hp.shape), trans=trans[0].numpy())
        out.append(dataclasses.replace(f, hands={"right": noisy}))
    return out


def test_a_fit_with_refinement_beats_the_same_fit_without_it_on_noised_poses(tiny_capture):
    """The tiny capture's training poses noised (about 2 px at the fingertips) with three
    different noise draws; the test clip is rendered at its true poses.

    One short fit is a noisy measurement: the gain of refinement moves by half a dB between
    machines (float rounding changes the trajectory) and a 150-step fit sometimes gains
    nothing. Measured on 300-step fits, noise draws 3, 4, 5: without / with refinement
    25.4/26.8, 25.3/26.3, 24.0/28.0 dB (gains 1.4, 1.0, 4.0; mean 2.1). The claim is asserted
    on the mean gain, with room for that spread, and no draw may lose.

    The fits use the paper's colour form (``colour_hand_from=1.0``), where the measurement
    above was made: with the default's hand-only colours late in the fit the dark rims that
    misposed frames teach are gone, and so is much of what refinement wins back (gains 0.41,
    0.31 and 0.85 dB on the same draws, 2026-12-06): still positive, but within the spread.
    """
    train, test = tiny_capture
    gains = []
    for noise_seed in (3, 4, 5):
        noisy = _noised(train, seed=noise_seed)
        scores = {
            refine: clip_psnr(
                short_fit(
                    noisy,
                    iterations=300,
                    lr_halve_epochs=200.0,
                    refine_frames=refine,
                    colour_hand_from=1.0,
                ),
                test,
            )
            for refine in (False, True)
        }
        print(noise_seed, scores)
        gains.append(scores[True] - scores[False])
    assert min(gains) > 0.0, gains
    assert np.mean(gains) > 0.75, gains


def _joint_px(frames_by_index, hands_by_index):
    """Mean 2D joint error (px) of ``hands_by_index`` against the frames' own parameters."""
    hand = load_hand_model("open", 0)
    errs = []
    for index, hands in hands_by_index.items():
        f = frames_by_index[index]
        K = torch.as_tensor(np.asarray(f.K, np.float32))
        for side, (pose, shape, trans) in hands.items():
            true = f.hands[side]
            a = hand(pose[None], shape[None], trans[None], side=side).joints[0]
            b = hand(
                *(torch.as_tensor(np.asarray(x, np.float32))[None]
                  for x in (true.pose, true.shape, true.trans)),
                side=side,
            ).joints[0]  # fmt: skip
            pa, pb = a @ K.T, b @ K.T
            errs.append((pa[:, :2] / pa[:, 2:] - pb[:, :2] / pb[:, 2:]).norm(dim=-1).mean())
    return float(torch.stack(errs).mean())


def test_pose_pass_aligns_noised_training_poses_to_a_fitted_avatar(tiny_capture):
    """An avatar fitted on the true poses; the same frames handed over with noised poses; one
    pose pass through the hook brings the joints back towards the truth (measured: 1.9 px to
    0.6 px), and the corrections are what the next training steps see."""
    from wildghand.method import WildGHand
    from wildghand.refine import PoseRefinement

    train, _ = tiny_capture
    cfg = {"perceptual": "dssim", "seed": 0, "iterations": 60, "lr_halve_epochs": 100.0,
           "refine_at": [], "refine_init_steps": 0, "refine_steps": 20, "refine_frames": True,
           "train_poses": "estimated"}  # the teacher's masks are not a mesh's (conftest)  # fmt: skip
    m = WildGHand(config=cfg)
    m.setup(train)
    for s in range(m.num_iterations):
        m.train_iteration(s)
    noisy = _noised(train, seed=5)
    m.setup(noisy)  # new frames, fresh (zero) corrections; the avatar is kept
    hook = m.hooks.get(PoseRefinement)
    truth = {f.index: f for f in train}
    before = _joint_px(truth, hook.refined_hands(m))
    hook.pose_pass(m)
    hook.passes_done += 1
    after = _joint_px(truth, hook.refined_hands(m))
    print(before, after)
    assert before > 1.0 and after < 0.6 * before, (before, after)
    fr = m.prepared_frames[0]
    seen = hook.frame_hands(m, fr, fr.hands)["right"]
    assert not torch.allclose(seen[0], fr.hands["right"][0])
    assert not seen[0].requires_grad  # the avatar's steps do not move the corrections


def test_refinement_state_round_trips_and_switches_off(tiny_capture, tmp_path):
    from wildghand.method import WildGHand
    from wildghand.refine import PoseRefinement

    train, test = tiny_capture
    cfg = {"perceptual": "none", "seed": 0, "iterations": 6, "refine_at": [0.5],
           "refine_steps": 2, "refine_init_steps": 2, "train_resolution": 32,
           "refine_frames": True, "train_poses": "estimated"}  # fmt: skip
    m = WildGHand(config=cfg)
    m.setup(train)
    for s in range(6):
        m.train_iteration(s)
    hook = m.hooks.get(PoseRefinement)
    assert hook.passes_done == 2 and m.timing["pose_passes"] > 0  # silhouette, then avatar
    assert float(hook.corrections.u["right"].detach().abs().sum()) > 0
    m.save(tmp_path)
    again = WildGHand(config=m.config, checkpoint=tmp_path)  # loaded before setup
    again.setup(train)
    h2 = again.hooks.get(PoseRefinement)
    assert torch.equal(h2.corrections.u["right"], hook.corrections.u["right"])
    assert h2.passes_done == 2
    # Test renders never use the corrections.
    f = test[0].without_pixels()
    np.testing.assert_array_equal(m.render(f)["color"], again.render(f)["color"])
    for off in ({"refine_frames": False}, {"head_refine": False}):
        plain = WildGHand(config={**cfg, **off})
        plain.setup(train)
        for s in range(6):
            plain.train_iteration(s)
        ph = plain.hooks.get(PoseRefinement)
        assert ph.passes_done == 0 and "pose_refinement" not in plain.state_dict()
