"""Hand masks from fitted hands, the crop around them, and optional SAM refinement.

A capture's mask is the silhouette of its fitted hand meshes (both hands, amodal, like
HWP-Synth's ground-truth masks), rasterised with HWP-Synth's z-buffer rasteriser at 2x2
supersampling: each pixel holds the covered fraction, the PNG stores it in 8 bits.

When ``segment_anything`` imports and a SAM checkpoint is given, the silhouette is refined by
SAM prompted with the silhouette's box and a few points inside it; SAM's mask is kept only when
it agrees with the silhouette (IoU >= ``min_iou``), because a prompt on a hand holding an
object can return the object.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def hand_mask(
    meshes: list[tuple[np.ndarray, np.ndarray]],
    K: np.ndarray,
    width: int,
    height: int,
    *,
    ss: int = 2,
) -> np.ndarray:
    """Covered fraction ``[H, W]`` float32 of camera-space meshes ``[(verts, faces), ...]``
    (faces with outward winding, as ``HandModel.faces_for(side)`` gives them)."""
    from hwp_bench.synth.raster import rasterize

    if not meshes:
        return np.zeros((height, width), np.float32)
    Ks = np.asarray(K, np.float64).copy()
    Ks[:2] *= ss
    verts = np.concatenate([np.asarray(v, np.float64) for v, _ in meshes])
    offsets = np.cumsum([0] + [len(v) for v, _ in meshes])
    faces = np.concatenate(
        [np.asarray(f, np.int64) + o for (_, f), o in zip(meshes, offsets[:-1], strict=True)]
    )
    # Back faces culled, as HWP-Synth's masks are: the hand mesh is open at the wrist, and
    # its inside seen through that opening is not hand surface.
    cull = np.ones(len(faces), np.bool_)
    face_id, _, _ = rasterize(verts, faces, Ks, width * ss, height * ss, None, cull)
    cov = (face_id >= 0).reshape(height, ss, width, ss).mean((1, 3))
    return cov.astype(np.float32)


def square_crop(points: np.ndarray, *, scale: float = 1.5, min_side: float = 16.0):
    """Square ``(x0, y0, side)`` (floats) centred on the points' box, ``scale`` times its
    longer side (HWP's crops: the joints' box enlarged 1.5x, made square)."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    lo, hi = p.min(0), p.max(0)
    c = (lo + hi) / 2.0
    side = max(float((hi - lo).max()) * scale, min_side)
    return float(c[0] - side / 2.0), float(c[1] - side / 2.0), side


def crop_intrinsics(K: np.ndarray, x0: float, y0: float, side: float, size: int) -> np.ndarray:
    """Intrinsics of the square ``(x0, y0, side)`` resized to ``size`` pixels: ``f' = f r``,
    ``c' = (c - x0) r`` with ``r = size / side`` (continuous pixel coordinates)."""
    r = size / float(side)
    K2 = np.asarray(K, np.float64).copy()
    K2[0, 0] *= r
    K2[1, 1] *= r
    K2[0, 1] *= r
    K2[0, 2] = (K2[0, 2] - x0) * r
    K2[1, 2] = (K2[1, 2] - y0) * r
    return K2


def crop_image(image: np.ndarray, x0: float, y0: float, side: float, size: int) -> np.ndarray:
    """The square ``(x0, y0, side)`` of ``image`` resampled to ``size x size`` (black outside
    the image), with the same continuous-coordinate convention as :func:`crop_intrinsics`."""
    from PIL import Image

    a = np.asarray(image)
    grey = a.ndim == 2
    img = Image.fromarray(a if a.dtype == np.uint8 else np.clip(a * 255, 0, 255).astype(np.uint8))
    out = img.transform(
        (size, size),
        Image.Transform.EXTENT,
        (x0, y0, x0 + side, y0 + side),
        resample=Image.Resampling.BILINEAR,
        fillcolor=0 if grey else (0, 0, 0),
    )
    return np.asarray(out)


def sam_refine(
    image: np.ndarray,
    mask: np.ndarray,
    checkpoint: str | Path,
    *,
    model_type: str = "vit_h",
    min_iou: float = 0.7,
) -> tuple[np.ndarray, bool]:
    """SAM's mask for the hand (box + points prompt) when it agrees with ``mask``.

    Returns ``(mask, refined)``; ``refined`` is False when SAM's answer was rejected.
    """
    predictor = _sam_predictor(str(checkpoint), model_type)
    binary = mask > 0.5
    if not binary.any():
        return mask, False
    ys, xs = np.nonzero(binary)
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
    pick = np.linspace(0, len(xs) - 1, 5).astype(int)
    points = np.stack([xs[pick], ys[pick]], 1).astype(np.float32)
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = np.clip(img * 255, 0, 255).astype(np.uint8)
    predictor.set_image(img)
    masks, _, _ = predictor.predict(
        point_coords=points, point_labels=np.ones(len(points)), box=box, multimask_output=False
    )
    sam = masks[0].astype(bool)
    inter = float((sam & binary).sum())
    union = float((sam | binary).sum())
    if union == 0 or inter / union < min_iou:
        return mask, False
    return sam.astype(np.float32), True


_SAM_CACHE: dict[tuple[str, str], object] = {}


def _sam_predictor(checkpoint: str, model_type: str):
    from hwp_bench.video.errors import VideoError, require

    if not Path(checkpoint).is_file():
        raise VideoError(f"SAM checkpoint {checkpoint} does not exist")
    key = (checkpoint, model_type)
    if key not in _SAM_CACHE:
        sa = require("segment_anything", "refine masks with SAM")
        sam = sa.sam_model_registry[model_type](checkpoint=checkpoint)
        _SAM_CACHE[key] = sa.SamPredictor(sam)
    return _SAM_CACHE[key]
