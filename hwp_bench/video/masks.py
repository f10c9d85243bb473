"""Hand masks from fitted hands, the crop around them, and optional SAM refinement.

A capture's mask is the silhouette of its fitted hand meshes (both hands, amodal, like
HWP-Synth's ground-truth masks), rasterised with HWP-Synth's z-buffer rasteriser at 2x2
supersampling: each pixel holds the covered fraction, the PNG stores it in 8 bits.

The fitted silhouette is only as good as the landmarks it was fitted to: a pixel or two off
along the outline, more where the estimator misplaced a finger. Two refinements use the frame's
own colours, each kept only when it agrees with the silhouette (IoU >= ``min_iou``), because a
hand holding an object can hand the object over:

* **colour** (:func:`colour_refine`, the default when OpenCV imports, which the ``video`` extra
  brings): GrabCut on a trimap made from the silhouette: deeper than ``erode`` pixels inside it
  is sure hand, farther than ``band`` pixels outside it sure background, and the colour models
  decide the band in between. It can move the outline by a few pixels, never invent a finger.
  Then the pixels on the outline are decided once more, each by how much of the hand's
  colour it holds (:func:`outline_by_colour`), which GrabCut's smoothness term decides with a
  bias towards short outlines.
* **SAM**, when ``segment_anything`` imports and a checkpoint is given: SAM prompted with the
  silhouette's box and a few points inside it.
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


#: GrabCut's trimap, in pixels per 128 px of image side: sure hand deeper than COLOUR_ERODE_PX
#: inside the fitted silhouette, sure background farther than COLOUR_BAND_PX outside it. Chosen
#: on HWP-Synth quick captures 01, 02, 05 and 09 (docs/video.md), never on the captures the
#: docs measure the import on.
COLOUR_ERODE_PX = 2
COLOUR_BAND_PX = 3
#: The outline step after GrabCut (:func:`outline_by_colour`): local hand and background
#: colours are averaged within OUTLINE_RADIUS_PX (per 128 px of image side), and an outline
#: pixel is hand when its estimated hand fraction is at least OUTLINE_THRESHOLD. Chosen on
#: HWP-Synth quick captures 01, 02, 05 and 09 (radius 1, 2, 3, 5; threshold 0.3 to 0.5;
#: docs/video.md), never on the captures the docs measure the import on.
OUTLINE_RADIUS_PX = 2
OUTLINE_THRESHOLD = 0.4
#: OpenCV's GrabCut labels: sure background, sure foreground, probable background, probable
#: foreground.
GC_BGD, GC_FGD, GC_PR_BGD, GC_PR_FGD = 0, 1, 2, 3


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a disk of ``radius`` pixels (outside the image is background)."""
    if radius <= 0:
        return mask.copy()
    h, w = mask.shape
    pad = np.pad(mask, radius)
    out = np.zeros_like(mask)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx <= radius * radius:
                out |= pad[radius + dy : radius + dy + h, radius + dx : radius + dx + w]
    return out


def colour_trimap(mask: np.ndarray, erode: int, band: int) -> np.ndarray:
    """GrabCut labels ``[H, W]`` uint8 from a silhouette (coverage > 0.5 is hand): sure hand
    more than ``erode`` px inside, probable hand and probable background within ``band`` px of
    the outline, sure background beyond."""
    fg = np.asarray(mask) > 0.5
    sure = ~_dilate(~fg, erode) if erode > 0 else fg
    near = _dilate(fg, band)
    labels = np.full(fg.shape, GC_BGD, np.uint8)
    labels[near] = GC_PR_BGD
    labels[fg] = GC_PR_FGD
    labels[sure] = GC_FGD
    return labels


def hand_fraction(
    image: np.ndarray, mask: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Estimated hand fraction of every pixel from colour mixing, and where it is defined.

    A pixel on a hand's outline is partly hand and partly background, and (antialiasing,
    blur, a camera's pixel footprint) its colour ``C`` is about ``a F + (1 - a) B`` with
    ``F`` and ``B`` the hand's and the background's colours next to it (RGB, ``uint8`` or
    floats in [0, 1]). ``F`` and ``B`` are the
    mean colours, within ``radius`` pixels (a square window), of the pixels of the binary
    ``mask`` that are inside it and of those outside it, the outline's own pixels (those with a
    4-neighbour on the other side) left out of both; ``a`` is ``C - B`` projected on
    ``F - B``. Returns ``(a [H, W] float64, defined [H, W] bool)``: ``a`` is defined where
    both means have pixels and ``F != B``.
    """
    from scipy import ndimage

    img = np.asarray(image)
    img = img / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)
    fg = np.asarray(mask) > 0.5
    core_f = ndimage.binary_erosion(fg)
    core_b = ndimage.binary_erosion(~fg, border_value=1)
    k = 2 * int(radius) + 1

    def local_mean(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wf = w.astype(np.float64)
        den = ndimage.uniform_filter(wf, k, mode="constant")
        num = np.stack(
            [ndimage.uniform_filter(img[..., c] * wf, k, mode="constant") for c in range(3)], -1
        )
        return num / np.maximum(den, 1e-12)[..., None], den > 1e-9

    F, has_f = local_mean(core_f)
    B, has_b = local_mean(core_b)
    d = F - B
    dd = (d * d).sum(-1)
    a = ((img - B) * d).sum(-1) / np.maximum(dd, 1e-12)
    return a, has_f & has_b & (dd > 1e-9)


def outline_by_colour(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    threshold: float | None = None,
    radius: int | None = None,
) -> np.ndarray:
    """The binary ``mask`` with its outline pixels decided by their hand fraction.

    The outline is every pixel inside the mask with a 4-neighbour outside it and every pixel
    outside it with a 4-neighbour inside; each is hand when :func:`hand_fraction` is at least
    ``threshold`` (default OUTLINE_THRESHOLD), and keeps its label where the fraction is not
    defined. GrabCut labels these pixels with a smoothness term that prefers short outlines,
    which trims fingertips and the corners of thin fingers; HWP's masks call a pixel hand when
    at least half of it is (the 8-bit masks store a half-covered pixel as 128/255), so a pixel
    of mixed colour decides by how much hand it holds. Nothing moves by more than one pixel.
    ``radius`` defaults to OUTLINE_RADIUS_PX scaled to the image side. Returns float32 0/1.
    """
    from scipy import ndimage

    img = np.asarray(image)
    scale = max(img.shape[:2]) / 128.0
    radius = max(1, round(OUTLINE_RADIUS_PX * scale)) if radius is None else int(radius)
    threshold = OUTLINE_THRESHOLD if threshold is None else float(threshold)
    fg = np.asarray(mask) > 0.5
    if not fg.any() or fg.all():
        return fg.astype(np.float32)
    a, defined = hand_fraction(img, fg, radius)
    outline = (fg & ~ndimage.binary_erosion(fg)) | (~fg & ndimage.binary_dilation(fg))
    decide = outline & defined
    out = fg.copy()
    out[decide] = a[decide] >= threshold
    return out.astype(np.float32)


def colour_refine(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    erode: int | None = None,
    band: int | None = None,
    iterations: int = 3,
    min_iou: float = 0.7,
    outline: bool = True,
) -> tuple[np.ndarray, bool]:
    """The silhouette's outline moved to the frame's colour edges (GrabCut, OpenCV).

    ``erode`` and ``band`` default to COLOUR_ERODE_PX and COLOUR_BAND_PX scaled to the image
    side; with ``outline`` (import version 4) the outline pixels of GrabCut's answer are then
    decided by their colour (:func:`outline_by_colour`). Returns ``(mask, refined)``: the
    binary refined mask as float32 and True, or the input and False when the silhouette is
    too small to model (under 20 px, or no sure hand pixel), GrabCut fails, or its answer
    disagrees with the silhouette (IoU < ``min_iou``).
    """
    from hwp_bench.video.errors import require

    cv2 = require("cv2", "refine masks from the frame's colours")
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    scale = max(img.shape[:2]) / 128.0
    erode = max(1, round(COLOUR_ERODE_PX * scale)) if erode is None else int(erode)
    band = max(1, round(COLOUR_BAND_PX * scale)) if band is None else int(band)
    fg = np.asarray(mask) > 0.5
    labels = colour_trimap(mask, erode, band)
    if fg.sum() < 20 or not (labels == GC_FGD).any():
        return mask, False
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    bgr = np.ascontiguousarray(img[..., ::-1])
    try:
        cv2.grabCut(bgr, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return mask, False
    out = (labels == GC_FGD) | (labels == GC_PR_FGD)
    if outline:
        out = outline_by_colour(img, out) > 0.5
    union = float((out | fg).sum())
    if union == 0 or float((out & fg).sum()) / union < min_iou:
        return mask, False
    return out.astype(np.float32), True


def colour_refine_available() -> str | None:
    """None when :func:`colour_refine` can run, else the reason (OpenCV missing)."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return "OpenCV (cv2) is not installed: pip install 'hwp-bench[video]'"
    return None


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
