"""Semantic hand controls -> MANO-convention axis-angle pose, for any hand model.

Keyposes are written as *controls* (flexion of every finger joint, finger spread, thumb
opposition), not as raw axis-angle numbers, so that the same keypose means the same gesture
whatever the model's rest orientation. The rotation axes are derived from the model's rest
joints (MANO convention: per-joint axis-angle in the rest frame, which is the world frame of
the zero pose): flexion turns a bone towards the palm (axis = bone x palm normal), spread
turns it within the palm plane (axis = palm normal). The left hand is the mirror of the right
one, so its palm normal comes out of the same construction with the sign flipped.

Control vector layout (``NUM_CONTROLS = 21``): ``flex[5 fingers x 3 joints]`` in the finger
order thumb, index, middle, ring, pinky (radians, positive = curl), then ``spread[5]``
(radians, positive = away from the middle finger), then ``oppose`` (thumb across the palm).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

# MANO joint indices per finger, listed thumb, index, middle, ring, pinky.
FINGER_JOINTS = ((13, 14, 15), (1, 2, 3), (4, 5, 6), (10, 11, 12), (7, 8, 9))
FINGER_NAMES = ("thumb", "index", "middle", "ring", "pinky")
NUM_CONTROLS = 21
# Which sign of cross(index1 - wrist, pinky1 - wrist) points out of the palm, per side.
# Fixed once by looking at renders of the open hand (the nails must end up on the back).
PALM_SIGN = {"right": 1.0, "left": -1.0}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-20)


def assign_tips(joints: np.ndarray) -> list[int]:
    """Which of joints 16..20 is the tip of each finger (thumb, index, middle, ring, pinky).

    The five tips come in the model's own order, so each finger gets a tip near its last
    joint. The pairing is one-to-one: of the 120 ways to pair five fingers with five tips, the
    one with the least total distance. (Choosing each finger's nearest tip on its own gave the
    ring finger the little finger's tip at some shapes, generator v6 and before.)
    """
    J = np.asarray(joints, dtype=np.float64)
    ends = J[[chain[2] for chain in FINGER_JOINTS]]  # [5, 3]
    dist = np.linalg.norm(ends[:, None, :] - J[None, 16:21, :], axis=-1)  # finger x tip
    best = min(
        itertools.permutations(range(5)),
        key=lambda perm: sum(dist[f, perm[f]] for f in range(5)),
    )
    return [16 + t for t in best]


@dataclass
class HandRig:
    """Rest-pose geometry of one hand side, with the control axes it implies."""

    side: str
    joints: np.ndarray  # [21,3] rest joints: 16 MANO + 5 tips (tip order resolved below)
    tips: np.ndarray  # [5] index into joints of the tip of thumb, index, middle, ring, pinky
    palm_normal: np.ndarray  # out of the palm
    finger_dir: np.ndarray  # wrist -> middle knuckle
    across: np.ndarray  # index side -> pinky side, in the palm plane
    flex_axes: np.ndarray  # [16,3] (0 for the wrist)
    spread_axes: np.ndarray  # [16,3]

    @classmethod
    def from_joints(cls, joints: np.ndarray, side: str) -> HandRig:
        J = np.asarray(joints, dtype=np.float64)
        wrist = J[0]
        tips = assign_tips(J)
        finger_dir = _unit(J[4] - wrist)
        palm = _unit(np.cross(J[1] - wrist, J[7] - wrist)) * PALM_SIGN[side]
        across = _unit(J[7] - J[1])
        flex = np.zeros((16, 3))
        spread = np.zeros((16, 3))
        for fi, chain in enumerate(FINGER_JOINTS):
            ends = [chain[1], chain[2], tips[fi]]
            for j, child in zip(chain, ends, strict=True):
                d = _unit(J[child] - J[j])
                if fi == 0:
                    # The thumb curls across the palm towards the little finger.
                    goal = _unit(0.55 * palm + 0.85 * across)
                else:
                    goal = palm
                goal = _unit(goal - d * np.dot(goal, d))
                flex[j] = _unit(np.cross(d, goal))
                spread[j] = palm
        return cls(side, J, np.array(tips), palm, finger_dir, across, flex, spread)

    def pose_from_controls(self, controls: np.ndarray) -> np.ndarray:
        """45 finger axis-angle values (MANO pose[3:]) from ``controls [..., 21]``."""
        c = np.asarray(controls, dtype=np.float64)
        out = np.zeros(c.shape[:-1] + (16, 3))
        for fi, chain in enumerate(FINGER_JOINTS):
            for k, j in enumerate(chain):
                out[..., j, :] += c[..., 3 * fi + k, None] * self.flex_axes[j]
            # Spread at the knuckle: away from the middle finger (sign by finger side).
            sgn = {0: -1.0, 1: -1.0, 2: 0.0, 3: 1.0, 4: 1.0}[fi]
            if fi == 2:
                sgn = 1.0  # the middle finger's spread control tilts it towards the ring
            out[..., chain[0], :] += sgn * c[..., 15 + fi, None] * self.spread_axes[chain[0]]
        # Opposition: the thumb's base swings out of the palm plane, in front of the palm.
        d13 = _unit(self.joints[14] - self.joints[13])
        opp_axis = _unit(np.cross(d13, self.palm_normal))
        out[..., 13, :] += c[..., 20, None] * opp_axis
        return out[..., 1:, :].reshape(c.shape[:-1] + (45,))


def rotmat_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """Axis-angle of rotation matrices ``[...,3,3]`` (robust near 0 and pi)."""
    R = np.asarray(R, dtype=np.float64)
    tr = np.clip((np.trace(R, axis1=-2, axis2=-1) - 1) / 2, -1.0, 1.0)
    ang = np.arccos(tr)
    v = np.stack(
        [R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1
    )
    s = np.sin(ang)
    small = s < 1e-6
    axis = v / np.where(small, 1.0, 2 * s)[..., None]
    # Near pi: take the axis from the diagonal of (R + I) / 2.
    near_pi = small & (ang > 1.0)
    if np.any(near_pi):
        B = (R[near_pi] + np.eye(3)) / 2
        diag = np.clip(np.diagonal(B, axis1=-2, axis2=-1), 0, None)
        ax = np.sqrt(diag)
        k = np.argmax(diag, axis=-1)
        col = B[np.arange(len(B)), :, k]
        ax = col / np.maximum(np.linalg.norm(col, axis=-1, keepdims=True), 1e-20)
        axis[near_pi] = ax
    res = axis * ang[..., None]
    res[small & ~near_pi] = v[small & ~near_pi] / 2
    return res


def axis_angle_to_rotmat(aa: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[...,3,3]`` of axis-angle vectors ``[...,3]`` (Rodrigues)."""
    aa = np.asarray(aa, dtype=np.float64)
    ang = np.linalg.norm(aa, axis=-1, keepdims=True)
    axis = aa / np.maximum(ang, 1e-20)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    Kx = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(aa.shape[:-1] + (3, 3))
    s = np.sin(ang)[..., None]
    c = np.cos(ang)[..., None]
    return np.eye(3) + s * Kx + (1 - c) * (Kx @ Kx)
