"""The contract of an HWP-Synth perturbation: a tag, a strength schedule and explicit hooks.

A perturbation is a small class. Its tag (``"hoi"``, ``"blur"``...) names it in capture tags,
frame tags and the per-frame ``strengths`` annotation. :class:`~hwp_bench.synth.scene.
CaptureScene` makes one instance per capture and calls the hooks below at fixed points of
generation; every hook defaults to doing nothing, so a perturbation overrides only where it
acts. ``k`` is always the perturbation's own strength at the time being rendered (0 outside
its episodes, for captures without its tag and in the clean twin).

Order of calls, per capture:

1. ``setup_side(scene, side, rng)`` for each hand, right after that hand's motion is drawn;
2. ``schedule(rng, num_frames, test_start)``: the strength curve over time;
3. ``setup(scene, rng)``: any other random parameters (objects, light cycles...).

then, for every exposure sub-frame at continuous time ``t``: ``hand`` (per side), ``light``,
``meshes``; and once per frame ``exposure``. Hooks run in registry order
(:mod:`hwp_bench.synth.perturbations.registry`).

Random numbers: the generator passed to the three set-up hooks is the perturbation's own
stream, seeded by (seed, capture, tag), so adding or removing a perturbation never moves
another one's draws. The four built-ins keep drawing from the scene's named streams
(``streams``) so that data written before perturbations were separate units stays
byte-identical.

This module imports nothing from the rest of the toolkit at import time, so the data layer
can read the registry without loading the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from hwp_bench.synth.scene import CaptureScene, HandState
    from hwp_bench.synth.schedule import Schedule
    from hwp_bench.synth.shading import Mesh


@dataclass
class HandMotion:
    """One hand's motion controls at time ``t``, before they become model parameters.

    ``ctrl``: the rig's semantic finger controls; ``eul``: the wrist's Euler angles added to
    the motif's base rotation; ``tr``: the wrist offset from the hand's anchor (world space,
    metres; the handheld camera is applied afterwards). ``hand`` hooks replace these fields.
    """

    ctrl: np.ndarray
    eul: np.ndarray
    tr: np.ndarray


@dataclass
class LightState:
    """The light of a sub-frame, before the camera's motion is applied.

    ``direction``: unit vector towards the light (world space); ``sun`` and ``ambient``: RGB
    intensities; ``shadow_strength``: how dark full shadow is; ``gain``: global exposure gain
    applied to the rendered image; ``tint``: per-channel colour multiplier of the image
    (colour temperature). ``light`` hooks replace these fields.
    """

    direction: np.ndarray
    sun: np.ndarray
    ambient: np.ndarray
    shadow_strength: float
    gain: float
    tint: np.ndarray


class Perturbation:
    """Base class of HWP-Synth perturbations (every hook is a no-op by default).

    Subclasses set ``tag`` (a short identifier: lower case, digits, underscores) and
    ``title`` (words for dataset cards), optionally ``aliases`` (extra names accepted by
    ``hwp-bench sweep``), and override the hooks where the perturbation acts. An instance
    lives for one capture: state drawn in the set-up hooks goes on ``self``.
    """

    tag: ClassVar[str] = ""
    title: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    # Built-ins only: (stream of the schedule draws, stream of the set-up draws) among the
    # scene's named streams. None: the perturbation's own stream (the rule for new ones).
    streams: ClassVar[tuple[str, str] | None] = None

    # ---------------------------------------------------------------- per capture
    def schedule(self, rng: np.random.Generator, num_frames: int, test_start: int) -> Schedule:
        """The strength curve ``s(t)`` in [0, 1] (default: random smooth episodes before the
        test clip, :func:`~hwp_bench.synth.schedule.make_schedule`).

        Drawn for every capture, tagged or not, so tags never shift random streams; captures
        without the tag and the clean twin replace it by an all-zero curve. The result must
        be callable on times and offer ``scaled(level)`` (robustness sweeps): return a
        :class:`~hwp_bench.synth.schedule.Schedule` or a subclass.
        """
        from hwp_bench.synth.schedule import make_schedule

        return make_schedule(rng, num_frames, test_start)

    def setup_side(self, scene: CaptureScene, side: str, rng: np.random.Generator) -> None:
        """Draw per-hand parameters (called for each side right after its motion is drawn)."""

    def setup(self, scene: CaptureScene, rng: np.random.Generator) -> None:
        """Draw per-capture parameters (after the scene's camera and base light)."""

    # ---------------------------------------------------------------- per sub-frame
    def hand(self, scene: CaptureScene, side: str, t: float, k: float, motion: HandMotion) -> None:
        """Change one hand's motion at time ``t`` (pose, wrist angles, translation)."""

    def light(self, scene: CaptureScene, t: float, k: float, light: LightState) -> None:
        """Change the light at time ``t`` (direction, intensities, shadows, gain, tint)."""

    def meshes(
        self, scene: CaptureScene, t: float, k: float, hands: dict[str, HandState]
    ) -> list[Mesh]:
        """Extra meshes at time ``t`` (occluders...), drawn after the hands and before the
        forearms and backdrop. ``hands`` are the exact camera-space hand states."""
        return []

    # ---------------------------------------------------------------- per frame
    def exposure(self, scene: CaptureScene, k: float) -> float:
        """Shutter time this perturbation asks for, in frame intervals (0: a still frame).

        The frame is rendered over the longest exposure any perturbation asks for, as the
        average of the preset's ``blur_subframes`` sub-frames (one sub-frame below 0.05).
        """
        return 0.0
