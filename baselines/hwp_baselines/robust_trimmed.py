"""``robust-trimmed``: the Gaussian hand fitted with a RobustNeRF-style trimmed photometric loss.

RobustNeRF [Sabour et al., CVPR 2023] treats distractors as outliers of the photometric loss:
per batch, pixels whose residual is above a percentile of the residual distribution are
dropped, after the inlier mask is smoothed spatially (distractors are spatially coherent, so an
isolated large residual is more likely a hard inlier than an occluder).

Here, on WildGHand's Gaussian hand without DPD and PAO (:mod:`hwp_baselines.gaussian_hand`),
per training frame:

1. residual ``r = mean_c |render - target|`` (target blacked out off the hand mask, as for
   every Gaussian method here), detached;
2. the threshold is the ``trim_percentile``-th percentile of ``r`` over the *hand region*
   (ground-truth mask or rendered silhouette > 0.5). RobustNeRF takes the percentile over all
   pixels of a batch of rays of a scene; here most pixels are black background with zero
   residual, which would put any percentile at 0 and drop every hand pixel, hence the region;
3. inlier mask ``r <= threshold`` (pixels off the region are inliers), box-blurred with a
   ``trim_blur`` x ``trim_blur`` kernel (RobustNeRF's 3x3) and kept where >= 0.5;
4. outlier pixels of the render are replaced by the target: no loss, no gradient, for every
   term that compares the render with the frame (L1, perceptual).

Default ``trim_percentile = 80``: the largest 20% residuals of each frame's hand region are
dropped (RobustNeRF's 50% is for scenes where the inliers dominate every batch; a hand region
in a clean frame is all inlier, and dropping half of it costs too much signal on 80 frames).
RobustNeRF's second, 16x16 patch-level test is not applied (at 128 px a patch is a finger).
Status ``approximate``: the robust loss is RobustNeRF's, on a different representation.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F
from wildghand.hooks import TrainingHooks

from hwp_baselines.gaussian_hand import (
    GaussianHandBaseline,
    baseline_config,
    baseline_neutral_options,
    baseline_presets,
)
from hwp_bench.api import MethodInfo

PAPER = (
    "Sabour, Vora, Duckworth, Krasin, Fleet, Tagliasacchi. RobustNeRF: Ignoring Distractors "
    "with Robust Losses. CVPR 2023"
)


def trimmed_inliers(
    residual: torch.Tensor, region: torch.Tensor, percentile: float, blur: int
) -> torch.Tensor:
    """Bool [H, W]: pixels kept by the trimmed loss (see the module docstring)."""
    inlier = torch.ones_like(residual, dtype=torch.bool)
    if bool(region.any()) and percentile < 100:
        thr = torch.quantile(residual[region].float(), percentile / 100.0)
        inlier = ~region | (residual <= thr)
    if blur > 1:
        k = torch.ones(1, 1, blur, blur, dtype=residual.dtype, device=residual.device) / blur**2
        smooth = F.conv2d(inlier.to(residual.dtype)[None, None], k, padding=blur // 2)[0, 0]
        inlier = smooth[: residual.shape[0], : residual.shape[1]] >= 0.5
    return inlier


class TrimmedLoss(TrainingHooks):
    """Outlier pixels of each training render take their target's value (``frame_render``)."""

    def attach(self, method) -> None:
        self.percentile = float(method.config["trim_percentile"])
        self.blur = int(method.config["trim_blur"])
        self.inlier_fraction: dict[int, float] = {}

    def frame_render(self, method, frame, out: dict) -> dict:
        color, alpha = out["color"], out["alpha"]
        target = method.training_target(frame)
        residual = (color.detach() - target).abs().mean(-1)
        region = alpha.detach() > 0.5
        if frame.mask is not None:
            region = region | (frame.mask > 0.5)
        keep = trimmed_inliers(residual, region, self.percentile, self.blur)
        self.inlier_fraction[frame.index] = (
            float(keep[region].float().mean()) if region.any() else 1.0
        )
        return {**out, "color": torch.where(keep[..., None], color, target)}

    def diagnostics(self, method) -> dict:
        return {"inlier_fraction": dict(sorted(self.inlier_fraction.items()))}


class RobustTrimmed(GaussianHandBaseline):
    training_hooks = (*GaussianHandBaseline.training_hooks, TrimmedLoss)

    @classmethod
    def method_info(cls) -> MethodInfo:
        return MethodInfo(
            id="robust-trimmed",
            name="Trimmed loss (RobustNeRF-style)",
            paper=PAPER,
            version="0.2.0",
            description="WildGHand's Gaussian hand without DPD/PAO, fitted with a trimmed "
            "photometric loss that drops each frame's largest residuals.",
            required_features=("image", "mask", "hand_params", "camera"),
            hand_types=("single", "inter"),
            default_config=baseline_config({"trim_percentile": 80.0, "trim_blur": 3}),
            neutral_options=baseline_neutral_options(),
            presets=baseline_presets(),
            implementation_status="approximate",
            notes="Beyond the paper: RobustNeRF's trimmed loss (percentile over the hand region, "
            "3x3 smoothing; no patch test) on the same Gaussian hand as WildGHand.",
        )
