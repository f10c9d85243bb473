"""Complex poses (tag ``complex_pose``): extreme articulations and wrist angles.

Per hand, a second keypose track of extreme poses (:func:`hwp_bench.synth.motion.
make_extreme_track`); with strength ``k`` the finger controls blend towards it and its wrist
angles are added, which also brings self-occlusion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hwp_bench.synth.perturbations.base import HandMotion, Perturbation

if TYPE_CHECKING:
    from hwp_bench.synth.scene import CaptureScene


class ComplexPose(Perturbation):
    tag = "complex_pose"
    title = "complex poses"
    streams = ("schedule", "motion")

    def __init__(self) -> None:
        self.extreme = {}

    def setup_side(self, scene: CaptureScene, side: str, rng: np.random.Generator) -> None:
        from hwp_bench.synth.motion import make_extreme_track

        self.extreme[side] = make_extreme_track(rng, scene.num_frames, scene.tempo)

    def hand(self, scene: CaptureScene, side: str, t: float, k: float, motion: HandMotion) -> None:
        ectrl, eeul, _ = self.extreme[side].at(np.array(t))
        motion.ctrl = (1 - k) * motion.ctrl + k * ectrl
        motion.eul = motion.eul + k * eeul
