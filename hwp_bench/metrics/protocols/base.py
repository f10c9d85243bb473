"""The Protocol base class: an id, its parameters, ``score_frame`` and the capture mean.

A number is meaningless without the protocol that produced it (region, crop, SSIM window,
quantisation all move PSNR by decibels), so every result file and table names its protocol id
and stores its parameters (``params``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from hwp_bench.metrics.image import as_image_tensor, binarize_mask

__all__ = ["MSE_FLOOR", "Protocol", "UnscorableFrame", "quantise_8bit", "split_scorable"]

# Identical images have infinite PSNR, which JSON cannot hold: MSE is floored at 1e-10 (100 dB).
MSE_FLOOR = 1e-10


class UnscorableFrame(ValueError):
    """A frame whose ground truth holds nothing a protocol can score: no hand pixel (a video
    frame where the hands left the view), or no pixel of the protocol's region.

    Such a frame says nothing about any method, and it is the same for every method (the
    region comes from the ground truth alone). The runner and ``hwp-bench eval`` leave it out
    and list it in the result file (``unscored_frames``) instead of failing the capture. A
    broken ground truth (no mask at all, a mask of the wrong shape) is a plain ``ValueError``
    and still stops the scoring.
    """


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

    def score_frames(
        self, items, *, metrics: tuple[str, ...] | None = None
    ) -> list[dict[str, float]]:
        """Scores of several frames: ``items`` are ``(pred_color, pred_alpha, frame,
        hand_vertices)`` tuples, the results are in the same order.

        The evaluation paths (:mod:`hwp_bench.metrics.parallel`) hand each scoring process
        chunks of frames through this method, so every protocol is scored on all cores. The
        default scores the frames one by one; a protocol may override it to batch work across
        the frames, and must then return what ``score_frame`` returns for each frame (the
        tests hold every registered protocol to that, to 1e-6).
        """
        return [self.score_frame(c, a, f, metrics=metrics, hand_vertices=v) for c, a, f, v in items]

    def check_frame(self, frame) -> None:
        """Raise :class:`UnscorableFrame` when ``frame`` has nothing to score, ``ValueError``
        when its ground truth is broken; return None when it can be scored.

        The default asks for a non-empty hand mask; a protocol whose region is smaller
        (``hwp-v2``'s core of the visible hand) overrides it. Cheap: it reads only the mask.
        """
        self._gt_mask(frame)

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
            raise UnscorableFrame(f"{frame.capture}/{frame.index:05d}: the hand mask is empty")
        return m


def split_scorable(protocol, frames) -> tuple[list, dict[int, str]]:
    """``(frames that can be scored, {index: reason} for those that cannot)``.

    Uses ``protocol.check_frame`` (a protocol without it, such as a plugin written before it
    existed, has every frame scored as before). Only :class:`UnscorableFrame` moves a frame to
    the second group; any other error propagates.
    """
    check = getattr(protocol, "check_frame", None)
    keep: list = []
    left_out: dict[int, str] = {}
    for frame in frames:
        try:
            if check is not None:
                check(frame)
        except UnscorableFrame as exc:
            left_out[int(frame.index)] = str(exc)
            continue
        keep.append(frame)
    return keep, left_out


def quantise_8bit(x: torch.Tensor) -> torch.Tensor:
    """What saving a float render as an 8-bit PNG does: round to the nearest of 256 levels."""
    return torch.round(x.clamp(0, 1) * 255.0) / 255.0


def crop_ssim_lpips(
    pred: torch.Tensor, gt: torch.Tensor, region: torch.Tensor, metrics
) -> dict[str, float]:
    """SSIM and/or LPIPS (as ``metrics`` asks) on the box around ``region``: both are
    window/patch measures, so they see the scored region's bounding box (at least their
    window's size), the same way in every protocol that scores a region."""
    from hwp_bench.metrics.image import crop_to_mask, ssim

    out: dict[str, float] = {}
    if "ssim" in metrics:
        a, b = crop_to_mask(pred, gt, region, min_size=11)
        out["ssim"] = float(ssim(a, b))
    if "lpips" in metrics:
        from hwp_bench.metrics.lpips import MIN_SIZE, lpips

        a, b = crop_to_mask(pred, gt, region, min_size=MIN_SIZE)
        with torch.no_grad():
            out["lpips"] = float(lpips(a, b))
    return out


def gaussian_ssim_params(region_input: str) -> dict[str, Any]:
    """The SSIM settings of the region protocols (scikit-image's Gaussian form), described for
    ``params``; ``region_input`` says which box the two images are cropped to."""
    return {
        "window": "gaussian",
        "win_size": 11,
        "sigma": 1.5,
        "K1": 0.01,
        "K2": 0.03,
        "covariance": "population",
        "region": "valid",
        "data_range": 1.0,
        "input": region_input,
    }
