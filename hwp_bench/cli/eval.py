"""``hwp-bench eval PRED_DIR``: score a folder of rendered test frames of any method.

The folder follows the shared layout ``<PRED_DIR>/<capture>/<index:05d>.npy|.png`` (optional
``.alpha.npy|.alpha.png``). Every capture of ``--config`` is checked before anything is scored;
any missing, extra, unreadable or wrongly sized frame aborts with the full report (exit 2) and
no result file is written, so an incomplete submission can never pass for a complete one.
"""

from __future__ import annotations

from pathlib import Path

import typer

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL, DEFAULT_TRACK, TRACKS


def eval_cmd(
    pred_dir: Path = typer.Argument(
        ...,
        help="Folder with <capture>/<index:05d>.npy|.png renders.",
        exists=True,
        file_okay=False,
    ),
    dataset: str = typer.Option(
        "synth", "--dataset", help="synth | synth-clean | hwp | folder path"
    ),
    config: str = typer.Option(
        "", "--config", help="single | inter | all | captureNN (default: the captures in PRED_DIR)"
    ),
    split: str = typer.Option("test", "--split", help="Split to score against."),
    protocol: str = typer.Option(
        DEFAULT_PROTOCOL, "--protocol", help="protocol id (see `hwp-bench protocol list`)"
    ),
    test_poses: str = typer.Option(
        DEFAULT_TRACK,
        "--test-poses",
        help=f"Test-pose track the renders were made from ({' | '.join(TRACKS)}); recorded",
    ),
    method: str = typer.Option("external", "--method", help="Method id recorded in the results."),
    seed: int = typer.Option(0, "--seed", help="Seed recorded in the results."),
    out: Path | None = typer.Option(None, "--out", help="Folder for result JSON files."),
    no_lpips: bool = typer.Option(False, "--no-lpips", help="Skip LPIPS (no weights available)."),
) -> None:
    """Score rendered frames in PRED_DIR against the dataset's ground truth."""
    from hwp_bench.data import captures_for, load_frames
    from hwp_bench.metrics import get_protocol
    from hwp_bench.metrics.evaluate import (
        EvaluationError,
        check_prediction_folder,
        evaluate_folder,
        format_report,
    )
    from hwp_bench.results import result_filename, write_result

    try:
        proto = get_protocol(protocol)
    except KeyError as exc:
        typer.echo(str(exc.args[0]), err=True)
        raise typer.Exit(2) from None
    if test_poses not in TRACKS:
        typer.echo(
            f"--test-poses: unknown track {test_poses!r}: choose one of {', '.join(TRACKS)}",
            err=True,
        )
        raise typer.Exit(2)
    if config:
        try:
            captures = list(captures_for(config))
        except (KeyError, ValueError) as exc:
            typer.echo(f"unknown --config {config!r}: {exc}", err=True)
            raise typer.Exit(2) from None
    else:
        captures = sorted(p.name for p in pred_dir.iterdir() if p.is_dir())
        if not captures:
            typer.echo(f"{pred_dir} has no <capture>/ folders", err=True)
            raise typer.Exit(2)
    extra_dirs = sorted(p.name for p in pred_dir.iterdir() if p.is_dir() and p.name not in captures)
    metrics = tuple(m for m in proto.metrics if not (no_lpips and m == "lpips"))
    gt = {}
    for c in captures:
        try:
            gt[c] = load_frames(dataset, c, split)
        except (ValueError, OSError, RuntimeError) as exc:
            typer.echo(f"cannot load the ground truth of {c} from {dataset!r}: {exc}", err=True)
            raise typer.Exit(2) from None
    reports = [check_prediction_folder(pred_dir, c, gt[c]) for c in captures]
    bad = [
        r
        for r in reports
        if any(r[k] for k in ("missing", "extra", "unrecognised", "wrong_size", "unreadable"))
    ]
    if bad or extra_dirs:
        typer.echo("predictions do not match the ground truth; nothing was scored:", err=True)
        for r in bad:
            typer.echo(format_report(r), err=True)
        if extra_dirs:
            typer.echo(f"captures not in --config {config}: {', '.join(extra_dirs)}", err=True)
        raise typer.Exit(2)
    from hwp_bench.tracks import TrackError, frames_for_track, hands_digest

    try:  # the frames as the renders posed them (the hands matter to wildghand-paper's box)
        gt = {c: frames_for_track(gt[c], test_poses) for c in captures}
    except TrackError as exc:
        typer.echo(f"--test-poses: {exc}", err=True)
        raise typer.Exit(2) from None
    ds_info = {
        "id": _dataset_id(dataset),
        "revision": _dataset_revision(dataset, captures),
        "config": config or ",".join(captures),
        "split": split,
        "test_poses": test_poses,
    }
    results = []
    for c in captures:
        try:
            res = evaluate_folder(
                pred_dir,
                gt[c],
                protocol=proto,
                dataset={**ds_info, "test_poses_sha256": hands_digest(gt[c])},
                method={"id": method, "version": "", "preset": "", "config": {}},
                seed=seed,
                metrics=metrics,
            )
        except EvaluationError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        results.append(res)
    if out is not None:
        for res in results:
            name = result_filename(
                method, "external", Path(dataset).name or "dataset", res["dataset"]["capture"], seed
            )
            write_result(out / name, res)
    header = f"{'capture':<12}" + "".join(f"{m:>10}" for m in metrics) + "  frames"
    typer.echo(f"protocol {proto.id}, test poses {test_poses}")
    typer.echo(header)
    for res in results:
        vals = "".join(f"{res['means'][m]:>10.4f}" for m in metrics)
        typer.echo(f"{res['dataset']['capture']:<12}{vals}  {len(res['frames'])}")
        for note in res["notes"]:
            typer.echo(f"  note: {note}")
    if len(results) > 1:
        vals = "".join(
            f"{sum(r['means'][m] for r in results) / len(results):>10.4f}" for m in metrics
        )
        typer.echo(f"{'mean':<12}{vals}")


def _dataset_id(dataset: str) -> str:
    """The runner's convention: built-in names as they are, folders as absolute paths."""
    if dataset in ("synth", "synth-clean", "hwp"):
        return dataset
    return str(Path(dataset).expanduser().resolve())


def _dataset_revision(dataset: str, captures: list[str]) -> str:
    """The revision recorded in the dataset folder's ``hwp_dataset.json`` ("" if none)."""
    import json

    from hwp_bench.data import resolve

    try:
        folder = Path(resolve(dataset, captures=captures))
        meta = json.loads((folder / "hwp_dataset.json").read_text())
    except (OSError, ValueError, RuntimeError):
        return ""
    rev = (meta.get("revision") or meta.get("version")) if isinstance(meta, dict) else None
    return "" if rev is None else str(rev)
