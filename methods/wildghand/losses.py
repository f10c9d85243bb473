"""WildGHand's whole training objective: named terms, each with its weight's config key.

Paper Eqs. (7)-(9); the weights are ``w_<name>`` keys of ``config.py`` (docs/design.md,
section 'WildGHand'). Per training frame, with W the PAO weight map (all ones when
``pao=off``), I the render and I_l the frame's target (blacked out off the hand mask):

    name         weight key     value
    rec          w_rec          mean(W * |I - I_l|)              W-weighted L1 (w_rec = 100); with
                                                                 colour_region="hand" (or after
                                                                 colour_hand_from), W * mask
    perceptual   w_perceptual   LPIPS(I, I_l')                   I_l' = I_l where W > 0, else I
    silhouette   w_silhouette   mean(|alpha - mask| * [W > 0])   rendered alpha vs the hand mask
                                                                 (every pixel with
                                                                 silhouette_region="all")
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


def content_crop(
    pred: torch.Tensor, target: torch.Tensor, *, pad: int = 8, min_size: int = 32
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both images [H, W, 3] cropped to the box of the pixels that are not black in either,
    padded by ``pad`` px and at least ``min_size`` px a side (clipped to the image).

    Hand renders and masked targets are black outside the hand; a perceptual network spends
    most of its time there on a full frame (on HWP-Synth the box is a third of the frame)."""
    h, w = pred.shape[:2]
    lit = (pred.detach().amax(-1) > 1e-3) | (target.detach().amax(-1) > 1e-3)
    rows = torch.nonzero(lit.any(1))[:, 0]
    cols = torch.nonzero(lit.any(0))[:, 0]
    if rows.numel() == 0:
        return pred, target

    def span(lo: int, hi: int, size: int) -> tuple[int, int]:
        lo, hi = max(0, lo - pad), min(size, hi + 1 + pad)
        short = min(min_size, size) - (hi - lo)
        if short > 0:
            lo = max(0, lo - (short + 1) // 2)
            hi = min(size, lo + min(min_size, size))
            lo = max(0, hi - min(min_size, size))
        return lo, hi

    r0, r1 = span(int(rows[0]), int(rows[-1]), h)
    c0, c1 = span(int(cols[0]), int(cols[-1]), w)
    return pred[r0:r1, c0:c1], target[r0:r1, c0:c1]


class Perceptual:
    """The perceptual term: LPIPS if available (``kind`` auto/lpips), else D-SSIM; with
    ``crop``, on the box around the non-black pixels only (:func:`content_crop`)."""

    def __init__(self, kind: str = "auto", *, crop: bool = False) -> None:
        self.kind = kind
        self.crop = bool(crop)
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
        if self.crop:
            pred, target = content_crop(pred, target)
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


# -- what a term sees ---------------------------------------------------------------------------
@dataclass
class FrameContext:
    """Everything a per-frame loss term may read, for one training frame.

    Built by ``WildGHand.frame_loss`` after the hooks ran: ``render``/``alpha`` are what the
    loss compares (after ``TrainingHooks.frame_render``), ``gaussians`` what was rasterised
    (after ``TrainingHooks.frame_gaussians``).
    """

    config: Mapping[str, Any]  # the method's resolved config (weights, switches)
    render: torch.Tensor  # I [H, W, 3]
    alpha: torch.Tensor  # rendered silhouette [H, W]
    target: torch.Tensor  # I_l [H, W, 3], blacked out off the mask when mask_target
    mask: torch.Tensor | None  # the frame's hand mask [H, W] in [0, 1]
    weight: torch.Tensor  # PAO weight map W [H, W] (ones when pao=off)
    pao_mode: str  # "full" | "binary" | "off"
    gaussians: Sequence[Any]  # HandGaussians per hand side (network outputs)
    perceptual: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    laplacian: Any = None  # mesh Laplacian: sparse [V, V] or geometry.NeighbourLaplacian
    offset_norm: torch.Tensor | float = 1.0  # offsets are divided by this in the lap term
    frame: Any = None  # the TrainFrame (index, time, hands) for terms that need it
    progress: float = 0.0  # fraction of the fit done (step / iterations)


@dataclass
class StepContext:
    """What a per-step term may read: the network and whether the capture has two hands."""

    config: Mapping[str, Any]
    net: Any  # the GaussianNetwork f
    hand_type: str  # "single" | "inter"


@dataclass(frozen=True)
class LossTerm:
    """One named term: ``config[weight_key] * fn(ctx)``; ``fn`` returns ``None`` to skip."""

    name: str
    weight_key: str
    fn: Callable[[Any], torch.Tensor | None]
    doc: str = ""

    def weight(self, config: Mapping[str, Any]):
        return config[self.weight_key]


# -- the terms ----------------------------------------------------------------------------------
def _hand_colours_only(ctx: FrameContext) -> bool:
    if ctx.mask is None:
        return False
    if ctx.config.get("colour_region", "frame") in ("hand", "split"):
        return True
    return ctx.progress >= float(ctx.config.get("colour_hand_from", 1.0))


def colour_weight(ctx: FrameContext) -> torch.Tensor:
    """Where the colour terms look: W everywhere (``colour_region="frame"``, the paper's and
    the authors' form: off the hand mask the target is black), or W times the hand mask
    (``"hand"`` and ``"split"``: a Gaussian that a training pose error pushes past the outline
    is not taught to be dark)."""
    if _hand_colours_only(ctx):
        return ctx.weight * ctx.mask
    return ctx.weight


def offmask_coverage(ctx: FrameContext) -> torch.Tensor:
    """``colour_region="split"``'s off-mask L1: the value of the paper's form there (the
    render against black, ``|I|``), written as ``alpha * |I / alpha|`` with the second factor
    detached, so its gradient moves coverage (positions, scales, opacities: the outline), not
    colours. Under ``"hand"`` off-mask pixels are judged by the silhouette term alone."""
    straight = (ctx.render / ctx.alpha.detach().clamp_min(1e-4)[..., None]).detach().abs()
    off = ctx.weight * (1.0 - ctx.mask)
    return (off[..., None] * ctx.alpha[..., None] * straight).mean()


def rec_term(ctx: FrameContext) -> torch.Tensor:
    value = weighted_l1(ctx.render, ctx.target, colour_weight(ctx))
    if ctx.config.get("colour_region", "frame") == "split" and ctx.mask is not None:
        value = value + offmask_coverage(ctx)
    return value


def perceptual_term(ctx: FrameContext) -> torch.Tensor | None:
    if ctx.perceptual is None:
        return None
    hand_only = _hand_colours_only(ctx)
    if ctx.pao_mode != "off" or hand_only:
        kept = keep_where(colour_weight(ctx), ctx.target, ctx.render)
    else:
        kept = ctx.target
    return ctx.perceptual(ctx.render, kept)


def silhouette_term(ctx: FrameContext) -> torch.Tensor | None:
    """mean |alpha - mask|, over the pixels PAO weights (``silhouette_region="weighted"``) or
    over all of them (``"all"``, the paper's form).

    Why it matters: PAO's y_h is the *rendered* silhouette, so a pixel the avatar wrongly
    covers (alpha > 0.5 past the hand mask) gets no background weight, and no region
    proposal of the background reaches T_mu of the hand: its W is 0. Under ``"weighted"``
    nothing then penalises that spill, neither the colour terms nor this one."""
    if ctx.mask is None or not ctx.config["w_silhouette"] > 0:
        return None
    weighted = ctx.config.get("silhouette_region", "weighted") == "weighted"
    valid = 1.0
    if weighted and ctx.pao_mode != "off":
        valid = (ctx.weight.detach() > 0).to(ctx.alpha.dtype)
    return ((ctx.alpha - ctx.mask).abs() * valid).mean()


def opacity_term(ctx: FrameContext) -> torch.Tensor:
    opac = torch.cat([g.opacities.reshape(-1) for g in ctx.gaussians])
    return (opac - 1).pow(2).mean()


def shadow_term(ctx: FrameContext) -> torch.Tensor:
    xi = torch.cat([g.shadow.reshape(-1) for g in ctx.gaussians])
    return (xi - 1).pow(2).mean()


def bias_term(ctx: FrameContext) -> torch.Tensor | None:
    if not ctx.config["dpd"]:
        return None
    return torch.cat([g.delta.reshape(-1) for g in ctx.gaussians]).abs().mean()


def laplacian_term(ctx: FrameContext) -> torch.Tensor | None:
    if not ctx.config["w_lap"] > 0:
        return None
    lap = torch.zeros((), device=ctx.render.device)
    for g in ctx.gaussians:
        lap = lap + laplacian_loss(ctx.laplacian, g.log_scales[0])
        lap = lap + laplacian_loss(ctx.laplacian, g.extras["albedo"][0])
        if g.offsets is not None:
            lap = lap + laplacian_loss(ctx.laplacian, g.offsets / ctx.offset_norm)
    return lap


def pao_term(ctx: FrameContext) -> torch.Tensor | None:
    if ctx.pao_mode != "full" or not ctx.config["w_pao"] > 0:
        return None
    return -ctx.weight.mean()


def cross_term(ctx: StepContext) -> torch.Tensor | None:
    if ctx.hand_type != "inter" or not ctx.config["w_cross"] > 0:
        return None
    return (ctx.net.texture_features("left") - ctx.net.texture_features("right")).abs().mean()


# -- the objective ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Objective:
    """Per-frame and per-step terms, evaluated in order (the order of the float sums)."""

    frame_terms: tuple[LossTerm, ...]
    step_terms: tuple[LossTerm, ...] = ()

    @property
    def terms(self) -> tuple[LossTerm, ...]:
        return self.frame_terms + self.step_terms

    def frame_loss(
        self, ctx: FrameContext, extra: Callable[[FrameContext], Mapping] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``sum weight * value`` over the frame terms that apply, then ``extra(ctx)``'s
        ``{name: (weight, value)}`` terms (the hooks'); returns the loss and the values."""
        total, values = None, {}
        for term in self.frame_terms:
            total = _accumulate(total, values, term.name, term.weight(ctx.config), term.fn(ctx))
        if extra is not None:
            for name, (weight, value) in extra(ctx).items():
                if name in values:
                    raise ValueError(f"loss term {name!r} is already in the objective")
                total = _accumulate(total, values, name, weight, value)
        if total is None:
            total = ctx.render.new_zeros(())
        return total, values

    def step_loss(
        self, total: torch.Tensor, ctx: StepContext
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``total`` (the batch's mean frame loss) plus the step terms that apply."""
        values: dict[str, torch.Tensor] = {}
        for term in self.step_terms:
            total = _accumulate(total, values, term.name, term.weight(ctx.config), term.fn(ctx))
        return total, values


def _accumulate(total, values: dict, name: str, weight, value):
    if value is None:
        return total
    values[name] = value
    contribution = weight * value
    return contribution if total is None else total + contribution


def term_values(values: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """Unweighted term values as floats, for the logs (one device sync for all of them)."""
    if not values:
        return {}
    floats = torch.stack([v.detach().reshape(()).double() for v in values.values()]).tolist()
    return dict(zip(values, floats, strict=True))


#: WildGHand's objective (the order is the order of the float sums: keep it).
OBJECTIVE = Objective(
    frame_terms=(
        LossTerm("rec", "w_rec", rec_term, "W-weighted L1 of render vs target"),
        LossTerm("perceptual", "w_perceptual", perceptual_term, "LPIPS (or D-SSIM), PAO-kept"),
        LossTerm("silhouette", "w_silhouette", silhouette_term, "L1 of alpha vs the hand mask"),
        LossTerm("opacity", "w_opacity", opacity_term, "mean (o - 1)^2"),
        LossTerm("shadow", "w_shadow", shadow_term, "mean (xi - 1)^2"),
        LossTerm("bias", "w_bias", bias_term, "mean |delta_g| of the DPD biases"),
        LossTerm("lap", "w_lap", laplacian_term, "Laplacian smoothness (scales, albedo, offsets)"),
        LossTerm("pao", "w_pao", pao_term, "-mean(W): PAO may not zero every weight"),
    ),
    step_terms=(LossTerm("cross", "w_cross", cross_term, "left/right texture consistency"),),
)
