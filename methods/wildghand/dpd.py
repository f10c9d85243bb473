"""Dynamic perturbation disentanglement (DPD), paper Sec. III-C, Eqs. (1)-(4).

Perturbations are modelled as per-frame additive biases of the Gaussian attributes,
``g~ = g + delta_g`` (Eq. 1), with ``delta_g_l = omega_l * varphi([z_l, g_l])`` and
``omega_l = 2 sigmoid(psi(z_l)) - 1`` (Eq. 4), ``z_l = phi(gamma(l / L))`` (Eqs. 2-3).

Facts from the paper and the authors' code (docs/design.md, section 'WildGHand'):

* gamma has K = 9, i.e. 21 dims ([t, sin, cos] for k = 0..9);
* phi is Linear(21, 256) - SiLU - Linear(256, 256) (z_l is its output);
* psi is Linear(256, 1), zero-initialised, so omega starts at exactly 0 and the biases start
  switched off: the network f first explains what is common to all frames;
* varphi is one Linear(attr + 256, attr) per attribute (xyz 3, scale 3, rotation 4,
  opacity 1, rgb 3) on ``[pre-activation attribute, z_l]``; the bias is added *before* the
  activations;
* during training omega is set to 0 with probability 0.3 per sample, so that f must fit
  frames on its own;
* at inference the biases are removed (the caller simply does not apply DPD).

Parameter count: 5,632 + 65,792 + 257 + 3,642 = 75,323 (the paper's "75k").
"""

from __future__ import annotations

import torch
from torch import nn

from wildghand.encoding import temporal_encoding, temporal_encoding_dim

#: Attribute layout of the pre-activation Gaussian vector [N, 14] (head i's output).
ATTRIBUTES: tuple[tuple[str, int], ...] = (
    ("xyz", 3),
    ("scale", 3),
    ("rotation", 4),
    ("opacity", 1),
    ("rgb", 3),
)
ATTR_DIM = sum(d for _, d in ATTRIBUTES)


def split_attributes(g: torch.Tensor) -> dict[str, torch.Tensor]:
    """Split ``[..., 14]`` into the named attribute slices."""
    out, start = {}, 0
    for name, dim in ATTRIBUTES:
        out[name] = g[..., start : start + dim]
        start += dim
    return out


class DPD(nn.Module):
    """The lightweight bias module that runs beside f during training only."""

    def __init__(self, num_freqs: int = 9, width: int = 256, dropout: float = 0.3) -> None:
        super().__init__()
        self.num_freqs = int(num_freqs)
        self.dropout = float(dropout)
        in_dim = temporal_encoding_dim(self.num_freqs)
        self.phi = nn.Sequential(nn.Linear(in_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.psi = nn.Linear(width, 1)
        nn.init.zeros_(self.psi.weight)
        nn.init.zeros_(self.psi.bias)
        self.heads = nn.ModuleDict({name: nn.Linear(dim + width, dim) for name, dim in ATTRIBUTES})
        # The heads keep PyTorch's default init: with omega starting at 0 the biases are off,
        # and non-zero head outputs give omega a gradient to grow from.

    def embed(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z_l`` [B, width] and ``omega_l`` [B] in (-1, 1) for normalised times ``t`` [B]."""
        z = self.phi(temporal_encoding(t, self.num_freqs).to(self.psi.weight.device))
        omega = 2.0 * torch.sigmoid(self.psi(z)).squeeze(-1) - 1.0
        return z, omega

    def forward(
        self,
        g_pre: torch.Tensor,
        t: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Biases for pre-activation attributes ``g_pre`` [B, N, 14] at times ``t`` [B].

        Returns ``(delta [B, N, 14], omega_used [B], omega_raw [B])``; ``omega_used`` is
        ``omega_raw`` with dropout applied in training mode (0 with probability ``dropout``).
        """
        z, omega = self.embed(t)
        used = omega
        if self.training and self.dropout > 0:
            keep = torch.rand(omega.shape, generator=generator, device="cpu") >= self.dropout
            used = omega * keep.to(omega.device, omega.dtype)
        # varphi([g, z]) = W_g g + (W_z z + b): the z half is one vector per frame, so it is
        # computed once and broadcast instead of concatenating z to every Gaussian (the same
        # numbers, without a [B, N, width] tensor per attribute).
        parts = []
        for name, attr in split_attributes(g_pre).items():
            head = self.heads[name]
            d = attr.shape[-1]
            per_frame = nn.functional.linear(z, head.weight[:, d:], head.bias)  # [B, d]
            parts.append(nn.functional.linear(attr, head.weight[:, :d]) + per_frame[:, None])
        delta = used[:, None, None] * torch.cat(parts, dim=-1)
        return delta, used, omega
