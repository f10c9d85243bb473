"""``hwp-bench submit pack``: turn a run's renders into a submission zip.

Finds the renders folder of a run (``RESULTS_DIR/renders``, ``RESULTS_DIR`` itself when it holds
``captureNN`` folders, or the single ``renders`` folder below it), takes every
``<capture>/<index>.png`` (or ``.npy`` float renders, quantised to 8-bit PNG) and optional
silhouettes (``.alpha.npy`` / ``.alpha.png``), and writes ``renders/<capture>/<index:05d>.png``
plus ``manifest.json``. The zip uses deflate and is written atomically.

A runner's folder keeps one render folder per test-pose track (``renders/<track>/<capture>/``):
the manifest's ``test_poses`` picks it (default: the default track when the run has it, else
the only one), and the manifest records the track the renders were made from. A run from
before tracks (``renders/<capture>/``) rendered the dataset's own parameters: ``estimated``.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from hwp_bench.io import atomic_path
from hwp_bench.metrics.conventions import DEFAULT_TRACK, LEGACY_TRACK, TRACKS
from hwp_leaderboard.errors import SubmissionError
from hwp_leaderboard.manifest import Manifest, parse_manifest
from hwp_leaderboard.spec import render_name

CAPTURE_RE = re.compile(r"^capture\d{2}$")
FRAME_RE = re.compile(r"^(\d+)(\.alpha)?\.(png|npy)$")


def find_renders_dir(results_dir: str | os.PathLike) -> Path:
    root = Path(results_dir)
    if not root.is_dir():
        raise SubmissionError("no-renders", f"{root} is not a folder")
    if (root / "renders").is_dir():
        return root / "renders"
    if any(CAPTURE_RE.match(p.name) and p.is_dir() for p in root.iterdir()):
        return root
    found = sorted(p for p in root.rglob("renders") if p.is_dir())
    if len(found) == 1:
        return found[0]
    if not found:
        raise SubmissionError("no-renders", f"no renders/<capture>/ folder under {root}")
    raise SubmissionError(
        "no-renders",
        f"{len(found)} renders folders under {root} ({', '.join(str(p) for p in found[:3])}...): "
        "pass the run folder of one method",
    )


def track_folders(renders_dir: Path) -> dict[str, Path]:
    """``renders/<track>/`` folders of a runner's output, by track (empty for the old layout)."""
    return {
        t: renders_dir / t
        for t in TRACKS
        if (renders_dir / t).is_dir()
        and any(CAPTURE_RE.match(p.name) for p in (renders_dir / t).iterdir())
    }


def choose_track(renders_dir: Path, wanted: str | None) -> tuple[Path, str | None]:
    """The render folder of the track ``wanted`` (or the default / only one) and that track;
    ``(renders_dir, None)`` for a folder without track subfolders."""
    tracks = track_folders(renders_dir)
    if not tracks:
        return renders_dir, None
    if wanted is not None:
        if wanted not in tracks:
            raise SubmissionError(
                "no-renders",
                f"no renders for test poses {wanted!r} under {renders_dir} "
                f"(it has {', '.join(sorted(tracks))})",
            )
        return tracks[wanted], wanted
    if DEFAULT_TRACK in tracks:
        return tracks[DEFAULT_TRACK], DEFAULT_TRACK
    if len(tracks) == 1:
        (track,) = tracks
        return tracks[track], track
    raise SubmissionError(
        "no-renders",
        f"{renders_dir} holds renders of several test-pose tracks ({', '.join(sorted(tracks))}): "
        "choose one with --test-poses",
    )


def collect_renders(renders_dir: Path) -> dict[tuple[str, int], dict[str, Path]]:
    """``(capture, index) -> {"color": path, "alpha": path?}``; .npy preferred over .png."""
    out: dict[tuple[str, int], dict[str, Path]] = {}
    for cap_dir in sorted(
        p for p in renders_dir.iterdir() if p.is_dir() and CAPTURE_RE.match(p.name)
    ):
        for f in sorted(cap_dir.iterdir()):
            m = FRAME_RE.match(f.name)
            if not m or not f.is_file():
                continue
            key = (cap_dir.name, int(m.group(1)))
            kind = "alpha" if m.group(2) else "color"
            slot = out.setdefault(key, {})
            if kind not in slot or f.suffix == ".npy":
                slot[kind] = f
    return {k: v for k, v in out.items() if "color" in v}


def _to_png(path: Path, *, alpha: bool) -> bytes:
    from PIL import Image

    if path.suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
        arr = np.asarray(arr, dtype=np.float32)
        if alpha:
            arr = arr.reshape(arr.shape[0], arr.shape[1])
        elif arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise SubmissionError("bad-render", f"{path} is not an HxWx3 image")
        arr = np.nan_to_num(arr[..., :3] if not alpha else arr, nan=0.0)
        img = Image.fromarray(
            (np.clip(arr, 0, 1) * 255.0 + 0.5).astype(np.uint8), "L" if alpha else "RGB"
        )
    else:
        with Image.open(path) as im:
            img = im.convert("L" if alpha else "RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def manifest_defaults_from_run(renders_dir: Path) -> dict:
    """Manifest fields a runner's ``run.json`` (next to ``renders/``) already knows.

    Method name, version and paper link, the dataset id (when it is a name, not a local
    path) and the median fit time of the captures' result files. Explicit options win.
    """
    import statistics

    if renders_dir.parent.name == "renders":  # renders/<track>/: the run is one level up
        renders_dir = renders_dir.parent
    run_json = renders_dir.parent / "run.json"
    if not run_json.is_file():
        return {}
    try:
        run = json.loads(run_json.read_text())
    except (OSError, ValueError):
        return {}
    out: dict = {}
    method = run.get("method") or {}
    name = method.get("name") or method.get("id")
    if name:
        preset = run.get("preset")
        out["method"] = f"{name} ({preset})" if preset else str(name)
    if method.get("version"):
        out["method_version"] = str(method["version"])
    paper = method.get("paper")
    if isinstance(paper, str) and paper.startswith(("https://", "http://")):
        out["paper_url"] = paper
    ds = run.get("dataset")
    if isinstance(ds, str) and "/" not in ds and os.sep not in ds:
        out["dataset"] = {"id": ds}
    fits = []
    for res in sorted((renders_dir.parent / "results").glob("*.json")):
        try:
            t = json.loads(res.read_text()).get("timings", {}).get("fit_s")
        except (OSError, ValueError):
            continue
        if isinstance(t, int | float) and t >= 0:
            fits.append(float(t))
    if fits:
        out["fit_time_s"] = statistics.median(fits)
    return out


def infer_split(captures: set[str]) -> str | None:
    from hwp_leaderboard.groundtruth import split_captures

    for split in ("single", "inter"):
        if captures <= set(split_captures(split)):  # partial runs fail later, with the list
            return split
    return None


def pack_submission(
    results_dir: str | os.PathLike,
    out: str | os.PathLike,
    manifest: dict | Manifest,
    *,
    include_alpha: bool = True,
) -> Path:
    """Write a submission zip from a run's renders; return its path."""
    man = manifest if isinstance(manifest, dict) else manifest.model_dump(exclude_none=True)
    renders_dir, track = choose_track(find_renders_dir(results_dir), man.get("test_poses"))
    renders = collect_renders(renders_dir)
    if not renders:
        raise SubmissionError("no-renders", f"no <index>.png or .npy renders under {renders_dir}")
    man = {**manifest_defaults_from_run(renders_dir), **man}
    if not man.get("test_poses"):
        man["test_poses"] = track or LEGACY_TRACK
    if not man.get("split"):
        split = infer_split({c for c, _ in renders})
        if split is None:
            raise SubmissionError(
                "bad-manifest", "cannot tell the split from the captures: pass --split"
            )
        man["split"] = split
    parsed = parse_manifest(man)
    out = Path(out)
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "manifest.json",
            json.dumps(parsed.model_dump(exclude_none=True), indent=2, sort_keys=True),
        )
        for (cap, idx), files in sorted(renders.items()):
            zf.writestr(render_name(cap, idx), _to_png(files["color"], alpha=False))
            if include_alpha and "alpha" in files:
                zf.writestr(render_name(cap, idx, alpha=True), _to_png(files["alpha"], alpha=True))
    return out
