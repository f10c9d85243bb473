"""Protocol ``hwp-v2``: the scored core, un-premultiplied colour, and what it rewards."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hwp_bench.data import Frame, HandParams
from hwp_bench.metrics import get_protocol
from hwp_bench.metrics.protocols.hwp_v2 import (
    ALPHA_FLOOR,
    core_region,
    region_psnr,
    straighten,
)


def _core_reference(mask: np.ndarray) -> np.ndarray:
    """Slow and obvious: pixel by pixel, fully covered and every 4-neighbour touched (the
    image border replicates the edge pixel)."""
    h, w = mask.shape
    out = np.zeros((h, w), bool)
    for i in range(h):
        for j in range(w):
            if mask[i, j] < 0.99:
                continue
            nbs = [(min(max(i + di, 0), h - 1), min(max(j + dj, 0), w - 1)) for di, dj in
                   ((-1, 0), (1, 0), (0, -1), (0, 1))]  # fmt: skip
            out[i, j] = all(mask[a, b] > 0.01 for a, b in nbs)
    return out


def test_core_region_matches_the_reference_on_soft_and_binary_masks_and_batches():
    rng = np.random.default_rng(0)
    soft = np.clip(rng.uniform(-0.5, 1.5, (3, 17, 23)), 0, 1)
    soft[soft > 0.8] = 1.0
    binary = (rng.uniform(0, 1, (2, 17, 23)) > 0.3).astype(np.float64)
    for batch in (soft, binary):
        got = core_region(batch).numpy()
        assert got.shape == batch.shape
        for k in range(len(batch)):
            np.testing.assert_array_equal(got[k], _core_reference(batch[k]))


def test_on_a_binary_mask_the_core_is_the_mask_eroded_by_one_pixel():
    m = np.zeros((12, 12))
    m[2:9, 3:10] = 1
    core = core_region(m).numpy()
    expect = np.zeros((12, 12), bool)
    expect[3:8, 4:9] = True
    np.testing.assert_array_equal(core, expect)
    # a hand cut by the frame edge keeps its pixels along that edge
    m2 = np.zeros((6, 6))
    m2[:, :4] = 1
    assert core_region(m2).numpy()[:, 0].all()


def test_straighten_undoes_coverage_down_to_half_a_pixel():
    c = torch.tensor([[[0.4, 0.2, 0.1], [0.1, 0.05, 0.025], [0.6, 0.3, 0.15]]])
    a = torch.tensor([[0.5, 0.25, 1.0]])
    s = straighten(c, a)
    torch.testing.assert_close(s[0, 0], torch.tensor([0.8, 0.4, 0.2]))
    # below half coverage the colour is only divided by 0.5 (stays dark)
    torch.testing.assert_close(s[0, 1], c[0, 1] / ALPHA_FLOOR)
    torch.testing.assert_close(s[0, 2], c[0, 2])
    assert straighten(c, None) is c


def test_region_psnr_batched_equals_per_image():
    rng = np.random.default_rng(1)
    p = torch.as_tensor(rng.uniform(0, 1, (4, 9, 8, 3)))
    g = torch.as_tensor(rng.uniform(0, 1, (4, 9, 8, 3)))
    r = torch.as_tensor(rng.uniform(0, 1, (4, 9, 8)) > 0.4)
    batched = region_psnr(p, g, r)
    for k in range(4):
        mse = ((p[k] - g[k]) ** 2)[r[k]].mean()
        assert math.isclose(float(batched[k]), -10 * math.log10(float(mse)), rel_tol=1e-12)


def _disc_frame(*, visible=None, size=48, seed=0, shift_x=0.0):
    """A textured disc on a bright background; the ground-truth mask is soft at the edge. The
    returned render's texture is moved right by ``shift_x`` px (evaluated where it lands, no
    resampling) inside the same silhouette."""
    rng = np.random.default_rng(seed)
    g = (np.arange(size * 8) + 0.5) / 8
    xx, yy = np.meshgrid(g, g)
    cov = (((xx - 24.3) ** 2 + (yy - 23.7) ** 2) <= 15**2).reshape(size, 8, size, 8).mean((1, 3))
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)

    def texture(dx):
        t = 0.5 + 0.2 * np.sin(y / 2.0) * np.cos((x - dx) / 3.0)
        return np.stack([t, 0.8 * t, 0.6 * t], -1)

    hand, drawn = texture(0.0), texture(shift_x)
    background = np.full((size, size, 3), 0.9)
    image = cov[..., None] * hand + (1 - cov[..., None]) * background
    image = np.clip(image + rng.normal(0, 1 / 255, image.shape), 0, 1)
    frame = Frame(
        image=image.astype(np.float32),
        capture="capture00",
        index=0,
        num_frames=1,
        K=np.eye(3, dtype=np.float32),
        hands={"right": HandParams(np.zeros(48), np.zeros(10), [0, 0, 1])},
        mask=cov.astype(np.float32),
        annotations={} if visible is None else {"visible_mask": visible.astype(np.float32)},
    )
    return frame, (cov[..., None] * drawn).astype(np.float32), cov.astype(np.float32)


def test_a_perfect_render_on_black_is_not_punished_for_the_blended_edge():
    v1, v2 = get_protocol("hwp-v1"), get_protocol("hwp-v2")
    frame, color, alpha = _disc_frame()
    s1 = v1.score_frame(color, alpha, frame, metrics=("psnr",))["psnr"]
    s2 = v2.score_frame(color, alpha, frame, metrics=("psnr",))["psnr"]
    assert s1 < 30  # hwp-v1 compares hand-on-black with hand-over-background at the edge
    assert s2 > 45  # hwp-v2: noise only (1/255: 48 dB)


def test_eroding_the_silhouette_costs_and_the_region_ignores_the_method():
    from hwp_bench.metrics.degradations import degrade

    v2 = get_protocol("hwp-v2")
    frame, color, alpha = _disc_frame()
    perfect = v2.score_frame(color, alpha, frame)
    for name in ("erode1", "erode2"):
        c, a = degrade(name, color, alpha)
        worse = v2.score_frame(c, a, frame)
        assert worse["psnr"] < perfect["psnr"] - 10
        assert worse["ssim"] < perfect["ssim"] and worse["lpips"] > perfect["lpips"]
    # without its alpha a render is scored as drawn: the edge ring then counts as dark
    no_alpha = v2.score_frame(color, None, frame, metrics=("psnr",))["psnr"]
    assert no_alpha <= perfect["psnr"] + 1e-9


def test_the_visible_mask_defines_the_region_when_the_frame_has_one():
    v2 = get_protocol("hwp-v2")
    frame, color, alpha = _disc_frame()
    occluded = frame.mask.copy()
    occluded[:, :24] = 0  # a forearm hides the left half: only the right half is scored
    f2, _, _ = _disc_frame(visible=occluded)
    wrong = color.copy()
    wrong[:, :24] = 0.0  # the render is wrong only where the hand is hidden
    assert v2.score_frame(wrong, alpha, f2, metrics=("psnr",))["psnr"] > 45
    assert v2.score_frame(wrong, alpha, frame, metrics=("psnr",))["psnr"] < 20


def test_bad_input_is_refused_clearly():
    v2 = get_protocol("hwp-v2")
    frame, color, alpha = _disc_frame()
    with pytest.raises(ValueError, match="alpha is"):
        v2.score_frame(color, alpha[:10], frame)
    tiny = frame.mask * 0
    tiny[5, 5] = 1.0  # one pixel, no fully covered neighbourhood
    import dataclasses

    with pytest.raises(ValueError, match="no fully covered pixel"):
        v2.score_frame(color, alpha, dataclasses.replace(frame, mask=tiny))
    assert v2.params["prediction"].startswith("float, color / clamp(alpha, 0.5, 1)")


def test_register_matches_the_slow_reference_and_batches():
    from hwp_bench.metrics.protocols.hwp_v2 import register, register_reference

    rng = np.random.default_rng(4)
    b, h, w = 2, 13, 11
    pred = torch.as_tensor(rng.uniform(0, 1, (b, h, w, 3)))
    gt = torch.as_tensor(rng.uniform(0, 1, (b, h, w, 3)))
    covered = torch.as_tensor(rng.uniform(0, 1, (b, h, w)) > 0.2)
    region = torch.as_tensor(rng.uniform(0, 1, (b, h, w)) > 0.3)
    for radius in (1, 2):
        fast = register(pred, covered, gt, region, radius)
        for k in range(b):
            slow = register_reference(pred[k], covered[k], gt[k], region[k], radius)
            torch.testing.assert_close(fast[k], slow, rtol=0, atol=1e-12)
            # uncovered pixels keep their own value
            keep = ~covered[k]
            torch.testing.assert_close(fast[k][keep], pred[k][keep], rtol=0, atol=0)


def test_register_on_the_hand_box_matches_the_reference_inside_and_at_the_borders():
    """The fast path works on the box around the hand: a hand inside the image, one cut by
    the image's corner (replicate padding), and a frame with nothing covered."""
    from hwp_bench.metrics.protocols.hwp_v2 import register, register_reference

    rng = np.random.default_rng(11)
    h, w = 24, 21
    pred = torch.as_tensor(rng.uniform(0, 1, (3, h, w, 3)))
    gt = torch.as_tensor(rng.uniform(0, 1, (3, h, w, 3)))
    covered = torch.zeros(3, h, w, dtype=torch.bool)
    region = torch.zeros(3, h, w, dtype=torch.bool)
    covered[0, 7:15, 5:12] = torch.as_tensor(rng.uniform(0, 1, (8, 7)) > 0.2)
    region[0, 8:16, 6:13] = torch.as_tensor(rng.uniform(0, 1, (8, 7)) > 0.3)
    covered[1, :6, -5:] = torch.as_tensor(rng.uniform(0, 1, (6, 5)) > 0.2)
    region[1, :5, -6:] = True
    for radius in (1, 2, 3):
        fast = register(pred, covered, gt, region, radius)
        for k in range(3):
            slow = register_reference(pred[k], covered[k], gt[k], region[k], radius)
            torch.testing.assert_close(fast[k], slow, rtol=0, atol=1e-12)
            # one frame alone gives what it gets in the batch (the box is the batch's union)
            alone = register(pred[k], covered[k], gt[k], region[k], radius)
            torch.testing.assert_close(alone, fast[k], rtol=0, atol=0)
        torch.testing.assert_close(fast[2], pred[2], rtol=0, atol=0)  # nothing covered
        assert not torch.equal(fast[0], pred[0]) and not torch.equal(fast[1], pred[1])


def test_registration_undoes_a_small_shift_but_not_a_blur_or_noise():
    from hwp_bench.metrics.degradations import degrade

    v2 = get_protocol("hwp-v2")
    frame, color, alpha = _disc_frame()
    perfect = v2.score_frame(color, alpha, frame, metrics=("psnr",))["psnr"]
    # the texture moved by one pixel inside an unchanged silhouette: registration takes it back
    from hwp_bench.metrics.degradations import straight_color

    straight = straight_color(color, alpha)
    straight[:, 1:] = straight[:, :-1].copy()
    moved = (straight * alpha[..., None]).astype(np.float32)
    got = v2.score_frame(moved, alpha, frame, metrics=("psnr",))["psnr"]
    region = v2.region(frame).numpy()
    unregistered = -10 * np.log10(((straight - frame.image) ** 2)[region].mean())
    assert got > perfect - 5 and got > unregistered + 10, (got, perfect, unregistered)
    # a blur keeps most of its cost, and noise added to a render does not pay
    b, ba = degrade("blur1", color, alpha)
    assert v2.score_frame(b, ba, frame, metrics=("psnr",))["psnr"] < perfect - 8
    rng = np.random.default_rng(0)
    noisy = np.clip(color + rng.normal(0, 0.05, color.shape) * alpha[..., None], 0, 1)
    assert v2.score_frame(noisy, alpha, frame, metrics=("psnr",))["psnr"] < 27
