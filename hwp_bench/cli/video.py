"""``hwp-bench data import-video``: hand videos -> a dataset folder (the ``video`` extra).

Registered on the ``data`` app by :mod:`hwp_bench.cli.data`. Only typer is imported here; the
import itself (and mediapipe, PyAV, torch) loads when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer


def import_video(
    videos: list[Path] = typer.Argument(..., help="Video files (one capture each)."),
    out: Path = typer.Option(..., "--out", "-o", help="Dataset folder to create."),
    captures: list[str] = typer.Option(
        [], "--capture", "-c", help="Capture id per video, in order (default capture00, 01, ...)."
    ),
    hand_type: str = typer.Option("auto", help="auto | single | inter (two hands)."),
    tags: list[str] = typer.Option(
        [],
        "--tags",
        "-t",
        help="Perturbation tags of the captures: hoi, complex_pose, "
        "illumination, blur (comma-separated or repeated).",
    ),
    mirrored: bool = typer.Option(
        False, "--mirrored/--not-mirrored", help="The video is a mirrored selfie view."
    ),
    focal: float | None = typer.Option(
        None,
        help="Focal length in pixels of the video's frames (default: HWP's 5000/256 x "
        "the longer side, principal point at the centre).",
    ),
    size: int = typer.Option(256, help="Side of the square output frames, pixels."),
    crop: str = typer.Option(
        "frame",
        help="frame: a square around the hands per frame (like HWP); video: one square "
        "for the whole video; none: the whole frame.",
    ),
    every: int = typer.Option(1, help="Keep one frame in EVERY."),
    max_frames: int = typer.Option(10_000, help="Refuse videos that would give more frames."),
    max_side: int = typer.Option(1280, help="Work at most at this resolution (longer side)."),
    max_gap: int = typer.Option(
        8,
        help="Interpolate a hand missing for at most this many frames; longer gaps are "
        "kept without that hand and reported.",
    ),
    hand_model: str = typer.Option("open", help="Hand model: open | mano."),
    sam_checkpoint: Path | None = typer.Option(
        None, help="Refine masks with SAM (needs segment_anything) from this checkpoint."
    ),
    mask_refine: str = typer.Option(
        "auto",
        help="Move the fitted silhouette's outline to the frame's colour edges: colour "
        "(GrabCut, OpenCV from the video extra), none, or auto (colour when OpenCV imports). "
        "Ignored with --sam-checkpoint.",
    ),
    name: str | None = typer.Option(None, help="Dataset name (default: video-<first stem>)."),
    overwrite: bool = typer.Option(False, help="Replace OUT if it exists."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars."),
) -> None:
    """Turn hand videos into a dataset folder: hands found with MediaPipe, the hand model fitted
    per frame, masks from the fitted hands; then `hwp-bench run --dataset OUT --split all`."""
    from hwp_bench.video.errors import VideoError
    from hwp_bench.video.importer import REPORT, ImportOptions, import_videos

    tag_list = [t.strip() for item in tags for t in item.split(",") if t.strip()]
    options = ImportOptions(
        hand_type=None if hand_type == "auto" else hand_type,
        tags=tuple(tag_list),
        mirrored=mirrored,
        focal=focal,
        size=size,
        crop=crop,
        every=every,
        max_frames=max_frames,
        max_side=max_side,
        max_gap=max_gap,
        hand_model=hand_model,
        sam_checkpoint=None if sam_checkpoint is None else str(sam_checkpoint),
        mask_refine=mask_refine,
    )
    try:
        result = import_videos(
            videos,
            out,
            captures=captures or None,
            options=options,
            name=name,
            overwrite=overwrite,
            progress=progress,
            echo=lambda s: typer.echo(s, err=True),
        )
    except VideoError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {len(result.captures)} capture(s) to {result.root} (report: {REPORT})")


def video_figure(
    dataset: Path = typer.Argument(..., help="A dataset folder written by import-video."),
    run: Path | None = typer.Option(
        None, "--run", help="A run folder of `hwp-bench run` (its renders fill the last column)."
    ),
    frames: list[str] = typer.Option(
        [],
        "--frame",
        "-f",
        help="CAPTURE:INDEX to show (repeatable; default: the middle test frame of each capture).",
    ),
    out: Path = typer.Option(Path("video_figure.png"), "--out", "-o", help="PNG to write."),
) -> None:
    """Figure of an import: each video frame, its fitted hands and the avatar's render."""
    from hwp_bench.data.layout import read_captures
    from hwp_bench.video.figure import qualitative_figure

    try:
        caps = read_captures(dataset)
        rows = []
        for item in frames:
            cap, _, idx = item.partition(":")
            rows.append((cap if cap.startswith("capture") else f"capture{int(cap):02d}", int(idx)))
        if not rows:
            rows = [(c, info["test"][len(info["test"]) // 2]) for c, info in caps.items()]
        renders = None
        label = "avatar render"
        if run is not None:
            found = sorted((run / "renders").glob("*/*/*.png"))
            if not found:
                raise ValueError(f"{run} holds no renders (renders/<track>/<capture>/*.png)")
            renders = found[0].parent.parent
            label = f"{run.name.split('-quick')[0].split('-paper')[0]} render"
        path = qualitative_figure(dataset, rows, renders, out, method_label=label)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(str(path))
