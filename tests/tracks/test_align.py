"""The aligner on HWP-Synth test frames: it moves the estimated poses towards the exact ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hwp_bench.data import load_frames
from hwp_bench.tracks.align import AlignConfig, align_frame
from hwp_bench.tracks.errors import joint_errors


@pytest.fixture(scope="module")
def test_frames(tiny_synth):
    return {
        cap: sorted(load_frames(tiny_synth, cap, "test"), key=lambda f: f.index)
        for cap in ("capture00", "capture04")
    }


@pytest.mark.parametrize("capture", ["capture00", "capture04"])
def test_alignment_cuts_the_image_joint_error_and_the_silhouette_residual(test_frames, capture):
    frames = test_frames[capture]
    aligned = {}
    for f in frames:
        r = align_frame(f)
        assert r.status == "ok" and set(r.hands) == set(f.hands)
        assert r.residual_px < 0.5 * r.initial_residual_px
        aligned[(f.capture, f.index)] = r.hands
    estimated = {(f.capture, f.index): f.hands for f in frames}
    before = joint_errors(frames, estimated)
    after = joint_errors(frames, aligned)
    # in the image, where a render is judged: at least 2x closer to the exact joints
    assert after["px"] < 0.5 * before["px"]
    # articulation (wrist-relative) improves too; absolute depth is not observable
    assert after["mm_root"] < before["mm_root"]


def test_alignment_is_deterministic(test_frames):
    f = test_frames["capture00"][0]
    a, b = align_frame(f), align_frame(f)
    for side in a.hands:
        for field in ("pose", "shape", "trans"):
            np.testing.assert_array_equal(
                getattr(a.hands[side], field), getattr(b.hands[side], field)
            )


def test_the_prior_holds_the_estimate_when_it_is_very_strong(test_frames):
    f = test_frames["capture00"][0]
    stiff = AlignConfig(
        prior_global=1e-9, prior_fingers=1e-9, prior_trans_xy=1e-9, prior_trans_z=1e-9,
        prior_shape=1e-9,
    )  # fmt: skip
    r = align_frame(f, stiff)
    np.testing.assert_allclose(r.hands["right"].pose, f.hands["right"].pose, atol=1e-5)
    np.testing.assert_allclose(r.hands["right"].trans, f.hands["right"].trans, atol=1e-6)


def test_frames_without_a_usable_mask_keep_their_estimate(test_frames):
    f = test_frames["capture00"][0]
    r = align_frame(dataclasses.replace(f, mask=None))
    assert r.status == "no-mask" and r.hands == f.hands
    r = align_frame(dataclasses.replace(f, mask=np.zeros_like(f.mask)))
    assert r.status == "empty-mask" and r.hands == f.hands


@pytest.mark.parametrize("side", ["right", "left"])
def test_the_subset_poser_is_the_hand_model_on_those_vertices(side):
    import torch

    from hwp_bench.hand import load_hand_model
    from hwp_bench.tracks.align import SubsetPoser

    model = load_hand_model("open", 0, dtype=torch.float64)
    rng = np.random.default_rng(3)
    pose = torch.as_tensor(rng.normal(0, 0.3, 48))
    shape = torch.as_tensor(rng.normal(0, 1.0, 10))
    trans = torch.as_tensor([0.01, -0.02, 0.6])
    full = model(pose[None], shape[None], trans[None], side=side).vertices[0]
    idx = np.sort(rng.choice(model.num_vertices, 300, replace=False))
    sub = SubsetPoser(model, side, idx)(pose, shape, trans)
    torch.testing.assert_close(sub, full[idx], rtol=0, atol=1e-12)
