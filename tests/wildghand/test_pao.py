"""PAO weights (paper Eqs. 5-6) on a constructed frame."""

import numpy as np
import pytest
import torch
from wildghand.pao import PAOThresholds, pao_weights
from wildghand.segments import felzenszwalb_levels, propose_regions, with_hand_proposal


def _scene():
    """64x64 frame: a 30x30 hand (rendered silhouette) whose lower-left 12x12 corner is
    covered by a green occluder in the frame; the render matches the frame on the hand."""
    h = w = 64
    skin = torch.tensor([0.8, 0.6, 0.5])
    render = torch.zeros(h, w, 3)
    render[16:46, 16:46] = skin
    alpha = torch.zeros(h, w)
    alpha[16:46, 16:46] = 1.0
    frame = render.clone()
    frame[34:46, 16:28] = torch.tensor([0.1, 0.9, 0.1])  # occluder over the hand
    frame[:, :] += 0.01  # small global noise
    labels = torch.zeros(1, h, w, dtype=torch.int64)  # region 0: background
    labels[0, 16:46, 16:46] = 1  # visible hand
    labels[0, 34:46, 16:28] = 2  # occluder (inside the silhouette)
    return render, frame, alpha, labels


def test_occluded_region_gets_zero_and_visible_hand_positive_weight():
    render, frame, alpha, labels = _scene()
    th = PAOThresholds(t_e=1.0, t_mu=0.3, t_b=3.0)
    res = pao_weights(render, frame, alpha, labels, th, omega=0.02)
    wmap = res.weight.detach()
    assert torch.all(wmap[34:46, 16:28] == 0)  # occluder: mu = 144/900 < 0.3
    visible = wmap[16:34, 16:46]
    assert torch.all(visible > 10)  # alpha * (T_E - E) * (mu - T_mu) / (1 + omega)
    expected = 100 * (1.0 - res.residual[16:34, 16:46].mean()) * (756 / 900 - 0.3) / 1.02
    assert abs(visible.mean().item() - expected.item()) / expected.item() < 0.05
    # background: T_b - mean residual
    bg = wmap[0:10, 0:10]
    assert torch.allclose(bg, torch.full_like(bg, 3.0 - res.residual.mean().item()), atol=1e-5)


def test_thresholds_get_gradients_and_binary_mode_is_binary():
    render, frame, alpha, labels = _scene()
    th = PAOThresholds()
    res = pao_weights(render, frame, alpha, labels, th)
    (-res.weight.mean()).backward()
    assert th.t_e.grad is not None and th.t_e.grad < 0  # raising T_E raises W
    assert th.t_mu.grad > 0 and th.t_b.grad < 0
    res_b = pao_weights(render, frame, alpha, labels, th, mode="binary")
    vals = set(np.unique(res_b.weight.numpy()).tolist())
    assert vals <= {0.0, 1.0}
    assert torch.all(res_b.weight[34:46, 16:28] == 0)
    assert torch.all(res_b.weight[16:34, 16:46] == 1)


def test_high_error_hand_region_is_downweighted():
    render, frame, alpha, labels = _scene()
    # a large visible hand region rendered badly vs one rendered well
    th = PAOThresholds(t_e=0.5)
    frame2 = frame.clone()
    frame2[16:30, 16:46] = 0.0  # upper hand: very wrong
    labels2 = labels.clone()
    labels2[0, 16:30, 16:46] = 3
    res = pao_weights(render, frame2, alpha, labels2, th)
    assert torch.all(res.weight[16:30, 16:46] == 0)  # E ~ 1 > T_E
    assert torch.all(res.weight[30:34, 16:46] > 0)


def test_felzenszwalb_proposals_separate_an_occluder_and_keep_a_whole_hand_region():
    rng = np.random.default_rng(0)
    img = np.zeros((128, 128, 3), np.float32) + 0.05
    img[30:100, 40:90] = [0.8, 0.6, 0.5]
    img[70:95, 40:60] = [0.1, 0.8, 0.2]
    img += rng.normal(0, 0.01, img.shape).astype(np.float32)
    levels = felzenszwalb_levels(img)
    assert levels.shape[1:] == (128, 128) and levels.dtype == np.int32
    hand = np.zeros((128, 128), bool)
    hand[30:100, 40:90] = True
    occ = np.zeros_like(hand)
    occ[70:95, 40:60] = True
    visible = hand & ~occ
    # some level has a region covering most of the visible hand and little of the occluder
    best = 0.0
    for lab in levels:
        for u in np.unique(lab[visible]):
            region = lab == u
            if (region & occ).sum() < 0.05 * occ.sum():
                best = max(best, (region & visible).sum() / visible.sum())
    assert best > 0.9
    assert np.array_equal(propose_regions(img, method="auto"), levels)  # no SAM here


def test_whole_hand_proposal_gives_a_small_nail_region_weight():
    """A nail-sized region of its own has mu < T_mu under Eq. 5 and weight 0; the whole-hand
    proposal (pao_hand_proposal=mask) adds one region covering the hand, so it gets weight."""
    render, frame, alpha, labels = _scene()
    labels = labels.clone()
    labels[0, 16:20, 40:44] = 3  # a 4x4 'nail': 16 / 900 of the hand
    th = PAOThresholds(t_e=1.0, t_mu=0.3, t_b=3.0)
    plain = pao_weights(render, frame, alpha, labels, th).weight.detach()
    assert torch.all(plain[16:20, 40:44] == 0)
    mask = np.zeros((64, 64), np.float32)
    mask[16:46, 16:46] = 1.0
    with_hand = torch.from_numpy(with_hand_proposal(labels.numpy(), mask))
    assert with_hand.shape == (2, 64, 64)
    assert set(np.unique(with_hand[1].numpy()).tolist()) == {-1, 0}
    res = pao_weights(render, frame, alpha, with_hand, th)
    w = res.weight.detach()
    # the whole hand: mu = 1, E = mean residual over the hand
    e_hand = res.residual[16:46, 16:46].mean().item()
    expected = 100 * (1.0 - e_hand) * (1.0 - 0.3)
    assert abs(w[16:20, 40:44].mean().item() - expected) < 0.5
    # every other hand pixel gains the same amount; the background is unchanged
    assert torch.allclose(w[16:34, 20:40] - plain[16:34, 20:40], torch.tensor(expected), atol=0.5)
    assert torch.allclose(w[0:10, 0:10], plain[0:10, 0:10])


def test_whole_hand_proposal_edge_cases():
    labels = np.zeros((2, 8, 8), np.int32)
    assert with_hand_proposal(labels, None) is labels
    assert with_hand_proposal(labels, np.zeros((8, 8))) is labels  # no hand, no level
    with pytest.raises(ValueError, match="does not match"):
        with_hand_proposal(labels, np.ones((4, 4)))
    img = np.zeros((32, 32, 3), np.float32)
    img[8:24, 8:24] = 0.7
    mask = np.zeros((32, 32), np.float32)
    mask[8:24, 8:24] = 1.0
    plain = propose_regions(img, method="felzenszwalb")
    both = propose_regions(img, method="felzenszwalb", hand_mask=mask)
    assert np.array_equal(both[:-1], plain)
    assert np.array_equal(both[-1] == 0, mask > 0.5)
