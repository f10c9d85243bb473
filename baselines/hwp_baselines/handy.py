"""``handy``: explicit hand mesh with a UV texture fitted through a low-dimensional latent.

What the paper ran (Sec. V-B): Handy [Potamias et al., CVPR 2023], converted to MANO-HD, with
the *latent vector of its texture model* (a StyleGAN trained on 1,200+ subjects' UV maps)
optimised by differentiable rendering against the training frames; the mesh is posed by the
given hand parameters.

What this is:

* geometry: the hand model of ``hwp_bench.hand`` (open hand by default, MANO with
  ``hand_model=mano``) posed by the frame's parameters; not optimised (as in the paper's use);
  visibility from HWP-Synth's z-buffer rasterizer (:mod:`hwp_baselines.mesh_texture`), which
  is not differentiable in geometry, and need not be;
* appearance: texture = decoder(z_side), one latent ``z`` (``latent_dim`` = 64) per hand side,
  sampled at per-pixel UVs with ``grid_sample`` (differentiable), times a static Lambertian
  shading (learned ambient + one directional light fixed in camera space) standing in for the
  lighting Handy's fitting estimates; black background;
* the texture model: **without the licensed Handy texture GAN** (the default here) the decoder
  is a small convolutional network trained from scratch on the capture together with ``z``.
  That is a much weaker prior than a GAN trained on 1,200 subjects: it can fit whatever the
  training frames show (occluders and shadows included), which is the failure mode the paper
  reports for Handy, only stronger. With ``HWP_HANDY_DIR`` (see :mod:`hwp_baselines.handy_gan`)
  the pretrained generator replaces the decoder, is frozen, and only its latent is fitted.
* loss: L1 between the render and the frame with its background blacked out by the hand mask
  (the same target treatment as the Gaussian methods), over the union of rendered and true
  hand pixels.

Status ``approximate``: the pipeline (posed mesh, texture latent, photometric fitting) is
Handy's; the texture prior is not, unless the licensed model is supplied.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hwp_baselines.mesh_texture import (
    SIDES,
    posed_vertices,
    rasterize_hands,
    rescale_view,
    resize_image,
    sample_textures,
)
from hwp_bench.api import MethodBase, MethodInfo

HANDY_PAPER = (
    "Potamias, Ploumpis, Moschoglou, Triantafyllou, Zafeiriou. Handy: Towards a High Fidelity "
    "3D Hand Shape and Appearance Model. CVPR 2023"
)


class TextureDecoder(nn.Module):
    """z [B, latent] -> RGB texture [B, 3, T, T] in (0, 1): a linear seed at 8x8, then
    upsample-conv blocks. Small on purpose: the prior comes from the latent bottleneck and the
    convolutional smoothness, not from pretraining (there is none without the Handy GAN)."""

    def __init__(self, latent_dim: int, size: int, channels: int) -> None:
        super().__init__()
        if size < 8 or size & (size - 1):
            raise ValueError(f"texture_size must be a power of two >= 8, got {size}")
        self.c0 = channels * 2
        self.seed = nn.Linear(latent_dim, self.c0 * 8 * 8)
        blocks = []
        c, s = self.c0, 8
        while s < size:
            c_out = max(channels // 2, 8) if s * 2 >= size else channels
            blocks.append(nn.Conv2d(c, c_out, 3, padding=1))
            c, s = c_out, s * 2
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Conv2d(c, 3, 3, padding=1)
        with torch.no_grad():
            self.out.bias.fill_(0.0)  # sigmoid(0) = mid grey before fitting

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.silu(self.seed(z)).reshape(z.shape[0], self.c0, 8, 8)
        for conv in self.blocks:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = F.silu(conv(x))
        return torch.sigmoid(self.out(x))


class Handy(MethodBase):
    @classmethod
    def method_info(cls) -> MethodInfo:
        return MethodInfo(
            id="handy",
            name="Handy",
            paper=HANDY_PAPER,
            version="0.1.0",
            description="Posed hand mesh with a UV texture decoded from a fitted latent "
            "(texture decoder trained from scratch unless the licensed Handy GAN is given).",
            required_features=("image", "mask", "hand_params", "camera"),
            hand_types=("single", "inter"),
            default_config={
                "hand_model": "open",
                "subdivision": 0,
                "train_resolution": 128,
                "latent_dim": 64,
                "texture_size": 128,
                "decoder_channels": 16,
                "shading": True,  # static Lambertian light in camera space
                "lr": 3e-3,
                "latent_lr": 5e-3,
                "lr_final_ratio": 0.1,
                "iterations": 300,
                "batch_size": 4,
                "max_train_frames": 0,  # 0: every training frame
                "handy_dir": "",  # licensed Handy texture model; "" -> $HWP_HANDY_DIR
                "trust_handy_pickle": False,  # its .pkl runs code when loaded: opt in
            },
            presets={"quick": {}, "paper": {"train_resolution": 256, "texture_size": 512,
                                            "iterations": 2000}},
            implementation_status="approximate",
            notes="Texture prior: a small conv decoder trained from scratch on the capture "
            "(the Handy StyleGAN texture model needs a licence; used when HWP_HANDY_DIR "
            "provides it). Geometry from the given hand parameters, not refined; static "
            "Lambertian shading instead of Handy's fitted lighting.",
        )  # fmt: skip

    # -- state ------------------------------------------------------------------------------
    def initialize(self) -> None:
        c = self.config
        gen = torch.Generator().manual_seed(self.seed)
        self._gan = None
        handy_dir = c["handy_dir"] or os.environ.get("HWP_HANDY_DIR", "")
        if handy_dir:
            from hwp_baselines.handy_gan import load_handy_generator

            self._gan = load_handy_generator(handy_dir, trust=bool(c["trust_handy_pickle"]))
            latent_dim = int(self._gan.z_dim)
            self.decoder = None
        else:
            latent_dim = int(c["latent_dim"])
            torch.manual_seed(self.seed)
            self.decoder = TextureDecoder(
                latent_dim, int(c["texture_size"]), int(c["decoder_channels"])
            )
        self.latents = nn.Parameter(torch.randn(len(SIDES), latent_dim, generator=gen) * 0.1)
        # Lighting: ambient and diffuse (pre-softplus) and the light's direction (camera space).
        self.light = nn.ParameterDict(
            {
                "ambient": nn.Parameter(torch.tensor(0.7)),
                "diffuse": nn.Parameter(torch.tensor(0.3)),
                "direction": nn.Parameter(torch.tensor([0.0, 0.0, 1.0])),
            }
        )
        self._model = None
        self._cache: dict[str, torch.Tensor] = {}
        self._optimizer = None
        self._base_lrs: list[float] = []

    def hand_model(self):
        if self._model is None:
            from hwp_bench.hand import load_hand_model

            self._model = load_hand_model(
                self.config["hand_model"], subdivision=int(self.config["subdivision"])
            )
        return self._model

    def parameters(self) -> list[nn.Parameter]:
        params = [self.latents, *self.light.values()]
        if self.decoder is not None:
            params += list(self.decoder.parameters())
        return params

    def state_dict(self) -> dict[str, Any]:
        state = {
            "latents": self.latents.detach().clone(),
            "light": {k: v.detach().clone() for k, v in self.light.items()},
        }
        if self.decoder is not None:
            state["decoder"] = {k: v.clone() for k, v in self.decoder.state_dict().items()}
        if self._optimizer is not None:
            state["optimizer"] = self._optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.latents.copy_(state["latents"])
            for k, v in state["light"].items():
                self.light[k].copy_(v)
        if self.decoder is not None:
            self.decoder.load_state_dict(state["decoder"])
        if "optimizer" in state and self._optimizer is not None:
            self._optimizer.load_state_dict(state["optimizer"])

    # -- appearance -------------------------------------------------------------------------
    def textures(self) -> torch.Tensor:
        """[2, 3, T, T] textures of both sides in (0, 1)."""
        if self._gan is not None:
            img = self._gan(self.latents)  # [-1, 1]
            return ((img + 1.0) / 2.0).clamp(0.0, 1.0)
        return self.decoder(self.latents)

    def shade(self, albedo: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
        if not self.config["shading"]:
            return albedo
        d = F.normalize(self.light["direction"], dim=0)
        lambert = (-(normal * d).sum(-1, keepdim=True)).clamp(min=0.0)
        amb = F.softplus(self.light["ambient"] * 4.0) / 4.0
        dif = F.softplus(self.light["diffuse"] * 4.0) / 4.0
        return albedo * (amb + dif * lambert)

    def _compose(self, textures, side, uv, normal) -> torch.Tensor:
        albedo = sample_textures(textures, side, uv)
        color = self.shade(albedo, normal)
        return color * (side >= 0)[..., None].to(color.dtype)

    # -- training ---------------------------------------------------------------------------
    def setup(self, train_frames, val_frames=None) -> None:
        super().setup(train_frames, val_frames)
        frames = list(train_frames)
        cap = int(self.config["max_train_frames"])
        if cap and len(frames) > cap:
            picks = np.linspace(0, len(frames) - 1, cap).round().astype(int)
            frames = [frames[i] for i in picks]
        sides, uvs, normals, targets, regions = [], [], [], [], []
        model = self.hand_model()
        for f in frames:
            if f.mask is None:
                raise ValueError(f"handy needs hand masks; frame {f.index} has none")
            K, h, w, _ = rescale_view(f.K, f.height, f.width, int(self.config["train_resolution"]))
            view = rasterize_hands(model, posed_vertices(model, f.hands), K, h, w)
            image = np.asarray(f.image, np.float32)
            if image.max() > 1.0:
                image = image / 255.0
            mask = resize_image(np.asarray(f.mask, np.float32), h, w)
            image = resize_image(image, h, w)
            sides.append(view.side)
            uvs.append(view.uv)
            normals.append(view.normal)
            targets.append(image * mask[..., None])
            regions.append(view.covered | (mask > 0.5))
        self._cache = {
            "side": torch.as_tensor(np.stack(sides)).long(),
            "uv": torch.as_tensor(np.stack(uvs)),
            "normal": torch.as_tensor(np.stack(normals)),
            "target": torch.as_tensor(np.stack(targets)),
            "region": torch.as_tensor(np.stack(regions)),
        }
        lrs = [{"params": [self.latents], "lr": float(self.config["latent_lr"])}]
        rest = [p for p in self.parameters() if p is not self.latents]
        lrs.append({"params": rest, "lr": float(self.config["lr"])})
        self._optimizer = torch.optim.Adam(lrs)
        self._base_lrs = [g["lr"] for g in lrs]

    def _batch_indices(self, step: int) -> torch.Tensor:
        """Deterministic in (seed, step), so a resumed run draws the same batches."""
        n = self._cache["side"].shape[0]
        b = min(int(self.config["batch_size"]), n)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        return torch.randperm(n, generator=g)[:b]

    def photometric_loss(self, idx: torch.Tensor) -> torch.Tensor:
        c = self._cache
        pred = self._compose(self.textures(), c["side"][idx], c["uv"][idx], c["normal"][idx])
        region = c["region"][idx]
        diff = (pred - c["target"][idx]).abs().mean(-1)
        return diff[region].mean() if bool(region.any()) else diff.sum() * 0.0

    def train_iteration(self, step: int) -> dict[str, float]:
        if self._optimizer is None:
            raise RuntimeError("call setup() before train_iteration()")
        idx = self._batch_indices(step)
        # Exponential decay to lr_final_ratio of the initial rates over the run: the texture
        # settles instead of chasing the last batches' occluders and lighting.
        decay = float(self.config["lr_final_ratio"]) ** (step / max(1, self.num_iterations))
        for group, base in zip(self._optimizer.param_groups, self._base_lrs, strict=True):
            group["lr"] = base * decay
        self._optimizer.zero_grad(set_to_none=True)
        loss = self.photometric_loss(idx)
        loss.backward()
        self._optimizer.step()
        return {"loss": float(loss.detach())}

    # -- rendering --------------------------------------------------------------------------
    @torch.no_grad()
    def render(self, frame) -> dict[str, np.ndarray]:
        model = self.hand_model()
        view = rasterize_hands(
            model, posed_vertices(model, frame.hands), frame.K, frame.height, frame.width
        )
        color = self._compose(
            self.textures(),
            torch.as_tensor(view.side).long(),
            torch.as_tensor(view.uv),
            torch.as_tensor(view.normal),
        )
        return {
            "color": color.clamp(0.0, 1.0).numpy().astype(np.float32),
            "alpha": view.covered.astype(np.float32),
        }
