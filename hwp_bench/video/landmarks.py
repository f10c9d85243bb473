"""2D hand landmarks as the fitter sees them, and the two conventions that need care.

**Joint order.** Estimators in the MediaPipe family list 21 landmarks per hand: wrist, then
each finger from its base to its tip, in the order thumb (CMC, MCP, IP, tip), index, middle,
ring, pinky (MCP, PIP, DIP, tip). The toolkit's hand models return 21 joints in MANO's order
(wrist, index1-3, middle1-3, pinky1-3, ring1-3, thumb1-3) followed by the five tips (thumb,
index, middle, ring, pinky). :data:`MP_TO_MODEL` maps the first onto the second:
``model_joints[MP_TO_MODEL]`` lists the model's joints in landmark order.

**Handedness.** MediaPipe's handedness label assumes a *mirrored* (selfie) image: it says
"Left" for a right hand seen by an ordinary, non-mirrored camera. :func:`side_from_label`
turns a label into the hand side of the person for either kind of video. The default for
files is ``mirrored=False`` (what phones and webcams record to disk; a selfie preview shown on
screen is mirrored, the recorded file usually is not).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NUM_LANDMARKS = 21
# Landmark k (MediaPipe order) is model joint MP_TO_MODEL[k] (MANO order + tips).
MP_TO_MODEL = (0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20)
# The MANO joint whose rotation carries landmark k (a tip moves with its last finger joint).
LANDMARK_OWNER = (0, 13, 14, 15, 15, 1, 2, 3, 3, 4, 5, 6, 6, 10, 11, 12, 12, 7, 8, 9, 9)
LANDMARK_NAMES = (
    "wrist",
    "thumb_cmc",
    "thumb_mcp",
    "thumb_ip",
    "thumb_tip",
    "index_mcp",
    "index_pip",
    "index_dip",
    "index_tip",
    "middle_mcp",
    "middle_pip",
    "middle_dip",
    "middle_tip",
    "ring_mcp",
    "ring_pip",
    "ring_dip",
    "ring_tip",
    "pinky_mcp",
    "pinky_pip",
    "pinky_dip",
    "pinky_tip",
)
# Bones of the landmark skeleton (for drawing): parent -> child in landmark indices.
LANDMARK_BONES = (
    (0, 1), (1, 2), (2, 3), (3, 4),
    (0, 5), (5, 6), (6, 7), (7, 8),
    (0, 9), (9, 10), (10, 11), (11, 12),
    (0, 13), (13, 14), (14, 15), (15, 16),
    (0, 17), (17, 18), (18, 19), (19, 20),
)  # fmt: skip


def model_to_landmarks(joints: np.ndarray) -> np.ndarray:
    """Reorder model joints ``[..., 21, D]`` (MANO order + tips) into landmark order."""
    return np.asarray(joints)[..., list(MP_TO_MODEL), :]


def side_from_label(label: str, *, mirrored: bool = False) -> str:
    """The person's hand side ("right"/"left") for an estimator label ("Right"/"Left").

    The label assumes a mirrored image; for an ordinary (non-mirrored) video it is swapped.
    """
    key = str(label).strip().lower()
    if key not in ("right", "left"):
        raise ValueError(f"handedness label must be Right or Left, got {label!r}")
    if mirrored:
        return key
    return "left" if key == "right" else "right"


def mirror_detection_x(points: np.ndarray, width: float) -> np.ndarray:
    """Landmarks of a horizontally flipped image mapped back to the original (x -> W - x)."""
    p = np.array(points, dtype=np.float64, copy=True)
    p[..., 0] = float(width) - p[..., 0]
    return p


@dataclass
class Detection:
    """One hand found in one frame.

    ``points`` [21, 2] pixels at the working resolution (landmark order); ``depth`` [21] the
    estimator's relative depth in pixels (wrist 0, smaller = nearer the camera) or None;
    ``side`` the person's hand side after the handedness convention; ``score`` the
    handedness confidence in [0, 1].
    """

    points: np.ndarray
    side: str
    score: float = 1.0
    depth: np.ndarray | None = None
    label: str = ""  # the estimator's raw label, for the report

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float64).reshape(NUM_LANDMARKS, 2)
        if self.depth is not None:
            self.depth = np.asarray(self.depth, dtype=np.float64).reshape(NUM_LANDMARKS)

    @property
    def center(self) -> np.ndarray:
        return self.points.mean(0)

    @property
    def size(self) -> float:
        """Longer side of the landmarks' box, pixels (the hand's scale in the image)."""
        return float(np.ptp(self.points, axis=0).max())


@dataclass
class FrameDetections:
    """Everything the estimator returned for one frame."""

    index: int
    hands: list[Detection] = field(default_factory=list)


# Where MediaPipe Hands 0.10.14 puts each landmark relative to the open hand's joint, in mm in
# the right hand's rest frame (x towards the wrist, y out of the back of the hand, z towards
# the thumb: hwp_bench.hand.poses), from scripts/calibrate_video_landmarks.py on HWP-Synth
# quick captures 01, 02, 05 and 09 (seed 0, generator v6) written as H.264 (crf 18), 511 hands,
# ridge 0.1 px/mm. Not the captures the import is evaluated on (00, 04, 07: docs/video.md).
OPEN_HAND_MEDIAPIPE_OFFSETS_MM = (
    (-14.7, -4.9, -1.0),
    (3.8, -9.5, 7.5),
    (-1.7, 0.3, 0.2),
    (-3.3, 1.1, -12.1),
    (-0.9, 5.5, -20.5),
    (6.4, -9.8, -2.8),
    (-1.9, -6.5, -0.8),
    (-0.5, -2.9, -1.0),
    (8.8, 2.0, -2.9),
    (1.2, -9.8, 0.9),
    (-1.4, -5.4, 1.4),
    (1.2, -5.3, 1.7),
    (9.1, -1.4, 2.4),
    (-0.0, -8.7, 0.8),
    (-1.4, -4.0, 1.8),
    (1.9, -5.2, 2.5),
    (12.6, -3.1, 5.7),
    (2.6, -6.8, 2.9),
    (0.9, -2.4, 2.4),
    (1.5, -2.0, 3.1),
    (9.4, 2.0, 7.5),
)


def landmark_offsets(hand_model: str) -> np.ndarray | None:
    """Offsets ``[21, 3]`` (metres, right hand's rest frame) from each model joint to where
    the estimator puts its landmark, or None when none are known for ``hand_model`` (MANO's
    rest frame differs: its offsets would have to be estimated with MANO renders)."""
    import os

    path = os.environ.get("HWP_VIDEO_OFFSETS")  # experiments: a [21, 3] .npy in metres
    if path:
        return np.load(path)
    if hand_model == "open":
        return np.asarray(OPEN_HAND_MEDIAPIPE_OFFSETS_MM, np.float64) / 1000.0
    return None
