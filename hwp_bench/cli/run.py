"""``hwp-bench run``, ``methods`` and ``test-method`` (owned by the runner area).

Exit codes: 0 everything done; 1 some jobs failed (the others finished; the table shows which);
2 the command cannot start (unknown method, bad option, missing dataset or dependency).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import typer

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL, DEFAULT_TRACK, TRACKS

EXIT_FAILED_JOBS = 1
EXIT_USAGE = 2


def _fail(msg: str, code: int = EXIT_USAGE):
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


def _parse_seeds(text: str) -> list[int]:
    from hwp_bench.cli.seeds import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as exc:
        _fail(str(exc))


def run(
    method: str = typer.Option(
        ..., "--method", "-m", help="Registered method id (see `hwp-bench methods`)."
    ),
    split: str = typer.Option("inter", "--split", help="single | inter | all | captureNN"),
    dataset: str = typer.Option(
        "synth", "--dataset", help="synth | synth-clean | hwp | PATH to a dataset folder"
    ),
    preset: str = typer.Option(
        "quick", "--preset", help="quick (CPU) | paper (GPU), or any preset the method defines"
    ),
    seeds: str = typer.Option(
        "0", "--seeds", help="Comma-separated seeds, ranges allowed: 0,1,2 or 0-2"
    ),
    executor: str = typer.Option(
        "local", "--executor", help="local (one process per job) | ray | inline"
    ),
    out: str = typer.Option("runs", "--out", help="Output folder (runs, renders, logs, results)"),
    protocol: str = typer.Option(
        DEFAULT_PROTOCOL,
        "--protocol",
        help="Evaluation protocol id (`hwp-bench protocol list` shows them, plugins included)",
    ),
    test_poses: str = typer.Option(
        DEFAULT_TRACK,
        "--test-poses",
        help=f"Test-pose track: {' | '.join(TRACKS)} (docs/tracks.md); recorded in every result",
    ),
    metrics: str = typer.Option(
        "", "--metrics", help="Comma-separated subset of the protocol's metrics (default: all)"
    ),
    overrides: list[str] = typer.Option(
        [], "--set", help="Config override key=value (repeatable; dotted keys nest)"
    ),
    cpus: int = typer.Option(0, "--cpus", help="CPU budget for concurrent jobs (0: all cores)"),
    threads: int = typer.Option(
        0, "--threads", help="Torch threads per job (0: budget / concurrent jobs)"
    ),
    gpus: str = typer.Option(
        "", "--gpus", help="Comma-separated GPU ids, one concurrent job per GPU (local executor)"
    ),
    ray_address: str = typer.Option(
        "", "--ray-address", help="Ray cluster address (default: a local Ray)"
    ),
    ray_gpus: float = typer.Option(
        0.0, "--ray-gpus-per-job", help="GPUs each Ray task reserves (e.g. 1, or 0.5 to share)"
    ),
    checkpoint_every: int = typer.Option(
        0, "--checkpoint-every", help="Checkpoint every N iterations (0: ~10 per fit)"
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars"),
) -> None:
    """Fit METHOD on every capture of SPLIT for each seed, render the test clips, score them
    and print the table. Finished work is skipped; interrupted work resumes."""
    from hwp_bench.api import ConfigError, MethodNotFound, MethodUnavailable, get_method
    from hwp_bench.runner import (
        format_table,
        job_is_done,
        plan_jobs,
        prepare_dataset,
        skipped_outcome,
        summarize,
    )
    from hwp_bench.runner.executors import EXECUTORS, default_threads, ray_available

    if executor not in EXECUTORS:
        _fail(f"--executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    if executor == "ray" and (why := ray_available()):
        _fail(why)
    seed_list = _parse_seeds(seeds)
    if test_poses not in TRACKS:
        _fail(f"--test-poses: unknown track {test_poses!r}: choose one of {', '.join(TRACKS)}")
    try:
        cls = get_method(method)
        info = cls.method_info()
        info.resolve_config(preset, overrides)
    except (MethodNotFound, MethodUnavailable, ConfigError) as exc:
        _fail(str(exc))
    metric_list = tuple(m.strip() for m in metrics.split(",") if m.strip()) or None
    try:
        from hwp_bench.data import captures_for

        captures = captures_for(split)
    except ValueError as exc:
        _fail(f"--split: {exc}")
    if dataset not in ("synth", "synth-clean", "hwp") and Path(dataset).expanduser().exists():
        # One spelling per folder: the run's identity must not depend on the working directory.
        dataset = str(Path(dataset).expanduser().resolve())
    cpu_budget = cpus or os.cpu_count() or 1
    gpu_list = [g.strip() for g in gpus.split(",") if g.strip()]
    common = dict(
        preset=preset,
        overrides=tuple(overrides),
        dataset=dataset,
        protocol=protocol,
        test_poses=test_poses,
        metrics=metric_list,
        out=out,
        checkpoint_every=checkpoint_every or None,
        progress=progress,
    )
    # Finished jobs are answered first, from their result files alone: no dataset, no torch,
    # no worker, so rerunning a finished split takes about a second.
    jobs = plan_jobs(method, captures, seed_list, **common)
    done = [j for j in jobs if job_is_done(j)]
    todo = [j for j in jobs if not job_is_done(j)]
    if todo:
        # Cheap checks before the dataset, which may have to be generated or downloaded.
        try:
            from hwp_bench.metrics import get_protocol

            proto = get_protocol(protocol)
        except KeyError as exc:
            _fail(str(exc.args[0] if exc.args else exc))
        unknown = [m for m in metric_list or () if m not in proto.metrics]
        if unknown:
            _fail(f"--metrics: {', '.join(unknown)} not in {protocol}'s {', '.join(proto.metrics)}")
        needed = sorted({j.capture for j in todo})
        try:
            folder, present = prepare_dataset(dataset, needed)
        except (OSError, ValueError, RuntimeError) as exc:
            _fail(f"--dataset {dataset}: {exc}")
        missing = [c for c in needed if c not in present]
        if missing:
            typer.echo(
                f"note: {dataset} has no {', '.join(missing)}; running the other captures",
                err=True,
            )
        if not present and not done:
            _fail(f"--dataset {dataset} holds none of the captures of split {split!r}")
        captures = [c for c in captures if c in present or any(j.capture == c for j in done)]
        _prepare_test_poses(folder, sorted({j.capture for j in todo} & set(present)), test_poses)
        job_threads = threads or default_threads(len(todo), cpu_budget)
        todo = [
            dataclasses.replace(j, threads=job_threads, dataset_path=str(folder))
            for j in todo
            if j.capture in present
        ]
    typer.echo(
        f"{method} ({info.implementation_status}) x {len(captures)} captures x "
        f"{len(seed_list)} seeds on {dataset} [{preset}], test poses {test_poses}: "
        f"{len(done)} done, {len(todo)} to run ({executor} executor, output {out})",
        err=True,
    )
    if todo and "lpips" in (metric_list or proto.metrics):
        # Fetch the LPIPS weights once here rather than in every worker at the same time.
        from hwp_bench.metrics.lpips_weights import LpipsWeightsError, load_lpips_arrays

        try:
            load_lpips_arrays()
        except LpipsWeightsError as exc:
            _fail(f"{exc} (or score without LPIPS: --metrics psnr,ssim)")

    def report(o):
        status = o.get("status")
        line = f"{status:>11}  {o['capture']} seed {o['seed']}"
        if status == "failed":
            line += f": {o.get('error')}" + (f" (log: {o['log']})" if o.get("log") else "")
        elif status == "unsupported":
            line += f": {o.get('error')}"
        typer.echo(line, err=True)

    outcomes = [skipped_outcome(j) for j in done]
    for o in outcomes:
        report(o)
    try:
        if not todo:
            pass
        elif executor == "inline":
            from hwp_bench.runner.executors import run_inline

            outcomes += run_inline(todo, on_done=report)
        elif executor == "ray":
            from hwp_bench.runner.executors import run_ray

            outcomes += run_ray(
                todo,
                address=ray_address or None,
                cpus=cpus or None,
                gpus_per_job=ray_gpus,
                on_done=report,
            )
        else:
            from hwp_bench.runner.executors import run_local

            outcomes += run_local(todo, cpus=cpu_budget, gpus=gpu_list, on_done=report)
    except KeyboardInterrupt:
        typer.echo(
            "interrupted: rerun the same command to resume from the last checkpoints", err=True
        )
        raise typer.Exit(130) from None

    summary = summarize(outcomes, captures)
    title = (
        f"{info.name} [{preset}] on {dataset} / {split}, protocol {protocol}, "
        f"test poses {test_poses}"
    )
    typer.echo(format_table(summary, title=title))
    if summary.failed:
        typer.echo(
            f"{len(summary.failed)} job(s) failed; fix the cause (see the logs) and rerun: "
            "finished jobs are skipped.",
            err=True,
        )
        raise typer.Exit(EXIT_FAILED_JOBS)


def _prepare_test_poses(folder, captures: list[str], track: str) -> None:
    """Check that the data can give ``track`` (one-line error otherwise) and compute aligned
    poses here, once, with a progress bar, before workers would wait on each other for them."""
    if track == "estimated" or not captures:
        return
    from hwp_bench.data import load_frames
    from hwp_bench.tracks import TrackError, track_hands

    try:
        for capture in captures:
            frames = list(load_frames(folder, capture, "test"))
            track_hands(frames, track, progress=track == "aligned", folder=folder)
    except TrackError as exc:
        _fail(f"--test-poses: {exc}")


def methods(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """List registered methods: availability (with the reason when not), hand types, status."""
    import json

    from tabulate import tabulate

    from hwp_bench.methods.registry import list_methods

    rows = list_methods()
    if as_json:
        payload = [
            {
                "id": r.id,
                "available": r.available,
                "reason": r.reason,
                "source": r.source,
                "target": r.target,
                "info": r.info.to_dict() if r.info is not None else None,
            }
            for r in rows
        ]
        typer.echo(json.dumps(payload, indent=2))
        return
    table = []
    for r in rows:
        info = r.info
        table.append(
            [
                r.id,
                "available" if r.available else "unavailable",
                ", ".join(info.hand_types) if info else "-",
                info.implementation_status if info else "-",
                info.name if r.available else r.reason,
            ]
        )
    typer.echo(
        tabulate(
            table,
            headers=["id", "status", "hands", "implementation", "name / why unavailable"],
            tablefmt="github",
            maxcolwidths=[None, None, None, None, 70],
        )
    )


def test_method(
    name: str = typer.Argument(..., help="Registered method id"),
    dataset: str = typer.Option("synth", "--dataset", help="synth | synth-clean | hwp | PATH"),
    capture: str = typer.Option("capture00", "--capture", help="Capture to train and render on"),
    preset: str = typer.Option("quick", "--preset"),
    overrides: list[str] = typer.Option([], "--set", help="Config override key=value (repeatable)"),
    iterations: int = typer.Option(
        20, "--iterations", help="Cap on training iterations (0: the full fit)"
    ),
    train_frames: int = typer.Option(
        8, "--train-frames", help="Train on this many frames (0: all)"
    ),
    test_frames: int = typer.Option(3, "--test-frames", help="Render this many test frames"),
    protocol: str = typer.Option(DEFAULT_PROTOCOL, "--protocol"),
    metrics: str = typer.Option("", "--metrics", help="Comma-separated subset of metrics"),
) -> None:
    """Check NAME against the method contract: fit, render, save, load, render again gives
    identical images; re-scoring saved renders reproduces the metrics. Exit 1 on a failure."""
    from hwp_bench.methods.check import check_method

    checks = check_method(
        name,
        dataset=dataset,
        capture=capture,
        preset=preset,
        overrides=overrides,
        iterations=iterations or None,
        train_frames=train_frames or None,
        test_frames=test_frames,
        protocol=protocol,
        metrics=tuple(m.strip() for m in metrics.split(",") if m.strip()) or None,
        echo=typer.echo,
    )
    failed = [c for c in checks if not c.ok]
    if failed:
        typer.echo(f"{name}: {len(failed)} check(s) failed", err=True)
        raise typer.Exit(1)
    typer.echo(f"{name}: all {len(checks)} checks passed")
