"""Scoring rendered frames against ground truth: in memory (runner) or from a folder (evaluator).

Folder layout (docs/runner.md, section 'Render files'; shared with the runner and the
leaderboard):
``<dir>/<capture>/<index:05d>.npy`` (float32 HxWx3 in [0, 1], preferred: no quantisation),
``.exr`` (float, needs the optional ``openexr`` package) and/or ``.png`` (8-bit RGB); optional
silhouette ``<index:05d>.alpha.npy`` (float32 HxW), ``.alpha.exr`` or ``.alpha.png``. When a
frame has several, the float one wins (npy, then exr, then png). The index is ``int`` of the name up to the first dot.

The folder is checked as a whole before anything is scored: missing frames, extra frames,
unreadable files and wrong sizes are collected into one :class:`EvaluationError` report, so a
submission never yields a partial result that looks complete. Files are untrusted: ``.npy`` is
read with ``allow_pickle=False``, sizes and dtypes are checked, PNGs go through Pillow's
decompression-bomb guard.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL

__all__ = [
    "EvaluationError",
    "PredictionFiles",
    "check_prediction_folder",
    "evaluate_folder",
    "hash_prediction_folder",
    "read_prediction",
    "scan_prediction_folder",
    "score_frames",
]

_MAX_PIXELS = 4096 * 4096
_SUFFIXES = (".npy", ".exr", ".png", ".alpha.npy", ".alpha.exr", ".alpha.png")
# Preference when a frame has several colour (or alpha) files: float, then float, then 8-bit.
_RANK = {".npy": 0, ".exr": 1, ".png": 2}
_MAX_FILE_BYTES = 512 * 1024**2


class EvaluationError(ValueError):
    """The predictions cannot be scored as a whole; ``report`` lists every problem."""

    def __init__(self, message: str, report: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.report = dict(report)


@dataclass
class PredictionFiles:
    """The files found for one frame index."""

    color: Path | None = None  # .npy preferred over .png
    alpha: Path | None = None
    others: list[Path] = field(default_factory=list)


def _split_name(name: str) -> tuple[int, str] | None:
    stem, dot, rest = name.partition(".")
    if not dot or not stem.isdigit():
        return None
    suffix = "." + rest
    if suffix not in _SUFFIXES:
        return None
    return int(stem), suffix


def scan_prediction_folder(
    pred_dir: str | Path, capture: str
) -> tuple[dict[int, PredictionFiles], list[str]]:
    """Index the prediction files of ``capture``; also return unrecognised entries."""
    folder = Path(pred_dir) / capture
    found: dict[int, PredictionFiles] = {}
    unknown: list[str] = []
    if not folder.is_dir():
        return found, unknown
    for p in sorted(folder.iterdir()):
        parsed = _split_name(p.name) if p.is_file() and not p.is_symlink() else None
        if parsed is None:
            unknown.append(p.name)
            continue
        idx, suffix = parsed
        entry = found.setdefault(idx, PredictionFiles())
        is_alpha = suffix.startswith(".alpha")
        rank = _RANK[suffix.removeprefix(".alpha")]
        current = entry.alpha if is_alpha else entry.color
        if current is None or rank < _RANK["." + current.name.rsplit(".", 1)[-1]]:
            if is_alpha:
                entry.alpha = p
            else:
                entry.color = p
    return found, unknown


def _read_array(path: Path, channels: int | None) -> np.ndarray:
    if path.name.endswith(".npy"):
        arr = np.load(path, allow_pickle=False, mmap_mode="r")
        if arr.size > _MAX_PIXELS * 3:
            raise ValueError(f"{path.name}: {arr.shape} is too large")
        if arr.dtype.kind != "f":
            raise ValueError(f"{path.name}: dtype {arr.dtype}, expected float32 in [0, 1]")
        return np.asarray(arr, dtype=np.float32)
    if path.stat().st_size > _MAX_FILE_BYTES:
        raise ValueError(f"{path.name}: file too large")
    if path.name.endswith(".exr"):
        return _read_exr(path, channels)
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = _MAX_PIXELS
    with Image.open(path) as im:
        im = im.convert("RGB" if channels == 3 else "L")
        return np.asarray(im, dtype=np.uint8).astype(np.float32) / np.float32(255.0)


def _read_exr(path: Path, channels: int | None) -> np.ndarray:
    """Float EXR (needs the optional ``openexr`` package: ``pip install hwp-bench[exr]``)."""
    try:
        import OpenEXR
    except ImportError as exc:
        raise ValueError(
            f"{path.name}: reading EXR needs the 'openexr' package (pip install openexr), "
            "or save the frame as float32 .npy"
        ) from exc
    with OpenEXR.File(str(path)) as f:
        ch = {k: np.asarray(v.pixels) for k, v in f.channels().items()}
    if channels == 3:
        if "RGB" in ch:
            arr = ch["RGB"]
        elif all(k in ch for k in "RGB"):
            arr = np.stack([ch["R"], ch["G"], ch["B"]], axis=-1)
        else:
            raise ValueError(f"{path.name}: no R, G, B channels (has {sorted(ch)})")
    else:
        for name in ("A", "Y", "R"):
            if name in ch and ch[name].ndim == 2:
                arr = ch[name]
                break
        else:
            raise ValueError(f"{path.name}: no single A/Y/R channel for the silhouette")
    if arr.size > _MAX_PIXELS * 3 or arr.dtype.kind != "f":
        raise ValueError(f"{path.name}: {arr.shape} {arr.dtype} is not a float image of sane size")
    return arr.astype(np.float32)


def read_prediction(files: PredictionFiles) -> tuple[np.ndarray, np.ndarray | None]:
    """(color HxWx3 float32, alpha HxW float32 or None) of one frame."""
    if files.color is None:
        raise ValueError("no colour image")
    color = _read_array(files.color, 3)
    alpha = _read_array(files.alpha, 1) if files.alpha is not None else None
    if alpha is not None and alpha.ndim == 3 and alpha.shape[-1] == 1:
        alpha = alpha[..., 0]
    return color, alpha


def check_prediction_folder(pred_dir, capture: str, frames: Sequence) -> dict[str, Any]:
    """Report of problems (empty lists everywhere: the folder can be scored)."""
    found, unknown = scan_prediction_folder(pred_dir, capture)
    want = {int(f.index): f for f in frames}
    report: dict[str, Any] = {
        "capture": capture,
        "expected": len(want),
        "found": len([i for i, e in found.items() if e.color is not None]),
        "missing": sorted(i for i in want if i not in found or found[i].color is None),
        "extra": sorted(i for i in found if i not in want),
        "unrecognised": unknown,
        "wrong_size": [],
        "unreadable": [],
    }
    if not (Path(pred_dir) / capture).is_dir():
        report["unreadable"].append(f"{capture}/: no such folder")
    for idx, fr in sorted(want.items()):
        entry = found.get(idx)
        if entry is None or entry.color is None:
            continue
        try:
            color, alpha = read_prediction(entry)
        except Exception as exc:  # noqa: BLE001 - every unreadable file goes into the report
            report["unreadable"].append(f"{idx:05d}: {exc}")
            continue
        if color.shape != (fr.height, fr.width, 3):
            report["wrong_size"].append(
                f"{idx:05d}: {color.shape}, expected {(fr.height, fr.width, 3)}"
            )
        if alpha is not None and alpha.shape != (fr.height, fr.width):
            report["wrong_size"].append(
                f"{idx:05d}.alpha: {alpha.shape}, expected {(fr.height, fr.width)}"
            )
    return report


def _report_ok(report: Mapping[str, Any]) -> bool:
    return not any(
        report[k] for k in ("missing", "extra", "unrecognised", "wrong_size", "unreadable")
    )


def format_report(report: Mapping[str, Any]) -> str:
    lines = [f"{report['capture']}: {report['found']} of {report['expected']} frames found"]
    for key in ("missing", "extra", "unrecognised", "wrong_size", "unreadable"):
        vals = report[key]
        if vals:
            shown = ", ".join(f"{v:05d}" if isinstance(v, int) else str(v) for v in vals[:10])
            more = f" (+{len(vals) - 10} more)" if len(vals) > 10 else ""
            lines.append(f"  {key}: {shown}{more}")
    return "\n".join(lines)


def score_frames(
    protocol,
    predictions: Mapping[int, tuple[Any, Any]],
    frames: Sequence,
    *,
    metrics: tuple[str, ...] | None = None,
    hand_vertices: Mapping[int, np.ndarray] | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> tuple[dict[int, dict[str, float]], list[str]]:
    """Score in-memory ``{index: (color, alpha)}`` against ``frames`` with ``protocol``.

    Returns per-frame scores and notes (e.g. frames scored without a silhouette). Every frame
    must have a prediction and vice versa. Frames are scored in chunks on ``workers``
    processes (default: every core this process may use; see :mod:`hwp_bench.metrics.parallel`,
    which scores small sets in this process).
    """
    from hwp_bench.metrics.parallel import iter_scores
    from hwp_bench.metrics.protocols import get_protocol

    proto = get_protocol(protocol) if isinstance(protocol, str) or protocol is None else protocol
    want = {int(f.index) for f in frames}
    if set(predictions) != want:
        missing = sorted(want - set(predictions))
        extra = sorted(set(predictions) - want)
        raise EvaluationError(
            f"predictions do not match the frames (missing {missing[:10]}, extra {extra[:10]})",
            {"missing": missing, "extra": extra},
        )
    items = [
        (
            *predictions[int(fr.index)],
            fr,
            None if hand_vertices is None else hand_vertices.get(int(fr.index)),
        )
        for fr in frames
    ]
    scores = iter_scores(proto, items, metrics=metrics, workers=workers)
    if progress:
        from tqdm.auto import tqdm

        scores = tqdm(scores, total=len(items), desc=f"scoring ({proto.id})", unit="frame")
    out: dict[int, dict[str, float]] = {}
    no_alpha: list[int] = []
    for fr, s in zip(frames, scores, strict=True):
        if s.pop("silhouette_missing", 0.0):
            no_alpha.append(int(fr.index))
        out[int(fr.index)] = s
    notes = []
    if no_alpha:
        notes.append(
            f"silhouette missing on {len(no_alpha)} of {len(frames)} frames: scored with alpha = 1 "
            f"(protocol {proto.id} expects the method's rendered silhouette)"
        )
    return out, notes


def hash_prediction_folder(pred_dir, capture: str, indices: Sequence[int]) -> str:
    """SHA-256 (as in result files) of the predictions of ``indices`` in a folder."""
    from hwp_bench.results.hashing import hash_predictions

    found, _ = scan_prediction_folder(pred_dir, capture)
    items = []
    for idx in indices:
        entry = found.get(int(idx))
        if entry is None or entry.color is None:
            raise EvaluationError(f"{capture}/{int(idx):05d}: no prediction", {"missing": [idx]})
        color, alpha = read_prediction(entry)
        items.append((int(idx), color, alpha))
    return hash_predictions(items)


def evaluate_folder(
    pred_dir,
    frames: Sequence,
    *,
    protocol=DEFAULT_PROTOCOL,
    dataset: Mapping[str, Any],
    method: Mapping[str, Any] | None = None,
    seed: int = 0,
    metrics: tuple[str, ...] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Check, read and score one capture's rendered frames; return a finalised result dict.

    Raises :class:`EvaluationError` (with the full report) when the folder does not match the
    ground truth: nothing is scored in that case.
    """
    from hwp_bench.metrics.protocols import get_protocol, split_scorable
    from hwp_bench.results import build_result, hash_ground_truth, hash_predictions

    if not frames:
        raise EvaluationError("no ground-truth frames to score against", {})
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    capture = frames[0].capture
    report = check_prediction_folder(pred_dir, capture, frames)
    if not _report_ok(report):
        raise EvaluationError(
            "predictions do not match the ground truth; nothing was scored\n"
            + format_report(report),
            report,
        )
    # Frames whose ground truth has nothing to score are left out and listed in the result.
    frames, unscored = split_scorable(proto, frames)
    if not frames:
        raise EvaluationError(
            f"{capture}: no frame can be scored with {proto.id} "
            f"(e.g. {next(iter(unscored.values()))})",
            {"unscored": sorted(unscored)},
        )
    found, _ = scan_prediction_folder(pred_dir, capture)
    preds = {int(f.index): read_prediction(found[int(f.index)]) for f in frames}
    t0 = time.perf_counter()
    per_frame, notes = score_frames(proto, preds, frames, metrics=metrics, progress=progress)
    elapsed = time.perf_counter() - t0
    tags = {int(f.index): list(f.tags) for f in frames}
    return build_result(
        dataset=dict(dataset, capture=capture),
        method=dict(method or {"id": "external", "version": "", "preset": "", "config": {}}),
        seed=seed,
        protocol=proto,
        frames=per_frame,
        frame_tags=tags,
        frames_expected=len(frames),
        timings={"score_s_per_frame": elapsed / len(frames)},
        predictions_sha256=hash_predictions((i, c, a) for i, (c, a) in preds.items()),
        ground_truth_sha256=hash_ground_truth(frames),
        notes=notes,
        metrics=metrics,
        extra={"predictions_dir": str(Path(pred_dir))},
        unscored=unscored,
    )
