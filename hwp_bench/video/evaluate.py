"""How good is an import? Fitted parameters vs HWP-Synth's exact ones, frame by frame.

HWP-Synth records, per frame, the exact hand parameters (``right_exact``/``left_exact``), the
estimator-noised parameters it gives methods (``right``/``left``: "the dataset's estimated
parameters") and the exact amodal hand mask. Turn a synthetic capture into an MP4, import it,
and :func:`compare_capture` measures, in the synthetic frame's own camera:

* **found**: the share of true hands (frame x side) that the estimator detected in that
  frame (interpolated and missing hands do not count as found);
* **2D joint error** (px): distance between the projections of the 21 fitted joints and of
  the 21 exact joints;
* **3D joint error** (mm) after root alignment: the wrists are made to coincide, which
  removes the depth that a single image cannot give;
* **mask IoU**: the capture's mask (hands rendered from the fitted parameters) against the
  exact mask, both thresholded at 0.5, averaged over frames that have a hand.

The joint errors are over the frames where the hand was fitted (``fitted``: detected or
interpolated); the same numbers are computed for the dataset's estimated parameters, which
are the reference point a user of HWP gets from OmniHands.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch


@dataclass
class ParamStats:
    """Joint and mask errors of one set of hand parameters over a capture."""

    hands: int  # frame x side pairs measured
    err2d_median_px: float
    err2d_mean_px: float
    err3d_median_mm: float
    err3d_mean_mm: float
    mask_iou_mean: float
    mask_iou_median: float


@dataclass
class CaptureComparison:
    capture: str
    frames: int
    true_hands: int
    found: int
    found_share: float
    fitted: ParamStats
    estimated: ParamStats

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _joints(model, side: str, hands: list) -> np.ndarray:
    pose = torch.as_tensor(np.array([h.pose for h in hands]), dtype=torch.float32)
    shape = torch.as_tensor(np.array([h.shape for h in hands]), dtype=torch.float32)
    trans = torch.as_tensor(np.array([h.trans for h in hands]), dtype=torch.float32)
    with torch.no_grad():
        out = model(pose, shape, trans, side=side)
    return out.joints.double().numpy(), out.vertices.double().numpy()


def _project(J: np.ndarray, K: np.ndarray) -> np.ndarray:
    uvw = J @ np.asarray(K, np.float64).T
    return uvw[..., :2] / uvw[..., 2:3]


def iou(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> float:
    """IoU of two soft masks thresholded at ``threshold`` (1.0 when both are empty)."""
    a, b = np.asarray(a) > threshold, np.asarray(b) > threshold
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def _stats(e2: list, e3: list, ious: list) -> ParamStats:
    e2a = np.concatenate(e2) if e2 else np.array([np.nan])
    e3a = np.concatenate(e3) if e3 else np.array([np.nan])
    io = np.array(ious) if ious else np.array([np.nan])
    return ParamStats(
        hands=len(e2),
        err2d_median_px=float(np.median(e2a)),
        err2d_mean_px=float(np.mean(e2a)),
        err3d_median_mm=float(np.median(e3a)),
        err3d_mean_mm=float(np.mean(e3a)),
        mask_iou_mean=float(np.mean(io)),
        mask_iou_median=float(np.median(io)),
    )


def compare_capture(
    imported: str | os.PathLike,
    truth: str | os.PathLike,
    capture: str,
    *,
    truth_capture: str | None = None,
    model=None,
) -> CaptureComparison:
    """Compare capture ``capture`` of the imported folder with ``truth_capture`` (default:
    the same id) of an HWP-Synth folder (see the module docstring)."""
    from hwp_bench.data.loading import load_frames
    from hwp_bench.hand import load_hand_model
    from hwp_bench.video.masks import hand_mask

    model = model or load_hand_model("open")

    def frames_of(root, cap):
        out = []
        for split in ("train", "validation", "test"):
            out += load_frames(root, cap, split)
        return sorted(out, key=lambda f: f.index)

    got = frames_of(imported, capture)
    want = frames_of(truth, truth_capture or capture)
    if len(got) != len(want):
        raise ValueError(f"{capture}: {len(got)} imported frames vs {len(want)} true frames")

    found = true_hands = 0
    err = {"fitted": ([], [], []), "estimated": ([], [], [])}
    for g, w in zip(got, want, strict=True):
        exact = w.annotations.get("exact_hands") or {}
        if not exact:
            continue
        H, W = w.height, w.width
        Kt = np.asarray(w.K, np.float64)
        status = g.annotations.get("video") or {}
        sources = {"fitted": g.hands, "estimated": w.hands}
        for name, hands in sources.items():
            meshes = []
            for side, hp in hands.items():
                _, V = _joints(model, side, [hp])
                meshes.append((V[0], model.faces_for(side).numpy()))
            same_camera = (
                name == "fitted"
                and g.mask is not None
                and g.mask.shape == w.mask.shape
                and np.allclose(np.asarray(g.K), Kt, rtol=1e-5, atol=1e-4)
            )
            mask = g.mask if same_camera else hand_mask(meshes, Kt, W, H)
            err[name][2].append(iou(mask, w.mask))
        for side, hp in exact.items():
            true_hands += 1
            found += status.get(side) == "detected"
            Jt, _ = _joints(model, side, [hp])
            for name, hands in sources.items():
                if side not in hands:
                    continue
                Jf, _ = _joints(model, side, [hands[side]])
                e2 = np.linalg.norm(_project(Jf[0], Kt) - _project(Jt[0], Kt), axis=-1)
                e3 = np.linalg.norm((Jf[0] - Jf[0, :1]) - (Jt[0] - Jt[0, :1]), axis=-1) * 1000
                err[name][0].append(e2)
                err[name][1].append(e3)
    return CaptureComparison(
        capture=capture,
        frames=len(got),
        true_hands=true_hands,
        found=found,
        found_share=found / max(true_hands, 1),
        fitted=_stats(*err["fitted"]),
        estimated=_stats(*err["estimated"]),
    )
