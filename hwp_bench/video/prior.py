"""An anatomical prior on finger poses, for any hand model in the MANO convention.

2D landmarks under a nearly orthographic camera leave finger poses ambiguous (a finger bent
towards the camera and one bent away project alike; a twist about the bone barely moves the
joints). Real fingers resolve that: the middle and end joints (PIP, DIP) are hinges that bend
towards the palm, the knuckles (MCP) also spread sideways a little, and no finger joint twists
much about its own bone. The prior expresses each finger joint's axis-angle in a local frame
built from the model's rest joints:

* ``flex``: rotation about ``bone x palm normal`` (positive = curl towards the palm),
* ``spread``: rotation about the palm normal (within the palm plane),
* ``twist``: rotation about the bone,

and penalises twist, sideways bending of the hinge joints and anything outside generous
range-of-motion limits (hinge penalties, zero inside the limits). The thumb, whose joints do
not line up with the palm, only gets a weak pull towards zero and a magnitude limit.

The palm normal's direction comes from handedness alone: for a right hand,
``(index knuckle - wrist) x (pinky knuckle - wrist)`` points out of the palm, for a left hand
(a mirror image) into it. That is a fact about right hands, not about a model's axes, so the
same code serves the open hand and MANO.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# MANO joint indices per finger (knuckle, middle, end) and the joint or tip each one points to.
FINGERS = {
    "index": ((1, 2, 3), (2, 3, 17)),
    "middle": ((4, 5, 6), (5, 6, 18)),
    "pinky": ((7, 8, 9), (8, 9, 20)),
    "ring": ((10, 11, 12), (11, 12, 19)),
}
THUMB = (13, 14, 15)
# (low, high) limits in radians of (flex, spread, twist): knuckles, then middle/end joints.
KNUCKLE_LIMITS = ((-0.8, 1.9), (-0.6, 0.6), (-0.25, 0.25))
HINGE_LIMITS = ((-0.35, 2.1), (-0.15, 0.15), (-0.15, 0.15))
THUMB_MAX = 1.6  # radians of total rotation at one thumb joint


@dataclass
class PriorWeights:
    limits: float = 10.0  # squared excess beyond the range-of-motion limits
    twist: float = 0.5  # squared twist about the bone (all non-thumb joints)
    hinge_side: float = 0.5  # squared sideways bend of PIP and DIP joints
    l2: float = 0.01  # weak pull of every finger rotation towards the flat hand
    thumb_l2: float = 0.02


def finger_frames(rest_joints: np.ndarray, side: str) -> np.ndarray:
    """Local frames ``[15, 3, 3]`` (columns flex, spread, twist axes) of the 15 finger joints.

    ``rest_joints`` [21, 3] are the model's joints at zero pose (MANO order + tips). Rows of
    the thumb joints (12-14 here, MANO joints 13-15) are left as the identity: unused.
    """
    J = np.asarray(rest_joints, dtype=np.float64)
    sign = 1.0 if side == "right" else -1.0
    normal = np.cross(J[1] - J[0], J[7] - J[0]) * sign
    normal /= np.linalg.norm(normal)
    frames = np.tile(np.eye(3), (15, 1, 1))
    for joints, children in FINGERS.values():
        for j, c in zip(joints, children, strict=True):
            d = J[c] - J[j]
            d /= np.linalg.norm(d)
            n = normal - d * (normal @ d)
            n /= np.linalg.norm(n)
            flex = np.cross(d, n)  # rotating d about it moves d towards the palm normal
            frames[j - 1] = np.stack([flex, n, d], axis=1)
    return frames


def _hinge(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return torch.relu(x - hi) ** 2 + torch.relu(lo - x) ** 2


class PosePrior:
    """Energy of finger poses ``[B, 45]`` (mean over the batch); see the module docstring."""

    def __init__(
        self, rest_joints: np.ndarray, side: str, weights: PriorWeights | None = None
    ) -> None:
        self.weights = weights or PriorWeights()
        self.frames = torch.as_tensor(finger_frames(rest_joints, side), dtype=torch.float32)
        knuckles = [f[0][0] - 1 for f in FINGERS.values()]
        hinges = [j - 1 for f in FINGERS.values() for j in f[0][1:]]
        self.knuckles = torch.tensor(knuckles)
        self.hinges = torch.tensor(hinges)
        self.thumb = torch.tensor([j - 1 for j in THUMB])

    def curl(self, flex: float) -> np.ndarray:
        """Finger pose ``[45]`` with every non-thumb joint flexed by ``flex`` radians."""
        out = np.zeros((15, 3))
        frames = self.frames.double().numpy()
        for j in torch.cat([self.knuckles, self.hinges]).tolist():
            out[j] = flex * frames[j][:, 0]
        return out.reshape(45)

    def local(self, fingers: torch.Tensor) -> torch.Tensor:
        """(flex, spread, twist) ``[B, 15, 3]`` of finger poses ``[B, 45]``."""
        w = fingers.reshape(-1, 15, 3)
        return torch.einsum("jab,nja->njb", self.frames.to(w.dtype), w)

    def __call__(self, fingers: torch.Tensor) -> torch.Tensor:
        w = self.weights
        loc = self.local(fingers)
        kn, hg = loc[:, self.knuckles], loc[:, self.hinges]
        lim = sum(_hinge(kn[..., k], *KNUCKLE_LIMITS[k]) for k in range(3)).sum(-1)
        lim = lim + sum(_hinge(hg[..., k], *HINGE_LIMITS[k]) for k in range(3)).sum(-1)
        thumb = fingers.reshape(-1, 15, 3)[:, self.thumb]
        lim = lim + torch.relu(thumb.norm(dim=-1) - THUMB_MAX).pow(2).sum(-1)
        twist = torch.cat([kn[..., 2], hg[..., 2]], dim=1).pow(2).sum(-1)
        side = hg[..., 1].pow(2).sum(-1)
        nonthumb = torch.cat([kn, hg], dim=1).pow(2).sum((-1, -2))
        energy = (
            w.limits * lim
            + w.twist * twist
            + w.hinge_side * side
            + w.l2 * nonthumb
            + w.thumb_l2 * thumb.pow(2).sum((-1, -2))
        )
        return energy.mean()
