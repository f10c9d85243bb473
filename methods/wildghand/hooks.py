"""Training hooks: the public way to change how WildGHand's Gaussian hand is fitted.

A method built on WildGHand (the Gaussian baselines, or a user's variant) does not override
WildGHand's internals; it declares hook classes (``training_hooks = (MyHooks,)`` on the
subclass) or passes instances (``WildGHand(config=..., hooks=[MyHooks()])``). WildGHand calls
every hook at fixed points of its pipeline; the base class here does nothing at each of them, so
a hook overrides only what it changes.

Per training frame, in this order (``frame`` is a ``frames.TrainFrame``)::

    hands = frame_hands(method, frame, frame.hands)          pose / geometry input
    gaussians = WildGHand's network(hands, frame time)       (+ DPD biases)
    gaussians = frame_gaussians(method, frame, gaussians)    Gaussians before rasterisation
    out = rasterize(method, gaussians, K, height, width, frame)
    out = frame_render(method, frame, out)                   what the loss compares
    loss = losses.OBJECTIVE terms + frame_loss_terms(method, ctx)

Per step: the batch's mean frame loss plus the objective's step terms, backward, gradient
clipping over ``method.trainable_modules()`` (hooks' ``modules()`` included), the optimizer step,
then ``after_step(method, step, logs)``. At test time (``render``) only ``rasterize`` is called,
with ``frame=None``: everything else is training-only, so test renders depend on the camera and
the hand parameters alone.

Lifecycle: ``attach`` at the end of ``initialize`` (build modules here: the global RNG is seeded
by then, so they are reproducible), ``setup`` once the training frames are prepared and before
the optimizer is built (``param_groups`` is read then), ``state_dict``/``load_state_dict`` with
the method's checkpoint, ``diagnostics`` with the method's.

Several hooks combine in declaration order (:class:`HookChain`): the per-frame transforms are
applied one after the other, loss terms, modules, parameter groups, state and diagnostics are
concatenated (a name used twice is an error), and at most one hook may replace ``rasterize``.
Modelled on gsplat's densification strategies: small classes with explicit hook methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import torch

if TYPE_CHECKING:  # pragma: no cover - typing only
    from wildghand.frames import TrainFrame
    from wildghand.losses import FrameContext

T = TypeVar("T")
Hands = dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


class TrainingHooks:
    """Base class of WildGHand's training hooks: every method is a no-op (or the identity)."""

    # -- lifecycle --------------------------------------------------------------------------
    def attach(self, method) -> None:
        """Called once at the end of ``method.initialize()``: read ``method.config``, create
        modules. Modules created here are reproducible (the global RNG was seeded with the
        method's seed)."""

    def setup(self, method) -> None:
        """Called in ``method.setup()`` after the training frames are prepared
        (``method.train_frames``: the dataset frames; ``method.prepared_frames``: the
        ``TrainFrame`` s that are fitted) and before the optimizer is built."""

    def modules(self) -> list[torch.nn.Module]:
        """The hook's trainable modules: put in train/eval mode with the method's and included
        in gradient clipping. Their parameters reach the optimizer via ``param_groups``."""
        return []

    def param_groups(self, method) -> list[dict[str, Any]]:
        """Optimizer parameter groups appended after WildGHand's (network + DPD, thresholds).

        Each group is a ``torch.optim.Adam`` group dict; give it ``"base_lr"`` (the learning
        rate before the step decay, which the method applies to every group)."""
        return []

    # -- per training frame (training only) -------------------------------------------------
    def frame_hands(self, method, frame: TrainFrame, hands: Hands) -> Hands:
        """The hand parameters the network poses for training frame ``frame``.

        ``hands`` maps a side to ``(pose [1, 48], shape [1, 10], trans [1, 3])``; return a new
        dict (do not modify the frame's tensors in place). The point for training-pose
        refinement: add learned per-frame corrections here. Not called at test time."""
        return hands

    def frame_gaussians(self, method, frame: TrainFrame, gaussians: dict) -> dict:
        """The Gaussians (``side -> gaussians.HandGaussians``) rasterised for ``frame``.

        Return a new dict (``dataclasses.replace`` a ``HandGaussians`` to change a field); the
        loss terms see the returned Gaussians. Not called at test time."""
        return gaussians

    def frame_render(self, method, frame: TrainFrame, out: dict) -> dict:
        """The render (``{"color": [H, W, 3], "alpha": [H, W], ...}``) as the loss sees it.

        E.g. replace outlier pixels by the target so they carry no loss. Not called at test
        time."""
        return out

    def frame_loss_terms(self, method, ctx: FrameContext) -> Mapping[str, tuple[Any, Any]]:
        """Extra terms ``{name: (weight, value)}`` added after the objective's, in order.

        ``value`` is a scalar tensor (its unweighted value is logged under ``name``), ``weight``
        a number; ``ctx`` is the frame's ``losses.FrameContext``. Names must not clash with
        the objective's terms."""
        return {}

    # -- rasterisation (training and test) --------------------------------------------------
    def rasterize(self, method, gaussians: dict, K, height: int, width: int, frame) -> dict:
        """Render ``gaussians`` with intrinsics ``K`` at ``height`` x ``width``.

        Called for training frames (``frame`` a ``TrainFrame``) and test renders
        (``frame=None``). The default is the method's rasterizer,
        ``method.rasterize_gaussians``; override to change how Gaussians are drawn (e.g. a
        screen-space filter). Must return at least ``color`` [H, W, 3] and ``alpha`` [H, W]."""
        return method.rasterize_gaussians(gaussians, K, height, width)

    # -- per step ---------------------------------------------------------------------------
    def after_step(self, method, step: int, logs: dict[str, float]) -> None:
        """Called after the optimizer step of ``step``; may add floats to ``logs``."""

    # -- persistence and diagnostics -----------------------------------------------------------
    def state_dict(self, method) -> dict[str, Any]:
        """Top-level entries merged into the method's checkpoint (keys must be unique)."""
        return {}

    def load_state_dict(self, method, state: Mapping[str, Any]) -> None:
        """Read the hook's entries back from the method's whole checkpoint ``state``.

        May be called before ``setup`` (a fresh instance loading a checkpoint)."""

    def diagnostics(self, method) -> dict[str, Any]:
        """Entries merged into ``method.diagnostics()``."""
        return {}


def _overrides(hook: TrainingHooks, name: str) -> bool:
    return getattr(type(hook), name) is not getattr(TrainingHooks, name)


def _merge(parts: Iterable[Mapping[str, Any]], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        for k, v in part.items():
            if k in out:
                raise ValueError(f"two training hooks give the same {what} {k!r}")
            out[k] = v
    return out


class HookChain(TrainingHooks):
    """Several hooks as one, in order (see the module docstring for how each call combines)."""

    def __init__(self, hooks: Iterable[TrainingHooks] = ()) -> None:
        self.hooks = list(hooks)
        for h in self.hooks:
            if not isinstance(h, TrainingHooks):
                raise TypeError(f"training hooks must subclass TrainingHooks, got {h!r}")
        drawers = [h for h in self.hooks if _overrides(h, "rasterize")]
        if len(drawers) > 1:
            names = ", ".join(type(h).__name__ for h in drawers)
            raise ValueError(f"at most one training hook may replace rasterize, got {names}")
        self._rasterizer = drawers[0] if drawers else None

    def get(self, kind: type[T]) -> T:
        """The first hook of class ``kind`` (e.g. to reach its modules from the method)."""
        for h in self.hooks:
            if isinstance(h, kind):
                return h
        raise LookupError(f"no {kind.__name__} among the training hooks")

    def attach(self, method) -> None:
        for h in self.hooks:
            h.attach(method)

    def setup(self, method) -> None:
        for h in self.hooks:
            h.setup(method)

    def modules(self) -> list[torch.nn.Module]:
        return [m for h in self.hooks for m in h.modules()]

    def param_groups(self, method) -> list[dict[str, Any]]:
        return [g for h in self.hooks for g in h.param_groups(method)]

    def frame_hands(self, method, frame, hands):
        for h in self.hooks:
            hands = h.frame_hands(method, frame, hands)
        return hands

    def frame_gaussians(self, method, frame, gaussians):
        for h in self.hooks:
            gaussians = h.frame_gaussians(method, frame, gaussians)
        return gaussians

    def frame_render(self, method, frame, out):
        for h in self.hooks:
            out = h.frame_render(method, frame, out)
        return out

    def frame_loss_terms(self, method, ctx):
        return _merge((h.frame_loss_terms(method, ctx) for h in self.hooks), "loss term")

    def rasterize(self, method, gaussians, K, height, width, frame):
        if self._rasterizer is not None:
            return self._rasterizer.rasterize(method, gaussians, K, height, width, frame)
        return super().rasterize(method, gaussians, K, height, width, frame)

    def after_step(self, method, step, logs) -> None:
        for h in self.hooks:
            h.after_step(method, step, logs)

    def state_dict(self, method) -> dict[str, Any]:
        return _merge((h.state_dict(method) for h in self.hooks), "checkpoint entry")

    def load_state_dict(self, method, state) -> None:
        for h in self.hooks:
            h.load_state_dict(method, state)

    def diagnostics(self, method) -> dict[str, Any]:
        return _merge((h.diagnostics(method) for h in self.hooks), "diagnostics entry")
