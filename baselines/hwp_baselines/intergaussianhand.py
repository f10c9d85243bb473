"""``intergaussianhand``: WildGHand's Gaussian prediction network without DPD and PAO.

What the paper ran (Sec. V-B, Table VI first row): InterGaussianHand [Huang et al., NeurIPS 2024],
the authors' previous method, fitted per video with a plain photometric objective. Its network
is the one WildGHand builds on, so this baseline is WildGHand with ``dpd=false, pao=off``: the
same Gaussians, heads, rasterizer and loss terms (L1 x100 + perceptual + silhouette + opacity,
shadow and Laplacian regularisers, left/right consistency for two hands), uniform pixel weights.

Departures (status ``approximate``):

* the network is this toolkit's small f trained from scratch per capture (the paper pretrains
  InterGaussianHand's network on InterHand2.6M; no such checkpoint exists here);
* InterGaussianHand's *interaction-aware attention module and Gaussian refinement* for two
  hands are **absent**: the published description does not give enough detail (layer sizes,
  which features attend to which, how refinement is supervised) to build them faithfully, so
  two hands are two independent Gaussian sets rasterised together, as in WildGHand.
"""

from __future__ import annotations

from hwp_baselines.gaussian_hand import (
    GaussianHandBaseline,
    baseline_config,
    baseline_neutral_options,
    baseline_presets,
)
from hwp_bench.api import MethodInfo

PAPER = (
    "Huang, Li, Liu, Liang, Yan, Cheng, Gao. Learning Interaction-aware 3D Gaussian Splatting "
    "for One-shot Hand Avatars. NeurIPS 2024"
)


class InterGaussianHand(GaussianHandBaseline):
    @classmethod
    def method_info(cls) -> MethodInfo:
        return MethodInfo(
            id="intergaussianhand",
            name="InterGaussianHand",
            paper=PAPER,
            version="0.2.0",
            description="WildGHand's Gaussian prediction network fitted with a plain "
            "photometric objective (no DPD, no PAO): the paper's baseline and ablation row.",
            required_features=("image", "mask", "hand_params", "camera"),
            hand_types=("single", "inter"),
            default_config=baseline_config(),
            neutral_options=baseline_neutral_options(),
            presets=baseline_presets(),
            implementation_status="approximate",
            notes="Same network/loss as WildGHand minus DPD and PAO; trained from scratch (no "
            "InterHand2.6M prior); interaction-aware attention and Gaussian refinement absent.",
        )
