"""Seeded value noise in 2D and 3D (smooth pseudo-random fields for procedural textures).

Value noise on an integer lattice with a hashed table and quintic interpolation, summed over
octaves (fBm). Everything is numpy and driven by an explicit seed, so textures are
reproducible bit for bit on any machine.
"""

from __future__ import annotations

import numpy as np

_TABLE = 1024


class ValueNoise:
    """A smooth random field ``R^d -> [-1, 1]`` fixed by ``seed``."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.values = rng.uniform(-1.0, 1.0, _TABLE)
        self.perm = rng.permutation(_TABLE).astype(np.int64)

    def _hash(self, *coords: np.ndarray) -> np.ndarray:
        h = np.zeros_like(coords[0])
        for c in coords:
            h = self.perm[(h + c) % _TABLE]
        return h

    def __call__(self, p: np.ndarray) -> np.ndarray:
        """Noise at points ``p [..., d]`` (d = 2 or 3), unit lattice spacing."""
        p = np.asarray(p, dtype=np.float64)
        d = p.shape[-1]
        base = np.floor(p)
        f = p - base
        base = base.astype(np.int64)
        w = f * f * f * (f * (f * 6 - 15) + 10)
        out = np.zeros(p.shape[:-1])
        for corner in range(1 << d):
            offs = [(corner >> k) & 1 for k in range(d)]
            idx = self._hash(*[base[..., k] + offs[k] for k in range(d)])
            weight = np.ones(p.shape[:-1])
            for k in range(d):
                weight = weight * (w[..., k] if offs[k] else 1.0 - w[..., k])
            out += weight * self.values[idx]
        return out

    def fbm(self, p: np.ndarray, octaves: int = 4, lacunarity: float = 2.0, gain: float = 0.5):
        """Fractal sum of ``octaves`` noise layers; roughly in [-1, 1]."""
        p = np.asarray(p, dtype=np.float64)
        total = np.zeros(p.shape[:-1])
        amp, norm, freq = 1.0, 0.0, 1.0
        for o in range(octaves):
            total += amp * self(p * freq + 17.31 * o)
            norm += amp
            amp *= gain
            freq *= lacunarity
        return total / norm
