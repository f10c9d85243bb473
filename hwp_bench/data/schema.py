"""The row schema of every hwp-bench dataset (HWP, HWP-Synth, converted upstream data).

One row per frame. ``FEATURES`` is the ``datasets.Features`` written into each Parquet file's
schema metadata, so ``datasets.load_dataset(folder, config)`` restores images and nested
fields without a loading script. ``FIELD_DOCS`` documents every column; the dataset card is
generated from it, so the card cannot drift from the schema.

Why these choices:

* Images and masks are PNG bytes in an ``Image`` column: lossless (scores compare pixels),
  self-contained shards (the Hub viewer and ``datasets`` decode them), no side files.
* Hand sides are nullable structs (``right``/``left``): a single-hand capture stores ``left =
  null`` instead of zeros that a method could mistake for a real hand.
* ``annotations`` is one nullable struct for per-frame perturbation strengths: null on real
  data (unknown), filled by HWP-Synth (exact). ``extra`` is a JSON string for generator-specific
  values that do not deserve a column yet.

Conversions: :func:`frame_to_row` (a :class:`Frame` with optional extras in
``frame.annotations``, see ``ANNOTATION_KEYS``) and :func:`row_to_frame` (a decoded row back
to a Frame). The two are inverse up to 8-bit quantisation of images and masks.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np

from hwp_bench.data.frame import HAND_SIDES, Frame, HandParams

SCHEMA_VERSION = 1

IMAGE_COLUMNS = ("image", "mask", "occluder_mask", "visible_mask")
HAND_COLUMNS = ("right", "left", "right_exact", "left_exact")
ANNOTATION_FIELDS = ("occlusion_fraction", "illumination_gain", "blur_length", "clean", "extra")

# Keys of Frame.annotations that map to columns (beyond the ``annotations`` struct fields).
ANNOTATION_KEYS = (
    "hand_box",  # (4,) float32 [x1, y1, x2, y2] pixels
    "frame_tags",  # list[str] perturbations active in this frame
    "occluder_mask",  # (H, W) float32 in [0, 1]
    "visible_mask",  # (H, W) float32 in [0, 1]
    "exact_hands",  # dict side -> HandParams (synthetic ground truth, noise-free)
)

FIELD_DOCS: dict[str, str] = {
    "image": "RGB frame (PNG, 8-bit). For HWP: the hand crop, square, 256x256.",
    "mask": "Hand mask (PNG, 8-bit grey, 255 = hand), or null when unknown. HWP: SAM mask.",
    "occluder_mask": "Mask of occluding objects (synthetic data only), or null.",
    "visible_mask": "Visible part of the hands = mask minus occluders (synthetic only), or null.",
    "capture": "Capture id, capture00..capture10 (Table II row).",
    "index": "Frame index within the capture, 0-based, in temporal order.",
    "num_frames": "Frames in the whole capture (all splits); t = index / num_frames.",
    "t": "Normalised time index / num_frames in [0, 1), DPD's temporal input.",
    "hand_type": "single or inter (two interacting hands).",
    "K": "Camera intrinsics 3x3 (pixels) for this image; extrinsics are identity, OpenCV axes.",
    "width": "Image width in pixels.",
    "height": "Image height in pixels.",
    "hand_box": "Box around the hands [x1, y1, x2, y2] in pixels of this image, or null.",
    "right": "Right hand MANO-convention parameters: pose (48 axis-angle: 3 global + 45 "
    "finger), shape (10), trans (3, camera space, metres); null when the hand is absent.",
    "left": "Left hand parameters, same convention (mirrored right hand); null when absent.",
    "right_exact": "Noise-free right-hand parameters (synthetic data only), or null.",
    "left_exact": "Noise-free left-hand parameters (synthetic data only), or null.",
    "tags": "Capture-level perturbation tags (Table II): hoi, complex_pose, illumination, blur.",
    "frame_tags": "Perturbations active in this frame (synthetic data; empty when unknown).",
    "annotations": "Per-frame perturbation strengths, or null when unknown (real data): "
    "occlusion_fraction (share of the hand mask hidden by occluders), illumination_gain "
    "(multiplicative light change, 1 = none), blur_length (motion-blur streak length in "
    "pixels), clean (true when no perturbation applies), extra (JSON object, "
    "generator-specific).",
    "split": "train, validation or test (contiguous 80/10/10 by frame order).",
}


def features():
    """The ``datasets.Features`` of a row (imported lazily: ``datasets`` is slow to import)."""
    import datasets as ds

    f32 = ds.Value("float32")

    def vec(n: int):
        return ds.List(f32, length=n)

    hand = {"pose": vec(48), "shape": vec(10), "trans": vec(3)}
    cols: dict[str, Any] = {
        "image": ds.Image(),
        "mask": ds.Image(),
        "occluder_mask": ds.Image(),
        "visible_mask": ds.Image(),
        "capture": ds.Value("string"),
        "index": ds.Value("int32"),
        "num_frames": ds.Value("int32"),
        "t": f32,
        "hand_type": ds.Value("string"),
        "K": ds.List(vec(3), length=3),
        "width": ds.Value("int32"),
        "height": ds.Value("int32"),
        "hand_box": vec(4),
        "right": dict(hand),
        "left": dict(hand),
        "right_exact": dict(hand),
        "left_exact": dict(hand),
        "tags": ds.List(ds.Value("string")),
        "frame_tags": ds.List(ds.Value("string")),
        "annotations": {
            "occlusion_fraction": f32,
            "illumination_gain": f32,
            "blur_length": f32,
            "clean": ds.Value("bool"),
            "extra": ds.Value("string"),
        },
        "split": ds.Value("string"),
    }
    assert list(cols) == list(FIELD_DOCS), "every column must be documented"
    return ds.Features(cols)


def arrow_schema():
    """Arrow schema with the ``huggingface`` metadata that ``datasets`` reads back."""
    return features().arrow_schema


# --------------------------------------------------------------------------- images


def encode_png(array: np.ndarray | bytes | None, *, grey: bool = False) -> bytes | None:
    """PNG bytes of an image (uint8, or float in [0, 1]); ``bytes`` pass through unchanged."""
    if array is None:
        return None
    if isinstance(array, (bytes, bytearray)):
        return bytes(array)
    from PIL import Image

    a = np.asarray(array)
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    if grey:
        if a.ndim == 3:
            a = a[..., 0]
        img = Image.fromarray(a, mode="L")
    else:
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        img = Image.fromarray(a[..., :3], mode="RGB")
    buf = io.BytesIO()
    # compress_level 0 (stored): the Parquet file is zstd-compressed anyway, which gives the
    # same size as PNG's own deflate (135 vs 137 KB for a 256x256 photo-like frame) while
    # decoding ~2x faster (0.8 vs 1.5 ms CPU); levels 1-3 are both larger and slower to decode.
    # See benchmarks/data.py.
    img.save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


def decode_png(data: bytes | None, *, grey: bool = False, as_float: bool = True):
    """Decode PNG (or JPEG) bytes to ``(H, W, 3)`` / ``(H, W)`` float32 in [0, 1] (or uint8)."""
    if data is None:
        return None
    from PIL import Image

    mode = "L" if grey else "RGB"
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        a = np.asarray(img if img.mode == mode else img.convert(mode))
    if as_float:
        return np.multiply(a, np.float32(1.0 / 255.0), dtype=np.float32)
    return a


# --------------------------------------------------------------------------- rows


def _hand_to_struct(h: HandParams | None) -> dict | None:
    if h is None:
        return None
    return {
        "pose": np.asarray(h.pose, np.float32).reshape(48).tolist(),
        "shape": np.asarray(h.shape, np.float32).reshape(10).tolist(),
        "trans": np.asarray(h.trans, np.float32).reshape(3).tolist(),
    }


def _struct_to_hand(s: dict | None) -> HandParams | None:
    if s is None:
        return None
    return HandParams(pose=s["pose"], shape=s["shape"], trans=s["trans"])


def _finite_or_none(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def frame_to_row(frame: Frame) -> dict[str, Any]:
    """A storable row (images as PNG bytes) from a :class:`Frame`.

    Optional extras come from ``frame.annotations``: the ``annotations`` struct fields
    (``occlusion_fraction``, ``illumination_gain``, ``blur_length``, ``clean``; any other
    non-column key goes to ``extra`` as JSON) and the ``ANNOTATION_KEYS`` columns.
    """
    ann = dict(frame.annotations or {})
    image = np.asarray(frame.image) if not isinstance(frame.image, bytes) else frame.image
    if isinstance(image, bytes):
        from PIL import Image

        with Image.open(io.BytesIO(image)) as im:
            width, height = im.size
    else:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"frame image must be HxWx3, got shape {image.shape}")
        height, width = int(image.shape[0]), int(image.shape[1])

    exact = ann.pop("exact_hands", None) or {}
    hand_box = ann.pop("hand_box", None)
    frame_tags = ann.pop("frame_tags", None) or []
    occ = ann.pop("occluder_mask", None)
    vis = ann.pop("visible_mask", None)
    struct = None
    known = {
        k: ann.pop(k)
        for k in ("occlusion_fraction", "illumination_gain", "blur_length", "clean")
        if k in ann
    }
    if known or ann:
        struct = {
            "occlusion_fraction": _finite_or_none(known.get("occlusion_fraction")),
            "illumination_gain": _finite_or_none(known.get("illumination_gain")),
            "blur_length": _finite_or_none(known.get("blur_length")),
            "clean": None if known.get("clean") is None else bool(known["clean"]),
            "extra": json.dumps(_jsonable(ann), sort_keys=True) if ann else None,
        }
    for side in frame.hands:
        if side not in HAND_SIDES:
            raise ValueError(f"unknown hand side {side!r}: use {HAND_SIDES}")
    return {
        "image": {"bytes": encode_png(image), "path": None},
        "mask": _img(encode_png(frame.mask, grey=True)),
        "occluder_mask": _img(encode_png(occ, grey=True)),
        "visible_mask": _img(encode_png(vis, grey=True)),
        "capture": str(frame.capture),
        "index": int(frame.index),
        "num_frames": int(frame.num_frames),
        "t": float(frame.index) / float(frame.num_frames),
        "hand_type": str(frame.hand_type),
        "K": np.asarray(frame.K, np.float32).reshape(3, 3).tolist(),
        "width": width,
        "height": height,
        "hand_box": None
        if hand_box is None
        else np.asarray(hand_box, np.float32).reshape(4).tolist(),
        "right": _hand_to_struct(frame.hands.get("right")),
        "left": _hand_to_struct(frame.hands.get("left")),
        "right_exact": _hand_to_struct(exact.get("right")),
        "left_exact": _hand_to_struct(exact.get("left")),
        "tags": [str(t) for t in frame.tags],
        "frame_tags": [str(t) for t in frame_tags],
        "annotations": struct,
        "split": str(frame.split),
    }


def _img(b: bytes | None) -> dict | None:
    return None if b is None else {"bytes": b, "path": None}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def row_to_frame(row: dict[str, Any], *, decode_images: bool = True) -> Frame:
    """A :class:`Frame` from a stored row (images as ``{"bytes": ...}`` structs, PIL images
    as ``datasets`` decodes them, or arrays)."""
    hands = {side: _struct_to_hand(row.get(side)) for side in HAND_SIDES}
    hands = {k: v for k, v in hands.items() if v is not None}
    ann: dict[str, Any] = {}
    s = row.get("annotations")
    if s is not None:
        for k in ("occlusion_fraction", "illumination_gain", "blur_length", "clean"):
            if s.get(k) is not None:
                ann[k] = s[k]
        if s.get("extra"):
            ann.update(json.loads(s["extra"]))
    if row.get("hand_box") is not None:
        ann["hand_box"] = np.asarray(row["hand_box"], np.float32)
    if row.get("frame_tags"):
        ann["frame_tags"] = list(row["frame_tags"])
    exact = {side: _struct_to_hand(row.get(f"{side}_exact")) for side in HAND_SIDES}
    exact = {k: v for k, v in exact.items() if v is not None}
    if exact:
        ann["exact_hands"] = exact
    for col in ("occluder_mask", "visible_mask"):
        if row.get(col) is not None:
            ann[col] = _as_image(row[col], grey=True) if decode_images else row[col]
    return Frame(
        image=_as_image(row["image"], grey=False) if decode_images else row["image"],
        capture=row["capture"],
        index=int(row["index"]),
        num_frames=int(row["num_frames"]),
        K=np.asarray(row["K"], np.float32).reshape(3, 3),
        hands=hands,
        mask=None
        if row.get("mask") is None
        else (_as_image(row["mask"], grey=True) if decode_images else row["mask"]),
        hand_type=row["hand_type"],
        split=row["split"],
        tags=list(row.get("tags") or []),
        annotations=ann,
    )


def _as_image(value: Any, *, grey: bool) -> np.ndarray:
    """Image column value -> float32 array in [0, 1] (bytes struct, PIL image or array)."""
    if isinstance(value, dict):
        return decode_png(value["bytes"], grey=grey)
    if isinstance(value, (bytes, bytearray)):
        return decode_png(bytes(value), grey=grey)
    if hasattr(value, "convert"):  # PIL image (datasets' decoded Image feature)
        a = np.asarray(value.convert("L" if grey else "RGB"))
        return a.astype(np.float32) * np.float32(1.0 / 255.0)
    a = np.asarray(value)
    return a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
