"""The Gaussian hand shared by ``intergaussianhand``, ``robust-trimmed`` and
``appearance-embedding``: WildGHand's network, Gaussians, rasterization and loss, with its two
contributions (DPD and PAO) switched off.

Why subclass instead of re-implement: the point of these baselines is to isolate what WildGHand
adds. Built on the very same code (``wildghand.method.WildGHand``), a difference in the tables
can only come from DPD/PAO or from the robust technique a baseline adds, not from a second
implementation of the network or the renderer.

Hooks used (WildGHand's own methods, overridden and then delegated to):

* ``_frame_loss(i, gen)``: we record which training frame is being fitted;
* ``_rasterize(gs, K, h, w)``: training renders of that frame can be post-processed
  (robust-trimmed replaces outlier pixels by their target, so they carry no loss and no
  gradient) or their Gaussians' colours modulated (appearance-embedding). ``render()`` goes
  through the same ``_rasterize`` with no current training frame, so test renders are the
  plain model: they depend on the camera and the hand parameters only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wildghand.config import DEFAULT_CONFIG, PRESETS
from wildghand.method import WildGHand

from hwp_bench.api import ConfigError

#: WildGHand's switches that these baselines hold fixed (they *are* the ablation).
FIXED = {"dpd": False, "pao": "off"}


def baseline_config(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """WildGHand's defaults with DPD and PAO off, plus a baseline's own keys."""
    out = dict(DEFAULT_CONFIG)
    out.update(FIXED)
    out.update(extra or {})
    return out


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

    def initialize(self) -> None:
        wrong = {k: self.config[k] for k, v in FIXED.items() if self.config.get(k) != v}
        if wrong:
            raise ConfigError(
                f"{self.method_info().id} is WildGHand's Gaussian hand without DPD and PAO; "
                f"{wrong} is not allowed (use --method wildghand with those switches instead)"
            )
        self._train_index: int | None = None
        super().initialize()

    def _frame_loss(self, i: int, gen):
        self._train_index = i
        try:
            return super()._frame_loss(i, gen)
        finally:
            self._train_index = None

    def _rasterize(self, gs, K, h, w) -> dict:
        if self._train_index is not None:
            gs = self.training_gaussians(gs, self._train_index)
        out = super()._rasterize(gs, K, h, w)
        if self._train_index is not None:
            out = self.training_render(out, self._train_index)
        return out

    # Hooks for subclasses (identity here) -------------------------------------------------
    def training_gaussians(self, gs: dict, i: int) -> dict:
        """Gaussians used to render training frame ``i`` (not used at test time)."""
        return gs

    def training_render(self, out: dict, i: int) -> dict:
        """Render of training frame ``i`` as the loss sees it (not used at test time)."""
        return out

    def training_target(self, i: int):
        """The loss's target image of training frame ``i`` (as WildGHand builds it)."""
        fr = self._frames[i]
        target = fr.image
        if fr.mask is not None and self.config["mask_target"]:
            target = target * fr.mask[..., None]
        return target
