"""Named right-hand poses in MANO axis-angle (48 values) for pictures, tests and examples.

Geometry of the canonical (flat) right hand: fingers along -x, thumb side +z, palm facing -y.
So a finger flexes (curls towards the palm) by a positive rotation about +z, and spreads
towards the thumb by a positive rotation about +y. The thumb lies in the palm plane pointing
about (-0.6, 0, 0.8), its nail turned about 45 degrees from the palm plane as on a real hand; it
flexes (curls towards the palm and the index finger) about ``THUMB_FLEX`` and swings in front of
the palm (opposition) about ``THUMB_ACROSS``. :func:`mirror_pose` turns a right-hand pose into the same gesture for
the left hand (mirrored model: axis-angle (x, y, z) -> (x, -y, -z)).
"""

from __future__ import annotations

import numpy as np

FINGER_JOINTS = {
    "index": (1, 2, 3),
    "middle": (4, 5, 6),
    "pinky": (7, 8, 9),
    "ring": (10, 11, 12),
    "thumb": (13, 14, 15),
}
# Half palmar (axis (0.8, 0, 0.6)), half towards the fingers (axis -y), as a thumb really bends.
THUMB_FLEX = np.array([0.8, -1.0, 0.6]) / np.linalg.norm([0.8, -1.0, 0.6])
THUMB_ACROSS = np.array([0.97, 0.0, 0.24]) / np.linalg.norm([0.97, 0.0, 0.24])
_Z = np.array([0.0, 0.0, 1.0])
_Y = np.array([0.0, 1.0, 0.0])


def _set(pose: np.ndarray, joint: int, aa: np.ndarray) -> None:
    pose[3 * joint : 3 * joint + 3] = aa


def finger(pose: np.ndarray, name: str, curl: tuple[float, float, float], spread: float = 0.0):
    """Flex finger ``name`` by ``curl`` radians at its three joints, spread at the first.

    For the thumb, ``spread`` swings it in front of the palm (opposition) instead.
    """
    j1, j2, j3 = FINGER_JOINTS[name]
    if name == "thumb":
        _set(pose, j1, curl[0] * THUMB_FLEX + spread * THUMB_ACROSS)
        _set(pose, j2, curl[1] * THUMB_FLEX)
        _set(pose, j3, curl[2] * THUMB_FLEX)
    else:
        _set(pose, j1, curl[0] * _Z + spread * _Y)
        _set(pose, j2, curl[1] * _Z)
        _set(pose, j3, curl[2] * _Z)
    return pose


def _build(spec: dict[str, tuple[tuple[float, float, float], float]]) -> np.ndarray:
    pose = np.zeros(48)
    for name, (curl, spread) in spec.items():
        finger(pose, name, curl, spread)
    return pose


_FIST = (1.45, 1.6, 0.9)
_FIST_THUMB = ((0.4, 0.7, 0.8), 0.82)
POSES: dict[str, np.ndarray] = {
    "flat": np.zeros(48),
    "relaxed": _build(
        {
            "index": ((0.25, 0.35, 0.2), 0.05),
            "middle": ((0.3, 0.4, 0.2), 0.0),
            "ring": ((0.35, 0.45, 0.25), -0.05),
            "pinky": ((0.4, 0.5, 0.3), -0.12),
            "thumb": ((0.1, 0.15, 0.15), 0.2),
        }
    ),
    "fist": _build(
        {
            "index": (_FIST, 0.0),
            "middle": (_FIST, 0.0),
            "ring": (_FIST, 0.0),
            "pinky": (_FIST, 0.0),
            "thumb": _FIST_THUMB,
        }
    ),
    "pointing": _build(
        {
            "index": ((0.0, 0.0, 0.0), 0.0),
            "middle": (_FIST, 0.0),
            "ring": (_FIST, 0.0),
            "pinky": (_FIST, 0.0),
            "thumb": _FIST_THUMB,
        }
    ),
    "spread": _build(
        {
            "index": ((0.0, 0.0, 0.0), 0.25),
            "middle": ((0.0, 0.0, 0.0), 0.03),
            "ring": ((0.0, 0.0, 0.0), -0.2),
            "pinky": ((0.0, 0.0, 0.0), -0.4),
            "thumb": ((-0.2, 0.0, 0.0), 0.0),
        }
    ),
    "peace": _build(
        {
            "index": ((0.0, 0.0, 0.0), 0.2),
            "middle": ((0.0, 0.0, 0.0), -0.1),
            "ring": (_FIST, 0.0),
            "pinky": (_FIST, 0.0),
            "thumb": _FIST_THUMB,
        }
    ),
    "grasp": _build(
        {
            "index": ((0.7, 0.8, 0.45), 0.05),
            "middle": ((0.75, 0.85, 0.5), 0.0),
            "ring": ((0.8, 0.9, 0.5), -0.05),
            "pinky": ((0.85, 0.95, 0.55), -0.1),
            "thumb": ((0.3, 0.3, 0.3), 0.5),
        }
    ),
}


def mirror_pose(pose: np.ndarray) -> np.ndarray:
    """The mirrored gesture for the other hand: (x, y, z) -> (x, -y, -z) per joint."""
    pose = np.asarray(pose, dtype=np.float64)
    out = pose.reshape(*pose.shape[:-1], -1, 3) * np.array([1.0, -1.0, -1.0])
    return out.reshape(pose.shape)


def named_pose(name: str, side: str = "right") -> np.ndarray:
    """A copy of the named pose (48,) for ``side``."""
    if name not in POSES:
        raise KeyError(f"unknown pose {name!r}; known: {', '.join(POSES)}")
    pose = POSES[name].copy()
    return pose if side == "right" else mirror_pose(pose)
