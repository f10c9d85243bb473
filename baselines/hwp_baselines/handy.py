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
* texture detail (``texture_detail``, default on): a free residual texture per side at
  ``detail_size`` texels, added to the decoder's output in logit space. The decoder's latent
  bottleneck is Handy's prior, and it cannot draw a capture's nails, creases and freckles at
  the data's resolution; the residual can, as the Gaussian methods' per-Gaussian colour detail
  does (docs/fidelity.md). An L2 penalty (``w_detail``) keeps it where the frames agree.
* training-pose refinement (``refine_frames``, off by default like every method's): the same per-frame corrections of
  each hand's global rotation, wrist position and finger pose as every Gaussian method
  (:class:`wildghand.refine.PoseCorrections`: same keys, prior and schedule of pose passes
  against the frozen texture). Gradients reach them through
  :func:`~hwp_baselines.mesh_texture.differentiable_view` (UVs recomputed in torch inside the
  z-buffer's triangles) and a soft silhouette (:func:`~hwp_baselines.mesh_texture.
  splat_silhouette`) compared with the hand mask. The texture is then fitted at the corrected
  poses. Test renders use the given parameters only.
* loss: L1 between the render and the frame with its background blacked out by the hand mask
  (the same target treatment as the Gaussian methods), over the union of rendered and true
  hand pixels; plus the detail prior above.

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
from wildghand.geometry import vertex_spacing
from wildghand.refine import (
    REFINE_CONFIG,
    PoseCorrections,
    pass_steps,
    prior_scales,
    starting_poses,
)

from hwp_baselines.mesh_texture import (
    SIDES,
    differentiable_view,
    posed_vertices,
    rasterize_hands,
    rescale_view,
    resize_image,
    sample_textures,
    splat_silhouette,
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

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        x = F.silu(self.seed(z)).reshape(z.shape[0], self.c0, 8, 8)
        for conv in self.blocks:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = F.silu(conv(x))
        return self.out(x)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))


class Handy(MethodBase):
    @classmethod
    def method_info(cls) -> MethodInfo:
        return MethodInfo(
            id="handy",
            name="Handy",
            paper=HANDY_PAPER,
            version="0.2.0",
            description="Posed hand mesh with a UV texture decoded from a fitted latent "
            "(texture decoder trained from scratch unless the licensed Handy GAN is given), "
            "a detail texture, and training-pose refinement.",
            required_features=("image", "mask", "hand_params", "camera"),
            hand_types=("single", "inter"),
            default_config={
                "hand_model": "open",
                "subdivision": 1,  # finer outline for the soft silhouette (pose refinement)
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
                "texture_detail": True,  # free residual texture (logit space) on the decoder's
                "detail_size": 256,
                "detail_lr": 0.02,
                "w_detail": 1e-4,  # L2 on the residual
                **REFINE_CONFIG,
                "head_refine": True,  # (WildGHand's switch name: off = no pose refinement)
            },
            presets={"quick": {}, "paper": {"train_resolution": 256, "texture_size": 512,
                                            "iterations": 2000}},
            implementation_status="approximate",
            notes="Texture prior: a small conv decoder trained from scratch on the capture "
            "(the Handy StyleGAN texture model needs a licence; used when HWP_HANDY_DIR "
            "provides it), plus a detail texture. Geometry from the given hand parameters, "
            "with the training poses refined per frame like every Gaussian method's; static "
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
        self.detail = None
        if c["texture_detail"]:
            d = int(c["detail_size"])
            self.detail = nn.Parameter(torch.zeros(len(SIDES), 3, d, d))
        self.refining = bool(c["refine_frames"]) and bool(c["head_refine"])
        self.corrections = PoseCorrections(0, (), prior_scales(c))
        self._pending_corrections = None
        self._passes_done = 0
        self._step = 0
        self._model = None
        self._cache: dict[str, torch.Tensor] = {}
        self._frames: list = []
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
            "step": self._step,
        }
        if self.decoder is not None:
            state["decoder"] = {k: v.clone() for k, v in self.decoder.state_dict().items()}
        if self.detail is not None:
            state["detail"] = self.detail.detach().clone()
        if self.refining:
            state["passes_done"] = self._passes_done
            state["corrections"] = {
                k: v.detach().clone()
                for k, v in self.corrections.state_dict().items()
                if k != "sigma"
            }
        if self._optimizer is not None:
            state["optimizer"] = self._optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.latents.copy_(state["latents"])
            for k, v in state["light"].items():
                self.light[k].copy_(v)
            if self.detail is not None and "detail" in state:
                self.detail.copy_(state["detail"])
        if self.decoder is not None:
            self.decoder.load_state_dict(state["decoder"])
        self._step = int(state.get("step", 0))
        if self.refining and "corrections" in state:
            self._pending_corrections = state["corrections"]
            self._apply_pending_corrections()
        self._passes_done = int(state.get("passes_done", 0))
        if "optimizer" in state and self._optimizer is not None:
            self._optimizer.load_state_dict(state["optimizer"])

    def _apply_pending_corrections(self) -> None:
        pending = self._pending_corrections
        own = {k: v for k, v in self.corrections.state_dict().items() if k != "sigma"}
        if pending is None or set(pending) != set(own):
            return  # before setup: applied once the frames are known
        if any(own[k].shape != v.shape for k, v in pending.items()):
            return
        with torch.no_grad():
            for k, v in pending.items():
                own[k].copy_(v)
        self._pending_corrections = None

    # -- appearance -------------------------------------------------------------------------
    def textures(self) -> torch.Tensor:
        """[2, 3, T, T] textures of both sides in (0, 1) (T = detail_size with the detail
        texture on: the decoder's texture upsampled bilinearly, plus the residual)."""
        if self._gan is not None:
            img = ((self._gan(self.latents) + 1.0) / 2.0).clamp(1e-4, 1.0 - 1e-4)
            if self.detail is None:
                return img
            logits = torch.logit(img)
        else:
            logits = self.decoder.logits(self.latents)
            if self.detail is None:
                return torch.sigmoid(logits)
        logits = F.interpolate(
            logits, size=self.detail.shape[-2:], mode="bilinear", align_corners=False
        )
        return torch.sigmoid(logits + self.detail)

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
        frames = starting_poses(train_frames, str(self.config["train_poses"]))
        cap = int(self.config["max_train_frames"])
        if cap and len(frames) > cap:
            picks = np.linspace(0, len(frames) - 1, cap).round().astype(int)
            frames = [frames[i] for i in picks]
        sides, uvs, normals, targets, regions, masks, views = [], [], [], [], [], [], []
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
            masks.append(mask)
            views.append((K, h, w))
        self._frames = [
            {
                "index": int(f.index),
                "K": views[i][0],
                "size": views[i][1:],
                "hands": {
                    s: tuple(
                        torch.as_tensor(np.asarray(x, np.float32))[None]
                        for x in (hp.pose, hp.shape, hp.trans)
                    )
                    for s, hp in f.hands.items()
                },
            }
            for i, f in enumerate(frames)
        ]
        self._cache = {
            "side": torch.as_tensor(np.stack(sides)).long(),
            "uv": torch.as_tensor(np.stack(uvs)),
            "normal": torch.as_tensor(np.stack(normals)),
            "target": torch.as_tensor(np.stack(targets)),
            "region": torch.as_tensor(np.stack(regions)),
            "mask": torch.as_tensor(np.stack(masks)),
        }
        present = sorted({s for f in frames for s in f.hands}, key=SIDES.index)
        c = self.config
        self.corrections = PoseCorrections(
            len(frames),
            present,
            prior_scales(c),
            shape_sigma=float(c["refine_sigma_shape"]) if c["refine_shape"] else 0.0,
        )
        self._apply_pending_corrections()
        self._spacing = vertex_spacing(
            model.template().detach().float().cpu(), torch.as_tensor(model.faces).long().cpu()
        )
        self._schedule = pass_steps(c["refine_at"], self.num_iterations)
        groups = [{"params": [self.latents], "lr": float(c["latent_lr"])}]
        rest = [p for p in self.parameters() if p is not self.latents]
        groups.append({"params": rest, "lr": float(c["lr"])})
        if self.detail is not None:
            groups.append({"params": [self.detail], "lr": float(c["detail_lr"])})
        self._optimizer = torch.optim.Adam(groups)
        self._base_lrs = [g["lr"] for g in groups]

    def _batch_indices(self, step: int) -> torch.Tensor:
        """Deterministic in (seed, step), so a resumed run draws the same batches."""
        n = self._cache["side"].shape[0]
        b = min(int(self.config["batch_size"]), n)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        return torch.randperm(n, generator=g)[:b]

    def photometric_loss(self, idx: torch.Tensor) -> torch.Tensor:
        """L1 of the batch at the given (unrefined) poses, from the views cached at setup."""
        c = self._cache
        pred = self._compose(self.textures(), c["side"][idx], c["uv"][idx], c["normal"][idx])
        region = c["region"][idx]
        diff = (pred - c["target"][idx]).abs().mean(-1)
        return diff[region].mean() if bool(region.any()) else diff.sum() * 0.0

    def corrected_hands(self, i: int) -> dict[str, tuple[torch.Tensor, ...]]:
        """Training frame ``i``'s hand parameters with its corrections (no gradient)."""
        with torch.no_grad():
            return {
                side: self.corrections.correct_hand(side, i, *hand)
                for side, hand in self._frames[i]["hands"].items()
            }

    def _views(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """The batch's per-pixel sides, UVs and normals: cached at the estimates until the
        first pose pass, then rasterised at the corrected poses."""
        if not (self.refining and self._passes_done):
            return {k: self._cache[k][idx] for k in ("side", "uv", "normal")}
        model = self.hand_model()
        sides, uvs, normals = [], [], []
        for i in idx.tolist():
            K, (h, w) = self._frames[i]["K"], self._frames[i]["size"]
            verts = {s: model(*hd, side=s).vertices[0].double().numpy()
                     for s, hd in self.corrected_hands(i).items()}  # fmt: skip
            view = rasterize_hands(model, verts, K, h, w)
            sides.append(torch.as_tensor(view.side).long())
            uvs.append(torch.as_tensor(view.uv))
            normals.append(torch.as_tensor(view.normal))
        return {"side": torch.stack(sides), "uv": torch.stack(uvs), "normal": torch.stack(normals)}

    def pose_pass(self) -> list[float]:
        """Fit every training frame's corrections against the frozen texture (the same
        schedule, steps and prior as WildGHand's ``refine.PoseRefinement``)."""
        c = self.config
        model = self.hand_model()
        with torch.no_grad():
            tex = self.textures()
        finals = []
        for i, fr in enumerate(self._frames):
            K, (h, w) = fr["K"], fr["size"]
            target, mask = self._cache["target"][i], self._cache["mask"][i]

            def loss_fn(correct, fr=fr, K=K, h=h, w=w, target=target, mask=mask):
                verts = {s: model(*correct(s, *hd), side=s).vertices[0]
                         for s, hd in fr["hands"].items()}  # fmt: skip
                view = differentiable_view(model, verts, K, h, w)
                hit = torch.as_tensor(view.hit)
                side = torch.as_tensor(view.side[view.hit]).long()
                color = self.shade(sample_textures(tex, side, view.uv.float()), view.normal)
                diff = target.abs().mean(-1)  # uncovered pixels: the render is black
                diff = diff.masked_scatter(hit, (color - target[hit]).abs().mean(-1))
                alpha = splat_silhouette(verts, self._spacing, K, h, w)
                return diff.mean() + (alpha - mask).abs().mean()

            hist = self.corrections.fit_frame(
                i, loss_fn, steps=int(c["refine_steps"]), lr=float(c["refine_lr"]),
                weight=float(c["w_refine_prior"]), trust=float(c["w_refine"]),
            )  # fmt: skip
            finals.append(hist[-1] if hist else 0.0)
        return finals

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
        v = self._views(idx)
        pred = self._compose(self.textures(), v["side"], v["uv"], v["normal"])
        region = (v["side"] >= 0) | (self._cache["mask"][idx] > 0.5)
        diff = (pred - self._cache["target"][idx]).abs().mean(-1)
        loss = diff[region].mean() if bool(region.any()) else diff.sum() * 0.0
        logs = {"photometric": float(loss.detach())}
        if self.detail is not None and float(self.config["w_detail"]) > 0:
            loss = loss + float(self.config["w_detail"]) * self.detail.pow(2).mean()
        loss.backward()
        self._optimizer.step()
        self._step = step + 1
        if self.refining and step + 1 in self._schedule:
            finals = self.pose_pass()
            self._passes_done += 1
            logs["refine_pass_loss"] = float(np.mean(finals)) if finals else 0.0
        return {"loss": float(loss.detach()), **logs}

    @torch.no_grad()
    def refined_hands(self) -> dict[int, dict[str, tuple[torch.Tensor, ...]]]:
        """Frame index -> side -> (pose [48], shape [10], trans [3]) after refinement (the
        estimates where refinement is off): what the texture was fitted to."""
        out = {}
        for i, fr in enumerate(self._frames):
            hands = {}
            for side, (pose, shape, trans) in fr["hands"].items():
                if self.refining:
                    pose, shape, trans = self.corrections.correct_hand(side, i, pose, shape, trans)
                hands[side] = (pose[0], shape[0], trans[0])
            out[fr["index"]] = hands
        return out

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
