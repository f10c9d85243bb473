"""``hwp-bench run``: fit, render and score methods on a split (owned by the runner area)."""

from __future__ import annotations

import typer


def run(
    method: str = typer.Option("wildghand", "--method", help="Registered method id."),
    split: str = typer.Option("inter", "--split", help="single | inter | all | captureNN"),
) -> None:
    """Fit METHOD on every capture of SPLIT, render the test clips, score and print a table."""
    typer.echo(
        f"hwp-bench run --method {method} --split {split}: the runner is not built yet "
        "(issue 7, 'Method interface, registry, runner and the hwp-bench command line')."
    )
    raise typer.Exit(code=2)
