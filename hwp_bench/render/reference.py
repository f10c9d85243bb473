"""The ``reference`` backend: dense, pure torch, autograd. The oracle for the other backends.

Every (depth-sorted) Gaussian is evaluated at every pixel; the gsplat compositing rules are
written as masks so that autograd differentiates exactly what the forward computes:

- ``power = a dx^2/2 + b dx dy + c dy^2/2`` with ``dx = mean_x - (j + 0.5)``;
- ``alpha = min(0.999, opacity * exp(-power))``; a fragment is skipped when ``power < 0`` or
  ``alpha < 1/255``;
- front to back, ``T_i = prod_{j<i} (1 - alpha_j)``; compositing stops *before* the first
  fragment whose ``T_i (1 - alpha_i) <= 1e-4``. Because the running product can only fall,
  "not yet stopped at i" is exactly ``prod_{j<=i} (1 - alpha_j) > 1e-4`` over the skipped-aware
  alphas, a plain mask;
- ``feature = sum_i f_i alpha_i T_i`` and ``alpha = 1 - prod_i (1 - alpha_i)``.

Compositing runs in float64 whatever the input dtype (outputs are cast back), so threshold
decisions are taken at the same precision as the ``cpu`` backend's kernels. Pixels are processed
in chunks under activation checkpointing, so memory stays bounded (O(chunk x N)) at the price of
recomputing each chunk in the backward pass: this backend is meant to be slow and obvious.
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from hwp_bench.render.projection import ALPHA_MAX, ALPHA_MIN, T_MIN, pixel_centres

#: Gaussian-pixel pairs per chunk (bounds the reference's working memory to a few hundred MB).
CHUNK_PAIRS = 1_000_000


def _composite_chunk(
    px: torch.Tensor,
    py: torch.Tensor,
    means2d: torch.Tensor,
    conics: torch.Tensor,
    opacities: torch.Tensor,
    feats: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    dx = means2d[None, :, 0] - px[:, None]  # [P, M]
    dy = means2d[None, :, 1] - py[:, None]
    power = 0.5 * conics[None, :, 0] * dx * dx + 0.5 * conics[None, :, 2] * dy * dy
    power = power + conics[None, :, 1] * dx * dy
    alpha = torch.clamp_max(opacities[None, :] * torch.exp(-power), ALPHA_MAX)
    used = (power >= 0) & (alpha >= ALPHA_MIN)
    alpha = torch.where(used, alpha, torch.zeros_like(alpha))
    with torch.no_grad():
        before_stop = torch.cumprod(1.0 - alpha, dim=1) > T_MIN
    alpha = torch.where(before_stop, alpha, torch.zeros_like(alpha))
    one_minus = 1.0 - alpha
    trans = torch.cumprod(one_minus, dim=1)
    trans_before = torch.cat([torch.ones_like(trans[:, :1]), trans[:, :-1]], dim=1)
    weights = alpha * trans_before
    return weights @ feats, 1.0 - trans[:, -1]


def composite_reference(
    means2d: torch.Tensor,
    conics: torch.Tensor,
    opacities: torch.Tensor,
    feats: torch.Tensor,
    width: int,
    height: int,
    *,
    chunk_pairs: int = CHUNK_PAIRS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite depth-sorted screen-space Gaussians; returns features [H,W,C] and alpha [H,W].

    Inputs must already be culled and sorted front to back (``hwp_bench.render`` does that).
    """
    out_dtype = feats.dtype
    m = means2d.to(torch.float64)
    q = conics.to(torch.float64)
    o = opacities.to(torch.float64)
    f = feats.to(torch.float64)
    num_channels = f.shape[1]
    if m.shape[0] == 0:
        zeros = f.sum() * 0.0 + torch.zeros(height, width, dtype=torch.float64)
        return (
            zeros[..., None].expand(height, width, num_channels).to(out_dtype),
            zeros.to(out_dtype),
        )
    px, py = pixel_centres(width, height, torch.float64)
    step = max(1, chunk_pairs // max(1, m.shape[0]))
    colors, alphas = [], []
    needs_grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (means2d, conics, opacities, feats)
    )
    for start in range(0, px.shape[0], step):
        args = (px[start : start + step], py[start : start + step], m, q, o, f)
        if needs_grad:
            col, alp = checkpoint(_composite_chunk, *args, use_reentrant=False)
        else:
            col, alp = _composite_chunk(*args)
        colors.append(col)
        alphas.append(alp)
    color = torch.cat(colors).reshape(height, width, num_channels)
    alpha = torch.cat(alphas).reshape(height, width)
    return color.to(out_dtype), alpha.to(out_dtype)
