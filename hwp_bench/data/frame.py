"""The Frame: one row of a dataset as a method sees it (docs/design.md, section 'Frame').

Camera space is world space (extrinsics are identity), OpenCV convention: x right, y down,
z forward. Hand parameters follow the MANO convention (pose 48 = 3 global + 45 finger
axis-angle, shape 10, translation 3 in camera space). The left hand is a mirrored right hand.

Methods must render from ``K`` and ``hands`` only; ``image`` and ``mask`` are for training and
scoring. Everything is numpy so that frames pickle and move between processes cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

HAND_SIDES = ("right", "left")


@dataclass
class HandParams:
    """MANO-convention parameters of one hand (float32 numpy)."""

    pose: np.ndarray  # (48,) axis-angle: 3 global + 15 joints x 3
    shape: np.ndarray  # (10,)
    trans: np.ndarray  # (3,) camera space, metres

    def __post_init__(self) -> None:
        self.pose = np.asarray(self.pose, dtype=np.float32).reshape(48)
        self.shape = np.asarray(self.shape, dtype=np.float32).reshape(10)
        self.trans = np.asarray(self.trans, dtype=np.float32).reshape(3)


@dataclass
class Frame:
    """One frame of a capture with its camera, hands and annotations."""

    image: np.ndarray  # (H, W, 3) float32 in [0, 1]
    capture: str  # e.g. "capture04"
    index: int  # frame index within the capture
    num_frames: int  # frames in the whole capture (t = index / num_frames)
    K: np.ndarray  # (3, 3) float32 intrinsics
    hands: dict[str, HandParams]  # keys among HAND_SIDES
    mask: np.ndarray | None = None  # (H, W) float32 hand mask in [0, 1], if known
    hand_type: str = "single"  # "single" or "inter"
    split: str = "train"
    tags: list[str] = field(default_factory=list)  # capture-level perturbation tags
    annotations: dict[str, Any] = field(default_factory=dict)  # per-frame (synth: exact values)

    @property
    def t(self) -> float:
        """Normalised time ``index / num_frames`` used by DPD's temporal encoding."""
        return float(self.index) / float(self.num_frames)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    def without_pixels(self) -> Frame:
        """A copy with image and mask blanked (size kept): what ``Method.render`` may see."""
        return Frame(
            # Zero channels, not zero size: the method still learns the output resolution
            # (``height``/``width``) without seeing a single pixel.
            image=np.zeros((self.height, self.width, 0), np.float32),
            capture=self.capture,
            index=self.index,
            num_frames=self.num_frames,
            K=self.K,
            hands=self.hands,
            mask=None,
            hand_type=self.hand_type,
            split=self.split,
            tags=list(self.tags),
            annotations={},
        )
