"""The Gaussian hand shared by ``intergaussianhand``, ``robust-trimmed`` and
``appearance-embedding``: WildGHand's network, Gaussians, rasterization and loss, with its two
contributions (DPD and PAO) switched off.

Why subclass instead of re-implement: the point of these baselines is to isolate what WildGHand
adds. Built on the very same code (``wildghand.method.WildGHand``), a difference in the tables
can only come from DPD/PAO or from the robust technique a baseline adds, not from a second
implementation of the network or the renderer.

Techniques plug in through WildGHand's public training hooks (``wildghand.hooks``): a
subclass declares ``training_hooks = (*GaussianHandBaseline.training_hooks, SomeHooks)``, so a
hook added here reaches every Gaussian baseline. This class adds none to WildGHand's own, which
are inherited: training-pose refinement (``wildghand.refine.PoseRefinement``) and, through the
shared config, the fidelity settings (surface-tied scales, per-Gaussian colour detail, normals
for the shadow head; docs/fidelity.md). So every baseline gets exactly the same fixes as
WildGHand, and ``intergaussianhand`` is the plain fit of that same avatar. ``robust-trimmed`` replaces outlier pixels of each
training render by their target (``frame_render``: no loss, no gradient there);
``appearance-embedding`` modulates the Gaussians' colours per training frame
(``frame_gaussians``) and adds a penalty term (``frame_loss_terms``). Test renders only go through
``rasterize``, so they are the plain model: they depend on the camera and the hand parameters
only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wildghand.config import DEFAULT_CONFIG, NEUTRAL_OPTIONS, PRESETS
from wildghand.method import WildGHand

from hwp_bench.api import ConfigError

#: WildGHand's switches that these baselines hold fixed (they *are* the ablation).
FIXED = {"dpd": False, "pao": "off"}


def baseline_config(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """WildGHand's defaults without the DPD/PAO switches, plus a baseline's own keys.

    The switches are not config keys of a baseline at all (they are set internally): so
    ``--set dpd=true`` is an unknown key, and result files carry no ablation switches, which
    is how the tables tell a method's own row from a WildGHand ablation variant.
    """
    out = {k: v for k, v in DEFAULT_CONFIG.items() if k not in FIXED}
    out.update(extra or {})
    return out


def baseline_neutral_options() -> dict[str, Any]:
    """WildGHand's options added after results were published (``MethodInfo.neutral_options``):
    a baseline's runs from before them keep their identity too."""
    return {k: v for k, v in NEUTRAL_OPTIONS.items() if k not in FIXED}


def baseline_presets(extra: Mapping[str, Mapping[str, Any]] | None = None) -> dict:
    """WildGHand's quick/paper presets (sizes, schedule), without the switches."""
    out = {}
    for name, preset in PRESETS.items():
        p = {k: v for k, v in preset.items() if k not in FIXED}
        p.update((extra or {}).get(name, {}))
        out[name] = p
    return out


class GaussianHandBaseline(WildGHand):
    """WildGHand minus DPD and PAO; subclasses add one robust-fitting technique."""

    def __init__(
        self, *, config: Mapping[str, Any] | None = None, checkpoint=None, hooks=None
    ) -> None:
        config = dict(config or {})
        # A config read back from an instance (``m.config``) carries the fixed switches:
        # accept them at their fixed values, refuse anything else.
        wrong = {k: config.pop(k) for k in FIXED if k in config}
        wrong = {k: v for k, v in wrong.items() if v != FIXED[k]}
        if wrong:
            raise ConfigError(
                f"{self.method_info().id} is WildGHand's Gaussian hand without DPD and PAO; "
                f"{wrong} is not allowed (use --method wildghand with those switches instead)"
            )
        super().__init__(config=config, checkpoint=checkpoint, hooks=hooks)

    def initialize(self) -> None:
        self.config.update(FIXED)  # what WildGHand's code reads
        super().initialize()
