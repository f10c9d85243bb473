"""``hwp-bench data synth`` and ``hwp-bench data preview`` (HWP-Synth).

Registered on the ``data`` typer app of :mod:`hwp_bench.cli.data` when this module is imported
(``hwp_bench/cli/__init__.py`` imports it), so the dataset area's module stays untouched.
"""

from __future__ import annotations

from pathlib import Path

import typer

from hwp_bench.cli.data import app


@app.command("synth")
def synth(
    preset: str = typer.Option("quick", help="quick (128 px, 100 frames/capture) or full."),
    seed: int = typer.Option(0, help="Random seed: same seed, same bytes."),
    out: Path | None = typer.Option(
        None, help="Output folder (default: $HWP_HOME/datasets/hwp-synth-<preset>-s<seed>)."
    ),
    captures: list[str] | None = typer.Option(
        None, "--captures", "-c", help="Only these captures (capture04 or 4); repeatable."
    ),
    clean: bool = typer.Option(False, help="Write the clean twin (no perturbations)."),
    workers: int | None = typer.Option(
        None, help="Parallel processes (default: up to 2); the output does not depend on it."
    ),
) -> None:
    """Generate HWP-Synth (resumes: finished captures are kept)."""
    from hwp_bench.synth import PRESETS, ensure_synth

    if preset not in PRESETS:
        typer.echo(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}", err=True)
        raise typer.Exit(2)
    caps = None
    if captures:
        caps = []
        for c in captures:
            caps.extend(x for x in c.split(",") if x)
        from hwp_bench.data.tags import capture_info

        try:
            caps = [capture_info(c).capture for c in caps]
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
    path = ensure_synth(
        preset=preset, seed=seed, clean=clean, captures=caps, root=out, workers=workers
    )
    typer.echo(str(path))


@app.command("preview")
def preview(
    folder: Path = typer.Argument(..., help="A dataset folder (e.g. from `data synth`)."),
    capture: str = typer.Option("4", help="Capture: 4 or capture04."),
    out: Path = typer.Option(Path("sheet.png"), help="PNG file to write."),
    columns: int = typer.Option(8, help="Frames across time."),
) -> None:
    """Contact sheet of a capture across time, with masks and perturbation strengths."""
    from hwp_bench.data.tags import capture_info
    from hwp_bench.synth.preview import contact_sheet

    try:
        cap = capture_info(capture).capture
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if not folder.is_dir():
        typer.echo(f"{folder} is not a folder", err=True)
        raise typer.Exit(2)
    try:
        path = contact_sheet(folder, cap, out, columns=columns)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(str(path))
