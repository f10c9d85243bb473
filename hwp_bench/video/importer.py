"""``hwp-bench data import-video``: videos in, a dataset folder in the HWP layout out.

For each video (one capture each):

1. **probe** the container (size, frame rate, frame count) and refuse a video that would give
   more than ``max_frames`` frames, before decoding anything;
2. **detect** both hands in every frame (MediaPipe Hands in tracking mode by default, forward
   then backward over the frames where hands were lost: :mod:`.detect`), at a working
   resolution whose longer side is at most ``max_side``;
3. **track**: merge duplicates, decide single or interacting hands, assign sides with the
   mirrored-label convention, mark short gaps for interpolation (:mod:`.tracks`);
4. **fit** the hand model per side: one shape per hand, per-frame pose and translation, with
   priors and temporal smoothness (:mod:`.fit`);
5. **write** the capture: every frame is kept (frames where a hand is missing have that side
   null, and the report lists them), cropped square around the fitted hands and resized like
   HWP's crops, with its intrinsics, the fitted hand parameters and the mask of the fitted hands.

**Camera.** Extrinsics are identity (camera space is world space, OpenCV axes), the
principal point is the image centre and the focal length, unless ``focal`` gives it (pixels
of the video's own frames), follows HWP's convention: ``5000 / 256 * max(W, H)`` pixels. That
is a long lens (nearly orthographic), which is what hand estimators assume when the real
focal length is unknown; methods render from the same K, so the images stay consistent.

**Atomicity.** Everything is written into a hidden temporary folder beside ``out`` that is
renamed to ``out`` only when every capture is complete; a crash or Ctrl-C leaves no dataset,
never half of one, and ``out`` itself is untouched (``overwrite`` replaces it at that last
rename only).

``hwp_video.json`` in the dataset folder is the import report: per capture the source video
(name, SHA-256, metadata), the options, per side how many frames were detected, interpolated
and missing (and which), the fit residuals and the timings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.video.decode import DEFAULT_MAX_FRAMES, check_length, iter_frames
from hwp_bench.video.decode import probe_video as _probe
from hwp_bench.video.detect import detect_video
from hwp_bench.video.errors import VideoError
from hwp_bench.video.landmarks import landmark_offsets
from hwp_bench.video.tracks import DETECTED, INTERPOLATED, MISSING, SideTrack, build_tracks

IMPORT_VERSION = 4  # 2: masks refined by colour (GrabCut); 3: Geman-McClure landmark kernel;
# 4: outline pixels of the colour masks decided by their colour mixing (masks.outline_by_colour)
REPORT = "hwp_video.json"
REVISION_PREFIX = "hwp_bench.video"
FOCAL_PER_PIXEL = 5000.0 / 256.0  # HWP's focal convention: f = 5000/256 * max(H, W)
CROPS = ("frame", "video", "none")
#: How masks are refined after the fitted hands are rasterised (masks.py): ``auto`` is
#: ``colour`` when OpenCV imports (the video extra brings it), else ``none``; a SAM checkpoint,
#: when given, is used instead.
MASK_REFINES = ("auto", "colour", "none")


@dataclass
class ImportOptions:
    """Everything that changes what an import writes (recorded in the report)."""

    hand_type: str | None = None  # None: decide from the detections
    tags: tuple[str, ...] = ()
    mirrored: bool = False
    focal: float | None = None  # pixels of the video's frames; None: HWP's convention
    size: int = 256
    crop: str = "frame"
    crop_scale: float = 1.5
    max_side: int = 1280
    every: int = 1
    max_frames: int = DEFAULT_MAX_FRAMES
    max_gap: int = 8
    two_way: bool = True  # track backwards over the frames where hands were lost
    hand_model: str = "open"
    landmark_offsets: bool = True  # correct the estimator's landmark convention (landmarks.py)
    sam_checkpoint: str | None = None
    mask_refine: str = "auto"

    def check(self) -> None:
        from hwp_bench.data.tags import PERTURBATIONS
        from hwp_bench.video.masks import colour_refine_available

        if self.mask_refine not in MASK_REFINES:
            raise VideoError(
                f"mask refinement must be one of {', '.join(MASK_REFINES)}, "
                f"got {self.mask_refine!r}"
            )
        missing = colour_refine_available() if self.mask_refine == "colour" else None
        if missing:
            raise VideoError(f"--mask-refine colour: {missing}")

        if self.crop not in CROPS:
            raise VideoError(f"crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        if self.hand_type not in (None, "single", "inter"):
            raise VideoError(f"hand type must be single, inter or auto, got {self.hand_type!r}")
        bad = [t for t in self.tags if t not in PERTURBATIONS]
        if bad:
            raise VideoError(f"unknown tags {bad}: use {', '.join(PERTURBATIONS)}")
        if self.size < 16 or self.size % 2:
            raise VideoError(f"size must be an even number >= 16, got {self.size}")
        if self.focal is not None and not self.focal > 0:
            raise VideoError(f"focal must be > 0 pixels, got {self.focal}")
        if self.every < 1 or self.max_frames < 1 or self.max_gap < 0 or self.max_side < 32:
            raise VideoError("every and max-frames must be >= 1, max-gap >= 0, max-side >= 32")

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["tags"] = list(self.tags)
        return d


@dataclass
class CaptureImport:
    """What happened to one video (one capture of the output)."""

    capture: str
    video: str
    sha256: str
    info: dict[str, Any]
    num_frames: int
    hand_type: str
    working_size: tuple[int, int]
    K: list[list[float]]
    sides: dict[str, dict[str, Any]] = field(default_factory=dict)
    frames_without_hands: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    estimator: str = ""
    masks: dict[str, int] = field(default_factory=dict)  # frames per mask source

    def summary(self) -> str:
        parts = []
        for side, s in self.sides.items():
            parts.append(
                f"{side} hand found in {s['detected']}/{self.num_frames} frames "
                f"({s['interpolated']} interpolated, {s['missing']} missing; "
                f"fit {s['fit_residual_px_median']:.1f} px)"
            )
        empty = len(self.frames_without_hands)
        tail = f"; {empty} frames without any hand (kept, listed in {REPORT})" if empty else ""
        test = self.test_frames_without_hands
        if test:
            tail += (
                f". Note: {len(test)} test-clip frames have no hand ({test[:5]}...): "
                "protocols score hand pixels, so runs leave them out (listed as "
                "unscored_frames in each result file); cut the video where the hands are "
                "visible to score every test frame"
            )
        refined = sum(v for k, v in self.masks.items() if k != "fitted")
        if refined:
            how = "/".join(k for k in self.masks if k != "fitted")
            tail = f"; {refined} masks refined ({how})" + tail
        return (
            f"{self.capture} <- {Path(self.video).name}: {self.num_frames} frames, "
            f"{self.hand_type}; " + "; ".join(parts) + tail
        )

    @property
    def test_frames_without_hands(self) -> list[int]:
        from hwp_bench.data.splits import split_of

        return [i for i in self.frames_without_hands if split_of(i, self.num_frames) == "test"]


@dataclass
class ImportResult:
    root: Path
    captures: list[CaptureImport]


def default_intrinsics(width: int, height: int, focal: float | None = None) -> np.ndarray:
    """K at a working resolution: principal point at the centre, HWP's focal unless given."""
    f = FOCAL_PER_PIXEL * max(width, height) if focal is None else float(focal)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _bar(total: int, desc: str, unit: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=False)


def _observations(track: SideTrack, K: np.ndarray):
    from hwp_bench.video.fit import TrackObservations

    frames = track.frames
    pos = {f: i for i, f in enumerate(frames)}
    pts = np.zeros((len(frames), 21, 2))
    depth = np.zeros((len(frames), 21))
    has_depth = True
    observed = np.zeros(len(frames), bool)
    for f, i in pos.items():
        d = track.detections.get(f)
        if d is None:
            continue
        pts[i], observed[i] = d.points, True
        if d.depth is None:
            has_depth = False
        else:
            depth[i] = d.depth
    links = [
        (pos[a], pos[b]) for seg in track.segments() for a, b in zip(seg[:-1], seg[1:], strict=True)
    ]
    links_arr = np.array(links, np.int64).reshape(-1, 2)
    return TrackObservations(
        pts, observed, K, depth=depth if has_depth else None, links=links_arr
    ), frames


def fit_tracks(
    tracks: dict[str, SideTrack],
    K: np.ndarray,
    model,
    progress: bool,
    label: str = "",
    offsets: np.ndarray | None = None,
) -> dict[str, Any]:
    """Fit every side track; returns side -> (FitResult, video frames it covers)."""
    from hwp_bench.video.fit import FitConfig, fit_track

    cfg = FitConfig(offsets=offsets)
    fits = {}
    for side, track in tracks.items():
        obs, frames = _observations(track, K)
        bar = _bar(cfg.search_steps + cfg.steps, f"fitting {label} {side} hand", "step", progress)
        try:
            fits[side] = (fit_track(obs, model, side, cfg, progress=bar.update), frames)
        finally:
            bar.close()
    return fits


def full_frame_box(w: int, h: int) -> tuple[float, float, float]:
    """The square centred on the frame that holds all of it (black bars on the short side)."""
    side = float(max(w, h))
    return (w - side) / 2.0, (h - side) / 2.0, side


def _crop_for(points: np.ndarray | None, opts: ImportOptions, w: int, h: int, fallback):
    from hwp_bench.video.masks import square_crop

    if opts.crop == "none":
        return full_frame_box(w, h)
    if points is None or len(points) == 0:
        return fallback
    return square_crop(points, scale=opts.crop_scale)


def write_capture(
    writer,
    capture: str,
    path: str | os.PathLike,
    size: tuple[int, int],
    K: np.ndarray,
    n: int,
    hand_type: str,
    fits: dict[str, Any],
    tracks: dict[str, SideTrack],
    model,
    opts: ImportOptions,
    progress: bool,
) -> tuple[list[int], dict[str, int]]:
    """Second pass over the video: crop, mask and write every frame; returns the frames
    that have no hand at all and how many masks came from each source."""
    import torch

    from hwp_bench.data.frame import Frame, HandParams
    from hwp_bench.video.masks import (
        colour_refine,
        colour_refine_available,
        crop_image,
        crop_intrinsics,
        hand_mask,
        sam_refine,
    )

    w, h = size
    per_frame: list[dict[str, HandParams]] = [{} for _ in range(n)]
    joints2d: list[list[np.ndarray]] = [[] for _ in range(n)]
    verts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n)]
    for side, (res, frames) in fits.items():
        faces = model.faces_for(side).numpy()
        with torch.no_grad():
            out = model(
                torch.as_tensor(res.pose, dtype=torch.float32),
                torch.as_tensor(res.shape, dtype=torch.float32)[None].expand(len(frames), -1),
                torch.as_tensor(res.trans, dtype=torch.float32),
                side=side,
            )
        V = out.vertices.double().numpy()
        for i, f in enumerate(frames):
            per_frame[f][side] = HandParams(res.pose[i], res.shape, res.trans[i])
            J = res.joints[i]
            joints2d[f].append(J[:, :2] / J[:, 2:3] * K[0, 0] + K[:2, 2])
            verts[f].append((V[i], faces))
    if opts.crop == "video":
        every = [p for ps in joints2d for p in ps]
        from hwp_bench.video.masks import square_crop

        video_box = square_crop(np.concatenate(every), scale=opts.crop_scale * 0.8)
    else:
        video_box = full_frame_box(w, h)
    empty = [k for k in range(n) if not per_frame[k]]
    sources: dict[str, int] = {}
    sam = bool(opts.sam_checkpoint)
    colour = not sam and (
        opts.mask_refine == "colour"
        or (opts.mask_refine == "auto" and colour_refine_available() is None)
    )

    def rows():
        box = video_box
        for k, img in enumerate(iter_frames(path, size=size, every=opts.every, limit=n)):
            pts = np.concatenate(joints2d[k]) if joints2d[k] else None
            if opts.crop == "frame":
                box = _crop_for(pts, opts, w, h, box)
            x0, y0, s = box
            Kc = crop_intrinsics(K, x0, y0, s, opts.size)
            image = crop_image(img, x0, y0, s, opts.size)
            mask = hand_mask(verts[k], Kc, opts.size, opts.size)
            source = "fitted"
            if sam and per_frame[k]:
                mask, refined = sam_refine(image, mask, opts.sam_checkpoint)
                source = "sam" if refined else source
            elif colour and per_frame[k]:
                mask, refined = colour_refine(image, mask)
                source = "colour" if refined else source
            sources[source] = sources.get(source, 0) + 1
            status = {
                side: tracks[side].status[k] if side in tracks else MISSING
                for side in ("right", "left")
            }
            ann: dict[str, Any] = {
                "frame_tags": [],
                "video": {
                    "source_frame": k * opts.every,
                    "crop": [x0, y0, s],
                    **status,
                    "mask": source,  # fitted silhouette, or refined by colour or SAM
                },
            }
            if pts is not None:
                crop_pts = (pts - [x0, y0]) * (opts.size / s)
                lo, hi = crop_pts.min(0), crop_pts.max(0)
                ann["hand_box"] = np.array([lo[0], lo[1], hi[0], hi[1]])
            yield Frame(
                image=image,
                capture=capture,
                index=k,
                num_frames=n,
                K=Kc.astype(np.float32),
                hands=per_frame[k],
                mask=mask,
                hand_type=hand_type,
                tags=list(opts.tags),
                annotations=ann,
            )

    writer.write_capture(
        capture, rows(), num_frames=n, hand_type=hand_type, tags=list(opts.tags), progress=progress
    )
    return empty, sources


def _reap_stale(out: Path) -> None:
    """Remove temporary folders of imports into ``out`` whose process is gone."""
    for p in out.parent.glob(f".{out.name}.importing-*"):
        try:
            pid = int(p.name.rsplit("-", 2)[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except (ValueError, PermissionError, IndexError):
            continue


def import_videos(
    videos: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    captures: Sequence[str] | None = None,
    options: ImportOptions | None = None,
    estimator_factory: Callable[[], Any] | None = None,
    name: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = lambda s: None,
) -> ImportResult:
    """Import ``videos`` as the captures of a new dataset folder ``out`` (see the module
    docstring). ``captures`` are the capture ids to use (default capture00, capture01, ...);
    ``estimator_factory()`` makes a fresh hand estimator per video (default: MediaPipe)."""
    from hwp_bench.data.layout import DatasetWriter, is_dataset_folder
    from hwp_bench.data.tags import CAPTURE_IDS, capture_info
    from hwp_bench.hand import load_hand_model

    opts = options or ImportOptions()
    opts.check()
    videos = [Path(v) for v in videos]
    if not videos:
        raise VideoError("give at least one video")
    if len(videos) > len(CAPTURE_IDS):
        raise VideoError(f"at most {len(CAPTURE_IDS)} videos per dataset (one per capture id)")
    try:
        caps = [capture_info(c).capture for c in captures] if captures else None
    except ValueError as exc:
        raise VideoError(str(exc)) from exc
    caps = caps or list(CAPTURE_IDS[: len(videos)])
    if len(caps) != len(videos) or len(set(caps)) != len(caps):
        raise VideoError(f"need {len(videos)} distinct capture ids, got {', '.join(caps)}")
    out = Path(out)
    if out.exists() and not overwrite:
        if not out.is_dir() or any(out.iterdir()):
            what = "dataset" if is_dataset_folder(out) else "folder"
            raise VideoError(f"{out} already exists (a {what}); pass --overwrite to replace it")
    infos = [_probe(v) for v in videos]  # every video must open before any work starts
    for info in infos:
        check_length(info, max_frames=opts.max_frames, every=opts.every)
    if estimator_factory is None:
        from hwp_bench.video.estimator import MediaPipeHands

        def estimator_factory():
            return MediaPipeHands(mirrored=opts.mirrored)

    model = load_hand_model(opts.hand_model)
    out.parent.mkdir(parents=True, exist_ok=True)
    _reap_stale(out)
    tmp = out.parent / f".{out.name}.importing-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    results: list[CaptureImport] = []
    try:
        writer = DatasetWriter(
            tmp,
            name=name or f"video-{videos[0].stem}",
            pretty_name=name or f"Imported videos ({', '.join(v.name for v in videos)})",
            description=(
                "Hand videos imported by `hwp-bench data import-video`: MediaPipe Hands "
                "landmarks, hand-model parameters fitted per frame, masks of the fitted hands."
            ),
            license="other",
            notes=f"Import report: {REPORT}. Sources: {', '.join(v.name for v in videos)}.",
        )
        for video, info, cap in zip(videos, infos, caps, strict=True):
            results.append(
                _import_one(video, info, cap, writer, model, opts, estimator_factory, progress)
            )
            echo(results[-1].summary())
        writer.finalize()
        _write_report(tmp, results, opts, estimator_factory)
        if out.exists():
            old = out.parent / f".{out.name}.replaced-{uuid.uuid4().hex[:8]}"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ImportResult(out, results)


def _import_one(video, info, cap, writer, model, opts, estimator_factory, progress):
    t0 = time.perf_counter()
    estimators: list[str] = []
    size = info.working_size(opts.max_side)
    focal = None if opts.focal is None else opts.focal * size[0] / info.width
    K = default_intrinsics(size[0], size[1], focal)
    dets = detect_video(
        video,
        info,
        estimator_factory,
        size,
        every=opts.every,
        max_frames=opts.max_frames,
        hand_type=opts.hand_type,
        two_way=opts.two_way,
        progress=progress,
        used=estimators,
    )
    t1 = time.perf_counter()
    n = len(dets)
    if not any(f.hands for f in dets):
        raise VideoError(
            f"{video}: no hand found in any of its {n} frames (is the hand visible and "
            "large enough? a mirrored selfie video needs --mirrored only for left/right)"
        )
    hand_type, tracks = build_tracks(dets, hand_type=opts.hand_type, max_gap=opts.max_gap)
    offsets = landmark_offsets(opts.hand_model) if opts.landmark_offsets else None
    fits = fit_tracks(tracks, K, model, progress, label=cap, offsets=offsets)
    t2 = time.perf_counter()
    empty, masks = write_capture(
        writer, cap, video, size, K, n, hand_type, fits, tracks, model, opts, progress
    )
    t3 = time.perf_counter()
    sides = {}
    for side, track in tracks.items():
        res, frames = fits[side]
        c = track.counts()
        resid = res.residual_px[~np.isnan(res.residual_px)]
        sides[side] = {
            **c,
            "missing_frames": [i for i, s in enumerate(track.status) if s == MISSING],
            "interpolated_frames": [i for i, s in enumerate(track.status) if s == INTERPOLATED],
            "fit_residual_px_median": float(np.median(resid)) if len(resid) else float("nan"),
            "shape": [round(float(x), 5) for x in res.shape],
        }
    assert all(DETECTED in t.status for t in tracks.values())
    return CaptureImport(
        capture=cap,
        video=str(video),
        sha256=sha256_file(video),
        info=info.to_json(),
        num_frames=n,
        hand_type=hand_type,
        working_size=size,
        K=K.tolist(),
        sides=sides,
        frames_without_hands=empty,
        timings={"detect_s": t1 - t0, "fit_s": t2 - t1, "write_s": t3 - t2},
        estimator=estimators[0] if estimators else "",
        masks=masks,
    )


def _write_report(root: Path, results: list[CaptureImport], opts, estimator_factory) -> None:
    """``hwp_video.json`` and the manifest's ``revision`` (result files record it, which is
    how tables recognise imported videos from the result files alone)."""
    from hwp_bench.io import atomic_write_json

    est = sorted({r.estimator for r in results})
    key = json.dumps(
        [[r.capture, r.sha256] for r in results] + [opts.to_json(), IMPORT_VERSION],
        sort_keys=True,
    )
    revision = (
        f"{REVISION_PREFIX} v{IMPORT_VERSION} {hashlib.sha256(key.encode()).hexdigest()[:12]}"
    )
    report = {
        "format": "hwp-bench-video-import",
        "version": IMPORT_VERSION,
        "revision": revision,
        "estimator": est[0] if len(est) == 1 else est,
        "hand_model": opts.hand_model,
        "options": opts.to_json(),
        "captures": {
            r.capture: {
                "video": Path(r.video).name,
                "video_path": str(Path(r.video).resolve()),
                "sha256": r.sha256,
                "video_info": r.info,
                "num_frames": r.num_frames,
                "hand_type": r.hand_type,
                "working_size": list(r.working_size),
                "K_working": r.K,
                "sides": r.sides,
                "frames_without_hands": r.frames_without_hands,
                "test_frames_without_hands": r.test_frames_without_hands,
                "timings_s": {k: round(v, 3) for k, v in r.timings.items()},
                "masks": r.masks,
            }
            for r in results
        },
    }
    atomic_write_json(root / REPORT, _finite(report))
    manifest_path = root / "hwp_dataset.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["revision"] = revision
    atomic_write_json(manifest_path, manifest)


def _finite(obj):
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def read_report(root: str | os.PathLike) -> dict[str, Any] | None:
    """The import report of a dataset folder, or None when it was not made by import-video."""
    p = Path(root) / REPORT
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None
