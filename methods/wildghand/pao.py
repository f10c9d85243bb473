"""Perturbation-aware optimisation (PAO), paper Sec. III-D, Eqs. (5)-(6).

For each region proposal y_u of a training frame (``segments.py``), with the rendered hand
silhouette y_h and the residual r = |render - frame| (min-max normalised to [0, 1] over the
frame, channel mean, *detached*):

    mu_u     = |y_u & y_h| / |y_h|                     (pao_mu="hand", Eq. 5 as printed)
             = |y_u & y_h| / |y_u|                     (pao_mu="region", the prose reading)
    E_u      = mean of r over y_u & y_h
    lambda_u = alpha * relu(T_E - E_u) * relu(mu_u - T_mu) * 1 / (1 + beta * |omega_l|)
    W        = sum_u lambda_u y_u + (1 - y_h) * relu(T_b - mean(r))                    (Eq. 6)

The thresholds T_E, T_mu, T_b are learnable (their own learning rate, 1e-6); the objective
adds ``-w_pao * mean(W)`` so that they are not driven to all-zero weights (Eq. 8). The residual
and omega are detached: the photometric loss must not be lowered by making a region look
worse, and PAO must not train DPD's omega.

Two forms (``pao_form``):

* ``paper`` (default): the equations above. omega enters as ``|omega|``: a signed omega would
  make the factor blow up as omega -> -1; the authors' code also takes the absolute value.
* ``code``: what the authors' training script computes, where it differs from the paper:
  the temporal factor is ``1/1 + 1000 * int(|omega|)`` which, by operator precedence and
  integer truncation of |omega| < 1, is always 1; region weights are zeroed outside the
  frame's hand mask (the dataset's SAM mask) when one is given; the background term is added
  where the rendered alpha < 0.95 and its mean residual is normalised by the hand-mask area;
  y_h for mu and E is alpha >= 0.1.

``binary`` mode (``pao=binary``, Table VII): W = 1 on proposal regions selected by
``mu_u >= T_mu`` and on the background outside y_h, 0 elsewhere; no error or temporal
weighting and no -mean(W) term.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


class PAOThresholds(nn.Module):
    """The learnable thresholds T_E, T_mu, T_b (optimised with their own learning rate)."""

    def __init__(self, t_e: float = 1.0, t_mu: float = 0.3, t_b: float = 3.0) -> None:
        super().__init__()
        self.t_e = nn.Parameter(torch.tensor(float(t_e)))
        self.t_mu = nn.Parameter(torch.tensor(float(t_mu)))
        self.t_b = nn.Parameter(torch.tensor(float(t_b)))


@dataclass
class PAOResult:
    weight: torch.Tensor  # W [H, W], differentiable w.r.t. the thresholds
    residual: torch.Tensor  # r [H, W] in [0, 1]
    hand: torch.Tensor  # y_h [H, W] bool


def normalized_residual(render: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """r = channel mean of |render - target|, min-max normalised over the frame (detached)."""
    r = (render.detach() - target).abs().mean(-1)
    lo, hi = r.min(), r.max()
    return (r - lo) / (hi - lo).clamp(min=1e-8)


def pao_weights(
    render: torch.Tensor,
    target: torch.Tensor,
    alpha: torch.Tensor,
    labels: torch.Tensor,
    thresholds: PAOThresholds,
    *,
    omega: float | torch.Tensor = 0.0,
    mode: str = "full",
    form: str = "paper",
    mu_norm: str = "hand",
    scale: float = 100.0,
    beta: float = 1.0,
    silhouette: float = 0.5,
    frame_mask: torch.Tensor | None = None,
) -> PAOResult:
    """The weight map W of one frame.

    ``render``/``target`` [H, W, 3], ``alpha`` [H, W] (rendered silhouette), ``labels``
    [S, H, W] int (region ids per proposal level, -1 = no region).
    """
    r = normalized_residual(render, target)
    a = alpha.detach()
    if form == "code":
        y_h = a >= 0.1
        background = a < 0.95
    else:
        y_h = a > silhouette
        background = ~y_h
    hand_count = y_h.sum().clamp(min=1).to(r.dtype)
    h, w = r.shape
    weight = torch.zeros(h, w, dtype=r.dtype, device=r.device)
    if isinstance(omega, torch.Tensor):
        omega = float(omega.detach().abs())
    temporal = 1.0 if form == "code" else 1.0 / (1.0 + beta * abs(float(omega)))

    for level in labels:
        lab = level.reshape(-1).long()
        valid = lab >= 0
        n = int(lab.max().item()) + 1 if valid.any() else 0
        if n == 0:
            continue
        lab_c = lab.clamp(min=0)
        yh = (y_h.reshape(-1) & valid).to(r.dtype)
        in_hand = torch.zeros(n, dtype=r.dtype).index_add_(0, lab_c, yh)
        size = torch.zeros(n, dtype=r.dtype).index_add_(0, lab_c, valid.to(r.dtype))
        err = torch.zeros(n, dtype=r.dtype).index_add_(0, lab_c, r.reshape(-1) * yh)
        e_u = err / in_hand.clamp(min=1)
        mu = in_hand / (hand_count if mu_norm == "hand" else size.clamp(min=1))
        if mode == "binary":
            lam = ((mu >= thresholds.t_mu.detach()) & (in_hand > 0)).to(r.dtype)
        else:
            lam = scale * F.relu(thresholds.t_e - e_u) * F.relu(mu - thresholds.t_mu)
            lam = lam * (in_hand > 0).to(r.dtype) * temporal
        per_pixel = lam[lab_c] * valid.to(r.dtype)
        weight = weight + per_pixel.reshape(h, w)

    if form == "code" and frame_mask is not None:
        weight = weight * (frame_mask > 0.5).to(weight.dtype)
    if mode == "binary":
        weight = torch.clamp(weight + background.to(r.dtype), max=1.0)
        return PAOResult(weight=weight.detach(), residual=r, hand=y_h)
    if form == "code" and frame_mask is not None:
        mean_res = r.sum() / (frame_mask > 0.5).sum().clamp(min=1)
    else:
        mean_res = r.mean()
    weight = weight + background.to(r.dtype) * F.relu(thresholds.t_b - mean_res)
    return PAOResult(weight=weight, residual=r, hand=y_h)
