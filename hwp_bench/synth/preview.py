"""Contact sheets: a capture's frames across time, with their masks and perturbation strengths.

So a person can judge at a glance whether HWP-Synth looks like hands in the wild and whether
the recorded strengths match what is visible. Each column is one frame (evenly spaced over the
capture, the test clip included); top row the image, bottom row the masks (hand in green,
occluders in red, hidden hand parts in yellow), then a caption: index, split, occlusion
fraction, illumination gain, blur length and complex-pose strength.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def _frames(folder: Path, capture: str):
    from hwp_bench.data.loading import load_frames

    frames = []
    for split in ("train", "validation", "test"):
        frames.extend(load_frames(folder, capture, split))
    return sorted(frames, key=lambda f: f.index)


def _to_u8(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a.astype(np.float32) * 255), 0, 255).astype(np.uint8)
    return a


def _mask_tile(frame) -> np.ndarray:
    img = np.asarray(frame.image, dtype=np.float32)
    if img.dtype != np.float32 or img.max() > 1.5:
        img = img / 255.0
    grey = img.mean(-1, keepdims=True) * 0.35
    out = np.repeat(grey, 3, -1)
    ann = frame.annotations
    m = frame.mask if frame.mask is not None else np.zeros(img.shape[:2])
    occ = ann.get("occluder_mask")
    occ = np.zeros_like(m) if occ is None else np.asarray(occ, dtype=np.float32)
    vis = ann.get("visible_mask")
    vis = m if vis is None else np.asarray(vis, dtype=np.float32)
    hidden = np.clip(m - vis, 0, 1)
    out = out + vis[..., None] * np.array([0.1, 0.75, 0.2])
    out = out + occ[..., None] * np.array([0.8, 0.1, 0.1])
    out = out + hidden[..., None] * np.array([0.6, 0.6, 0.0])
    return _to_u8(np.clip(out, 0, 1))


def contact_sheet(
    folder: str | os.PathLike,
    capture: str,
    out: str | os.PathLike,
    *,
    columns: int = 8,
    scale: int | None = None,
) -> Path:
    """Write a PNG contact sheet of ``capture`` from the dataset ``folder`` to ``out``."""
    from PIL import Image, ImageDraw

    frames = _frames(Path(folder), capture)
    if not frames:
        raise ValueError(f"{folder} has no frames for {capture}")
    idx = np.unique(np.linspace(0, len(frames) - 1, columns).round().astype(int))
    chosen = [frames[i] for i in idx]
    h, w = np.asarray(chosen[0].image).shape[:2]
    scale = scale or max(1, 192 // max(h, w))
    th, tw = h * scale, w * scale
    cap_h = 58
    sheet = Image.new("RGB", (tw * len(chosen), 2 * th + cap_h + 16), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    f0 = chosen[0]
    title = (
        f"{capture}  {f0.hand_type}  tags: {', '.join(f0.tags) or 'none'}  ({f0.num_frames} frames)"
    )
    draw.text((4, 2), title, fill=(0, 0, 0))
    for k, fr in enumerate(chosen):
        x = k * tw
        img = Image.fromarray(_to_u8(fr.image)).resize((tw, th), Image.NEAREST)
        sheet.paste(img, (x, 16))
        sheet.paste(Image.fromarray(_mask_tile(fr)).resize((tw, th), Image.NEAREST), (x, 16 + th))
        a = fr.annotations
        strengths = a.get("strengths", {})
        lines = [
            f"#{fr.index} {fr.split}{' clean' if a.get('clean') else ''}",
            f"occ {a.get('occlusion_fraction', 0):.2f} gain {a.get('illumination_gain', 1):.2f}",
            f"blur {a.get('blur_length', 0):.1f}px pose {strengths.get('complex_pose', 0):.2f}",
            f"hoi {strengths.get('hoi', 0):.2f} ill {strengths.get('illumination', 0):.2f}",
        ]
        for j, line in enumerate(lines):
            draw.text((x + 3, 18 + 2 * th + 13 * j), line, fill=(0, 0, 0))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from hwp_bench.io import atomic_path

    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out
