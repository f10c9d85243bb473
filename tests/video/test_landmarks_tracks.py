"""Landmark order, the mirrored handedness convention, and detections -> side tracks."""

from __future__ import annotations

import numpy as np
import pytest

from hwp_bench.hand.constants import PARENTS
from hwp_bench.video.detect import gap_windows
from hwp_bench.video.landmarks import (
    LANDMARK_OWNER,
    MP_TO_MODEL,
    Detection,
    FrameDetections,
    mirror_detection_x,
    side_from_label,
)
from hwp_bench.video.tracks import build_tracks, dedupe, infer_hand_type


def test_handedness_labels_assume_a_mirrored_image():
    # MediaPipe's "Left" on an ordinary (non-mirrored) video is the person's right hand.
    assert side_from_label("Left") == "right"
    assert side_from_label("Right") == "left"
    assert side_from_label("Left", mirrored=True) == "left"
    assert side_from_label(" right ", mirrored=True) == "right"
    with pytest.raises(ValueError, match="Right or Left"):
        side_from_label("Up")


def test_mirroring_landmarks_twice_is_the_identity():
    p = np.random.default_rng(0).uniform(0, 100, (21, 2))
    m = mirror_detection_x(p, 128)
    assert np.allclose(m[:, 0], 128 - p[:, 0]) and np.allclose(m[:, 1], p[:, 1])
    assert np.allclose(mirror_detection_x(m, 128), p)


def test_landmark_tables_are_consistent_with_the_kinematic_tree():
    assert sorted(MP_TO_MODEL) == list(range(21))  # a permutation
    # Every landmark's owner is its own joint, or for a tip the finger's last joint.
    for k, j in enumerate(MP_TO_MODEL):
        owner = LANDMARK_OWNER[k]
        assert owner == j or (j >= 16 and PARENTS[owner] >= 0 and owner in (3, 6, 9, 12, 15))


def _hand(center, size=40.0, side="right", score=0.9):
    rng = np.random.default_rng(int(center[0] * 7 + center[1]))
    pts = np.asarray(center) + rng.uniform(-size / 2, size / 2, (21, 2))
    pts[0] = np.asarray(center) + [-size / 2, -size / 2]
    pts[1] = np.asarray(center) + [size / 2, size / 2]
    return Detection(points=pts, side=side, score=score)


def test_dedupe_keeps_the_whole_hand_not_a_part_of_it():
    whole = _hand((50, 50), 40, score=0.6)
    part = _hand((55, 55), 16, score=0.99)  # inside the whole hand's box
    other = _hand((120, 50), 40)
    kept = dedupe([part, whole, other])
    assert len(kept) == 2
    assert any(d is whole for d in kept) and any(d is other for d in kept)


def test_single_hand_side_is_the_vote_over_the_video():
    frames = []
    for k in range(10):
        label = "left" if k in (3, 7) else "right"  # two frames with a flipped label
        frames.append(FrameDetections(k, [_hand((50 + k, 50), side=label)]))
    frames.append(FrameDetections(10, []))
    hand_type, tracks = build_tracks(frames, max_gap=4)
    assert hand_type == "single"
    assert set(tracks) == {"right"}
    assert tracks["right"].status[:10] == ["detected"] * 10
    assert tracks["right"].status[10] == "missing"  # after the last detection: not invented


def test_two_hands_follow_continuity_when_labels_swap():
    frames = []
    for k in range(12):
        a, b = _hand((30 + k, 60), side="right"), _hand((100 - k, 60), side="left")
        if k in (4, 5):  # the estimator swaps both labels for two frames
            a.side, b.side = "left", "right"
        frames.append(FrameDetections(k, [a, b]))
    hand_type, tracks = build_tracks(frames)
    assert hand_type == "inter"
    for k in range(12):
        assert tracks["right"].detections[k].center[0] < 60 < tracks["left"].detections[k].center[0]


def test_gaps_are_interpolated_up_to_max_gap_and_missing_beyond():
    seen = [0, 1, 2, 5, 6, 20, 21]
    frames = [FrameDetections(k, [_hand((50, 50))] if k in seen else []) for k in range(25)]
    _, tracks = build_tracks(frames, hand_type="single", max_gap=3)
    st = tracks["right"].status
    assert st[3:5] == ["interpolated"] * 2
    assert st[7:20] == ["missing"] * 13
    assert st[22:] == ["missing"] * 3
    assert tracks["right"].segments() == [[0, 1, 2, 3, 4, 5, 6], [20, 21]]
    assert tracks["right"].counts() == {"detected": 7, "interpolated": 2, "missing": 16}


def test_hand_type_needs_a_second_hand_in_a_fifth_of_the_frames():
    one = [FrameDetections(k, [_hand((40, 40))]) for k in range(10)]
    assert infer_hand_type(one) == "single"
    two = [FrameDetections(k, [_hand((40, 40)), _hand((120, 40))]) for k in range(3)]
    assert infer_hand_type(one + two) == "inter"
    assert infer_hand_type([FrameDetections(0, [])]) == "single"


def test_backward_windows_cover_each_gap_and_start_after_it():
    counts = [2, 2, 1, 1, 2, 2, 2, 2, 0, 2] + [2] * 30
    assert gap_windows(counts, 2, margin=3) == [(2, 7), (8, 12)]
    assert gap_windows(counts, 1, margin=3) == [(8, 12)]
    close = [2, 2, 1, 1, 2, 1, 2, 2, 2, 2, 2]
    assert gap_windows(close, 2, margin=3) == [(2, 9)]  # overlapping windows are merged
    long = [0] * 100 + [1] * 5
    assert gap_windows(long, 1, margin=5, max_window=30) == [(75, 105)]
    assert gap_windows([1, 1], 1) == []
