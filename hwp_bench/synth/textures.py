"""Procedural textures of objects and backdrops (linear RGB, seeded).

Small, recognisable surfaces: painted wooden blocks, a striped pen, a sticker sheet, a lotion
bottle label, a watch strap and dial, a phone screen with scrolling content, playing cards, and
backdrops (wood desk, fabric, painted wall with out-of-focus clutter). None needs to be
realistic in detail; each needs structure (edges, stripes, print) so that occlusion and blur are
visible in the pixels, the way real objects are.
"""

from __future__ import annotations

import numpy as np

from hwp_bench.synth.noise import ValueNoise
from hwp_bench.synth.skin import srgb_to_linear


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:h, 0:w]
    return (x + 0.5) / w, (y + 0.5) / h


def solid(rgb_srgb, size: int = 16, rng: np.random.Generator | None = None, grain: float = 0.04):
    """Flat colour with slight grain (painted block, bottle cap)."""
    col = srgb_to_linear(np.asarray(rgb_srgb, dtype=np.float64))
    tex = np.broadcast_to(col, (size, size, 3)).copy()
    if rng is not None:
        tex *= 1 + grain * rng.normal(0, 1, (size, size, 1))
    return np.clip(tex, 0, 1).astype(np.float32)


def block(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A toy block face: saturated paint, darker bevelled rim, a printed letter-like glyph."""
    palette = [(220, 40, 40), (40, 110, 220), (250, 200, 40), (40, 170, 80), (240, 120, 30)]
    col = np.array(palette[rng.integers(len(palette))], float)
    x, y = _grid(size, size)
    rim = np.minimum(np.minimum(x, 1 - x), np.minimum(y, 1 - y))
    tex = np.broadcast_to(srgb_to_linear(col / 255), (size, size, 3)).copy()
    tex *= (0.55 + 0.45 * np.clip(rim / 0.08, 0, 1))[..., None]
    glyph = (np.abs(x - 0.5) < 0.08) & (np.abs(y - 0.5) < 0.3) | (np.abs(y - 0.3) < 0.06) & (
        np.abs(x - 0.5) < 0.25
    )
    tex[glyph] = srgb_to_linear(np.array([0.97, 0.97, 0.95]))
    return tex.astype(np.float32)


def pen(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Around the pen (u) and along it (v): coloured barrel, grip rings, metal tip."""
    body = [(30, 60, 160), (20, 20, 25), (200, 30, 40), (240, 240, 235)][rng.integers(4)]
    x, y = _grid(size, size)
    tex = np.broadcast_to(srgb_to_linear(np.array(body) / 255), (size, size, 3)).copy()
    grip = (y > 0.12) & (y < 0.3)
    tex[grip] = srgb_to_linear(np.array([0.12, 0.12, 0.13]))
    tex[(y > 0.12) & (y < 0.3) & ((y * 40) % 1 < 0.3)] *= 0.5
    tex[y < 0.1] = srgb_to_linear(np.array([0.75, 0.75, 0.78]))
    tex[(y > 0.85) & (np.abs(x - 0.5) < 0.05)] = srgb_to_linear(np.array([0.8, 0.8, 0.82]))
    tex *= (0.85 + 0.15 * np.cos(2 * np.pi * x))[..., None]
    return tex.astype(np.float32)


def stickers(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """A sticker sheet: white backing with bright stars and dots."""
    x, y = _grid(size, size)
    tex = np.broadcast_to(srgb_to_linear(np.array([0.95, 0.95, 0.92])), (size, size, 3)).copy()
    for _ in range(9):
        cx, cy = rng.uniform(0.12, 0.88, 2)
        r = rng.uniform(0.06, 0.12)
        ang = np.arctan2(y - cy, x - cx)
        rr = np.hypot(x - cx, y - cy)
        shape = rr < r * (0.65 + 0.35 * np.cos(5 * ang)) if rng.uniform() < 0.5 else rr < r
        col = srgb_to_linear(rng.uniform(0.1, 1.0, 3) * np.array([1, 0.9, 1]))
        tex[shape] = col
    return tex.astype(np.float32)


def bottle(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Lotion bottle: white plastic with a coloured label band and print lines."""
    x, y = _grid(size, size)
    tex = np.broadcast_to(srgb_to_linear(np.array([0.93, 0.93, 0.9])), (size, size, 3)).copy()
    label = (y > 0.3) & (y < 0.75)
    col = srgb_to_linear(
        np.array([[0.2, 0.5, 0.8], [0.9, 0.5, 0.6], [0.3, 0.7, 0.4]][rng.integers(3)])
    )
    tex[label] = col
    tex[label & ((y * 30) % 1 < 0.25) & (np.abs(x - 0.5) < 0.2)] = 0.9
    tex[y > 0.9] = srgb_to_linear(np.array([0.15, 0.15, 0.2]))
    return tex.astype(np.float32)


def strap(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Watch strap: dark leather or coloured silicone with stitch marks."""
    base = [(40, 30, 25), (20, 20, 22), (30, 60, 110)][rng.integers(3)]
    x, y = _grid(size, size)
    tex = np.broadcast_to(srgb_to_linear(np.array(base) / 255), (size, size, 3)).copy()
    stitch = ((np.abs(y - 0.15) < 0.03) | (np.abs(y - 0.85) < 0.03)) & ((x * 24) % 1 < 0.5)
    tex[stitch] = srgb_to_linear(np.array([0.7, 0.65, 0.55]))
    return tex.astype(np.float32)


def dial(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Watch face: metal rim, light dial, hour marks and hands."""
    x, y = _grid(size, size)
    r = np.hypot(x - 0.5, y - 0.5)
    tex = np.broadcast_to(srgb_to_linear(np.array([0.6, 0.6, 0.63])), (size, size, 3)).copy()
    tex[r < 0.42] = srgb_to_linear(np.array([0.92, 0.92, 0.88]))
    ang = np.arctan2(y - 0.5, x - 0.5)
    marks = (r > 0.33) & (r < 0.4) & ((ang / (2 * np.pi) * 12) % 1 < 0.12)
    tex[marks] = 0.02
    h1 = (np.abs(x - 0.5) < 0.02) & (y < 0.5) & (y > 0.22)
    h2 = (np.abs(y - 0.5) < 0.02) & (x > 0.5) & (x < 0.72)
    tex[h1 | h2] = 0.02
    return tex.astype(np.float32)


def phone_screen(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """A tall strip of app content (rows of thumbnails and text) that the screen scrolls over.

    Returned as ``[4*size, size, 3]``; the phone samples a window of it that moves with time.
    """
    h = 4 * size
    x, y = _grid(h, size)
    tex = np.broadcast_to(srgb_to_linear(np.array([0.97, 0.97, 0.97])), (h, size, 3)).copy()
    rows = 14
    for r in range(rows):
        y0 = r / rows
        thumb = (y > y0 + 0.01) & (y < y0 + 0.055) & (x > 0.06) & (x < 0.34)
        tex[thumb] = srgb_to_linear(rng.uniform(0.1, 0.9, 3))
        for k in range(3):
            line = (
                (np.abs(y - (y0 + 0.018 + 0.014 * k)) < 0.003)
                & (x > 0.4)
                & (x < 0.9 - 0.15 * rng.uniform())
            )
            tex[line] = 0.15
    return tex.astype(np.float32)


def card(rng: np.random.Generator, size: int = 64, back: bool = False) -> np.ndarray:
    """A playing card: white face with red/black pips, or a patterned back."""
    x, y = _grid(size, size)
    if back:
        col = srgb_to_linear(np.array([[0.7, 0.1, 0.12], [0.1, 0.2, 0.6]][rng.integers(2)]))
        tex = np.broadcast_to(col, (size, size, 3)).copy()
        lattice = (((x + y) * 10) % 1 < 0.15) | (((x - y) * 10) % 1 < 0.15)
        tex[lattice] = 0.85
        border = np.minimum(np.minimum(x, 1 - x), np.minimum(y, 1 - y)) < 0.06
        tex[border] = 0.92
        return tex.astype(np.float32)
    tex = np.full((size, size, 3), 0.92)
    col = np.array([0.75, 0.03, 0.05]) if rng.uniform() < 0.5 else np.array([0.02, 0.02, 0.02])
    for cx, cy in [(0.3, 0.25), (0.7, 0.25), (0.5, 0.5), (0.3, 0.75), (0.7, 0.75)]:
        tex[np.hypot(x - cx, y - cy) < 0.08] = col
    return tex.astype(np.float32)


def backdrop(rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """What is behind the hands: a wood desk, a fabric, or a wall with blurred clutter."""
    kind = int(rng.integers(3))
    noise = ValueNoise(int(rng.integers(2**31)))
    x, y = _grid(size, size)
    p = np.stack([x, y], -1)
    if kind == 0:  # wood
        warp = noise.fbm(p * np.array([3.0, 12.0]), octaves=4)
        grain = np.sin((y * 40 + 4 * warp) * np.pi) * 0.5 + 0.5
        fine = noise(p * np.array([40.0, 400.0]))
        base = srgb_to_linear(rng.uniform([0.45, 0.28, 0.15], [0.7, 0.5, 0.32]))
        tex = base * (0.75 + 0.25 * grain[..., None]) * (1 + 0.06 * fine[..., None])
    elif kind == 1:  # fabric
        base = srgb_to_linear(rng.uniform(0.15, 0.75, 3))
        weave = 0.5 + 0.25 * (np.sin(x * size * 1.2) + np.sin(y * size * 1.2))
        folds = noise.fbm(p * 4.0, octaves=3)
        tex = base * (0.8 + 0.12 * weave[..., None]) * (1 + 0.35 * folds[..., None])
    else:  # wall with out-of-focus objects
        base = srgb_to_linear(rng.uniform([0.55, 0.55, 0.5], [0.9, 0.88, 0.85]))
        tex = base * (1 + 0.08 * noise.fbm(p * 6.0, octaves=3)[..., None])
        for _ in range(6):
            cx, cy = rng.uniform(0, 1, 2)
            r = rng.uniform(0.05, 0.2)
            blob = np.exp(-((np.hypot(x - cx, (y - cy) * rng.uniform(0.5, 2)) / r) ** 4))
            col = srgb_to_linear(rng.uniform(0.05, 0.9, 3))
            tex = tex * (1 - blob[..., None]) + col * blob[..., None]
    shade = 0.8 + 0.4 * (1 - np.hypot(x - 0.5, y - 0.5))
    return np.clip(tex * shade[..., None], 0, 1).astype(np.float32)
