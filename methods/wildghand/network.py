"""The Gaussian prediction network f (paper Sec. III-B).

Dual branch, four heads:

* **texture branch**: a latent identity map ``m`` (D = 33 channels on a 64x128 UV atlas, one
  per hand side) goes through a small convolutional encoder-decoder (``texture_conv``, the
  paper preset) and is sampled at each vertex's UV; or (quick preset, ~10x cheaper on a CPU
  where a few thousand vertices are far fewer than the atlas' 8,192 texels) it is sampled at
  the vertex UVs first and encoded by a per-vertex MLP. Either way the result is the texture
  features ``x_t`` [V, C]; they do not depend on the frame.
* **geometry branch**: per vertex, the posed vertex (relative to the wrist), a positional
  encoding of its template position, and an embedding of the pose and shape vector go through
  an MLP to give geometry features ``x_g`` [B, V, C].
* head (i) ``[x_g, x_t]`` -> pre-activation Gaussian attributes [B, V, 14] (xyz offset p_g,
  log-scale, rotation, opacity logit, rgb logit); biases start at the paper's initial values
  (scale exp(-5), opacity 0.1). With ``spacing`` given (``scale_mode="spacing"``, our
  default) the scale is tied to the surface instead: ``s_v = spacing_v * scale_spacing *
  scale_bound ** tanh(raw)``, i.e. a bounded learnable multiplier of the vertex's local mesh
  spacing (see ``gaussians.py``).
* per-Gaussian colour detail (``color_detail``): a free rgb-logit residual per vertex and side,
  added to head (i)'s colour. The network's colour is smooth over the template (an MLP of
  features sampled from the identity map); nails, creases and freckles are finer than that, and
  a residual per Gaussian resolves them at the Gaussians' own density.
* head (ii) ``x_g`` -> shadow coefficient xi in (0, 1) that multiplies the colour. With
  ``shade_normals`` it also sees the posed vertex normal in camera space, the quantity
  pose-dependent shading (a light fixed in camera space) is a function of.
* head (iii) ``[x_t, gamma(template)]`` -> template offsets, tanh-clamped to
  ``offset_clamp`` times the template's extent per axis (+-0.005 of the range).
* head (iv) ``mean_v [x_g, x_t]`` -> hand-parameter refinement delta-h (pose 48, shape 10,
  trans 3), tanh-clamped to ``refine_clamp`` (+-0.0005).

The network may run on a coarser mesh than the Gaussians (``upsample``, a subdivision matrix;
config ``network_subdivision``): its outputs are smooth fields over the hand, so on the quick
preset it evaluates them on the 1,609 vertices of the open hand and interpolates them to the
6,413 Gaussians of one subdivision level, 4x less work for the per-vertex MLPs. What must be
per Gaussian is: positions (posed at the Gaussians' level), the scales' mesh spacing and the
colour detail.

The paper pretrains f on InterHand2.6M; no such checkpoint exists for this toolkit, so f
trains from scratch per capture (a prior checkpoint is loadable by path: ``pretrained``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from wildghand.dpd import ATTR_DIM
from wildghand.encoding import positional_encoding, positional_encoding_dim

REFINE_DIM = 48 + 10 + 3


def mlp(in_dim: int, hidden: int, out_dim: int, layers: int = 2) -> nn.Sequential:
    mods: list[nn.Module] = []
    d = in_dim
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.SiLU()]
        d = hidden
    mods.append(nn.Linear(d, out_dim))
    return nn.Sequential(*mods)


class TextureBranch(nn.Module):
    """Identity map -> conv encoder-decoder (one skip) -> feature map [C, H, W]."""

    def __init__(self, in_ch: int, ch: int, out_ch: int) -> None:
        super().__init__()
        self.enc1 = nn.Conv2d(in_ch, ch, 3, padding=1)
        self.enc2 = nn.Conv2d(ch, 2 * ch, 3, stride=2, padding=1)
        self.mid = nn.Conv2d(2 * ch, 2 * ch, 3, padding=1)
        self.dec = nn.Conv2d(3 * ch, ch, 3, padding=1)
        self.out = nn.Conv2d(ch, out_ch, 1)

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        e1 = F.silu(self.enc1(m))
        e2 = F.silu(self.enc2(e1))
        e2 = F.silu(self.mid(e2))
        up = F.interpolate(e2, size=e1.shape[-2:], mode="bilinear", align_corners=False)
        return self.out(F.silu(self.dec(torch.cat([up, e1], dim=1))))


class GaussianNetwork(nn.Module):
    """f: identity maps, both branches and the four heads."""

    def __init__(
        self,
        *,
        template: torch.Tensor,
        vertex_uvs: torch.Tensor,
        identity_channels: int = 33,
        identity_size: tuple[int, int] = (64, 128),
        tex_channels: int = 16,
        texture_conv: bool = True,
        feat_dim: int = 32,
        hidden: int = 64,
        pos_freqs: int = 4,
        init_log_scale: float = -5.0,
        init_opacity: float = 0.1,
        offset_clamp: float = 0.005,
        refine_clamp: float = 0.0005,
        sides: tuple[str, ...] = ("right", "left"),
        spacing: torch.Tensor | None = None,
        scale_spacing: float = 0.6,
        scale_bound: float = 3.0,
        color_detail: bool = False,
        shade_normals: bool = False,
        upsample: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        template = template.detach().to(torch.float32)
        lo, hi = template.min(0).values, template.max(0).values
        self.register_buffer("template", template, persistent=False)
        self.register_buffer("template_center", (lo + hi) / 2, persistent=False)
        self.register_buffer("template_range", (hi - lo).clamp(min=1e-6), persistent=False)
        grid = vertex_uvs.detach().to(torch.float32) * 2.0 - 1.0  # [V, 2] in [-1, 1]
        self.register_buffer("uv_grid", grid[None, None], persistent=False)  # [1, 1, V, 2]
        self.pos_freqs = int(pos_freqs)
        self.offset_clamp = float(offset_clamp)
        self.refine_clamp = float(refine_clamp)
        self.shade_normals = bool(shade_normals)
        self.scale_bound = float(scale_bound)
        # Gaussians on a finer mesh than the network's: a sparse [V_gauss, V_net] matrix.
        if upsample is not None:
            self.register_buffer("upsample", upsample.coalesce(), persistent=False)
        else:
            self.upsample = None
        num_gaussians = template.shape[0] if upsample is None else upsample.shape[0]
        if spacing is not None:  # log of the base scale per vertex [V]
            base = spacing.detach().to(torch.float32).clamp(min=1e-6) * float(scale_spacing)
            self.register_buffer("log_base_scale", base.log(), persistent=False)
        else:
            self.log_base_scale = None

        d = int(identity_channels)
        h, w = identity_size
        # Initialised like the authors' identity code (small normal, clamped).
        self.identity = nn.ParameterDict(
            {s: nn.Parameter(torch.randn(1, d, h, w).mul(0.02).clamp(-1, 1)) for s in sides}
        )
        self.texture_conv = bool(texture_conv)
        if self.texture_conv:
            self.texture = TextureBranch(d, tex_channels, feat_dim)
        else:
            self.texture = mlp(d, hidden, feat_dim, layers=1)

        pe_dim = positional_encoding_dim(3, self.pos_freqs)
        self.pose_embed = nn.Linear(48 + 10, 32)
        self.geometry = mlp(3 + pe_dim + 32, hidden, feat_dim)

        self.head_attr = mlp(2 * feat_dim, hidden, ATTR_DIM)
        self.head_shadow = mlp(feat_dim + (3 if self.shade_normals else 0), hidden, 1, layers=1)
        self.head_offsets = mlp(feat_dim + pe_dim, hidden, 3)
        self.head_refine = mlp(2 * feat_dim, hidden, REFINE_DIM, layers=1)

        with torch.no_grad():
            last = self.head_attr[-1]
            last.weight.mul_(0.1)
            bias = torch.zeros(ATTR_DIM)
            # Spacing mode: raw 0 is the base scale (tanh(0) = 0); free mode: exp(-5).
            bias[3:6] = 0.0 if self.log_base_scale is not None else init_log_scale
            bias[6] = 1.0  # identity quaternion (w first)
            bias[10] = math.log(init_opacity / (1.0 - init_opacity))
            last.bias.copy_(bias)
            self.head_shadow[-1].bias.fill_(2.0)  # xi ~ 0.88 at the start
            for head in (self.head_offsets, self.head_refine):
                nn.init.zeros_(head[-1].weight)
                nn.init.zeros_(head[-1].bias)
        if color_detail:
            v = num_gaussians
            self.color_detail = nn.ParameterDict(
                {s: nn.Parameter(torch.zeros(v, 3)) for s in sides}
            )
        else:
            self.color_detail = None

    # -- branches ---------------------------------------------------------------------------
    def template_encoding(self) -> torch.Tensor:
        x = (self.template - self.template_center) / (self.template_range / 2)
        return positional_encoding(x, self.pos_freqs)

    def texture_features(self, side: str) -> torch.Tensor:
        """x_t [V, C] for one hand side (frame independent)."""
        m = self.identity[side]
        if self.texture_conv:
            fmap = self.texture(m)
            return F.grid_sample(fmap, self.uv_grid, mode="bilinear", align_corners=False)[
                0, :, 0
            ].T
        sampled = F.grid_sample(m, self.uv_grid, mode="bilinear", align_corners=False)[0, :, 0].T
        return self.texture(sampled)

    def geometry_features(
        self, posed: torch.Tensor, trans: torch.Tensor, pose: torch.Tensor, shape: torch.Tensor
    ) -> torch.Tensor:
        """x_g [B, V, C] from posed vertices [B, V, 3] (metres), the wrist and the pose."""
        b, v, _ = posed.shape
        rel = (posed - trans[:, None, :]) * 10.0  # decimetres: O(1) inputs
        pe = self.template_encoding()[None].expand(b, v, -1)
        emb = self.pose_embed(torch.cat([pose, shape], dim=-1))[:, None, :].expand(b, v, -1)
        return self.geometry(torch.cat([rel, pe, emb], dim=-1))

    # -- heads ------------------------------------------------------------------------------
    def attributes(self, x_g: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
        """Head (i): pre-activation attributes [B, V, 14]."""
        return self.head_attr(torch.cat([x_g, x_t[None].expand_as(x_g)], dim=-1))

    def shadow(self, x_g: torch.Tensor, normals: torch.Tensor | None = None) -> torch.Tensor:
        """Head (ii): xi in (0, 1), [B, V, 1]; ``normals`` [B, V, 3] (camera space) are an
        input when the network was built with ``shade_normals``."""
        if self.shade_normals:
            if normals is None:
                raise ValueError("this network's head (ii) needs the posed vertex normals")
            x_g = torch.cat([x_g, normals], dim=-1)
        return torch.sigmoid(self.head_shadow(x_g))

    def scales(self, raw: torch.Tensor) -> torch.Tensor:
        """Log-scales [B, V, 3] from head (i)'s raw scale output in spacing mode:
        ``log(spacing_v * scale_spacing) + log(scale_bound) * tanh(raw)``."""
        return self.log_base_scale[None, :, None] + math.log(self.scale_bound) * torch.tanh(raw)

    def to_gaussians(self, x: torch.Tensor) -> torch.Tensor:
        """Per-network-vertex values [V_net, C] or [B, V_net, C] at the Gaussians' vertices
        (the identity when both meshes are the same)."""
        if self.upsample is None:
            return x
        if x.dim() == 2:
            return torch.sparse.mm(self.upsample, x)
        b, v, c = x.shape
        flat = x.permute(1, 0, 2).reshape(v, b * c)
        return torch.sparse.mm(self.upsample, flat).reshape(-1, b, c).permute(1, 0, 2)

    def detail_parameters(self) -> list[nn.Parameter]:
        """The per-Gaussian colour residuals (their own optimizer group: a higher rate)."""
        return [] if self.color_detail is None else list(self.color_detail.values())

    def offsets(self, x_t: torch.Tensor) -> torch.Tensor:
        """Head (iii): template offsets [V, 3] within +-offset_clamp of the template range."""
        raw = self.head_offsets(torch.cat([x_t, self.template_encoding()], dim=-1))
        return torch.tanh(raw) * (self.offset_clamp * self.template_range)

    def refinement(self, x_g: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
        """Head (iv): delta-h [B, 61] (pose 48, shape 10, trans 3) within +-refine_clamp."""
        pooled = torch.cat([x_g.mean(1), x_t.mean(0)[None].expand(x_g.shape[0], -1)], dim=-1)
        return torch.tanh(self.head_refine(pooled)) * self.refine_clamp
