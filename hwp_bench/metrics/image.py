"""PSNR and SSIM in torch: batched, channel-last, with masked variants.

Conventions (shared by every metric in :mod:`hwp_bench.metrics`):

* Images are channel-last ``[..., H, W, C]`` (the layout renders and frames use), torch tensors
  or numpy arrays, float in ``[0, data_range]``. Leading dimensions are batch dimensions; the
  result has exactly those dimensions (a scalar tensor for a single image).
* Masks are ``[..., H, W]``; a float mask is binarised at 0.5 (the dataset's masks are soft at
  the boundary and the protocols define the region as ``mask >= 0.5``).
* Statistics are computed in float64: SSIM's ``E[x^2] - E[x]^2`` loses about 3 digits to
  cancellation in float32, and the tests hold SSIM to 1e-6 against scikit-image.

SSIM follows scikit-image's ``structural_similarity`` exactly (filter the whole image, keep the
'valid' region where the window lies inside the image, average the SSIM map, then average the
channels), with two window kinds:

* ``"gaussian"`` (docs/design.md, section 'Metrics and protocols'; protocol ``hwp-v1``):
  11x11 Gaussian, sigma 1.5
  (scipy's ``truncate=3.5``), population covariance;
* ``"uniform"`` (scikit-image 0.19's defaults, protocol ``wildghand-paper``): 7x7 box filter,
  sample covariance ``N / (N - 1)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "as_image_tensor",
    "binarize_mask",
    "mask_bbox",
    "masked_psnr",
    "masked_ssim",
    "mse",
    "psnr",
    "ssim",
    "ssim_map",
    "crop_to_mask",
]

K1 = 0.01
K2 = 0.03


def _np_ok(x: np.ndarray) -> np.ndarray:
    """Contiguous, writable (torch refuses read-only memory maps), native byte order."""
    x = np.ascontiguousarray(x)
    if not x.flags.writeable or not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="), copy=True)
    return x


def as_image_tensor(x, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Convert a numpy array or tensor to a floating tensor without copying when possible.

    uint8 input is mapped to [0, 1] (8-bit images are always stored that way in hwp-bench).
    """
    t = torch.as_tensor(_np_ok(x) if isinstance(x, np.ndarray) else x)
    if t.dtype == torch.uint8:
        t = t.to(torch.float32) / 255.0
    elif not t.is_floating_point():
        t = t.to(torch.float32)
    if dtype is not None:
        t = t.to(dtype)
    return t


def binarize_mask(mask) -> torch.Tensor:
    """Boolean region from a bool/float/uint8 mask: float masks are thresholded at 0.5."""
    m = torch.as_tensor(_np_ok(mask) if isinstance(mask, np.ndarray) else mask)
    if m.dtype == torch.bool:
        return m
    if m.dtype == torch.uint8:
        return m >= 128
    return m >= 0.5


def _check_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(
            f"prediction and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}"
        )
    if pred.dim() < 3:
        raise ValueError(f"expected [..., H, W, C] images, got shape {tuple(pred.shape)}")


def mse(pred, target, mask=None) -> torch.Tensor:
    """Mean squared error over all pixels and channels (or over the mask's pixels)."""
    p = as_image_tensor(pred, dtype=torch.float64)
    t = as_image_tensor(target, dtype=torch.float64)
    _check_pair(p, t)
    se = (p - t).square()
    if mask is None:
        return se.mean(dim=(-3, -2, -1))
    m = binarize_mask(mask).to(torch.float64)
    if m.shape != p.shape[:-1]:
        raise ValueError(f"mask shape {tuple(m.shape)} does not match image {tuple(p.shape)}")
    count = m.sum(dim=(-2, -1)) * p.shape[-1]
    if bool((count == 0).any()):
        raise ValueError("empty mask: the masked region has no pixels")
    return (se * m.unsqueeze(-1)).sum(dim=(-3, -2, -1)) / count


def psnr(pred, target, mask=None, *, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio ``10 log10(data_range^2 / MSE)`` in dB (inf when equal)."""
    err = mse(pred, target, mask)
    return 10.0 * torch.log10(data_range**2 / err)


def masked_psnr(pred, target, mask, *, data_range: float = 1.0) -> torch.Tensor:
    """PSNR over the pixels where ``mask`` holds (every channel of those pixels)."""
    return psnr(pred, target, mask, data_range=data_range)


def _gaussian_taps(sigma: float, truncate: float = 3.5) -> torch.Tensor:
    # scipy.ndimage.gaussian_filter's kernel: radius int(truncate * sigma + 0.5), normalised.
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _window(window: str, win_size: int | None, sigma: float) -> tuple[torch.Tensor, float]:
    """1-D separable taps and the covariance normalisation for a window kind."""
    if window == "gaussian":
        taps = _gaussian_taps(sigma)
        if win_size is not None and win_size != taps.numel():
            raise ValueError(f"gaussian window with sigma {sigma} has {taps.numel()} taps")
        return taps, 1.0
    if window == "uniform":
        n = 7 if win_size is None else int(win_size)
        if n < 3 or n % 2 == 0:
            raise ValueError("uniform window size must be odd and >= 3")
        return torch.full((n,), 1.0 / n, dtype=torch.float64), 1.0
    raise ValueError(f"unknown SSIM window {window!r} (expected 'gaussian' or 'uniform')")


def _band(n: int, taps: torch.Tensor) -> torch.Tensor:
    """``[n, n - k + 1]`` matrix whose column j holds ``taps`` at rows j..j+k-1."""
    k = taps.numel()
    m = torch.zeros(n, n - k + 1, dtype=taps.dtype, device=taps.device)
    idx = torch.arange(n - k + 1, device=taps.device)
    for i in range(k):
        m[idx + i, idx] = taps[i]
    return m


def _filter_valid(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Separable correlation, 'valid' region, of ``x`` [..., H, W] (float64).

    Written as two banded matrix products ``B_h^T x B_w``: float64 BLAS is 3-4x faster on CPU
    than float64 ``conv2d`` (no oneDNN path); the values are the same sums (tested against
    scikit-image's filters to 1e-6 and against conv2d to 1e-15).
    """
    h, w = x.shape[-2:]
    return _band(h, taps).T @ x @ _band(w, taps)


def ssim_map(
    pred,
    target,
    *,
    data_range: float = 1.0,
    window: str = "gaussian",
    win_size: int | None = None,
    sigma: float = 1.5,
    sample_covariance: bool | None = None,
) -> torch.Tensor:
    """Per-pixel, per-channel SSIM on the valid region: ``[..., H - k + 1, W - k + 1, C]``.

    ``sample_covariance`` defaults to False for the Gaussian window and True for the uniform
    one (scikit-image's respective conventions in the two protocols).
    """
    p = as_image_tensor(pred, dtype=torch.float64)
    t = as_image_tensor(target, dtype=torch.float64)
    _check_pair(p, t)
    taps, _ = _window(window, win_size, sigma)
    k = taps.numel()
    *batch, h, w, c = p.shape
    if h < k or w < k:
        raise ValueError(
            f"SSIM with a {k}x{k} window needs images of at least {k}x{k}, got {h}x{w}"
        )
    if sample_covariance is None:
        sample_covariance = window == "uniform"
    cov_norm = (k * k) / (k * k - 1.0) if sample_covariance else 1.0

    def planes(x: torch.Tensor) -> torch.Tensor:  # [..., H, W, C] -> [N*C, 1, H, W]
        return x.reshape(-1, h, w, c).permute(0, 3, 1, 2).reshape(-1, 1, h, w)

    x, y = planes(p), planes(t)
    stacked = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # [N*C, 5, H, W]
    filt = _filter_valid(stacked, taps.to(stacked.device))
    ux, uy, uxx, uyy, uxy = filt.unbind(dim=1)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    s = s.reshape(-1, c, h - k + 1, w - k + 1).permute(0, 2, 3, 1)
    return s.reshape(*batch, h - k + 1, w - k + 1, c)


def ssim(
    pred,
    target,
    *,
    data_range: float = 1.0,
    window: str = "gaussian",
    win_size: int | None = None,
    sigma: float = 1.5,
    sample_covariance: bool | None = None,
) -> torch.Tensor:
    """Mean SSIM (valid region, channels averaged), one value per image.

    With the defaults this equals ``skimage.metrics.structural_similarity(a, b,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1,
    channel_axis=-1)``.
    """
    s = ssim_map(
        pred,
        target,
        data_range=data_range,
        window=window,
        win_size=win_size,
        sigma=sigma,
        sample_covariance=sample_covariance,
    )
    return s.mean(dim=(-3, -2, -1))


def mask_bbox(mask, *, min_size: int = 1) -> tuple[int, int, int, int]:
    """Bounding box ``(y0, y1, x0, x1)`` (exclusive ends) of a 2-D mask's true pixels.

    The box is grown symmetrically (then shifted to stay inside the image) until it is at
    least ``min_size`` on each side, so that windowed metrics have a defined value on tiny
    regions; an image smaller than ``min_size`` is an error.
    """
    m = binarize_mask(mask)
    if m.dim() != 2:
        raise ValueError(f"mask_bbox expects a 2-D mask, got shape {tuple(m.shape)}")
    ys = torch.nonzero(m.any(dim=1)).flatten()
    xs = torch.nonzero(m.any(dim=0)).flatten()
    if ys.numel() == 0:
        raise ValueError("empty mask: the masked region has no pixels")
    h, w = m.shape
    if h < min_size or w < min_size:
        raise ValueError(f"image {h}x{w} is smaller than the {min_size}x{min_size} minimum")

    def grow(lo: int, hi: int, size: int) -> tuple[int, int]:
        need = min_size - (hi - lo)
        if need > 0:
            lo -= need // 2
            hi += need - need // 2
            if lo < 0:
                hi, lo = hi - lo, 0
            if hi > size:
                lo, hi = lo - (hi - size), size
        return lo, hi

    y0, y1 = grow(int(ys[0]), int(ys[-1]) + 1, h)
    x0, x1 = grow(int(xs[0]), int(xs[-1]) + 1, w)
    return y0, y1, x0, x1


def crop_to_mask(pred, target, mask, *, min_size: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Both images cropped to the mask's bounding box with pixels outside the mask set to 0.

    This is how ``hwp-v1`` feeds windowed metrics (SSIM, LPIPS): the same region for every
    method (the ground-truth mask), background excluded, window statistics still defined.
    Single images only (``[H, W, C]``): boxes differ between images.
    """
    p = as_image_tensor(pred)
    t = as_image_tensor(target, dtype=p.dtype)
    _check_pair(p, t)
    if p.dim() != 3:
        raise ValueError("crop_to_mask works on one [H, W, C] image at a time")
    m = binarize_mask(mask)
    if m.shape != p.shape[:-1]:
        raise ValueError(f"mask shape {tuple(m.shape)} does not match image {tuple(p.shape)}")
    y0, y1, x0, x1 = mask_bbox(m, min_size=min_size)
    keep = m[y0:y1, x0:x1].unsqueeze(-1).to(p.dtype)
    return p[y0:y1, x0:x1] * keep, t[y0:y1, x0:x1] * keep


def masked_ssim(pred, target, mask, *, data_range: float = 1.0) -> torch.Tensor:
    """SSIM (Gaussian window) on the mask's bounding box with the outside set to black.

    Accepts a batch; each image uses its own box. Boxes smaller than the 11x11 window are grown
    to 11x11 (inside the image).
    """
    p = as_image_tensor(pred)
    t = as_image_tensor(target)
    m = binarize_mask(mask)
    _check_pair(p, t)
    batch = p.shape[:-3]
    pf = p.reshape(-1, *p.shape[-3:])
    tf = t.reshape(-1, *t.shape[-3:])
    mf = m.reshape(-1, *m.shape[-2:])
    vals = []
    for i in range(pf.shape[0]):
        a, b = crop_to_mask(pf[i], tf[i], mf[i], min_size=11)
        vals.append(ssim(a, b, data_range=data_range))
    return torch.stack(vals).reshape(batch)


def psnr_from_mse(err: float, *, data_range: float = 1.0, max_db: float | None = None) -> float:
    """PSNR from a (python float) MSE, optionally capped (identical images give +inf)."""
    if err <= 0:
        return math.inf if max_db is None else float(max_db)
    val = 10.0 * math.log10(data_range**2 / err)
    return val if max_db is None else min(val, float(max_db))
