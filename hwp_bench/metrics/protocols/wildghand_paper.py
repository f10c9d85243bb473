"""``wildghand-paper``: reproduces the WildGHand authors' evaluator (compatibility).

Both images are zeroed where the dataset hand mask < 0.5 or the method's own rendered
silhouette < 0.5 (a method without a silhouette is scored as if its alpha were 1 everywhere, and
the frame records ``silhouette_missing = 1``); PSNR over the whole crop including the zeros;
SSIM with scikit-image 0.19's defaults (7x7 uniform window, sample covariance, channels
averaged) and ``data_range=2`` (what skimage 0.19 assumed for float images) on the bounding
rectangle of ``mask_at_box``; LPIPS on the 8-bit quantised crops; per-capture means rounded to
3 decimals. Frames are scored at their stored size (the HWP crops are 256x256).
"""

from __future__ import annotations

from typing import Any

import torch

from hwp_bench.metrics.image import as_image_tensor, mask_bbox, psnr_from_mse, ssim
from hwp_bench.metrics.protocols.base import MSE_FLOOR, Protocol, quantise_8bit

__all__ = ["WildGHandPaper"]


class WildGHandPaper(Protocol):
    id = "wildghand-paper"
    description = (
        "Compatibility with the WildGHand authors' evaluator: images zeroed outside (dataset "
        "mask AND method silhouette); PSNR over the whole crop; skimage-0.19 default SSIM "
        "(7x7 uniform, sample covariance, data_range 2) on the mask_at_box rectangle; LPIPS "
        "on 8-bit crops; per-capture means rounded to 3 decimals."
    )

    @property
    def params(self) -> dict[str, Any]:
        return {
            "crop": "the frame as stored (HWP: 256x256 hand crop on black)",
            "region": "dataset hand mask >= 0.5 AND method silhouette >= 0.5, else zero",
            "missing_silhouette": "alpha treated as 1 everywhere; frame flagged silhouette_missing",
            "psnr": {"over": "whole crop x 3 channels", "data_range": 1.0, "mse_floor": MSE_FLOOR},
            "ssim": {
                "window": "uniform",
                "win_size": 7,
                "K1": 0.01,
                "K2": 0.03,
                "covariance": "sample",
                "region": "valid",
                "data_range": 2.0,
                "input": "bounding rectangle of mask_at_box (hand mesh box, +0.05 m z, "
                "+0.01 m all axes; rays through integer pixel coordinates)",
            },
            "lpips": {"net": "alex", "version": "0.1", "input": "round(x * 255) / 255, [-1, 1]"},
            "capture_mean": "mean of per-frame values rounded to 3 decimals",
        }

    def capture_mean(self, values) -> float:
        return round(super().capture_mean(values), 3)

    def score_frame(self, pred_color, pred_alpha, frame, *, metrics=None, hand_vertices=None):
        from hwp_bench.metrics.box import mask_at_box

        metrics = tuple(metrics or self.metrics)
        pred, gt = self._inputs(pred_color, frame)
        keep = self._gt_mask(frame)
        out: dict[str, float] = {}
        if pred_alpha is None:
            out["silhouette_missing"] = 1.0
        else:
            alpha = as_image_tensor(pred_alpha, dtype=torch.float64)
            if alpha.shape != keep.shape:
                raise ValueError(
                    f"{frame.capture}/{frame.index:05d}: silhouette is {tuple(alpha.shape)}, "
                    f"image is {tuple(keep.shape)}"
                )
            keep = keep & (alpha >= 0.5)
        k = keep.to(torch.float64).unsqueeze(-1)
        p, g = pred * k, gt * k
        if "psnr" in metrics:
            out["psnr"] = psnr_from_mse(max(float((p - g).square().mean()), MSE_FLOOR))
        if "ssim" in metrics:
            box = mask_at_box(frame, hand_vertices)
            if not box.any():
                raise ValueError(
                    f"{frame.capture}/{frame.index:05d}: mask_at_box is empty (hands off screen)"
                )
            y0, y1, x0, x1 = mask_bbox(torch.from_numpy(box), min_size=7)
            out["ssim"] = float(
                ssim(p[y0:y1, x0:x1], g[y0:y1, x0:x1], window="uniform", win_size=7, data_range=2.0)
            )
        if "lpips" in metrics:
            from hwp_bench.metrics.lpips import lpips

            with torch.no_grad():
                out["lpips"] = float(lpips(quantise_8bit(p), quantise_8bit(g)))
        return out
