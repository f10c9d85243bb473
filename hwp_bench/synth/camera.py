"""Cameras of HWP-Synth: HWP's intrinsics and the device motion of Table II.

Intrinsics follow HWP (docs/design.md, section 'Dataset layout and splits'):
focal = 5000/256 * max(H, W), principal point at
the image centre, so a method tuned on HWP-Synth sees the same (nearly orthographic) geometry as
on the real dataset. Extrinsics are identity: the camera never moves in the data. A handheld
phone's motion is applied to the world instead: every frame, the whole scene (hands, objects,
backdrop, light) is rotated and shifted by the inverse of the phone's pose, and the recorded
hand parameters are the resulting camera-space ones. A webcam is fixed.

Phone motion = slow drift (sinusoids of 60-200 frames, a few pixels to a tenth of the image,
some roll and zoom) + hand shake (sinusoids of 3-8 frames, about a pixel). Continuous in time,
so motion blur can sample it inside an exposure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwp_bench.synth.primitives import rotation

FOCAL_PER_PIXEL = 5000.0 / 256.0


def intrinsics(width: int, height: int) -> np.ndarray:
    f = FOCAL_PER_PIXEL * max(width, height)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


@dataclass
class CameraPath:
    """World -> camera transform over time: ``x_cam = R(t) x_world + t(t)``."""

    amps: np.ndarray  # [K, 6] amplitude per sinusoid for (rx, ry, rz, tx, ty, tz)
    periods: np.ndarray  # [K, 6]
    phases: np.ndarray  # [K, 6]

    @classmethod
    def static(cls) -> CameraPath:
        z = np.zeros((1, 6))
        return cls(z, np.ones((1, 6)), z)

    @classmethod
    def handheld(cls, rng: np.random.Generator, depth: float) -> CameraPath:
        f = FOCAL_PER_PIXEL  # pixels per radian, per image pixel of width 1
        # Image shift in fractions of the width: drift ~6%, shake ~0.8%.
        drift_rot = 0.06 / f
        shake_rot = 0.008 / f
        amps, periods = [], []
        for _ in range(3):  # drift terms
            amps.append([drift_rot, drift_rot, 0.06, 0.004, 0.004, 0.04 * depth])
            periods.append(rng.uniform(60, 200, 6))
        for _ in range(3):  # shake terms
            amps.append([shake_rot, shake_rot, 0.004, 0.0, 0.0, 0.004 * depth])
            periods.append(rng.uniform(3, 8, 6))
        amps = np.array(amps) * rng.uniform(0.5, 1.0, (6, 6))
        return cls(amps, np.array(periods), rng.uniform(0, 2 * np.pi, (6, 6)))

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        v = (self.amps * np.sin(2 * np.pi * t / self.periods + self.phases)).sum(0)
        R = rotation([0, 0, 1], v[2]) @ rotation([0, 1, 0], v[1]) @ rotation([1, 0, 0], v[0])
        return R, v[3:]
