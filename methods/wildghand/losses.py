"""WildGHand's whole training objective: named terms, each with its weight's config key.

Paper Eqs. (7)-(9); the weights are ``w_<name>`` keys of ``config.py`` (docs/design.md,
section 'WildGHand'). Per training frame, with W the PAO weight map (all ones when
``pao=off``), I the render and I_l the frame's target (blacked out off the hand mask):

    name         weight key     value
    rec          w_rec          mean(W * |I - I_l|)              W-weighted L1 (w_rec = 100)
    perceptual   w_perceptual   LPIPS(I, I_l')                   I_l' = I_l where W > 0, else I
    silhouette   w_silhouette   mean(|alpha - mask| * [W > 0])   rendered alpha vs the hand mask
    opacity      w_opacity      mean((o - 1)^2)                  opacities towards 1
    shadow       w_shadow       mean((xi - 1)^2)                 shadow coefficients towards 1
    bias         w_bias         mean(|delta_g|)                  DPD bias magnitude (dpd only)
    lap          w_lap          Lap(log-scales) + Lap(albedo) + Lap(offsets / clamp range)
    pao          w_pao          -mean(W)                         keeps PAO from zeroing W (full)

and once per step (not per frame):

    cross        w_cross        mean(|T_left - T_right|)         two hands only (Eq. 9)

The frame loss is ``sum_k weight_k * value_k`` over the terms that apply to the frame (a term
returns ``None`` where it does not: no mask, DPD off, a zero weight that skips work); the step
loss is the mean frame loss of the batch plus the step terms. ``WildGHand`` evaluates
:data:`OBJECTIVE` and logs every term's unweighted value under its name; baselines add terms
through ``hooks.TrainingHooks.frame_loss_terms``. Changing a loss = changing a term function
here (or its weight in ``config.py``); adding one = a new :class:`LossTerm` in
:data:`OBJECTIVE` and its ``w_`` key in ``config.py``.

Perceptual term: LPIPS (AlexNet) from ``hwp_bench.metrics`` (our torchvision-free port,
frozen weights). Where its weights cannot be had (no registry access), D-SSIM
``(1 - SSIM) / 2`` is the documented substitute: both are structural, local-window losses that
are insensitive to the small colour shifts L1 already handles. Pixels that PAO gives zero
weight are made equal in both images (the target takes the detached render) so that the
perceptual and silhouette terms do not re-introduce what PAO removed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

from wildghand.geometry import laplacian_loss


def dssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(1 - SSIM) / 2 with an 11x11 Gaussian window (sigma 1.5), images [H, W, 3]."""
    x = pred.permute(2, 0, 1)[None]
    y = target.permute(2, 0, 1)[None]
    coords = torch.arange(11, dtype=x.dtype, device=x.device) - 5
    g = torch.exp(-(coords**2) / (2 * 1.5**2))
    g = g / g.sum()
    win = (g[:, None] * g[None, :]).expand(3, 1, 11, 11)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, win, padding=5, groups=3)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    ssim = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return (1.0 - ssim.mean()) / 2.0


class Perceptual:
    """The perceptual term: LPIPS if available (``kind`` auto/lpips), else D-SSIM."""

    def __init__(self, kind: str = "auto") -> None:
        self.kind = kind
        self.net = None
        if kind in ("auto", "lpips"):
            try:
                from hwp_bench.metrics.lpips import get_lpips

                self.net = get_lpips()
                self.kind = "lpips"
            except Exception as exc:  # no weights here (offline) or metrics not installed
                if kind == "lpips":
                    raise
                warnings.warn(
                    f"LPIPS unavailable ({exc}); using D-SSIM as the perceptual term",
                    stacklevel=2,
                )
                self.kind = "dssim"

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.kind == "none":
            return pred.new_zeros(())
        if self.kind == "lpips" and self.net is not None and min(pred.shape[:2]) >= 32:
            from hwp_bench.metrics.lpips import lpips

            self.net.to(pred.device)
            return lpips(pred, target, net=self.net).mean()
        return dssim(pred, target)


def weighted_l1(render: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """mean over pixels and channels of W * |render - target| (Eq. 7's W (.) L_rec)."""
    return (weight[..., None] * (render - target).abs()).mean()


def keep_where(weight: torch.Tensor, target: torch.Tensor, render: torch.Tensor) -> torch.Tensor:
    """Target with PAO-rejected pixels (W == 0) replaced by the detached render."""
    keep = (weight.detach() > 0)[..., None] if target.dim() == 3 else weight.detach() > 0
    return torch.where(keep, target, render.detach())
