"""Motion blur (tag ``blur``): fast hand motion seen through a long exposure.

With strength ``k`` the wrist gains a fast oscillation (translation and two rotation axes,
period 5-7 frames), and the frame is exposed for ``k`` frame intervals (up to a 360-degree
shutter): the scene renders it as the average of the preset's ``blur_subframes`` sub-frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hwp_bench.synth.perturbations.base import HandMotion, Perturbation

if TYPE_CHECKING:
    from hwp_bench.synth.scene import CaptureScene


class MotionBlur(Perturbation):
    tag = "blur"
    title = "motion blur"
    streams = ("schedule", "motion")

    def setup(self, scene: CaptureScene, rng: np.random.Generator) -> None:
        self.period = rng.uniform(5.0, 7.0)
        self.phase = rng.uniform(0, 2 * np.pi, 3)
        self.amp = rng.uniform(0.010, 0.014)

    def hand(self, scene: CaptureScene, side: str, t: float, k: float, motion: HandMotion) -> None:
        if k > 0:
            ph = 2 * np.pi * t / self.period + self.phase
            motion.tr = motion.tr + k * self.amp * np.array([np.sin(ph[0]), 0.6 * np.cos(ph[1]), 0])
            motion.eul = motion.eul + k * np.array(
                [0.0, 0.09 * np.sin(ph[2]), 0.06 * np.sin(ph[0])]
            )

    def exposure(self, scene: CaptureScene, k: float) -> float:
        return 1.0 * k
