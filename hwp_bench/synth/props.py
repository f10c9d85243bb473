"""Objects the hands interact with (the HOI perturbation), per action motif.

Every prop is placed relative to a posed hand (its palm centre, pinch point and palm axes) and
moved by the HOI strength ``s``: at ``s = 0`` it is far outside the frame (nothing drawn), at
``s = 0.4`` it sits where the action holds it (pen in the fingers, phone on the palm, watch on
the wrist), and towards ``s = 1`` it slides in front of the hand's centre, hiding more of it.
So the recorded strength and the measured occlusion fraction rise together, and the objects
enter and leave the picture smoothly instead of popping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwp_bench.synth import primitives as P
from hwp_bench.synth import textures as T
from hwp_bench.synth.shading import Mesh


@dataclass
class HandFrame:
    """Where a posed hand is (camera space): what props attach to."""

    wrist: np.ndarray
    centre: np.ndarray  # palm centre
    pinch: np.ndarray  # between thumb tip and index tip
    finger: np.ndarray  # unit, wrist -> middle knuckle
    across: np.ndarray  # unit, index side -> little-finger side
    palm: np.ndarray  # unit, out of the palm

    @classmethod
    def from_joints(cls, J: np.ndarray, palm_sign: float, tips: np.ndarray) -> HandFrame:
        f = J[4] - J[0]
        f /= np.linalg.norm(f)
        a = J[7] - J[1]
        a -= f * (a @ f)
        a /= np.linalg.norm(a)
        n = np.cross(J[1] - J[0], J[7] - J[0]) * palm_sign
        n /= np.linalg.norm(n)
        centre = (J[0] + J[1] + J[4] + J[7] + J[10]) / 5 + 0.3 * (J[4] - J[0])
        pinch = (J[tips[0]] + J[tips[1]]) / 2
        return cls(J[0], centre, pinch, f, a, n)


def _smooth(x, lo, hi):
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _mesh(g: P.Geometry, tex: np.ndarray, double_sided: bool = False) -> Mesh:
    # Objects are plastic, paper, metal, glass: a moderate glossy highlight.
    return Mesh(g.verts, g.faces, g.corner_uv, g.corner_normals, tex, "object", double_sided,
                specular=0.25, shininess=40.0)  # fmt: skip


class Prop:
    """Base: a rigid set of textured parts, placed by :meth:`pose` each frame."""

    entry_dir = np.array([1.0, -0.3, 0.0])
    holder: str | None = "right"  # the hand whose centre the prop covers at full strength

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def hold(self, hands: dict[str, HandFrame], t: float) -> tuple[np.ndarray, np.ndarray]:
        """(position, rotation) where the action holds the prop."""
        raise NotImplementedError

    def parts(self, t: float) -> list[tuple[P.Geometry, np.ndarray, bool]]:
        """Local geometry, texture, double-sidedness of each part at time ``t``."""
        raise NotImplementedError

    def meshes(self, hands: dict[str, HandFrame], t: float, s: float, R_cam: np.ndarray):
        if s <= 0.0:
            return []
        pos, R = self.hold(hands, t)
        if self.holder in hands:
            centre = hands[self.holder].centre
        else:
            centre = np.mean([h.centre for h in hands.values()], axis=0)
        cover = centre + np.array([0.0, 0.0, -0.05])
        entry = pos + (R_cam @ (self.entry_dir / np.linalg.norm(self.entry_dir))) * 0.35
        a = _smooth(s, 0.0, 0.4)
        b = _smooth(s, 0.4, 1.0)
        p = (1 - a) * entry + a * pos
        p = (1 - b) * p + b * (0.35 * pos + 0.65 * cover)
        out = []
        for g, tex, ds in self.parts(t):
            gg = g.transformed(R, p)
            out.append(_mesh(gg, tex, ds))
        return out


class Blocks(Prop):
    def __init__(self, rng):
        super().__init__(rng)
        self.cube = P.box(0.035, 0.035, 0.035)
        self.small = P.box(0.028, 0.028, 0.05)
        self.tex = [T.block(rng), T.block(rng)]

    def hold(self, hands, t):
        h = hands["right"]
        R = P.look_rotation(h.palm, h.finger) @ P.rotation([0, 0, 1], 0.3)
        return h.pinch + 0.022 * h.palm - 0.01 * h.finger, R

    def parts(self, t):
        off = np.array([0.045 * np.cos(t * 0.15), 0.03, 0.01])
        return [
            (self.cube, self.tex[0], False),
            (
                self.small.transformed(P.rotation([1, 1, 0], 0.5 + 0.05 * t), off),
                self.tex[1],
                False,
            ),
        ]


class Pen(Prop):
    def __init__(self, rng, spin: float = 0.55):
        super().__init__(rng)
        self.geo = P.cylinder(0.0065, 0.14, 12)  # a chunky marker pen
        self.tex = T.pen(rng)
        self.spin = spin * rng.choice([-1.0, 1.0])

    def hold(self, hands, t):
        h = hands["right"]
        ang = self.spin * t
        axis = np.cos(ang) * h.finger + np.sin(ang) * h.across
        R = P.look_rotation(axis, h.palm)
        # Over the backs of the fingers, on the camera's side: the pen spins in front.
        side = -h.palm if h.palm[2] > 0 else h.palm
        return h.pinch + 0.014 * side, R

    def parts(self, t):
        return [(self.geo, self.tex, False)]


class StickerSheet(Prop):
    entry_dir = np.array([1.0, 0.4, 0.0])

    def __init__(self, rng):
        super().__init__(rng)
        self.sheet = P.plane(0.10, 0.13)
        self.sticker = P.plane(0.022, 0.022)
        self.tex = T.stickers(rng)
        self.tex2 = T.stickers(rng, 32)

    def hold(self, hands, t):
        h = hands["right"]
        R = P.rotation([1, 0, 0], 0.35) @ P.rotation([0, 0, 1], 0.4 + 0.1 * np.sin(0.1 * t))
        return h.pinch + np.array([0.025, 0.01, -0.01]), R

    def parts(self, t):
        return [
            (self.sheet, self.tex, True),
            (
                self.sticker.transformed(np.eye(3), np.array([-0.065, 0.05, -0.004])),
                self.tex2,
                True,
            ),
        ]


class Bottle(Prop):
    entry_dir = np.array([1.0, 0.6, 0.0])

    def __init__(self, rng):
        super().__init__(rng)
        self.geo = P.cylinder(0.022, 0.12, 18)
        self.cap = P.cylinder(0.012, 0.025, 12)
        self.tex = T.bottle(rng)
        self.cap_tex = T.solid([0.2, 0.2, 0.25], rng=rng)

    def hold(self, hands, t):
        h = hands["right"]
        R = P.look_rotation(h.across, h.finger)
        return h.centre + 0.03 * h.palm, R

    def parts(self, t):
        return [
            (self.geo, self.tex, False),
            (self.cap.transformed(np.eye(3), np.array([0, 0, 0.07])), self.cap_tex, False),
        ]


class Watch(Prop):
    entry_dir = np.array([-1.0, 0.5, 0.0])
    holder = "left"

    def __init__(self, rng):
        super().__init__(rng)
        self.band = P.cylinder(0.031, 0.022, 20, caps=False)
        self.face = P.cylinder(0.019, 0.009, 20)
        self.tex = T.strap(rng)
        self.dial = T.dial(rng)

    def hold(self, hands, t):
        h = hands["left"]
        R = P.look_rotation(h.finger, -h.palm)
        return h.wrist - 0.015 * h.finger, R

    def parts(self, t):
        face = self.face.transformed(P.rotation([1, 0, 0], np.pi / 2), np.array([0, 0.033, 0]))
        return [(self.band, self.tex, True), (face, self.dial, False)]


class Phone(Prop):
    entry_dir = np.array([-1.0, 0.8, 0.0])
    holder = "left"

    def __init__(self, rng):
        super().__init__(rng)
        self.body = P.box(0.07, 0.145, 0.008)
        self.screen = P.plane(0.064, 0.132)
        self.body_tex = T.solid([0.08, 0.08, 0.09], rng=rng)
        self.strip = T.phone_screen(rng)
        self.speed = rng.uniform(4.0, 8.0)

    def hold(self, hands, t):
        h = hands["left"]
        R = P.look_rotation(-h.palm, h.finger) @ P.rotation([0, 0, 1], np.pi)
        return h.centre + 0.02 * h.palm + 0.01 * h.finger, R

    def parts(self, t):
        n = self.strip.shape[1]
        off = int(self.speed * t) % (self.strip.shape[0] - n)
        scr = self.strip[off : off + n]
        return [
            (self.body, self.body_tex, False),
            (self.screen.transformed(np.eye(3), np.array([0, 0, -0.0045])), scr, False),
        ]


class Cards(Prop):
    entry_dir = np.array([0.2, -1.0, 0.0])
    holder = None

    def __init__(self, rng):
        super().__init__(rng)
        self.card = P.box(0.063, 0.088, 0.0012)
        self.back = T.card(rng, back=True)
        self.faces = [T.card(rng) for _ in range(3)]
        self.period = rng.uniform(14, 20)

    def hold(self, hands, t):
        r, lft = hands["right"], hands["left"]
        mid = (r.pinch + lft.pinch) / 2
        R = P.rotation([1, 0, 0], -0.5)
        self._span = r.pinch - lft.pinch
        return mid + np.array([0, 0.0, -0.015]), R

    def parts(self, t):
        out = []
        span = getattr(self, "_span", np.array([0.12, 0, 0]))
        for k in range(3):
            u = (t / self.period + k / 3) % 1
            pos = (u - 0.5) * span * 0.7 + np.array([0, -0.03 * np.sin(np.pi * u), -0.003 * k])
            R = P.rotation([0, 0, 1], 0.6 * (u - 0.5))
            out.append((self.card.transformed(R, pos), self.faces[k] if k % 2 else self.back, True))
        return out


PROPS_FOR_ACTION = {
    "grabbing blocks": [Blocks],
    "spinning a pen": [Pen],
    "sticking stickers": [StickerSheet],
    "applying lotion": [Bottle],
    "putting on a watch": [Watch],
    "scrolling a phone": [Phone],
    "shuffling cards": [Cards],
    "gestures": [Blocks],
}


def make_props(rng: np.random.Generator, action: str) -> list[Prop]:
    return [cls(rng) for cls in PROPS_FOR_ACTION[action]]
