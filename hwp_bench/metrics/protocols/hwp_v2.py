"""``hwp-v2``: the default protocol. Scores the avatar, not the pose error or the background.

``hwp-v1`` let a perfect avatar score below a blur and below a flat colour (docs/validity.md).
Its two causes, and what ``hwp-v2`` does about each:

1. **Edge pixels.** Along the mask's boundary the ground-truth pixel blends the hand with the
   background, while a method draws its hand on black; a perfect avatar loses there, and those
   5-7% of the pixels capped it near 25 dB. ``hwp-v2`` scores the *core* of the hand: the
   pixels the hand fully covers. For a soft (anti-aliased) mask that is coverage >= 0.99; a
   pixel next to a pixel of zero coverage is left out too, which is what makes the rule work on
   binary masks (HWP's SAM masks): there it removes the one-pixel boundary ring whose pixels
   are blended but whose coverage the mask does not say.
   The region is the *visible* hand: HWP-Synth's ``visible_mask`` annotation when the frame has
   one (its ``mask`` is amodal: it includes hand pixels hidden behind a forearm, which no hand
   avatar can match), else the frame's mask (HWP's masks are of the visible hand).
2. **Sub-pixel pose disagreement.** Even at well aligned test poses a method's silhouette edge
   lands a fraction of a pixel off the true one, and its render there is partly covered: hand
   colour times a coverage below 1, i.e. darkened towards black. ``hwp-v2`` judges the colour a
   method draws for the hand: ``color / clamp(alpha, 0.5, 1)``. Where the method covers at least
   half of a core pixel its partial coverage is forgiven; where it covers less, the pixel keeps
   its dark, unforgiven value. A method that returns no alpha is scored as drawn.
   The larger pose errors of the estimated parameters are what the ``aligned`` test-pose track
   removes (:mod:`hwp_bench.tracks`).

What ``hwp-v1`` got right is kept: the region depends on the ground truth only, never on the
method, so drawing a smaller silhouette cannot pay (an eroded silhouette leaves core pixels
black). PSNR over the core's pixels; SSIM (11x11 Gaussian) and LPIPS (AlexNet) on the core's
bounding box with everything outside the core black in both images; float images.

Every step is a tensor operation on ``[..., H, W]`` / ``[..., H, W, 3]`` (:func:`core_region`,
:func:`straighten`, :func:`region_psnr`), so scoring batches of frames stays a few torch calls.
"""

from __future__ import annotations

from typing import Any

import torch

from hwp_bench.metrics.image import as_image_tensor, crop_to_mask, ssim
from hwp_bench.metrics.protocols.base import MSE_FLOOR, Protocol

__all__ = ["ALPHA_FLOOR", "FULL", "HwpV2", "core_region", "region_psnr", "straighten"]

#: A pixel is fully hand when its coverage is at least this (soft masks: 8-bit coverage 255).
FULL = 0.99
#: A pixel counts as touched by the hand when its coverage exceeds this.
TOUCHED = 0.01
#: Coverage of the method below which a pixel's colour is not un-premultiplied.
ALPHA_FLOOR = 0.5


def core_region(mask) -> torch.Tensor:
    """Boolean ``[..., H, W]``: pixels fully covered by the hand whose four neighbours are all
    touched by it (image borders replicate: a hand cut by the frame edge is not blended there).
    """
    m = as_image_tensor(mask, dtype=torch.float64)
    h, w = m.shape[-2:]
    touched = (m > TOUCHED).to(torch.float64).reshape(-1, 1, h, w)
    pad = torch.nn.functional.pad(touched, (1, 1, 1, 1), mode="replicate")
    pad = pad.reshape(*m.shape[:-2], h + 2, w + 2) > 0.5
    nb = pad[..., :-2, 1:-1] & pad[..., 2:, 1:-1] & pad[..., 1:-1, :-2] & pad[..., 1:-1, 2:]
    return (m >= FULL) & nb


def straighten(pred: torch.Tensor, alpha: torch.Tensor | None) -> torch.Tensor:
    """``pred / clamp(alpha, ALPHA_FLOOR, 1)``, clipped to [0, 1]: the colour a method draws
    for the hand where it covers at least half a pixel (``[..., H, W, 3]`` and ``[..., H, W]``).
    """
    if alpha is None:
        return pred
    a = alpha.to(pred.dtype).clamp(ALPHA_FLOOR, 1.0).unsqueeze(-1)
    return (pred / a).clamp(0.0, 1.0)


def region_psnr(pred: torch.Tensor, gt: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """PSNR (data range 1) over the region's pixels and 3 channels, per leading index."""
    m = region.to(pred.dtype).unsqueeze(-1)
    err = ((pred - gt).square() * m).sum(dim=(-3, -2, -1)) / (m.sum(dim=(-3, -2, -1)) * 3)
    return -10.0 * torch.log10(err.clamp_min(MSE_FLOOR))


class HwpV2(Protocol):
    id = "hwp-v2"
    description = (
        "Default. Core of the visible hand mask (fully covered pixels, blended edge pixels "
        "left out) for every method; the method's colour un-premultiplied where its alpha >= "
        "0.5; PSNR over the core; SSIM (11x11 Gaussian) and LPIPS on the core's bounding box, "
        "outside black; float images."
    )

    @property
    def params(self) -> dict[str, Any]:
        return {
            "region": (
                f"core of the visible hand mask (annotation visible_mask if present, else mask): "
                f"coverage >= {FULL} and all 4 neighbours > {TOUCHED} (borders replicate)"
            ),
            "prediction": (
                f"float, color / clamp(alpha, {ALPHA_FLOOR}, 1) when alpha is given, "
                "clipped to [0, 1], no quantisation"
            ),
            "psnr": {"over": "core pixels x 3 channels", "data_range": 1.0, "mse_floor": MSE_FLOOR},
            "ssim": {
                "window": "gaussian",
                "win_size": 11,
                "sigma": 1.5,
                "K1": 0.01,
                "K2": 0.03,
                "covariance": "population",
                "region": "valid",
                "data_range": 1.0,
                "input": "core bounding box (>= 11 px), outside core black",
            },
            "lpips": {
                "net": "alex",
                "version": "0.1",
                "input": "core bounding box (>= 32 px), outside core black, [-1, 1]",
            },
            "capture_mean": "mean of per-frame values",
        }

    @staticmethod
    def scored_mask(frame):
        """The ground-truth mask the region comes from: the visible hand."""
        ann = frame.annotations or {}
        visible = ann.get("visible_mask")
        return visible if visible is not None else frame.mask

    def region(self, frame) -> torch.Tensor:
        """The scored region of ``frame`` (the same for every method)."""
        self._gt_mask(frame)  # clear errors for a missing, misshapen or empty mask
        region = core_region(self.scored_mask(frame))
        if region.shape != (frame.height, frame.width):
            raise ValueError(f"visible mask shape {tuple(region.shape)} does not match the image")
        if not bool(region.any()):
            raise ValueError(
                f"{frame.capture}/{frame.index:05d}: the hand mask has no fully covered pixel "
                "(hand too small or too thin to score)"
            )
        return region

    def score_frame(self, pred_color, pred_alpha, frame, *, metrics=None, hand_vertices=None):
        metrics = tuple(metrics or self.metrics)
        pred, gt = self._inputs(pred_color, frame)
        region = self.region(frame)
        alpha = None
        if pred_alpha is not None:
            alpha = as_image_tensor(pred_alpha, dtype=torch.float64)
            if alpha.shape != region.shape:
                raise ValueError(
                    f"{frame.capture}/{frame.index:05d}: alpha is {tuple(alpha.shape)}, "
                    f"image is {tuple(region.shape)}"
                )
        pred = straighten(pred, alpha)
        out: dict[str, float] = {}
        if "psnr" in metrics:
            out["psnr"] = float(region_psnr(pred, gt, region))
        if "ssim" in metrics:
            a, b = crop_to_mask(pred, gt, region, min_size=11)
            out["ssim"] = float(ssim(a, b))
        if "lpips" in metrics:
            from hwp_bench.metrics.lpips import MIN_SIZE, lpips

            a, b = crop_to_mask(pred, gt, region, min_size=MIN_SIZE)
            with torch.no_grad():
                out["lpips"] = float(lpips(a, b))
        return out
