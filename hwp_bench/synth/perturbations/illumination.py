"""Illumination changes (tag ``illumination``): gain, colour temperature, moving hard light.

With strength ``k``: a global gain ``exp(0.9 k sign)`` switching between brighter and darker
phases, a colour-temperature swing (warm/cool tint), the light direction sweeping round, a
stronger sun against a weaker ambient, and harder, deeper shadows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hwp_bench.synth import primitives as P
from hwp_bench.synth.perturbations.base import LightState, Perturbation

if TYPE_CHECKING:
    from hwp_bench.synth.scene import CaptureScene


class Illumination(Perturbation):
    tag = "illumination"
    title = "illumination changes"
    streams = ("schedule", "light")

    def setup(self, scene: CaptureScene, rng: np.random.Generator) -> None:
        self.gain_phase = rng.uniform(0, 2 * np.pi)
        self.gain_period = rng.uniform(25, 50)
        self.temp_phase = rng.uniform(0, 2 * np.pi)
        self.sweep = rng.uniform(0.8, 1.3) * rng.choice([-1, 1])

    def light(self, scene: CaptureScene, t: float, k: float, light: LightState) -> None:
        sweep = k * self.sweep * np.sin(2 * np.pi * t / (self.gain_period * 1.3))
        light.direction = (
            P.rotation([0, 1, 0], sweep) @ P.rotation([1, 0, 0], 0.5 * sweep) @ light.direction
        )
        sign = np.tanh(3 * np.sin(2 * np.pi * t / self.gain_period + self.gain_phase))
        light.gain = light.gain * float(np.exp(k * 0.9 * sign))
        temp = k * np.sin(2 * np.pi * t / (self.gain_period * 0.7) + self.temp_phase)
        light.tint = light.tint * np.exp(temp * np.array([0.28, 0.0, -0.32]))
        light.sun = light.sun * (1 + 0.6 * k)
        light.ambient = light.ambient * (1 - 0.65 * k)
        light.shadow_strength = light.shadow_strength + 0.4 * k  # hard, deep shadows
