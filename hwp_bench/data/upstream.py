"""Convert the authors' HWP release into our layout (``hwp-bench data convert-upstream``).

Upstream (Hub dataset ``XuanHuang0/WildGHand``; docs/design.md, section 'Dataset layout and
splits'): one folder per capture
(``capture0_subsample3_single`` ... ``capture10_subsample3``) holding ``output.pkl`` (a list of
per-frame dicts from the OmniHands estimator), the frames and SAM masks. For every frame we

1. take the hand box ``bbox_inter`` ([x1, y1, x2, y2], the joints' box enlarged 1.5x; else the
   box of ``joints2d_world_*`` enlarged 1.5x; else the mask's box), make it square about its
   centre, crop (zero padding outside the image) and resize to ``size`` (256);
2. adjust K: upstream focal ``scaled_focal_length`` (= 5000/256 * max(H, W)), principal point
   at the image centre; a crop at ``(x0, y0)`` of side ``s`` resized by ``r = size / s`` gives
   ``f' = f r``, ``c' = (c - x0) r`` (continuous pixel coordinates, the convention PIL's
   resampling uses);
3. keep pose and shape as given (``mano_pose_*`` 48 axis-angle, ``mano_shape_*`` 10) and make
   ``trans`` the wrist position in camera space (the toolkit's convention). ``cam_aligned_*`` is
   a translation added to the estimator's MANO output ``verts3d_world_*`` (the authors' loader
   forms camera-space vertices as ``verts3d_world + cam_aligned``), so with a hand model of the
   same topology (MANO via ``HWP_MANO_DIR``) ``trans = cam_aligned + `` the wrist of the
   ``verts3d_world`` frame, found by :func:`hwp_bench.hand.transl.fit_trans` (exact when the
   vertices match the parameters, whatever origin the estimator used). Without those vertices
   ``cam_aligned`` is taken as smplx's ``transl``
   (:func:`hwp_bench.hand.transl.transl_to_trans`). Without MANO, ``cam_aligned`` is kept and
   every capture's report says so.

``output.pkl`` is untrusted: it is read with :func:`hwp_bench.io.safe_load_pickle` (numpy
arrays, dicts, lists, scalars only; size-limited); a pickle that asks for anything else is
refused and the capture is reported as not converted. Image and mask paths inside the pkl
are only used by *basename* and looked up among the files under the capture folder, so the
pkl cannot make us read anything outside it.

Nothing is silently dropped: every frame that is skipped (missing or unreadable image, no
valid hand parameters, no box) or converted with a gap (missing mask, missing hand side,
fallback box or focal) appears in the :class:`ConversionReport`, written to
``<dst>/conversion_report.json`` and summarised by the CLI. Skipped frames keep their index
(frame order is the pkl order), so the splits of the converted capture match the full one.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.data.frame import Frame, HandParams
from hwp_bench.data.tags import CAPTURES, capture_id
from hwp_bench.io import atomic_write_json, safe_load_pickle

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
MAX_PKL_BYTES = 1024**3
_FOLDER_RE = re.compile(r"^capture(\d+)(?:_|$)")
_INT_RE = re.compile(r"\d+")


@dataclass
class FrameIssue:
    """What went wrong with one frame (``converted`` False: the frame is not in the output)."""

    index: int
    image: str
    converted: bool
    problems: list[str]


@dataclass
class CaptureReport:
    capture: str
    folder: str
    entries: int = 0
    converted: int = 0
    error: str | None = None  # capture-level failure (nothing converted)
    notes: list[str] = field(default_factory=list)
    frames: list[FrameIssue] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return sum(1 for f in self.frames if not f.converted)


@dataclass
class ConversionReport:
    source: str
    destination: str
    size: int
    captures: list[CaptureReport] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)  # folders that are not captures

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for c, cr in zip(d["captures"], self.captures, strict=True):
            c["skipped"] = cr.skipped
        return d

    def summary_lines(self, max_frames: int = 40) -> list[str]:
        """Human-readable report: one line per capture, then one per problem frame."""
        lines = []
        for c in self.captures:
            if c.error:
                lines.append(f"{c.capture} ({c.folder}): NOT CONVERTED: {c.error}")
                continue
            lines.append(
                f"{c.capture} ({c.folder}): {c.converted}/{c.entries} frames converted, "
                f"{c.skipped} skipped, {sum(1 for f in c.frames if f.converted)} with warnings"
            )
            lines += [f"  note: {n}" for n in c.notes]
        shown = 0
        for c in self.captures:
            for f in c.frames:
                if shown == max_frames:
                    lines.append("  ... (see conversion_report.json for every frame)")
                    return lines
                status = "converted" if f.converted else "SKIPPED"
                lines.append(
                    f"  {c.capture} frame {f.index} ({f.image}): {status}: {'; '.join(f.problems)}"
                )
                shown += 1
        for u in self.unrecognised:
            lines.append(f"ignored folder (not captureN_*): {u}")
        return lines


# ----------------------------------------------------------------------- geometry


def square_box(box: np.ndarray) -> tuple[int, int, int]:
    """Integer square ``(x0, y0, side)`` with the centre and the longer side of ``box``."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    s = max(1, int(round(side)))
    return int(round(cx - s / 2.0)), int(round(cy - s / 2.0)), s


def crop_square(image: np.ndarray, x0: int, y0: int, s: int) -> np.ndarray:
    """``image[y0:y0+s, x0:x0+s]`` with zeros where the square leaves the image."""
    h, w = image.shape[:2]
    out = np.zeros((s, s, *image.shape[2:]), dtype=image.dtype)
    ax0, ay0, ax1, ay1 = max(x0, 0), max(y0, 0), min(x0 + s, w), min(y0 + s, h)
    if ax1 > ax0 and ay1 > ay0:
        out[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = image[ay0:ay1, ax0:ax1]
    return out


def crop_intrinsics(K: np.ndarray, x0: int, y0: int, s: int, size: int) -> np.ndarray:
    """Intrinsics after cropping the square ``(x0, y0, s)`` and resizing it to ``size``."""
    r = size / float(s)
    K2 = np.asarray(K, np.float64).copy()
    K2[0, 0] *= r
    K2[1, 1] *= r
    K2[0, 2] = (K2[0, 2] - x0) * r
    K2[1, 2] = (K2[1, 2] - y0) * r
    return K2.astype(np.float32)


def _resize(a: np.ndarray, size: int, *, grey: bool) -> np.ndarray:
    from PIL import Image

    img = Image.fromarray(a, mode="L" if grey else "RGB")
    return np.asarray(
        img.resize((size, size), Image.Resampling.BILINEAR if grey else Image.Resampling.LANCZOS)
    )


# ----------------------------------------------------------------------- reading


def _first_int(name: str) -> int:
    m = _INT_RE.search(Path(name).stem)
    return int(m.group()) if m else -1


def _file_index(folder: Path) -> dict[str, Path]:
    """Basename -> file under ``folder`` (images only; first one wins, sorted for determinism)."""
    out: dict[str, Path] = {}
    root = folder.resolve()
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in IMAGE_EXTS and p.is_file() and not p.is_symlink():
            if p.resolve().is_relative_to(root):
                out.setdefault(p.name, p)
    return out


def _basename(path: Any) -> str | None:
    if not isinstance(path, (str, bytes)):
        return None
    s = path.decode("utf-8", "replace") if isinstance(path, bytes) else path
    return s.replace("\\", "/").rsplit("/", 1)[-1] or None


def _read_image(path: Path, *, grey: bool) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("L" if grey else "RGB"))


def _vector(entry: dict, key: str, n: int) -> tuple[np.ndarray | None, str | None]:
    if key not in entry or entry[key] is None:
        return None, f"{key} missing"
    try:
        v = np.asarray(entry[key], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None, f"{key} is not numeric"
    if v.size != n:
        return None, f"{key} has {v.size} values, expected {n}"
    if not np.all(np.isfinite(v)):
        return None, f"{key} has non-finite values"
    return v, None


def _hand(entry: dict, side: str) -> tuple[HandParams | None, list[str]]:
    pose, e1 = _vector(entry, f"mano_pose_{side}", 48)
    shape, e2 = _vector(entry, f"mano_shape_{side}", 10)
    trans, e3 = _vector(entry, f"cam_aligned_{side}", 3)
    problems = [e for e in (e1, e2, e3) if e]
    if problems:
        return None, problems
    return HandParams(pose, shape, trans), []


def _box_from_joints(entry: dict, sides: list[str]) -> np.ndarray | None:
    pts = []
    for side in sides:
        j = entry.get(f"joints2d_world_{side}")
        if j is None:
            continue
        try:
            a = np.asarray(j, np.float64).reshape(-1, 2)
        except (TypeError, ValueError):
            continue
        pts.append(a[np.all(np.isfinite(a), axis=1)])
    if not pts or not sum(len(p) for p in pts):
        return None
    p = np.concatenate(pts)
    lo, hi = p.min(0), p.max(0)
    c, half = (lo + hi) / 2, (hi - lo) / 2 * 1.5
    return np.array([c[0] - half[0], c[1] - half[1], c[0] + half[0], c[1] + half[1]])


def find_capture_folders(src: Path) -> tuple[dict[str, Path], list[str]]:
    """Capture id -> folder for every ``captureN_*`` folder in ``src`` (or ``src`` itself)."""
    candidates = (
        [src] if _FOLDER_RE.match(src.name) else sorted(p for p in src.iterdir() if p.is_dir())
    )
    found: dict[str, Path] = {}
    other: list[str] = []
    for p in candidates:
        m = _FOLDER_RE.match(p.name)
        if m and capture_id(int(m.group(1))) in CAPTURES:
            found.setdefault(capture_id(int(m.group(1))), p)
        else:
            other.append(p.name)
    return found, other


# ----------------------------------------------------------------------- translations

# A fit worse than this (RMS over vertices, metres) means verts3d_world and the MANO
# parameters disagree (another convention or a bad estimate): reported per frame.
FIT_TOLERANCE_M = 0.002


def _resolve_hand_model(hand_model: Any) -> tuple[Any, str | None]:
    if hand_model is None:
        return None, (
            "translations are cam_aligned as given (hand_model=None): not re-centred on the wrist"
        )
    if hand_model != "auto":
        return hand_model, None
    if not os.environ.get("HWP_MANO_DIR"):
        return None, (
            "translations are cam_aligned as given: set HWP_MANO_DIR to re-centre them on the "
            "wrist from verts3d_world (the toolkit's trans is the wrist position)"
        )
    try:
        from hwp_bench.hand import load_hand_model

        return load_hand_model("mano"), None
    except Exception as exc:  # noqa: BLE001 - a broken MANO folder must not stop conversion
        return None, f"MANO could not be loaded ({exc}); translations are cam_aligned as given"


def wrist_translation(model: Any, side: str, hand: HandParams, verts: np.ndarray):
    """The wrist of the ``verts`` frame: :func:`hwp_bench.hand.transl.fit_trans`."""
    from hwp_bench.hand.transl import fit_trans

    return fit_trans(model, side, hand.pose, hand.shape, verts)


def _from_transl(model: Any, side: str, hp: HandParams) -> np.ndarray | None:
    """``cam_aligned`` read as smplx's ``transl`` (MANO only; None for other models)."""
    from hwp_bench.hand.transl import transl_to_trans

    try:
        return transl_to_trans(hp.trans, hp.shape, side, model=model)
    except (ValueError, AttributeError):
        return None


def _recentre(model: Any, side: str, hp: HandParams, entry: dict) -> tuple[HandParams, str | None]:
    raw = entry.get(f"verts3d_world_{side}")
    try:
        verts = np.asarray(raw, np.float64).reshape(-1, 3)
    except (TypeError, ValueError):
        verts = None
    if raw is None or verts is None or not np.all(np.isfinite(verts)):
        why = f"verts3d_world_{side} missing or invalid"
        fit = None
    else:
        why = f"verts3d_world_{side} has {len(verts)} vertices, the hand model another count"
        fit = wrist_translation(model, side, hp, verts)
    if fit is None:
        mapped = _from_transl(model, side, hp)
        if mapped is None:
            return hp, f"{side} trans is cam_aligned ({why})"
        return HandParams(hp.pose, hp.shape, mapped), (
            f"{side} trans from cam_aligned read as smplx's transl ({why})"
        )
    wrist, rms = fit
    note = None
    if rms > FIT_TOLERANCE_M:
        note = f"{side} verts3d_world fits the pose/shape only to {rms * 1000:.1f} mm RMS"
    return HandParams(hp.pose, hp.shape, hp.trans + wrist), note


# ----------------------------------------------------------------------- converting


def convert_upstream(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    size: int = 256,
    captures: list[str] | None = None,
    progress: bool = True,
    hand_model: Any = "auto",
) -> ConversionReport:
    """Convert every capture folder under ``src`` into a dataset folder at ``dst``.

    ``hand_model`` re-centres translations on the wrist (see :func:`wrist_translation`):
    "auto" uses MANO when ``HWP_MANO_DIR`` provides it, None keeps ``cam_aligned`` as given,
    or pass a model object (``model(pose, shape, trans, side=...).vertices``).
    """
    from hwp_bench.data.layout import DatasetWriter

    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise FileNotFoundError(f"upstream folder {src} does not exist")
    folders, other = find_capture_folders(src)
    if captures:
        folders = {c: p for c, p in folders.items() if c in captures}
    if not folders:
        raise FileNotFoundError(
            f"no capture folders (captureN_subsample3[_single]) with output.pkl under {src}"
        )
    report = ConversionReport(str(src), str(dst), size, unrecognised=other)
    writer = DatasetWriter(
        dst,
        name="hwp",
        pretty_name="HWP (hand with perturbation)",
        description=(
            "The HWP dataset of WildGHand (Li, Huang et al.): monocular in-the-wild hand "
            f"videos with perturbations, converted from the authors' release to {size}x{size} "
            "hand crops by hwp-bench."
        ),
        notes="Converted by `hwp-bench data convert-upstream`; see conversion_report.json.",
        citation=(
            "Li, Huang et al., *WildGHand: Learning Anti-Perturbation Gaussian Hand Avatars "
            "from Monocular In-the-Wild Videos*. Original data: Hugging Face dataset "
            "XuanHuang0/WildGHand."
        ),
    )
    model, model_note = _resolve_hand_model(hand_model)
    for cap, folder in folders.items():
        cr = CaptureReport(cap, folder.name)
        if model_note:
            cr.notes.append(model_note)
        report.captures.append(cr)
        try:
            _convert_capture(writer, cap, folder, size, cr, progress, model)
        except Exception as exc:  # noqa: BLE001 - one bad capture must not stop the others
            msg = str(exc).splitlines()[0][:300] if str(exc) else "no message"
            cr.error = f"{type(exc).__name__}: {msg}"
            cr.converted = 0
        atomic_write_json(dst / "conversion_report.json", report.to_json())
    writer.finalize()
    atomic_write_json(dst / "conversion_report.json", report.to_json())
    return report


def _convert_capture(
    writer, cap: str, folder: Path, size: int, cr: CaptureReport, progress: bool, model
) -> None:  # noqa: ANN001
    info = CAPTURES[cap]
    hand_type = info.hand_type
    if ("_single" in folder.name) != (hand_type == "single"):
        cr.notes.append(
            f"folder name {folder.name!r} disagrees with Table II ({hand_type}); using Table II"
        )
    pkl = folder / "output.pkl"
    if not pkl.is_file():
        raise ValueError(f"{pkl.name} missing in {folder}")
    entries = safe_load_pickle(pkl, max_bytes=MAX_PKL_BYTES)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError("output.pkl must hold a list of per-frame dicts")
    if not entries:
        raise ValueError("output.pkl holds no frames")
    entries = sorted(entries, key=lambda e: (_first_int(_basename(e.get("img_path")) or ""),))
    n = len(entries)
    cr.entries = n
    files = _file_index(folder)
    sides = ["right", "left"] if hand_type == "inter" else ["right"]
    if hand_type == "single" and any("mano_pose_left" in e for e in entries):
        cr.notes.append(
            "left-hand fields present in a single-hand capture: ignored (Table II: single)"
        )

    def frames() -> Iterator[Frame]:
        for i, entry in enumerate(entries):
            try:
                frame, issue = _convert_frame(
                    entry, i, n, cap, hand_type, sides, files, size, model
                )
            except Exception as exc:  # noqa: BLE001 - one bad frame is reported, not fatal
                label = _basename(entry.get("img_path")) or "?"
                why = f"conversion failed ({type(exc).__name__}: {str(exc)[:200]})"
                frame, issue = None, FrameIssue(i, label, False, [why])
            if issue is not None:
                cr.frames.append(issue)
            if frame is not None:
                cr.converted += 1
                yield frame

    writer.write_capture(
        cap,
        frames(),
        num_frames=n,
        hand_type=hand_type,
        tags=info.perturbations,
        allow_missing=True,
        progress=progress,
    )


def _box_fits(box: np.ndarray, h: int, w: int) -> bool:
    """A crop box no larger than 4x the image: anything bigger is a corrupt estimate (and a
    1e12-pixel square would be allocated before it is resized)."""
    return bool(max(box[2] - box[0], box[3] - box[1]) <= 4 * max(h, w))


def _convert_frame(entry, i, n, cap, hand_type, sides, files, size, model):  # noqa: ANN001, ANN202
    problems: list[str] = []
    name = _basename(entry.get("img_path"))
    label = name or "?"

    def skip(why: str):  # noqa: ANN202
        return None, FrameIssue(i, label, False, [*problems, why])

    if name is None:
        return skip("img_path missing or not a string")
    path = files.get(name)
    if path is None:
        return skip(f"image {name} not found in the capture folder")
    try:
        image = _read_image(path, grey=False)
    except Exception as exc:  # noqa: BLE001 - corrupt or oversized image: reported, skipped
        return skip(f"image unreadable ({type(exc).__name__}: {exc})")
    h, w = image.shape[:2]

    hands: dict[str, HandParams] = {}
    for side in sides:
        hp, errs = _hand(entry, side)
        if hp is None:
            problems.append(f"{side} hand not converted: {', '.join(errs)}")
        else:
            if model is not None:
                hp, note = _recentre(model, side, hp, entry)
                if note:
                    problems.append(note)
            hands[side] = hp
    if not hands:
        return skip("no valid hand parameters")

    mask = None
    mname = _basename(entry.get("mask_sam1_path"))
    if mname is None:
        problems.append("mask_sam1_path missing: no hand mask")
    elif mname not in files:
        problems.append(f"mask {mname} not found: no hand mask")
    else:
        try:
            mask = _read_image(files[mname], grey=True)
            if mask.shape != (h, w):
                problems.append(
                    f"mask size {mask.shape[::-1]} != image size {(w, h)}: no hand mask"
                )
                mask = None
        except Exception as exc:  # noqa: BLE001
            problems.append(f"mask unreadable ({type(exc).__name__}): no hand mask")

    box, err = _vector(entry, "bbox_inter", 4)
    if box is not None and not _box_fits(box, h, w):
        box, err = None, f"box {box.round(1).tolist()} is far larger than the image"
    if box is None or box[2] <= box[0] or box[3] <= box[1]:
        problems.append(f"bbox_inter unusable ({err or 'empty box'}): box from 2D joints")
        box = _box_from_joints(entry, sides)
        if box is None and mask is not None and (mask > 127).any():
            problems[-1] = problems[-1].replace("2D joints", "the mask")
            ys, xs = np.nonzero(mask > 127)
            box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)
        if box is None or not _box_fits(box, h, w):
            return skip("no hand box (bbox_inter, joints2d_world and mask all unusable)")

    f = entry.get("scaled_focal_length")
    try:
        f = float(np.asarray(f, np.float64).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        f = float("nan")
    if not (math.isfinite(f) and f > 0):
        f = 5000.0 / 256.0 * max(h, w)
        problems.append("scaled_focal_length missing: using 5000/256 * max(H, W)")
    K = np.array([[f, 0, w / 2.0], [0, f, h / 2.0], [0, 0, 1]], np.float64)

    x0, y0, s = square_box(box)
    img = _resize(crop_square(image, x0, y0, s), size, grey=False)
    m = None
    if mask is not None:
        m = (_resize(crop_square(mask, x0, y0, s), size, grey=True) > 127).astype(np.float32)
    r = size / float(s)
    new_box = np.array([(box[0] - x0) * r, (box[1] - y0) * r, (box[2] - x0) * r, (box[3] - y0) * r])
    frame = Frame(
        image=img,
        capture=cap,
        index=i,
        num_frames=n,
        K=crop_intrinsics(K, x0, y0, s, size),
        hands=hands,
        mask=m,
        hand_type=hand_type,
        tags=list(CAPTURES[cap].perturbations),
        annotations={"hand_box": new_box},
    )
    return frame, (FrameIssue(i, label, True, problems) if problems else None)


def write_report_text(report: ConversionReport) -> str:
    """The report as indented JSON text (what the CLI writes with ``--report``)."""
    return json.dumps(report.to_json(), indent=2)
