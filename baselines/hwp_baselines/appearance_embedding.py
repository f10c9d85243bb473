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

from hwp_baselines.gaussian_hand import GaussianHandBaseline, baseline_config, baseline_presets
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


class AppearanceEmbedding(GaussianHandBaseline):
    @classmethod
    def method_info(cls) -> MethodInfo:
        return MethodInfo(
            id="appearance-embedding",
            name="Appearance embedding (NeRF-W-style)",
            paper=PAPER,
            version="0.1.0",
            description="WildGHand's Gaussian hand without DPD/PAO, with a per-frame "
            "appearance code modulating the colours in training, dropped at test time.",
            required_features=("image", "mask", "hand_params", "camera"),
            hand_types=("single", "inter"),
            default_config=baseline_config({"appearance_dim": 16, "appearance_reg": 0.01}),
            presets=baseline_presets(),
            implementation_status="approximate",
            notes="Beyond the paper: NeRF-W's per-image appearance embedding (no transient "
            "head) on the same Gaussian hand as WildGHand; the test render drops it.",
        )

    def initialize(self) -> None:
        super().initialize()
        self.appearance = Appearance(1, int(self.config["appearance_dim"])).to(self.device)
        self._pending_appearance: dict | None = None
        self._modulation = None

    def setup(self, train_frames, val_frames=None) -> None:
        torch.manual_seed(self.seed + 17)
        self.appearance = Appearance(len(train_frames), int(self.config["appearance_dim"]))
        self.appearance.to(self.device)
        if self._pending_appearance is not None:
            self.appearance.load_state_dict(self._pending_appearance)
            self._pending_appearance = None
        super().setup(train_frames, val_frames)

    def _modules(self) -> list[nn.Module]:
        return [*super()._modules(), self.appearance]

    def _build_optimizer(self) -> None:
        pending, self._pending_optimizer = self._pending_optimizer, None
        super()._build_optimizer()
        lr = float(self.config["lr"])
        self.optimizer.add_param_group(
            {"params": list(self.appearance.parameters()), "lr": lr, "base_lr": lr}
        )
        if pending is not None:
            self.optimizer.load_state_dict(pending)

    def training_gaussians(self, gs: dict, i: int) -> dict:
        out, reg = {}, 0.0
        for side, g in gs.items():
            colors, r = self.appearance(g.colors, g.means, i)
            out[side] = dataclasses.replace(g, colors=colors)
            reg = reg + r
        self._modulation = reg
        return out

    def _frame_loss(self, i: int, gen):
        loss, parts = super()._frame_loss(i, gen)
        if self._modulation is not None:
            loss = loss + float(self.config["appearance_reg"]) * self._modulation
            parts["appearance"] = float(self._modulation.detach())
            self._modulation = None
        return loss, parts

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["appearance"] = self.appearance.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        app = state.get("appearance")
        if app is not None:
            if app["codes.weight"].shape == self.appearance.codes.weight.shape:
                self.appearance.load_state_dict(app)
            else:  # loaded before setup (fresh instance): apply once the frames are known
                self._pending_appearance = app
        super().load_state_dict(state)
