"""PSNR and SSIM against closed forms and scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage import data as skdata
from skimage.metrics import structural_similarity

from hwp_bench.metrics import masked_psnr, masked_ssim, psnr, ssim
from hwp_bench.metrics.image import crop_to_mask, mask_bbox


def _sk_gauss(a, b):
    return structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1,
        channel_axis=-1,
    )


def test_psnr_known_values():
    a = np.zeros((4, 5, 3))
    b = np.full((4, 5, 3), 0.1)
    assert float(psnr(a, b)) == pytest.approx(20.0, abs=1e-12)  # MSE 0.01 -> 20 dB
    b[0, 0, 0] = 1.0  # one big error among 60 values
    mse = (59 * 0.01 + 1.0) / 60
    assert float(psnr(a, b)) == pytest.approx(-10 * math.log10(mse), abs=1e-12)
    assert math.isinf(float(psnr(a, a)))
    assert float(psnr(np.full((2, 2, 3), 128, np.uint8), np.full((2, 2, 3), 0, np.uint8))) == (
        pytest.approx(-20 * math.log10(128 / 255), abs=1e-5)  # via float32
    )


def test_psnr_batched_and_masked():
    rng = np.random.default_rng(1)
    a, b = rng.random((3, 8, 9, 3)), rng.random((3, 8, 9, 3))
    batch = psnr(a, b)
    assert batch.shape == (3,)
    for i in range(3):
        assert float(batch[i]) == pytest.approx(float(psnr(a[i], b[i])), abs=1e-12)
    mask = np.zeros((8, 9), np.float32)
    mask[2:5, 3:7] = 0.8
    mask[0, 0] = 0.49  # below threshold: outside
    want = -10 * math.log10(np.mean((a[0, 2:5, 3:7] - b[0, 2:5, 3:7]) ** 2))
    assert float(masked_psnr(a[0], b[0], mask)) == pytest.approx(want, abs=1e-10)
    with pytest.raises(ValueError, match="empty mask"):
        masked_psnr(a[0], b[0], np.zeros((8, 9)))


def _natural_pairs():
    astro = skdata.astronaut()[100:228, 150:278] / 255.0
    coffee = skdata.coffee()[50:178, 200:328] / 255.0
    chelsea = skdata.chelsea()[60:188, 100:228] / 255.0
    rng = np.random.default_rng(0)
    noisy = np.clip(astro + 0.05 * rng.standard_normal(astro.shape), 0, 1)
    return [(astro, coffee), (astro, noisy), (chelsea, coffee), (chelsea, chelsea * 0.9)]


def test_ssim_matches_skimage_natural_and_random():
    for a, b in _natural_pairs():
        assert float(ssim(a, b)) == pytest.approx(_sk_gauss(a, b), abs=1e-6)
    rng = np.random.default_rng(3)
    for shape in [(11, 11, 3), (17, 40, 3), (64, 33, 1)]:
        a, b = rng.random(shape), rng.random(shape)
        assert float(ssim(a, b)) == pytest.approx(_sk_gauss(a, b), abs=1e-6)


def test_ssim_batched_float32_and_identity():
    pairs = _natural_pairs()
    a = torch.tensor(np.stack([p[0] for p in pairs]), dtype=torch.float32)
    b = torch.tensor(np.stack([p[1] for p in pairs]), dtype=torch.float32)
    got = ssim(a, b)
    assert got.shape == (4,)
    for i, (x, y) in enumerate(pairs):
        want = _sk_gauss(
            x.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64)
        )
        assert float(got[i]) == pytest.approx(want, abs=1e-6)
    assert float(ssim(a[0], a[0])) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((10, 20, 3)), np.zeros((10, 20, 3)))


def test_mask_bbox_and_crop():
    m = np.zeros((20, 30), bool)
    m[5:7, 10:14] = True
    assert mask_bbox(m) == (5, 7, 10, 14)
    y0, y1, x0, x1 = mask_bbox(m, min_size=11)
    assert (y1 - y0, x1 - x0) == (11, 11) and y0 <= 5 and y1 >= 7 and x0 <= 10 and x1 >= 14
    m2 = np.zeros((20, 30), bool)
    m2[0, 29] = True  # corner: the grown box is shifted inside the image
    assert mask_bbox(m2, min_size=11) == (0, 11, 19, 30)
    rng = np.random.default_rng(0)
    a, b = rng.random((20, 30, 3)), rng.random((20, 30, 3))
    ca, cb = crop_to_mask(a, b, m, min_size=11)
    assert ca.shape == (11, 11, 3)
    assert float(ca.abs().sum()) == pytest.approx(float(np.abs(a[5:7, 10:14]).sum()))
    want = _sk_gauss(ca.numpy(), cb.numpy())
    assert float(masked_ssim(a, b, m)) == pytest.approx(want, abs=1e-9)


def test_banded_filter_equals_conv2d():
    """The matrix-product filter against the obvious conv2d (the reference)."""
    import torch.nn.functional as F

    from hwp_bench.metrics.image import _filter_valid, _gaussian_taps

    taps = _gaussian_taps(1.5)
    x = torch.rand(3, 5, 30, 41, dtype=torch.float64)
    k = taps.numel()
    ref = F.conv2d(x.reshape(15, 1, 30, 41), taps.view(1, 1, k, 1))
    ref = F.conv2d(ref, taps.view(1, 1, 1, k)).reshape(3, 5, 20, 31)
    assert torch.allclose(_filter_valid(x, taps), ref, atol=1e-14, rtol=0)
