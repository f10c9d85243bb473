"""From per-frame detections to one track per hand side, with gaps made explicit.

The estimator answers frame by frame; the fitter wants, per hand side, the frames where that
hand was seen and the short gaps between them. This module decides:

* **duplicates**: two detections of one hand in one frame (one landmark box mostly inside
  the other) are merged into the larger one;
* **hand type**: ``single`` unless a second hand is seen in at least ``inter_share`` of the
  frames with hands (or the user says so);
* **sides**: in a single-hand video, every detection is the one hand, whose side is the
  confidence-weighted vote of the estimator's labels over the whole video (a label that flips
  in a few blurred frames does not split the hand in two). With two hands, each frame's
  detections are assigned to the sides by minimising label disagreement plus the distance to
  where each side was last seen (a hand does not jump across the image between frames);
* **gaps**: a frame without a side's landmarks inside a gap of at most ``max_gap`` frames is
  *interpolated* (fitted from the temporal terms alone); frames in a longer gap, or before the
  first and after the last detection, are *missing*: kept in the capture without that hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwp_bench.video.landmarks import Detection, FrameDetections

SIDES = ("right", "left")
DETECTED, INTERPOLATED, MISSING = "detected", "interpolated", "missing"


@dataclass
class SideTrack:
    """One hand side over a video: which frames have landmarks, which are filled in."""

    side: str
    num_frames: int
    detections: dict[int, Detection] = field(default_factory=dict)
    status: list[str] = field(default_factory=list)  # per video frame

    @property
    def frames(self) -> list[int]:
        """Video frames the fit covers (detected and interpolated), in order."""
        return [i for i, s in enumerate(self.status) if s != MISSING]

    def segments(self) -> list[list[int]]:
        """Runs of consecutive fitted frames (the smoothness terms stay inside a run)."""
        out: list[list[int]] = []
        for i in self.frames:
            if out and out[-1][-1] == i - 1:
                out[-1].append(i)
            else:
                out.append([i])
        return out

    def counts(self) -> dict[str, int]:
        return {k: self.status.count(k) for k in (DETECTED, INTERPOLATED, MISSING)}


def _overlap(a: Detection, b: Detection) -> float:
    """Intersection of the two landmark boxes over the smaller box (1 = one holds the other)."""
    la, ha = a.points.min(0), a.points.max(0)
    lb, hb = b.points.min(0), b.points.max(0)
    inter = np.clip(np.minimum(ha, hb) - np.maximum(la, lb), 0, None).prod()
    smaller = min((ha - la).prod(), (hb - lb).prod())
    return float(inter / smaller) if smaller > 0 else 0.0


def dedupe(hands: list[Detection], overlap: float = 0.5) -> list[Detection]:
    """Merge detections of one hand: when two landmark boxes overlap by more than
    ``overlap`` of the smaller one, keep the larger (a second detection on the same hand is
    usually a part of it, such as the fingers alone, and comes out smaller)."""
    keep: list[Detection] = []
    for d in sorted(hands, key=lambda d: -d.size):
        if all(_overlap(d, k) <= overlap for k in keep):
            keep.append(d)
    return keep


def infer_hand_type(frames: list[FrameDetections], inter_share: float = 0.2) -> str:
    """``inter`` when two hands appear in at least ``inter_share`` of the frames with hands."""
    with_hands = [f for f in frames if f.hands]
    if not with_hands:
        return "single"
    two = sum(1 for f in with_hands if len(dedupe(f.hands)) >= 2)
    return "inter" if two >= inter_share * len(with_hands) else "single"


def _single_side(frames: list[FrameDetections]) -> str:
    votes = dict.fromkeys(SIDES, 0.0)
    for f in frames:
        for d in f.hands:
            votes[d.side] += max(d.score, 1e-3)
    return max(SIDES, key=lambda s: votes[s])


def build_tracks(
    frames: list[FrameDetections],
    *,
    hand_type: str | None = None,
    max_gap: int = 8,
    label_weight: float = 1.0,
) -> tuple[str, dict[str, SideTrack]]:
    """Hand type and one :class:`SideTrack` per side present (see the module docstring)."""
    n = len(frames)
    frames = [FrameDetections(f.index, dedupe(f.hands)) for f in frames]
    hand_type = hand_type or infer_hand_type(frames)
    if hand_type not in ("single", "inter"):
        raise ValueError(f"hand type must be single or inter, got {hand_type!r}")
    chosen: dict[str, dict[int, Detection]] = {s: {} for s in SIDES}
    if hand_type == "single":
        side = _single_side(frames)
        last = None
        for k, f in enumerate(frames):
            if not f.hands:
                continue
            if last is None or len(f.hands) == 1:
                d = max(f.hands, key=lambda d: (d.side == side, d.score))
            else:  # two hands in a one-hand video: keep the one where the hand was
                d = min(f.hands, key=lambda d: np.linalg.norm(d.center - last.center))
            chosen[side][k] = d
            last = d
    else:
        last: dict[str, Detection | None] = dict.fromkeys(SIDES)
        for k, f in enumerate(frames):
            dets = sorted(f.hands, key=lambda d: -d.score)[:2]
            if not dets:
                continue

            def cost(d: Detection, s: str) -> float:
                c = 0.0 if d.side == s else label_weight * max(d.score, 0.5)
                prev = last[s]
                if prev is not None:
                    c += float(np.linalg.norm(d.center - prev.center)) / max(prev.size, 1.0)
                return c

            if len(dets) == 1:
                best = min(SIDES, key=lambda s: cost(dets[0], s))
                pairs = [(dets[0], best)]
            else:
                a = cost(dets[0], "right") + cost(dets[1], "left")
                b = cost(dets[0], "left") + cost(dets[1], "right")
                pairs = [(dets[0], "right"), (dets[1], "left")]
                if b < a:
                    pairs = [(dets[0], "left"), (dets[1], "right")]
            for d, s in pairs:
                chosen[s][k] = d
                last[s] = d
    tracks: dict[str, SideTrack] = {}
    for s in SIDES:
        if chosen[s]:
            tracks[s] = SideTrack(s, n, chosen[s], _status(n, sorted(chosen[s]), max_gap))
    return hand_type, tracks


def _status(n: int, seen: list[int], max_gap: int) -> list[str]:
    status = [MISSING] * n
    for i in seen:
        status[i] = DETECTED
    for a, b in zip(seen[:-1], seen[1:], strict=True):
        if 1 < b - a <= max_gap + 1:
            for i in range(a + 1, b):
                status[i] = INTERPOLATED
    return status
