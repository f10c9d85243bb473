"""Hand motion: keyposes per action motif (Table II), interpolated smoothly in time.

A hand's motion is a continuous function of time (in frame units), so that motion blur can
sample it inside a frame's exposure. It is built from *keyframes* of semantic controls
(:mod:`hwp_bench.synth.rig`) plus a wrist rotation (Euler offsets about the hand's base
orientation) and a wrist translation (metres), interpolated with centripetal-free uniform
Catmull-Rom splines (C1 smooth, passes through the keyposes).

Every motif has a *training* pool of keyposes and a disjoint *test* pool: keyframes that
fall in the last 10% of the capture (the clean test clip) are drawn from the test pool and
the wrist gets an orientation offset never used before, so the test clip shows poses not seen
in training. *Complex poses* are a perturbation: their strength blends the motif's pose
towards extreme articulations (tight fist, crossed fingers, hyperextension, thumb tucked under
the fingers, hand turned edge-on) with self-occlusion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwp_bench.synth.rig import NUM_CONTROLS


def _pose(thumb=(0.2, 0.2, 0.1), index=(0.15, 0.15, 0.1), middle=(0.15, 0.15, 0.1),
          ring=(0.2, 0.2, 0.1), pinky=(0.25, 0.2, 0.1), spread=(0.1, 0.05, 0.0, 0.05, 0.1),
          oppose=0.2) -> np.ndarray:  # fmt: skip
    return np.array([*thumb, *index, *middle, *ring, *pinky, *spread, oppose], dtype=np.float64)


CURL = (1.35, 1.45, 0.95)
HALF = (0.7, 0.8, 0.5)
STRAIGHT = (0.05, 0.05, 0.05)

KEYPOSES: dict[str, np.ndarray] = {
    "open": _pose(thumb=(0.05, 0.1, 0.05), index=STRAIGHT, middle=STRAIGHT, ring=STRAIGHT,
                  pinky=STRAIGHT, spread=(0.15, 0.12, 0.0, 0.1, 0.15), oppose=0.05),
    "relaxed": _pose(thumb=(0.2, 0.25, 0.15), index=(0.25, 0.3, 0.2), middle=(0.3, 0.35, 0.2),
                     ring=(0.35, 0.4, 0.25), pinky=(0.4, 0.45, 0.25), oppose=0.3),
    "fist": _pose(thumb=(0.45, 0.55, 0.6), index=CURL, middle=CURL, ring=CURL, pinky=CURL,
                  spread=(0, 0, 0, 0, 0), oppose=0.8),
    "point": _pose(thumb=(0.4, 0.5, 0.5), index=STRAIGHT, middle=CURL, ring=CURL, pinky=CURL,
                   oppose=0.7),
    "peace": _pose(thumb=(0.4, 0.5, 0.5), index=STRAIGHT, middle=STRAIGHT, ring=CURL, pinky=CURL,
                   spread=(0, 0.25, -0.1, 0, 0), oppose=0.7),
    "thumbs_up": _pose(thumb=(0.0, -0.1, -0.1), index=CURL, middle=CURL, ring=CURL, pinky=CURL,
                       spread=(0.2, 0, 0, 0, 0), oppose=-0.1),
    "ok": _pose(thumb=(0.3, 0.45, 0.35), index=(0.75, 0.9, 0.55), middle=(0.1, 0.1, 0.05),
                ring=(0.15, 0.1, 0.05), pinky=(0.2, 0.1, 0.05), spread=(0, 0, 0, 0.15, 0.25),
                oppose=0.95),
    "pinch": _pose(thumb=(0.3, 0.4, 0.3), index=(0.6, 0.8, 0.5), middle=(0.5, 0.6, 0.3),
                   ring=(0.6, 0.6, 0.3), pinky=(0.7, 0.6, 0.3), oppose=0.9),
    "grip": _pose(thumb=(0.35, 0.4, 0.35), index=(0.85, 1.05, 0.6), middle=(0.95, 1.1, 0.6),
                  ring=(1.0, 1.1, 0.6), pinky=(1.05, 1.1, 0.6), spread=(0, 0, 0, 0, 0), oppose=0.95),
    "claw": _pose(thumb=(0.2, 0.5, 0.5), index=(0.2, 1.2, 1.0), middle=(0.2, 1.25, 1.0),
                  ring=(0.25, 1.25, 1.0), pinky=(0.3, 1.2, 1.0), spread=(0.2, 0.15, 0, 0.1, 0.2)),
    "spread": _pose(thumb=(0.0, 0.0, 0.0), index=(-0.05, 0, 0), middle=(-0.05, 0, 0),
                    ring=(-0.05, 0, 0), pinky=(-0.05, 0, 0), spread=(0.35, 0.28, 0.05, 0.22, 0.35),
                    oppose=-0.1),
    "three": _pose(thumb=(0.4, 0.5, 0.5), index=STRAIGHT, middle=STRAIGHT, ring=STRAIGHT,
                   pinky=CURL, spread=(0, 0.15, 0, 0.1, 0), oppose=0.7),
    "call": _pose(thumb=(0.0, 0.0, 0.0), index=CURL, middle=CURL, ring=CURL, pinky=STRAIGHT,
                  spread=(0.3, 0, 0, 0, 0.3), oppose=-0.1),
    "rock": _pose(thumb=(0.4, 0.5, 0.5), index=STRAIGHT, middle=CURL, ring=CURL, pinky=STRAIGHT,
                  spread=(0, 0.15, 0, 0, 0.2), oppose=0.7),
    "flat": _pose(thumb=(0.1, 0.1, 0.05), index=(0.08, 0.05, 0.05), middle=(0.08, 0.05, 0.05),
                  ring=(0.08, 0.05, 0.05), pinky=(0.08, 0.05, 0.05), spread=(0.05, 0, 0, 0, 0.02),
                  oppose=0.1),
    "scroll": _pose(thumb=(0.4, 0.5, 0.4), index=(0.25, 0.3, 0.2), middle=HALF, ring=CURL,
                    pinky=CURL, oppose=0.7),
    "hold_flat": _pose(thumb=(0.15, 0.2, 0.1), index=(0.45, 0.35, 0.2), middle=(0.5, 0.35, 0.2),
                       ring=(0.55, 0.4, 0.2), pinky=(0.6, 0.4, 0.2), oppose=0.6),
    "card_hold": _pose(thumb=(0.2, 0.15, 0.1), index=(0.6, 0.5, 0.3), middle=(0.6, 0.5, 0.3),
                       ring=(0.65, 0.5, 0.3), pinky=(0.7, 0.5, 0.3), oppose=0.9),
    "tap": _pose(thumb=(0.3, 0.3, 0.2), index=(0.5, 0.4, 0.2), middle=(0.6, 0.5, 0.3),
                 ring=(0.7, 0.6, 0.3), pinky=(0.8, 0.6, 0.3), oppose=0.5),
    "four": _pose(thumb=(0.5, 0.6, 0.6), index=STRAIGHT, middle=STRAIGHT, ring=STRAIGHT,
                  pinky=STRAIGHT, spread=(0, 0.15, 0, 0.1, 0.15), oppose=1.0),
}  # fmt: skip

EXTREME: dict[str, np.ndarray] = {
    "tight_fist": _pose(thumb=(0.6, 0.8, 0.9), index=(1.6, 1.75, 1.2), middle=(1.6, 1.75, 1.2),
                        ring=(1.6, 1.75, 1.2), pinky=(1.6, 1.75, 1.2), spread=(0, 0, 0, 0, 0),
                        oppose=1.1),
    "crossed": _pose(thumb=(0.4, 0.6, 0.6), index=(0.25, 0.1, 0.05), middle=(0.35, 0.15, 0.1),
                     ring=CURL, pinky=CURL, spread=(0, -0.35, 0.45, 0, 0), oppose=0.8),
    "hyperextend": _pose(thumb=(-0.2, -0.3, -0.3), index=(-0.45, -0.1, -0.05),
                         middle=(-0.45, -0.1, -0.05), ring=(-0.4, -0.1, -0.05),
                         pinky=(-0.4, -0.1, -0.05), spread=(0.45, 0.3, 0.05, 0.25, 0.4),
                         oppose=-0.3),
    "thumb_tucked": _pose(thumb=(0.9, 0.9, 0.7), index=(1.0, 1.2, 0.8), middle=(1.1, 1.3, 0.8),
                          ring=(1.2, 1.3, 0.8), pinky=(1.3, 1.3, 0.8), oppose=1.4),
    "staggered": _pose(thumb=(0.1, 0.2, 0.2), index=STRAIGHT, middle=(1.2, 1.4, 0.9),
                       ring=(0.1, 0.1, 0.05), pinky=(1.4, 1.5, 1.0), spread=(0.3, 0.3, 0, 0.3, 0.2)),
}  # fmt: skip
# Extreme wrist orientations (Euler offsets, radians): edge-on views and strong flexion.
EXTREME_WRIST = (
    np.array([0.0, 1.35, 0.0]),
    np.array([0.0, -1.3, 0.2]),
    np.array([1.0, 0.0, 0.3]),
    np.array([-0.9, 0.3, 0.0]),
    np.array([0.3, 0.9, 0.8]),
)


@dataclass(frozen=True)
class MotifHand:
    """How one hand moves within a motif."""

    train: tuple[str, ...]
    test: tuple[str, ...]
    anchor: tuple[float, float, float]  # wrist position relative to the scene centre (m)
    palm_to_camera: bool  # base orientation: palm (True) or back of the hand (False) visible
    roll: float  # in-plane rotation of the base orientation (rad); 0 = fingers up
    wrist_amp: tuple[float, float, float] = (0.35, 0.45, 0.25)  # Euler amplitudes (rad)
    trans_amp: tuple[float, float, float] = (0.015, 0.012, 0.02)  # m


@dataclass(frozen=True)
class Motif:
    name: str
    hands: dict[str, MotifHand]
    tempo: float = 11.0  # frames between keyposes at the quick preset
    pitch: float = 0.35  # base tilt of the hands towards/away from the camera (rad)


_GEST_TRAIN = ("open", "fist", "point", "peace", "thumbs_up", "ok", "spread", "relaxed", "call")
_GEST_TEST = ("three", "rock", "four", "claw")

MOTIFS: dict[str, Motif] = {
    "grabbing blocks": Motif("grabbing blocks", {
        "right": MotifHand(("open", "grip", "pinch", "relaxed", "claw"), ("tap", "hold_flat"),
                           (0.0, 0.075, 0.0), False, 0.25),
    }),
    "gestures": Motif("gestures", {
        "right": MotifHand(_GEST_TRAIN, _GEST_TEST, (0.0, 0.07, 0.0), True, 0.1),
    }, tempo=10.0),
    "spinning a pen": Motif("spinning a pen", {
        "right": MotifHand(("grip", "pinch", "relaxed", "tap"), ("ok", "hold_flat"),
                           (0.0, 0.07, 0.0), False, 0.5, trans_amp=(0.01, 0.01, 0.015)),
    }, tempo=9.0),
    "spinning a pen/inter": Motif("spinning a pen", {
        "right": MotifHand(("grip", "pinch", "relaxed", "tap"), ("ok", "hold_flat"),
                           (0.035, 0.05, 0.0), False, 0.35),
        "left": MotifHand(("relaxed", "flat", "hold_flat"), ("open", "tap"),
                          (-0.06, 0.09, 0.02), False, -0.7, wrist_amp=(0.2, 0.2, 0.15)),
    }, tempo=9.0),
    "sticking stickers": Motif("sticking stickers", {
        "right": MotifHand(("pinch", "ok", "point", "relaxed"), ("tap", "grip"),
                           (0.07, 0.02, -0.01), False, 0.7),
        "left": MotifHand(("flat", "open", "relaxed"), ("spread", "hold_flat"),
                          (-0.06, 0.09, 0.0), False, -0.6, wrist_amp=(0.15, 0.2, 0.15)),
    }),
    "applying lotion": Motif("applying lotion", {
        "right": MotifHand(("flat", "relaxed", "hold_flat", "open"), ("tap", "spread"),
                           (0.04, 0.03, -0.02), False, 1.0, trans_amp=(0.03, 0.02, 0.01)),
        "left": MotifHand(("flat", "open", "relaxed"), ("spread", "hold_flat"),
                          (-0.05, 0.07, 0.01), False, -0.5, trans_amp=(0.015, 0.01, 0.01)),
    }, tempo=9.0),
    "gestures/inter": Motif("gestures", {
        "right": MotifHand(_GEST_TRAIN, _GEST_TEST, (0.08, 0.06, 0.0), True, 0.25),
        "left": MotifHand(_GEST_TRAIN, _GEST_TEST, (-0.08, 0.06, 0.0), True, -0.25),
    }, tempo=10.0),
    "putting on a watch": Motif("putting on a watch", {
        "right": MotifHand(("pinch", "grip", "ok", "relaxed"), ("tap", "hold_flat"),
                           (0.075, 0.03, -0.01), False, 0.55),
        "left": MotifHand(("relaxed", "flat", "fist"), ("open", "hold_flat"),
                          (-0.065, 0.06, 0.0), False, -0.45, wrist_amp=(0.2, 0.3, 0.15)),
    }),
    "scrolling a phone": Motif("scrolling a phone", {
        "right": MotifHand(("scroll", "point", "tap", "relaxed"), ("ok", "pinch"),
                           (0.06, 0.0, -0.015), False, 0.3, trans_amp=(0.02, 0.025, 0.01)),
        "left": MotifHand(("hold_flat", "grip", "card_hold"), ("relaxed", "flat"),
                          (-0.04, 0.08, 0.0), True, -0.4, wrist_amp=(0.15, 0.2, 0.1)),
    }, tempo=10.0),
    "shuffling cards": Motif("shuffling cards", {
        "right": MotifHand(("card_hold", "pinch", "grip", "hold_flat"), ("relaxed", "tap"),
                           (0.075, 0.07, 0.0), False, 0.55),
        "left": MotifHand(("card_hold", "pinch", "grip", "hold_flat"), ("relaxed", "tap"),
                          (-0.075, 0.07, 0.0), False, -0.55),
    }, tempo=8.0),
}  # fmt: skip


def motif_for(action: str, hand_type: str) -> Motif:
    key = f"{action}/inter"
    if hand_type == "inter" and key in MOTIFS:
        return MOTIFS[key]
    return MOTIFS[action]


def catmull_rom(times: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Uniform Catmull-Rom spline through ``(times[k], values[k])`` evaluated at ``t``.

    ``times`` must be strictly increasing; outside the range the ends are held.
    """
    t = np.clip(np.asarray(t, dtype=np.float64), times[0], times[-1])
    k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    t0, t1 = times[k], times[k + 1]
    u = ((t - t0) / (t1 - t0))[..., None]
    p1 = values[k]
    p2 = values[k + 1]
    p0 = values[np.maximum(k - 1, 0)]
    p3 = values[np.minimum(k + 2, len(times) - 1)]
    # Tangents scaled to non-uniform spacing so the curve stays C1 across keys.
    dt = (t1 - t0)[..., None]
    tp = np.where(k > 0, times[np.maximum(k - 1, 0)], t0 - (t1 - t0))
    tn = np.where(k + 2 < len(times), times[np.minimum(k + 2, len(times) - 1)], t1 + (t1 - t0))
    m1 = (p2 - p0) / (t1 - tp)[..., None] * dt
    m2 = (p3 - p1) / (tn - t0)[..., None] * dt
    h00 = 2 * u**3 - 3 * u**2 + 1
    h10 = u**3 - 2 * u**2 + u
    h01 = -2 * u**3 + 3 * u**2
    h11 = u**3 - u**2
    return h00 * p1 + h10 * m1 + h01 * p2 + h11 * m2


@dataclass
class HandTrack:
    """Keyframes of one hand: controls, wrist Euler offsets and wrist translation offsets."""

    times: np.ndarray  # [K]
    controls: np.ndarray  # [K, 21]
    euler: np.ndarray  # [K, 3]
    trans: np.ndarray  # [K, 3]

    def at(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            catmull_rom(self.times, self.controls, t),
            catmull_rom(self.times, self.euler, t),
            catmull_rom(self.times, self.trans, t),
        )


def make_track(
    rng: np.random.Generator,
    hand: MotifHand,
    num_frames: int,
    test_start: int,
    tempo: float,
    *,
    test: bool = False,
) -> HandTrack:
    """Random keyframes for one hand from the training pool, or (``test``) from the test pool
    with a wrist orientation offset never used in training. The scene switches from the
    first to the second inside the validation frames, so training frames never see a test
    keypose and the test clip never shows a training one."""
    times = [-tempo]
    t = -tempo
    while t < num_frames + 2 * tempo:
        t += tempo * rng.uniform(0.7, 1.3)
        times.append(t)
    times = np.array(times)
    ctrl, eul, tr = [], [], []
    prev = None
    test_off = np.array([0.25, -0.3, 0.2])  # a wrist orientation never used in training
    for _ in times:
        in_test = test
        pool = hand.test if in_test else hand.train
        choices = [p for p in pool if p != prev] or list(pool)
        name = choices[rng.integers(len(choices))]
        prev = name
        c = KEYPOSES[name] + rng.normal(0, 0.06, NUM_CONTROLS)
        e = rng.uniform(-1, 1, 3) * np.array(hand.wrist_amp)
        if in_test:
            e = 0.5 * e + test_off
        x = rng.uniform(-1, 1, 3) * np.array(hand.trans_amp)
        ctrl.append(c)
        eul.append(e)
        tr.append(x)
    return HandTrack(times, np.array(ctrl), np.array(eul), np.array(tr))


def make_extreme_track(rng: np.random.Generator, num_frames: int, tempo: float) -> HandTrack:
    """Keyframes of extreme articulations and wrist angles (the complex-pose targets)."""
    names = list(EXTREME)
    times = np.arange(-2, num_frames / (1.5 * tempo) + 3) * 1.5 * tempo
    ctrl = np.array([EXTREME[names[rng.integers(len(names))]] for _ in times])
    eul = np.array([EXTREME_WRIST[rng.integers(len(EXTREME_WRIST))] for _ in times])
    eul = eul + rng.normal(0, 0.1, eul.shape)
    return HandTrack(times, ctrl, eul, np.zeros((len(times), 3)))
