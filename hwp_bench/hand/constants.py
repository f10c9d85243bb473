"""MANO conventions shared by every hand model: joint order, kinematic tree, fingertips."""

from __future__ import annotations

# The 16 MANO joints, in MANO's order.
JOINT_NAMES = (
    "wrist",
    "index1",
    "index2",
    "index3",
    "middle1",
    "middle2",
    "middle3",
    "pinky1",
    "pinky2",
    "pinky3",
    "ring1",
    "ring2",
    "ring3",
    "thumb1",
    "thumb2",
    "thumb3",
)
# Parent of each joint (-1 for the wrist, the root).
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)
# The five fingertip "joints" appended after the 16 (vertices of the mesh), in the order smplx
# appends them for MANO, so that 21-joint outputs line up with common tooling.
TIP_NAMES = ("thumb_tip", "index_tip", "middle_tip", "ring_tip", "pinky_tip")
ALL_JOINT_NAMES = JOINT_NAMES + TIP_NAMES
NUM_JOINTS = 16
NUM_POSE = 48
NUM_SHAPE = 10
SIDES = ("right", "left")
