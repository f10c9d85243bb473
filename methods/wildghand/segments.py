"""Region proposals y_u for PAO (paper Sec. III-D): SAM when available, else scikit-image.

The paper segments each training frame with SAM's automatic mask generator. SAM's masks are
*multi-granularity*: they overlap, and among them are whole objects (the whole hand, the whole
occluder) as well as parts. PAO relies on that: mu_u = |y_u & y_h| / |y_h| (Eq. 5) selects
regions that cover a good fraction (T_mu = 0.3) of the hand, which only whole-object-sized
regions do.

Without a SAM checkpoint (this machine) we use **Felzenszwalb's graph-based segmentation at
several scales** (default 64, 256, 1024 at 128 px, scaled with the image area) and take the
union of all levels as the proposal set. Why Felzenszwalb rather than SLIC:

* its regions follow colour edges and have no size prior, so an occluder becomes its own
  region(s) and a uniformly coloured hand stays in few regions, like SAM's object masks;
  SLIC's compactness prior cuts the image into near-equal superpixels, so no SLIC region ever
  covers 30% of a hand and Eq. 5's mu_u would reject every one of them;
* running it at several scales gives SAM-like overlapping granularities (parts at fine
  scales, whole objects at coarse ones);
* it is deterministic and takes a few milliseconds per level at 128 px.

SLIC stays available (``pao_segmenter=slic``) for comparison. Proposals are computed once per
training frame (from its pixels only) and cached by the caller.

**The whole-hand proposal** (``pao_hand_proposal=mask``, :func:`with_hand_proposal`).
Felzenszwalb has no object level: at every scale it cuts a hand at its colour edges, and the
nails, whose colour differs from the skin around them, become small regions of their own. Under
Eq. 5 a region covering a few percent of the hand gets mu_u < T_mu and so PAO weight 0, so the
avatar is never asked to draw nails (docs/fidelity.md measures 98% of capture08's nail pixels
at W = 0). SAM's automatic generator does propose the whole hand among its masks, which gives
every hand pixel a share of weight. The option adds that level from the frame's hand mask (on
real HWP the mask *is* SAM's), so the stand-in keeps the one granularity it lacks. It is not
used with SAM proposals, which have it already.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np


def _as_float_image(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    return np.clip(img.astype(np.float32), 0.0, 1.0)


def felzenszwalb_levels(image: np.ndarray, scales=(64.0, 256.0, 1024.0)) -> np.ndarray:
    """Label maps [S, H, W] (int32, ids 0..U_s-1 per level), one per Felzenszwalb scale.

    Scales are given for a 128x128 image and multiplied by ``(H * W) / 128^2`` because the
    algorithm's ``scale`` acts on component sizes in pixels.
    """
    from skimage.segmentation import felzenszwalb

    img = _as_float_image(image)
    area = img.shape[0] * img.shape[1] / (128.0 * 128.0)
    levels = []
    for s in scales:
        lab = felzenszwalb(img, scale=float(s) * area, sigma=0.5, min_size=max(4, int(8 * area)))
        levels.append(_relabel(lab))
    return np.stack(levels).astype(np.int32)


def slic_levels(image: np.ndarray, segments=(400, 100, 25)) -> np.ndarray:
    """SLIC superpixels at several counts (kept for comparison; see module docstring)."""
    from skimage.segmentation import slic

    img = _as_float_image(image)
    levels = [
        _relabel(slic(img, n_segments=int(n), compactness=10.0, start_label=0)) for n in segments
    ]
    return np.stack(levels).astype(np.int32)


def _relabel(lab: np.ndarray) -> np.ndarray:
    _, inv = np.unique(lab, return_inverse=True)
    return inv.reshape(lab.shape)


def sam_available(checkpoint: str) -> bool:
    """SAM is used only when ``segment_anything`` imports and a checkpoint file is configured."""
    if not checkpoint or not Path(checkpoint).is_file():
        return False
    try:
        import segment_anything  # noqa: F401
    except Exception:  # torchvision may fail to import with this torch: treat as unavailable
        return False
    return True


@lru_cache(maxsize=2)
def _sam_generator(checkpoint: str, model_type: str):
    from segment_anything import SamAutomaticMaskGenerator, sam_model_registry

    sam = sam_model_registry[model_type](checkpoint=checkpoint)
    return SamAutomaticMaskGenerator(sam)


def sam_levels(image: np.ndarray, checkpoint: str, model_type: str = "vit_h") -> np.ndarray:
    """SAM automatic masks as one label level per mask ([U, H, W]: 0 inside, -1 outside).

    SAM masks overlap, so each becomes its own level with a single region; label -1 marks
    "no region" and PAO ignores it.
    """
    img = (_as_float_image(image) * 255).astype(np.uint8)
    masks = _sam_generator(checkpoint, model_type).generate(img)
    if not masks:
        return np.full((1,) + img.shape[:2], -1, np.int32)
    return np.stack([np.where(m["segmentation"], 0, -1).astype(np.int32) for m in masks])


def with_hand_proposal(
    labels: np.ndarray, mask: np.ndarray | None, threshold: float = 0.5
) -> np.ndarray:
    """``labels`` [S, H, W] with one more level: the hand mask as one region (id 0, -1 elsewhere).

    Unchanged when there is no mask or it is empty (a frame without a visible hand has no
    whole-hand object to propose).
    """
    if mask is None:
        return labels
    m = np.asarray(mask, np.float32)
    if m.shape != labels.shape[1:]:
        raise ValueError(f"hand mask {m.shape} does not match the proposals {labels.shape[1:]}")
    inside = m > threshold
    if not inside.any():
        return labels
    level = np.where(inside, 0, -1).astype(labels.dtype)
    return np.concatenate([labels, level[None]], axis=0)


def propose_regions(
    image: np.ndarray,
    *,
    method: str = "auto",
    scales=(64.0, 256.0, 1024.0),
    sam_checkpoint: str = "",
    sam_model: str = "vit_h",
    hand_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Region proposals of one frame as label levels [S, H, W] (see module docstring).

    ``hand_mask`` [H, W] adds the whole-hand level (:func:`with_hand_proposal`) to the
    Felzenszwalb and SLIC proposals; SAM's own masks already include the whole hand.
    """
    if not sam_checkpoint and method in ("auto", "sam"):
        # `hwp-bench assets fetch sam` puts the authors' vit_h.pth in the data home.
        from hwp_bench.assets import sam_checkpoint as fetched_sam_checkpoint

        sam_checkpoint = fetched_sam_checkpoint()
    if method == "auto":
        method = "sam" if sam_available(sam_checkpoint) else "felzenszwalb"
    if method == "sam":
        if not sam_available(sam_checkpoint):
            raise RuntimeError(
                "pao_segmenter=sam needs `pip install hwp-bench[sam]` and sam_checkpoint=PATH "
                "(or `hwp-bench assets fetch sam`)"
            )
        return sam_levels(image, sam_checkpoint, sam_model)
    if method == "felzenszwalb":
        return with_hand_proposal(felzenszwalb_levels(image, tuple(scales)), hand_mask)
    if method == "slic":
        return with_hand_proposal(slic_levels(image), hand_mask)
    raise ValueError(f"unknown region proposal method {method!r}")
