"""``appearance-embedding``: the Gaussian hand with a NeRF-W-style per-frame appearance code.

NeRF-W [Martin-Brualla et al., CVPR 2021] gives every training image a learned appearance
embedding that conditions the colour, so that per-image photometric variation (exposure,
lighting, tone) is explained by the embedding instead of being baked into the scene; at test
time the embedding is not available and a canonical appearance is rendered.

Here, on WildGHand's Gaussian hand without DPD and PAO (:mod:`hwp_baselines.gaussian_hand`):
training frame ``l`` has a code ``e_l`` (``appearance_dim`` = 16); a small MLP of
``[Gaussian colour, Gaussian position relative to the hand's centroid, e_l]`` outputs a
per-Gaussian gain and bias, ``c' = c * exp(g) + 0.1 b`` (position lets it explain directional
light); the last layer starts at zero, so fitting starts from the plain model. At test time
the modulation is **dropped** (``render`` uses the unmodulated colour ``c``), which is the
appearance the codes are pulled towards by an L2 penalty on the modulation
(``appearance_reg``). NeRF-W's transient (uncertainty-weighted) head is not included: only the
appearance half is tested here, transient distractors are what ``robust-trimmed`` handles.
Status ``approximate``: NeRF-W's appearance embedding on a Gaussian hand instead of a NeRF.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn
from wildghand.hooks import TrainingHooks

from hwp_baselines.gaussian_hand import (
    GaussianHandBaseline,
    baseline_config,
    baseline_neutral_options,
    baseline_presets,
)
from hwp_bench.api import MethodInfo

PAPER = (
    "Martin-Brualla, Radwan, Sajjadi, Barron, Dosovitskiy, Duckworth. NeRF in the Wild: "
    "Neural Radiance Fields for Unconstrained Photo Collections. CVPR 2021"
)


class Appearance(nn.Module):
    """Per-frame codes and the colour-modulation MLP."""

    def __init__(self, num_frames: int, dim: int, hidden: int = 32) -> None:
        super().__init__()
        self.codes = nn.Embedding(max(1, num_frames), dim)
        nn.init.normal_(self.codes.weight, 0.0, 0.01)
        self.mlp = nn.Sequential(nn.Linear(3 + 3 + dim, hidden), nn.SiLU(), nn.Linear(hidden, 6))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, colors: torch.Tensor, means: torch.Tensor, i: int):
        """Modulated colours [B, V, 3] and the modulation's magnitude (for the penalty)."""
        b, v, _ = colors.shape
        rel = (means - means.mean(dim=1, keepdim=True)) * 10.0
        code = self.codes.weight[i][None, None].expand(b, v, -1)
        out = self.mlp(torch.cat([colors, rel, code], dim=-1))
        gain, bias = out[..., :3], out[..., 3:] * 0.1
        return colors * torch.exp(gain) + bias, out.pow(2).mean()


class AppearanceCodes(TrainingHooks):
    """Per-frame codes modulating the Gaussians' colours in training, with their penalty.

    ``frame_gaussians`` modulates, ``frame_loss_terms`` adds ``appearance_reg`` times the
    modulation's magnitude (logged as ``appearance``); the codes are a trainable module with
    their own optimizer group and checkpoint entry (``appearance``). Test renders skip all of
    it (only ``rasterize`` runs there).
    """

    def attach(self, method) -> None:
        self.dim = int(method.config["appearance_dim"])
        self.reg = float(method.config["appearance_reg"])
        self.appearance = Appearance(1, self.dim).to(method.device)
        self._pending: dict | None = None
        self._modulation = None

    def setup(self, method) -> None:
        # One code per dataset training frame, created from a fixed seed (reproducible).
        torch.manual_seed(method.seed + 17)
        self.appearance = Appearance(len(method.train_frames), self.dim).to(method.device)
        if self._pending is not None:
            self.appearance.load_state_dict(self._pending)
            self._pending = None

    def modules(self) -> list[nn.Module]:
        return [self.appearance]

    def param_groups(self, method) -> list[dict[str, Any]]:
        lr = float(method.config["lr"])
        return [{"params": list(self.appearance.parameters()), "lr": lr, "base_lr": lr}]

    def frame_gaussians(self, method, frame, gaussians: dict) -> dict:
        out, reg = {}, 0.0
        for side, g in gaussians.items():
            colors, r = self.appearance(g.colors, g.means, frame.position)
            out[side] = dataclasses.replace(g, colors=colors)
            reg = reg + r
        self._modulation = reg
        return out

    def frame_loss_terms(self, method, ctx) -> dict:
        modulation, self._modulation = self._modulation, None
        return {} if modulation is None else {"appearance": (self.reg, modulation)}

    def state_dict(self, method) -> dict[str, Any]:
        return {"appearance": self.appearance.state_dict()}

    def load_state_dict(self, method, state) -> None:
        app = state.get("appearance")
        if app is None:
            return
        if app["codes.weight"].shape == self.appearance.codes.weight.shape:
            self.appearance.load_state_dict(app)
        else:  # loaded before setup (fresh instance): apply once the frames are known
            self._pending = app


class AppearanceEmbedding(GaussianHandBaseline):
    training_hooks = (*GaussianHandBaseline.training_hooks, AppearanceCodes)

    @classmethod
    def method_info(cls) -> MethodInfo:
        return MethodInfo(
            id="appearance-embedding",
            name="Appearance embedding (NeRF-W-style)",
            paper=PAPER,
            version="0.2.0",
            description="WildGHand's Gaussian hand without DPD/PAO, with a per-frame "
            "appearance code modulating the colours in training, dropped at test time.",
            required_features=("image", "mask", "hand_params", "camera"),
            hand_types=("single", "inter"),
            default_config=baseline_config({"appearance_dim": 16, "appearance_reg": 0.01}),
            neutral_options=baseline_neutral_options(),
            presets=baseline_presets(),
            implementation_status="approximate",
            notes="Beyond the paper: NeRF-W's per-image appearance embedding (no transient "
            "head) on the same Gaussian hand as WildGHand; the test render drops it.",
        )

    @property
    def appearance(self) -> Appearance:
        """The per-frame codes and modulation MLP (owned by the ``AppearanceCodes`` hook)."""
        return self.hooks.get(AppearanceCodes).appearance
