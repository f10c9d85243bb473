"""Frequency encodings (NeRF-style) used by DPD's temporal encoding and head (iii)."""

from __future__ import annotations

import math

import torch


def temporal_encoding(t: torch.Tensor, num_freqs: int = 9) -> torch.Tensor:
    """gamma(t) = [t, sin(2^k pi t), cos(2^k pi t)] for k = 0..K (Eq. 3).

    Design: docs/design.md, section 'WildGHand'.

    ``t`` is the normalised frame time ``l / L`` with shape ``[B]``; the result is
    ``[B, 1 + 2 (K + 1)]``, 21 dims for K = 9. The raw ``t`` is kept (as the authors' code
    does) so that the encoding is injective over the whole clip.
    """
    t = t.reshape(-1, 1).to(torch.float32)
    k = torch.arange(num_freqs + 1, dtype=t.dtype, device=t.device)
    angles = t * (2.0**k) * math.pi
    return torch.cat([t, torch.sin(angles), torch.cos(angles)], dim=-1)


def temporal_encoding_dim(num_freqs: int) -> int:
    return 1 + 2 * (num_freqs + 1)


def positional_encoding(x: torch.Tensor, num_freqs: int) -> torch.Tensor:
    """[x, sin(2^k pi x), cos(2^k pi x)] for k < num_freqs, per coordinate (for head iii)."""
    k = torch.arange(num_freqs, dtype=x.dtype, device=x.device)
    angles = x[..., None] * (2.0**k) * math.pi  # [..., C, F]
    enc = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1).flatten(-2)
    return torch.cat([x, enc], dim=-1)


def positional_encoding_dim(channels: int, num_freqs: int) -> int:
    return channels * (1 + 2 * num_freqs)
