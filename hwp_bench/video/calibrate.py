"""Where does an estimator put its landmarks on a hand model? Offsets from rendered hands.

A landmark and a model joint with the same name are not the same point: MediaPipe's "wrist"
sits about a centimetre from the open hand's wrist joint towards the fingers, its knuckle
landmarks sit on the knuckles' surface rather than at the rotation centres, and so on. Fitting
joints straight onto landmarks moves the whole hand by those differences (measured: 4-5 px of
systematic error at the wrist on 128 px frames, which costs several points of mask IoU).

This module estimates, for each landmark, a fixed 3D offset from its model joint, expressed in
the joint's rest frame (so it turns with the joint): on HWP-Synth, where the exact hand
parameters are known, the 2D residual of a landmark is linear in its offset,

    r = (f / z) (R_xy - (p_xy / z) R_z) o,

with ``R`` the joint's world rotation and ``p`` its camera-space position. Stacking every
detected hand gives a ridge-regularised least-squares problem per landmark. The offsets are
a property of the (estimator, hand model) pair, not of a capture; they ship as a table in
:mod:`hwp_bench.video.landmarks` with the captures they were estimated on, which are kept
apart from the captures the import is evaluated on (see ``scripts/calibrate_video_landmarks.py``
and docs/video.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import torch

from hwp_bench.video.landmarks import LANDMARK_OWNER, MP_TO_MODEL, NUM_LANDMARKS


def residual_rows(
    video_frames: Sequence[np.ndarray],
    truth_frames: Sequence,
    estimator,
    model,
    *,
    match_px: float = 12.0,
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``(landmark, jacobian [2, 3], residual [2])`` for every landmark of every true hand
    that the estimator found (a detection whose median landmark distance is under
    ``match_px``). ``video_frames`` are what the estimator sees (e.g. decoded H.264 frames),
    ``truth_frames`` the dataset's Frames with ``exact_hands``."""
    rows = []
    for img, f in zip(video_frames, truth_frames, strict=True):
        dets = estimator.detect(img)
        K = np.asarray(f.K, np.float64)
        for side, hp in (f.annotations.get("exact_hands") or {}).items():
            with torch.no_grad():
                out = model(
                    torch.as_tensor(hp.pose)[None].float(),
                    torch.as_tensor(hp.shape)[None].float(),
                    torch.as_tensor(hp.trans)[None].float(),
                    side=side,
                )
            J = out.joints[0].double().numpy()
            A = out.joint_transforms[0, :, :, :3].double().numpy()
            uv = (J @ K.T)[:, :2] / J[:, 2:3]
            want = uv[list(MP_TO_MODEL)]
            best = None
            for d in dets:
                e = float(np.median(np.linalg.norm(d.points - want, axis=1)))
                if e < match_px and (best is None or e < best[0]):
                    best = (e, d.points)
            if best is None:
                continue
            mirror = np.diag([-1.0 if side == "left" else 1.0, 1.0, 1.0])
            for k in range(NUM_LANDMARKS):
                j = MP_TO_MODEL[k]
                p = J[j]
                R = A[LANDMARK_OWNER[k]] @ mirror  # offsets live in the right hand's frame
                jac = (K[0, 0] / p[2]) * (R[:2] - np.outer(p[:2] / p[2], R[2]))
                rows.append((k, jac, best[1][k] - want[k]))
    return rows


def solve_offsets(
    rows: list[tuple[int, np.ndarray, np.ndarray]], *, ridge_mm_px: float = 0.5
) -> tuple[np.ndarray, dict[str, list[float]]]:
    """Ridge least-squares offsets ``[21, 3]`` (metres) and the median residual per landmark
    before and after (px). ``ridge_mm_px``: a millimetre of offset costs as much as this many
    pixels of residual per observation, which keeps poorly observed directions near zero."""
    offsets = np.zeros((NUM_LANDMARKS, 3))
    before, after = [], []
    for k in range(NUM_LANDMARKS):
        mine = [(a, b) for kk, a, b in rows if kk == k]
        if not mine:
            before.append(float("nan"))
            after.append(float("nan"))
            continue
        A = np.concatenate([a for a, _ in mine])
        b = np.concatenate([r for _, r in mine])
        lam = len(mine) * (ridge_mm_px * 1000.0) ** 2
        x = np.linalg.solve(A.T @ A + lam * np.eye(3), A.T @ b)
        offsets[k] = x
        before.append(float(np.median(np.linalg.norm(b.reshape(-1, 2), axis=1))))
        after.append(float(np.median(np.linalg.norm((b - A @ x).reshape(-1, 2), axis=1))))
    return offsets, {"before_px": before, "after_px": after}


def calibrate_on_synth(
    root: str | os.PathLike,
    captures: Sequence[str],
    estimator_factory: Callable[[], object],
    videos: dict[str, str] | None = None,
    *,
    model=None,
    ridge_mm_px: float = 0.5,
) -> tuple[np.ndarray, dict[str, list[float]], int]:
    """Offsets from HWP-Synth ``captures`` of ``root``: frames are taken from ``videos[capture]``
    (an MP4 of the capture, as the import sees it) or else from the dataset's PNGs. Returns
    the offsets, the residual statistics and the number of hands used."""
    from hwp_bench.data.loading import load_frames
    from hwp_bench.hand import load_hand_model
    from hwp_bench.video.decode import iter_frames

    model = model or load_hand_model("open")
    rows = []
    hands = 0
    for cap in captures:
        frames = []
        for split in ("train", "validation", "test"):
            frames += load_frames(root, cap, split)
        frames.sort(key=lambda f: f.index)
        if videos and cap in videos:
            imgs = list(iter_frames(videos[cap]))
        else:
            imgs = [np.clip(f.image * 255 + 0.5, 0, 255).astype(np.uint8) for f in frames]
        est = estimator_factory()
        try:
            r = residual_rows(imgs, frames, est, model)
        finally:
            est.close()
        rows += r
        hands += len(r) // NUM_LANDMARKS
    offsets, stats = solve_offsets(rows, ridge_mm_px=ridge_mm_px)
    return offsets, stats, hands
