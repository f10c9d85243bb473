"""Gaussians on the hand: one per vertex, attributes from f (+ DPD biases), posed by LBS.

For one hand side and a batch of hand parameters h = [pose, shape, trans]:

1. pose the hand with the hand model; geometry features x_g from the posed vertices;
2. head (iv) refines h by delta-h and the hand is posed again (if ``head_refine``);
3. head (iii) offsets the template; the offsets follow the pose through the per-vertex LBS
   rotation A_v (``geometry.py``) (if ``head_offsets``): v' = LBS(h') + A_v d;
4. head (i) gives pre-activation attributes g; DPD adds omega * varphi([g, z]) (training only);
5. activations: centre p' = v' + R_v (p_g * xyz_step) (Sec. III-B: "p' = p_g + v'", with p_g
   predicted in the hand's canonical frame), rotation R_v * q, scale exp(.) (``free``) or the
   vertex's mesh spacing times a bounded multiplier (``spacing``), opacity sigmoid(.), colour
   sigmoid(. + per-Gaussian detail) * xi (head ii, fed the posed normals when the network
   shades with normals).

Why scales follow the mesh spacing: the paper initialises every scale at exp(-5) m. On a
distant hand (HWP-Synth: 4.5 m, 1.8 mm per pixel) that is a 4 px standard deviation, wider
than a finger's gap; free scales learnt from frames whose poses disagree grow further (until a
cap) and draw a mitten. A Gaussian whose size is a bounded multiple of its vertex's spacing
covers its share of the surface and no more, at any distance and subdivision.

Interacting hands are two such sets concatenated and rasterised together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from wildghand.dpd import DPD, split_attributes
from wildghand.geometry import (
    matrix_to_quaternion,
    orthonormalize,
    quaternion_multiply,
    vertex_normals,
    vertex_rotations,
)
from wildghand.network import GaussianNetwork


@dataclass
class HandGaussians:
    """Rasterizer inputs for one hand side, batched over frames, plus what the losses need."""

    means: torch.Tensor  # [B, V, 3]
    quats: torch.Tensor  # [B, V, 4] wxyz
    scales: torch.Tensor  # [B, V, 3]
    opacities: torch.Tensor  # [B, V]
    colors: torch.Tensor  # [B, V, 3]
    shadow: torch.Tensor  # [B, V, 1]
    log_scales: torch.Tensor  # [B, V, 3] learnable log-scale (spacing mode: the raw multiplier)
    texture: torch.Tensor  # x_t [V, C]
    offsets: torch.Tensor | None = None  # [V, 3] template offsets (head iii)
    delta_h: torch.Tensor | None = None  # [B, 61] (head iv)
    delta: torch.Tensor | None = None  # [B, V, 14] DPD biases
    omega: torch.Tensor | None = None  # [B] omega used (after dropout)
    omega_raw: torch.Tensor | None = None  # [B]
    extras: dict = field(default_factory=dict)


def hand_gaussians(
    net: GaussianNetwork,
    hand,
    side: str,
    pose: torch.Tensor,
    shape: torch.Tensor,
    trans: torch.Tensor,
    *,
    t: torch.Tensor | None = None,
    dpd: DPD | None = None,
    head_offsets: bool = True,
    head_refine: bool = True,
    xyz_step: float = 0.001,
    max_log_scale: float | None = None,
    generator: torch.Generator | None = None,
    faces: torch.Tensor | None = None,
) -> HandGaussians:
    """Gaussians of one hand side for hand parameters [B, 48], [B, 10], [B, 3].

    ``dpd`` given (with times ``t`` [B]) adds the perturbation biases: training only.
    ``faces`` (the side's triangles on the network's mesh) are needed when the network shades
    with normals.
    """
    posed_out = hand(pose, shape, trans, side=side)
    posed = posed_out.vertices
    v_net = net.template.shape[0]  # the network's vertices are the first of the Gaussians'
    x_t = net.texture_features(side)
    x_g = net.geometry_features(posed[:, :v_net], trans, pose, shape)

    delta_h = None
    if head_refine:
        delta_h = net.refinement(x_g, x_t)
        pose = pose + delta_h[:, :48]
        shape = shape + delta_h[:, 48:58]
        trans = trans + delta_h[:, 58:61]
        posed_out = hand(pose, shape, trans, side=side)
        posed = posed_out.vertices

    weights = hand.skinning_weights.to(posed.device, posed.dtype)
    transforms = getattr(posed_out, "joint_transforms", None)
    if transforms is not None:  # the model's own rest -> posed joint transforms [B, 16, 3, 4]
        a = torch.einsum("vj,bjkl->bvkl", weights, transforms[..., :3])
    else:  # any MANO-convention model: rotations from the pose along the kinematic tree
        a = vertex_rotations(pose, weights)  # [B, V, 3, 3]
    offsets = None
    if head_offsets:
        offsets = net.to_gaussians(net.offsets(x_t))
        posed = posed + torch.einsum("bvij,vj->bvi", a, offsets)

    g = net.attributes(x_g, x_t)
    delta = omega = omega_raw = None
    if dpd is not None:
        if t is None:
            raise ValueError("DPD needs the frame times t")
        delta, omega, omega_raw = dpd(g, t, generator=generator)
        g = g + delta
    attrs = split_attributes(net.to_gaussians(g))

    rot = orthonormalize(a)
    q_vertex = matrix_to_quaternion(rot)
    means = posed + torch.einsum("bvij,bvj->bvi", rot, attrs["xyz"] * xyz_step)
    quats = quaternion_multiply(q_vertex, F.normalize(attrs["rotation"], dim=-1))
    log_scales = attrs["scale"]
    if net.log_base_scale is not None:  # spacing mode: bounded multiple of the mesh spacing
        scales = torch.exp(net.scales(log_scales))
    elif max_log_scale is not None:
        # Without a cap a few Gaussians grow to tens of centimetres while fitting from scratch
        # (measured: 1% of them above 0.35 m on HWP-Synth capture00) and smear the hand into a
        # mitten; the clamp stops their growth (no gradient beyond it). exp(-4) = 18 mm is
        # about one finger width, several times the initial exp(-5).
        log_scales = log_scales.clamp(max=max_log_scale)
        scales = torch.exp(log_scales)
    else:
        scales = torch.exp(log_scales)
    normals = None
    if net.shade_normals:
        if faces is None:
            raise ValueError("hand_gaussians: this network shades with normals; pass faces")
        normals = vertex_normals(posed[:, :v_net], faces)
    xi = net.to_gaussians(net.shadow(x_g, normals))
    rgb = attrs["rgb"]
    if net.color_detail is not None:
        rgb = rgb + net.color_detail[side]
    albedo = torch.sigmoid(rgb)
    colors = albedo * xi
    return HandGaussians(
        means=means,
        quats=quats,
        scales=scales,
        opacities=torch.sigmoid(attrs["opacity"]).squeeze(-1),
        colors=colors,
        shadow=xi,
        log_scales=log_scales,
        texture=x_t,
        offsets=offsets,
        delta_h=delta_h,
        delta=delta,
        omega=omega,
        omega_raw=omega_raw,
        extras={"albedo": albedo},
    )


def concat_hands(hands: list[HandGaussians], b: int) -> dict[str, torch.Tensor]:
    """Frame ``b``'s Gaussians of all given hands, concatenated for one rasterizer call."""
    return {
        "means": torch.cat([h.means[b] for h in hands]),
        "quats": torch.cat([h.quats[b] for h in hands]),
        "scales": torch.cat([h.scales[b] for h in hands]),
        "opacities": torch.cat([h.opacities[b] for h in hands]),
        "colors": torch.cat([h.colors[b] for h in hands]),
    }
