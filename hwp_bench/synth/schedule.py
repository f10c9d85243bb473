"""Per-frame perturbation strengths that vary over time.

Each perturbation tag of a capture (Table II: ``hoi``, ``complex_pose``, ``illumination``,
``blur``) gets a strength curve ``s(t)`` in [0, 1]: a few *episodes*, each a smooth raised-
cosine bump of random length and peak, so perturbations come and go like in a real video
(persistent stretches, not single-frame outliers). Curves are exactly zero in the clean test
clip (the last 10%, plus a short margin before it so that no episode's tail leaks in) and for
tags the capture does not carry. The curves are continuous in time so that motion blur can
evaluate them inside a frame's exposure.

This is the default ``schedule`` hook of every perturbation
(:class:`hwp_bench.synth.perturbations.Perturbation`); the scene draws one curve per registered
perturbation, tagged or not, so a capture's tags never shift the random stream.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass
class Schedule:
    """Episodes of one perturbation: centres, half-widths and peaks (frame units)."""

    centres: np.ndarray
    halfwidths: np.ndarray
    peaks: np.ndarray
    stop: float  # no strength at or after this time

    @classmethod
    def zero(cls) -> Schedule:
        """No episode: strength 0 at every time (untagged captures, the clean twin)."""
        return cls(np.zeros(0), np.zeros(0), np.zeros(0), 0.0)

    def scaled(self, level: float) -> Schedule:
        """The same episodes with peaks times ``level`` (robustness sweeps)."""
        return dataclasses.replace(self, peaks=self.peaks * float(level))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        s = np.zeros_like(t)
        for c, h, p in zip(self.centres, self.halfwidths, self.peaks, strict=True):
            x = np.clip((t - c) / h, -1.0, 1.0)
            s = np.maximum(s, p * 0.5 * (1 + np.cos(np.pi * x)))
        return np.where(t < self.stop, s, 0.0)


def make_schedule(
    rng: np.random.Generator, num_frames: int, test_start: int, coverage: float = 0.55
) -> Schedule:
    """Random episodes covering about ``coverage`` of the frames before the test clip."""
    margin = 2.0
    stop = test_start - margin
    if stop <= 4:
        return Schedule.zero()
    n_ep = max(1, int(round(rng.uniform(2, 4) * max(num_frames, 60) / 100)))
    total = coverage * stop
    widths = rng.dirichlet(np.ones(n_ep)) * total * 0.5 + 3.0  # half-widths
    widths = np.minimum(widths, stop / 2)
    slots = np.sort(rng.uniform(0, 1, n_ep))
    centres = widths + slots * np.maximum(stop - 2 * widths, 0)
    centres = np.minimum(centres, stop - widths)
    peaks = rng.uniform(0.55, 1.0, n_ep)
    return Schedule(centres, widths, peaks, stop)
