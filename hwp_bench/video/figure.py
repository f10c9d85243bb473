"""The qualitative figure of an import: video frame, fitted hands over it, the avatar's render.

One row per (capture, frame): the frame as the video has it (working resolution, before the
crop), the capture's frame with the fitted hands drawn over it (mask outline and the 21
joints' skeleton, projected with the frame's own K, so a wrong K would show), and a method's
render of that frame (a run's ``renders/<track>/<capture>/<index>.png``, which the runner
writes for the test clip). Written atomically as a PNG.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from hwp_bench.video.landmarks import LANDMARK_BONES, MP_TO_MODEL

SIDE_COLOURS = {"right": (1.0, 0.35, 0.1), "left": (0.1, 0.55, 1.0)}


def _video_frame(dataset: Path, capture: str, frame) -> np.ndarray | None:
    from hwp_bench.video.decode import iter_frames
    from hwp_bench.video.importer import read_report

    report = read_report(dataset) or {}
    cap = (report.get("captures") or {}).get(capture)
    src = (frame.annotations.get("video") or {}).get("source_frame")
    if not cap or src is None or not Path(cap.get("video_path", "")).is_file():
        return None
    w, h = cap["working_size"]
    for k, img in enumerate(iter_frames(cap["video_path"], size=(w, h))):
        if k == src:
            return img
    return None


def _outline(mask: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_erosion

    m = mask > 0.5
    return m & ~binary_erosion(m, iterations=1)


def overlay(frame, model) -> np.ndarray:
    """The frame with its fitted hands drawn over it (float RGB in [0, 1])."""
    img = np.asarray(frame.image, np.float32)
    img = img / 255.0 if img.max() > 1.5 else img.copy()
    if frame.mask is not None:
        edge = _outline(frame.mask)
        img[frame.mask > 0.5] = 0.65 * img[frame.mask > 0.5] + 0.35 * np.array([1.0, 1.0, 0.3])
        img[edge] = (1.0, 1.0, 0.0)
    return img


def _skeletons(ax, frame, model) -> None:
    K = np.asarray(frame.K, np.float64)
    for side, hp in frame.hands.items():
        with torch.no_grad():
            J = (
                model(
                    torch.as_tensor(hp.pose)[None].float(),
                    torch.as_tensor(hp.shape)[None].float(),
                    torch.as_tensor(hp.trans)[None].float(),
                    side=side,
                )
                .joints[0]
                .double()
                .numpy()
            )
        p = ((J @ K.T)[:, :2] / J[:, 2:3])[list(MP_TO_MODEL)] - 0.5  # pixel centres
        for a, b in LANDMARK_BONES:
            ax.plot(p[[a, b], 0], p[[a, b], 1], color=SIDE_COLOURS[side], lw=1.0)
        ax.scatter(p[:, 0], p[:, 1], s=4, color="white", zorder=3)


def qualitative_figure(
    dataset: str | os.PathLike,
    rows: Sequence[tuple[str, int]],
    renders: str | os.PathLike | None,
    out: str | os.PathLike,
    *,
    method_label: str = "avatar render",
    model=None,
) -> Path:
    """Write the figure for ``rows`` = [(capture, frame index), ...] (see the module docstring).

    ``renders`` is a run's render folder holding ``<capture>/<index>.png`` (e.g.
    ``runs/<run>/renders/aligned``); None leaves the third column out.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hwp_bench.data.loading import load_frames
    from hwp_bench.data.splits import split_of
    from hwp_bench.hand import load_hand_model
    from hwp_bench.io import atomic_path

    dataset = Path(dataset)
    model = model or load_hand_model("open")
    cols = 3 if renders is not None else 2
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.6 * cols, 2.6 * len(rows)), squeeze=False)
    for r, (capture, index) in enumerate(rows):
        frames = None
        for split in ("train", "validation", "test"):
            frames = [f for f in load_frames(dataset, capture, split) if f.index == index]
            if frames:
                break
        if not frames:
            raise ValueError(f"{dataset}: {capture} has no frame {index}")
        frame = frames[0]
        video = _video_frame(dataset, capture, frame)
        panels = [
            (video if video is not None else frame.image, f"{capture} frame {index} (video)"),
            (overlay(frame, model), "fitted hands"),
        ]
        if renders is not None:
            png = Path(renders) / capture / f"{index:05d}.png"
            if png.is_file():
                from PIL import Image

                panels.append((np.asarray(Image.open(png).convert("RGB")), method_label))
            else:
                split = split_of(index, frame.num_frames)
                panels.append((np.zeros_like(np.asarray(frame.image)), f"no render ({split})"))
        for c, (img, title) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(np.asarray(img))
            if c == 1:
                lims = ax.get_xlim(), ax.get_ylim()
                _skeletons(ax, frame, model)
                ax.set_xlim(*lims[0])  # joints outside the frame must not widen the panel
                ax.set_ylim(*lims[1])
            ax.set_title(title, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return out
