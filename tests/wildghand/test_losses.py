"""WildGHand's loss terms (losses.py) on small hand-made tensors with values worked out by hand,
and the objective as the weighted sum of its terms."""

from __future__ import annotations

import pytest
import torch
from wildghand.config import DEFAULT_CONFIG
from wildghand.gaussians import HandGaussians
from wildghand.geometry import uniform_laplacian
from wildghand.losses import (
    OBJECTIVE,
    FrameContext,
    StepContext,
    bias_term,
    cross_term,
    dssim,
    keep_where,
    laplacian_term,
    opacity_term,
    pao_term,
    perceptual_term,
    rec_term,
    shadow_term,
    silhouette_term,
    term_values,
)

CFG = {**DEFAULT_CONFIG, "dpd": True, "pao": "full"}


def _hand(opac, xi, *, log_scales=None, albedo=None, offsets=None, delta=None):
    """A HandGaussians whose loss-relevant fields are the given values (B = 1)."""
    opac = torch.tensor([opac], dtype=torch.float32)
    v = opac.shape[1]
    zeros = torch.zeros(1, v, 3)
    return HandGaussians(
        means=zeros,
        quats=torch.zeros(1, v, 4),
        scales=zeros,
        opacities=opac,
        colors=zeros,
        shadow=torch.tensor(xi, dtype=torch.float32).reshape(1, v, 1),
        log_scales=zeros if log_scales is None else log_scales,
        texture=torch.zeros(v, 2),
        offsets=offsets,
        delta=delta,
        extras={"albedo": zeros if albedo is None else albedo},
    )


def _ctx(**kw) -> FrameContext:
    """A 1x2 px frame: render grey 0.5 and white 1.0, black target, W = [2, 0]."""
    base = {
        "config": CFG,
        "render": torch.tensor([[[0.5, 0.5, 0.5], [1.0, 1.0, 1.0]]]),
        "alpha": torch.tensor([[1.0, 0.5]]),
        "target": torch.zeros(1, 2, 3),
        "mask": torch.tensor([[1.0, 0.0]]),
        "weight": torch.tensor([[2.0, 0.0]]),
        "pao_mode": "full",
        "gaussians": [_hand([0.5, 1.0], [0.9, 0.8]), _hand([0.0], [1.0])],
    }
    base.update(kw)
    return FrameContext(**base)


def test_rec_is_the_w_weighted_l1_and_weighs_100():
    # mean over 2 px x 3 channels of W |I - I_l| = (2 * 0.5 * 3 + 0 * 1 * 3) / 6
    assert float(rec_term(_ctx())) == pytest.approx(0.5)
    uniform = _ctx(weight=torch.ones(1, 2), pao_mode="off")
    assert float(rec_term(uniform)) == pytest.approx(0.75)  # (0.5 * 3 + 1 * 3) / 6
    assert CFG["w_rec"] == 100.0


def test_colour_region_hand_leaves_pixels_off_the_mask_to_the_silhouette():
    """colour_region="hand": the white pixel lies off the mask (mask 0): with PAO off it no
    longer teaches colour (rec and perceptual), only the silhouette term sees it."""
    l1 = lambda a, b: (a - b).abs().mean()  # noqa: E731 - a stand-in perceptual distance
    hand = {**CFG, "colour_region": "hand"}
    frame = _ctx(weight=torch.ones(1, 2), pao_mode="off", perceptual=l1)
    only = _ctx(config=hand, weight=torch.ones(1, 2), pao_mode="off", perceptual=l1)
    assert float(rec_term(frame)) == pytest.approx(0.75)  # (0.5 * 3 + 1 * 3) / 6
    assert float(rec_term(only)) == pytest.approx(0.25)  # (0.5 * 3 + 0) / 6
    assert float(perceptual_term(frame)) == pytest.approx(0.75)
    assert float(perceptual_term(only)) == pytest.approx(0.25)
    assert float(silhouette_term(only)) == float(silhouette_term(frame)) == pytest.approx(0.25)
    # a soft mask weighs the colour terms by its coverage
    soft = _ctx(
        config=hand, weight=torch.ones(1, 2), pao_mode="off", mask=torch.tensor([[0.5, 0.0]])
    )
    assert float(rec_term(soft)) == pytest.approx(0.125)
    # without a mask the frame form is used
    assert float(rec_term(_ctx(config=hand, weight=torch.ones(1, 2), mask=None))) == pytest.approx(
        0.75
    )


def test_colour_region_split_judges_the_off_mask_pixel_by_its_coverage_only():
    """colour_region="split": the on-mask pixel as under "hand"; the off-mask white pixel keeps
    the paper's value (|I| against black) but its gradient reaches alpha, not the colour."""
    split = {**CFG, "colour_region": "split"}
    render = torch.tensor([[[0.5, 0.5, 0.5], [1.0, 1.0, 1.0]]], requires_grad=True)
    alpha = torch.tensor([[1.0, 0.5]], requires_grad=True)
    ctx = _ctx(config=split, render=render, alpha=alpha, weight=torch.ones(1, 2), pao_mode="off")
    value = rec_term(ctx)
    assert float(value) == pytest.approx(0.75)  # the frame form's value: (0.5 * 3 + 1 * 3) / 6
    value.backward()
    # the on-mask pixel's colour is taught (d/dI of |I - 0| / 6), the off-mask one's is not
    assert render.grad[0, 0].tolist() == pytest.approx([1 / 6] * 3)
    assert render.grad[0, 1].tolist() == [0.0, 0.0, 0.0]
    # off the mask alpha carries it: d/dalpha (alpha * |I / alpha| * 3 / 6) = 2 * 3 / 6
    assert float(alpha.grad[0, 1]) == pytest.approx(1.0)
    assert float(alpha.grad[0, 0]) == 0.0  # mask 1: no off-mask share
    # under "frame" the same pixel's colour gets the gradient instead
    render.grad = None
    rec_term(_ctx(render=render, weight=torch.ones(1, 2), pao_mode="off")).backward()
    assert render.grad[0, 1].tolist() == pytest.approx([1 / 6] * 3)


def test_colour_hand_from_switches_to_hand_colours_late_in_the_fit():
    """colour_hand_from=0.6: the paper's form (the off-mask pixel teaches colour) before 60% of
    the fit, the hand-only form from there on."""
    late = {**CFG, "colour_hand_from": 0.6}
    early = _ctx(config=late, weight=torch.ones(1, 2), pao_mode="off", progress=0.59)
    after = _ctx(config=late, weight=torch.ones(1, 2), pao_mode="off", progress=0.6)
    assert float(rec_term(early)) == pytest.approx(0.75)  # as colour_region="frame"
    assert float(rec_term(after)) == pytest.approx(0.25)  # as colour_region="hand"
    # the paper's form (1.0) never switches
    paper = {**CFG, "colour_hand_from": 1.0}
    never = _ctx(config=paper, weight=torch.ones(1, 2), pao_mode="off", progress=0.99)
    assert float(rec_term(never)) == pytest.approx(0.75)


def test_colour_region_is_checked():
    from wildghand.config import full_config

    with pytest.raises(ValueError, match="colour_region must be one of frame, hand, split"):
        full_config({"colour_region": "all"})
    assert full_config({})["colour_region"] == "frame"  # the paper's form by default


def test_perceptual_compares_only_pixels_pao_keeps():
    l1 = lambda a, b: (a - b).abs().mean()  # noqa: E731 - a stand-in perceptual distance
    # W = 0 at the white pixel: its target becomes the (detached) render, so only 1.5 / 6 remain
    assert float(perceptual_term(_ctx(perceptual=l1))) == pytest.approx(0.25)
    assert float(perceptual_term(_ctx(perceptual=l1, pao_mode="off"))) == pytest.approx(0.75)
    assert perceptual_term(_ctx(perceptual=None)) is None
    kept = keep_where(torch.tensor([[2.0, 0.0]]), torch.zeros(1, 2, 3), _ctx().render)
    assert kept[0, 1].tolist() == [1.0, 1.0, 1.0] and kept[0, 0].tolist() == [0.0, 0.0, 0.0]
    img = torch.rand(16, 16, 3, generator=torch.Generator().manual_seed(0))
    assert float(dssim(img, img)) == pytest.approx(0.0, abs=1e-6)
    assert float(dssim(img, 1 - img)) > 0.3


def test_silhouette_is_the_l1_of_alpha_on_pixels_pao_keeps():
    # |alpha - mask| = [0, 0.5]; W > 0 only at the first pixel
    assert float(silhouette_term(_ctx())) == pytest.approx(0.0)
    assert float(silhouette_term(_ctx(pao_mode="off"))) == pytest.approx(0.25)
    assert silhouette_term(_ctx(mask=None)) is None
    assert silhouette_term(_ctx(config={**CFG, "w_silhouette": 0.0})) is None
    # the paper's form: every pixel, so the spill pixel (alpha 0.5 past the mask, W = 0) counts
    every = {**CFG, "silhouette_region": "all"}
    assert float(silhouette_term(_ctx(config=every))) == pytest.approx(0.25)
    assert CFG["silhouette_region"] == "weighted"


def test_opacity_and_shadow_pull_towards_one_over_both_hands():
    # o = [0.5, 1, 0] -> ((0.5)^2 + 0 + 1) / 3; xi = [0.9, 0.8, 1] -> (0.01 + 0.04 + 0) / 3
    assert float(opacity_term(_ctx())) == pytest.approx(1.25 / 3)
    assert float(shadow_term(_ctx())) == pytest.approx(0.05 / 3)


def test_bias_is_the_mean_dpd_bias_magnitude_only_with_dpd():
    delta = torch.tensor([[[1.0, -2.0], [3.0, 0.0]]])
    ctx = _ctx(gaussians=[_hand([1.0, 1.0], [1.0, 1.0], delta=delta)])
    assert float(bias_term(ctx)) == pytest.approx(1.5)
    ctx.config = {**CFG, "dpd": False}
    assert bias_term(ctx) is None


def test_laplacian_smoothness_on_one_triangle():
    lap = uniform_laplacian(torch.tensor([[0, 1, 2]]), 3)
    # log-scales (0, 0, 3) in one channel: L x = (-1.5, -1.5, 3) -> mean of squares 4.5
    log_scales = torch.zeros(1, 3, 3)
    log_scales[0, 2, 0] = 3.0
    albedo = torch.full((1, 3, 3), 0.7)  # constant: 0
    offsets = torch.tensor([[0.0, 0, 0], [0, 0, 0], [0.01, 0, 0]])  # / 0.01 -> L x (-.5,-.5,1)
    hand = _hand([1.0] * 3, [1.0] * 3, log_scales=log_scales, albedo=albedo, offsets=offsets)
    ctx = _ctx(gaussians=[hand], laplacian=lap, offset_norm=0.01)
    assert float(laplacian_term(ctx)) == pytest.approx(4.5 + 0.0 + 0.5)
    hand.offsets = None  # head (iii) off
    assert float(laplacian_term(ctx)) == pytest.approx(4.5)
    ctx.config = {**CFG, "w_lap": 0.0}
    assert laplacian_term(ctx) is None


def test_pao_term_is_minus_mean_w_in_full_mode_only():
    assert float(pao_term(_ctx())) == pytest.approx(-1.0)
    assert pao_term(_ctx(pao_mode="binary")) is None
    assert pao_term(_ctx(config={**CFG, "w_pao": 0.0})) is None


def test_cross_term_compares_left_and_right_textures_for_two_hands():
    class Net:
        def texture_features(self, side):
            return torch.tensor([[1.0, 2.0]]) if side == "left" else torch.zeros(1, 2)

    assert float(cross_term(StepContext(CFG, Net(), "inter"))) == pytest.approx(1.5)
    assert cross_term(StepContext(CFG, Net(), "single")) is None
    total, values = OBJECTIVE.step_loss(torch.tensor(2.0), StepContext(CFG, Net(), "inter"))
    assert float(total) == pytest.approx(2.0 + 0.1 * 1.5) and list(values) == ["cross"]


def test_objective_total_is_the_weighted_sum_of_its_terms():
    lap = uniform_laplacian(torch.tensor([[0, 1, 2]]), 3)
    log_scales = torch.zeros(1, 3, 3)
    log_scales[0, 2, 0] = 3.0
    delta = torch.full((1, 3, 2), -0.5)
    hand = _hand([0.5, 1.0, 0.0], [0.9, 0.8, 1.0], log_scales=log_scales, delta=delta)
    ctx = _ctx(
        gaussians=[hand],
        laplacian=lap,
        perceptual=lambda a, b: (a - b).abs().mean(),
    )
    total, values = OBJECTIVE.frame_loss(ctx)
    names = ["rec", "perceptual", "silhouette", "opacity", "shadow", "bias", "lap", "pao"]
    assert list(values) == names
    expected = {
        "rec": 0.5,
        "perceptual": 0.25,
        "silhouette": 0.0,
        "opacity": 1.25 / 3,
        "shadow": 0.05 / 3,
        "bias": 0.5,
        "lap": 4.5,
        "pao": -1.0,
    }
    logged = term_values(values)
    assert logged == pytest.approx(expected)
    weighted = sum(CFG[f"w_{k}"] * v for k, v in expected.items())
    # 100 * 0.5 + 0.1 * 0.25 + 0.1 * 1.25/3 + 0.001 * 0.05/3 + 0.1 * 0.5 + 0.1 * 4.5 - 0.5
    assert float(total) == pytest.approx(weighted, rel=1e-6)
    assert float(total) == pytest.approx(50.0666833, rel=1e-6)

    # hook terms come after the objective's; a clashing name is refused
    extra_total, extra = OBJECTIVE.frame_loss(ctx, extra=lambda c: {"x": (2.0, torch.tensor(3.0))})
    assert list(extra)[-1] == "x" and float(extra_total) == pytest.approx(weighted + 6.0)
    with pytest.raises(ValueError, match="already"):
        OBJECTIVE.frame_loss(ctx, extra=lambda c: {"rec": (1.0, torch.tensor(0.0))})


def test_every_term_has_a_unique_name_and_a_weight_in_the_config():
    names = [t.name for t in OBJECTIVE.terms]
    assert len(set(names)) == len(names)
    for term in OBJECTIVE.terms:
        assert term.weight_key == f"w_{term.name}" and term.weight_key in DEFAULT_CONFIG
        assert term.doc
