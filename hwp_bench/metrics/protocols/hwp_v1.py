"""``hwp-v1``: the first benchmark protocol (ground-truth mask region, float images).

The ground-truth hand mask of the test frame defines the region, identically for every method
(a method cannot improve its score by rendering a smaller silhouette). PSNR over the region's
pixels; SSIM (11x11 Gaussian) and LPIPS on the mask's bounding box with everything outside the
mask black in both images; float images, no quantisation. Kept registered and unchanged so that
old result files still verify.
"""

from __future__ import annotations

from typing import Any

import torch

from hwp_bench.metrics.image import psnr_from_mse
from hwp_bench.metrics.protocols.base import (
    MSE_FLOOR,
    Protocol,
    crop_ssim_lpips,
    gaussian_ssim_params,
)

__all__ = ["HwpV1"]


class HwpV1(Protocol):
    id = "hwp-v1"
    description = (
        "Ground-truth hand mask region for every method; PSNR over mask pixels; SSIM (11x11 "
        "Gaussian, sigma 1.5) and LPIPS (AlexNet v0.1) on the mask's bounding box with the "
        "outside black; float images."
    )

    @property
    def params(self) -> dict[str, Any]:
        return {
            "region": "ground-truth hand mask >= 0.5",
            "psnr": {"over": "mask pixels x 3 channels", "data_range": 1.0, "mse_floor": MSE_FLOOR},
            "ssim": gaussian_ssim_params("mask bounding box (>= 11 px), outside mask black"),
            "lpips": {
                "net": "alex",
                "version": "0.1",
                "input": "mask bounding box (>= 32 px), outside mask black, [-1, 1]",
            },
            "prediction": "float, clipped to [0, 1], no quantisation",
            "capture_mean": "mean of per-frame values",
        }

    def score_frame(self, pred_color, pred_alpha, frame, *, metrics=None, hand_vertices=None):
        metrics = tuple(metrics or self.metrics)
        pred, gt = self._inputs(pred_color, frame)
        mask = self._gt_mask(frame)
        out: dict[str, float] = {}
        if "psnr" in metrics:
            m = mask.to(torch.float64).unsqueeze(-1)
            err = float(((pred - gt).square() * m).sum() / (m.sum() * 3))
            out["psnr"] = psnr_from_mse(max(err, MSE_FLOOR))
        out.update(crop_ssim_lpips(pred, gt, mask, metrics))
        return out
