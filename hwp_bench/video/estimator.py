"""2D hand landmarks from frames: MediaPipe's bundled hand landmarker (the ``video`` extra).

``mediapipe==0.10.14`` ships ``palm_detection_full.tflite`` and ``hand_landmark_full.tflite``
(Apache-2.0) inside its wheel, and its legacy ``solutions.hands`` API runs them offline on a
CPU (about 50 ms per 512 px frame on 2 cores). In video mode (``static_image_mode=False``) it
detects palms once and then tracks the landmarks from frame to frame, re-detecting when the
tracking confidence drops.

The estimator is an object with ``detect(image) -> list[Detection]`` and ``close()``; the
importer accepts any such object, which is how the tests drive the whole import without
mediapipe (a scripted estimator that returns known landmarks).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from hwp_bench.video.errors import require
from hwp_bench.video.landmarks import Detection, side_from_label


class HandEstimator(Protocol):
    """Finds hands in one RGB ``uint8`` frame (frames arrive in temporal order)."""

    name: str

    def detect(self, image: np.ndarray) -> list[Detection]: ...

    def close(self) -> None: ...


class MediaPipeHands:
    """MediaPipe Hands (legacy ``solutions.hands``), both hands, in video (tracking) mode.

    ``mirrored`` says whether the video is a mirrored selfie view; MediaPipe's handedness
    labels assume it is (see :func:`hwp_bench.video.landmarks.side_from_label`).
    """

    name = "mediapipe-hands-0.10.14"

    def __init__(
        self,
        *,
        mirrored: bool = False,
        max_hands: int = 2,
        model_complexity: int = 1,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        mp = require("mediapipe", "detect hands in videos")
        self.mirrored = bool(mirrored)
        self._hands = mp.solutions.hands.Hands(
            static_image_mode=False,
            max_num_hands=int(max_hands),
            model_complexity=int(model_complexity),
            min_detection_confidence=float(min_detection_confidence),
            min_tracking_confidence=float(min_tracking_confidence),
        )

    def detect(self, image: np.ndarray) -> list[Detection]:
        img = np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., :3])
        h, w = img.shape[:2]
        res = self._hands.process(img)
        out: list[Detection] = []
        if not res.multi_hand_landmarks:
            return out
        for lms, hd in zip(res.multi_hand_landmarks, res.multi_handedness, strict=False):
            cls = hd.classification[0]
            pts = np.array([[p.x * w, p.y * h] for p in lms.landmark], dtype=np.float64)
            # z: depth relative to the wrist, in the same normalised units as x.
            depth = np.array([p.z * w for p in lms.landmark], dtype=np.float64)
            out.append(
                Detection(
                    points=pts,
                    side=side_from_label(cls.label, mirrored=self.mirrored),
                    score=float(cls.score),
                    depth=depth,
                    label=str(cls.label),
                )
            )
        return out

    def close(self) -> None:
        self._hands.close()


def mediapipe_available() -> str | None:
    """None when MediaPipe imports, else the reason (for skips and error messages)."""
    try:
        require("mediapipe", "detect hands in videos")
    except ImportError as exc:
        return str(exc)
    return None
