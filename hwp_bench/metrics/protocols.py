"""Evaluation protocols: named, parameterised ways of turning a render into scores.

A number is meaningless without the protocol that produced it (region, crop, SSIM window,
quantisation all move PSNR by decibels), so every result file and table names its protocol id
and stores its parameters. Two protocols are registered (DESIGN.md section 7):

``hwp-v1`` (default): the benchmark's own. The ground-truth hand mask of the test frame defines
the region, identically for every method (a method cannot improve its score by rendering a
smaller silhouette). PSNR over the region's pixels; SSIM (11x11 Gaussian) and LPIPS on the
mask's bounding box with everything outside the mask black in both images; float images, no
quantisation.

``wildghand-paper`` (compatibility): reproduces the WildGHand authors' evaluator so that our
numbers can sit beside the paper's tables. Both images are zeroed where the dataset hand mask
< 0.5 or the method's own rendered silhouette < 0.5 (a method without a silhouette is scored as
if its alpha were 1 everywhere, and the frame records ``silhouette_missing = 1``); PSNR over the
whole crop including the zeros; SSIM with scikit-image 0.19's defaults (7x7 uniform window,
sample covariance, channels averaged) and ``data_range=2`` (what skimage 0.19 assumed for float
images) on the bounding rectangle of ``mask_at_box``; LPIPS on the 8-bit quantised crops;
per-capture means rounded to 3 decimals. The protocol scores frames at their stored size (the
HWP crops are 256x256).

Extra protocols: subclass :class:`Protocol` and :func:`register_protocol` it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL, HIGHER_IS_BETTER
from hwp_bench.metrics.image import (
    as_image_tensor,
    binarize_mask,
    crop_to_mask,
    mask_bbox,
    psnr_from_mse,
    ssim,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "HIGHER_IS_BETTER",
    "HwpV1",
    "Protocol",
    "WildGHandPaper",
    "get_protocol",
    "list_protocols",
    "register_protocol",
]

# Identical images have infinite PSNR, which JSON cannot hold: MSE is floored at 1e-10 (100 dB).
MSE_FLOOR = 1e-10


class Protocol:
    """Base class: an id, its parameters and ``score_frame``."""

    id: str = ""
    description: str = ""
    metrics: tuple[str, ...] = ("psnr", "ssim", "lpips")

    @property
    def params(self) -> dict[str, Any]:
        """Everything that determines the numbers (stored in every result file)."""
        raise NotImplementedError

    def score_frame(
        self,
        pred_color,
        pred_alpha,
        frame,
        *,
        metrics: tuple[str, ...] | None = None,
        hand_vertices: np.ndarray | None = None,
    ) -> dict[str, float]:
        """Scores of one rendered frame against ``frame``'s ground truth."""
        raise NotImplementedError

    def capture_mean(self, values) -> float:
        """The capture-level value of a metric from its per-frame values."""
        vals = [float(v) for v in values]
        if not vals:
            raise ValueError("no per-frame values to average")
        return float(math.fsum(vals) / len(vals))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "params": self.params}

    def __repr__(self) -> str:
        return f"<protocol {self.id}>"

    # -- helpers shared by the protocols ------------------------------------------------------
    @staticmethod
    def _inputs(pred_color, frame) -> tuple[torch.Tensor, torch.Tensor]:
        gt = as_image_tensor(frame.image, dtype=torch.float64)
        pred = as_image_tensor(pred_color, dtype=torch.float64)
        if pred.shape != gt.shape:
            raise ValueError(
                f"{frame.capture}/{frame.index:05d}: prediction is {tuple(pred.shape)}, "
                f"ground truth is {tuple(gt.shape)}"
            )
        if not bool(torch.isfinite(pred).all()):
            raise ValueError(f"{frame.capture}/{frame.index:05d}: prediction has NaN/inf pixels")
        return pred.clamp(0.0, 1.0), gt

    @staticmethod
    def _gt_mask(frame) -> torch.Tensor:
        if frame.mask is None:
            raise ValueError(
                f"{frame.capture}/{frame.index:05d}: the frame has no ground-truth hand mask, "
                "which every protocol needs to define the scored region"
            )
        m = binarize_mask(frame.mask)
        if m.shape != (frame.height, frame.width):
            raise ValueError(f"mask shape {tuple(m.shape)} does not match the image")
        if not bool(m.any()):
            raise ValueError(f"{frame.capture}/{frame.index:05d}: the hand mask is empty")
        return m


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
            "ssim": {
                "window": "gaussian",
                "win_size": 11,
                "sigma": 1.5,
                "K1": 0.01,
                "K2": 0.03,
                "covariance": "population",
                "region": "valid",
                "data_range": 1.0,
                "input": "mask bounding box (>= 11 px), outside mask black",
            },
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
        if "ssim" in metrics:
            a, b = crop_to_mask(pred, gt, mask, min_size=11)
            out["ssim"] = float(ssim(a, b))
        if "lpips" in metrics:
            from hwp_bench.metrics.lpips import MIN_SIZE, lpips

            a, b = crop_to_mask(pred, gt, mask, min_size=MIN_SIZE)
            with torch.no_grad():
                out["lpips"] = float(lpips(a, b))
        return out


def quantise_8bit(x: torch.Tensor) -> torch.Tensor:
    """What saving a float render as an 8-bit PNG does: round to the nearest of 256 levels."""
    return torch.round(x.clamp(0, 1) * 255.0) / 255.0


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


_REGISTRY: dict[str, Protocol] = {}


def register_protocol(protocol: Protocol) -> Protocol:
    """Add a protocol instance to the registry (its id must be new)."""
    if not protocol.id:
        raise ValueError("a protocol needs an id")
    if protocol.id in _REGISTRY and _REGISTRY[protocol.id] is not protocol:
        raise ValueError(f"protocol {protocol.id!r} is already registered")
    _REGISTRY[protocol.id] = protocol
    return protocol


def get_protocol(protocol_id: str | None = None) -> Protocol:
    """The registered protocol ``protocol_id`` (default ``hwp-v1``)."""
    pid = protocol_id or DEFAULT_PROTOCOL
    try:
        return _REGISTRY[pid]
    except KeyError:
        raise KeyError(
            f"unknown protocol {pid!r}; registered: {', '.join(sorted(_REGISTRY))}"
        ) from None


def list_protocols() -> list[str]:
    return sorted(_REGISTRY)


register_protocol(HwpV1())
register_protocol(WildGHandPaper())
