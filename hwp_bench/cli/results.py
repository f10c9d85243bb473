"""``hwp-bench results ...``: inspect and check result files.

This module owns the typer ``app``; other areas add commands to it from their own modules
(``hwp_bench.cli.results.app.command("table")(fn)``) or by registering here through
:func:`add_command`, so the tables/report commands live next to ``verify`` without editing it.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Result files: verify (tables and reports elsewhere).")


def add_command(name: str, fn) -> None:
    """Register ``fn`` as ``hwp-bench results NAME`` (used by other areas' CLI modules)."""
    app.command(name)(fn)


@app.command("verify")
def verify(
    files: list[Path] = typer.Argument(..., help="Result JSON files to check.", exists=True),
    predictions: Path | None = typer.Option(
        None, "--predictions", help="Folder of rendered frames: recompute the predictions hash."
    ),
) -> None:
    """Recompute means, tag means and hashes of result FILES; exit 1 if any disagrees."""
    from hwp_bench.results import ResultError, read_result, verify_result

    bad = 0
    for f in files:
        try:
            res = read_result(f)
        except (ResultError, OSError) as exc:
            typer.echo(f"FAIL {f}: {exc}", err=True)
            bad += 1
            continue
        pred_hash = None
        if predictions is not None:
            from hwp_bench.metrics.evaluate import hash_prediction_folder

            capture = res["dataset"].get("capture")
            pred_hash = hash_prediction_folder(predictions, capture, list(map(int, res["frames"])))
        problems = verify_result(res, predictions_sha256=pred_hash)
        if problems:
            bad += 1
            typer.echo(f"FAIL {f}", err=True)
            for p in problems:
                typer.echo(f"  - {p}", err=True)
        else:
            means = ", ".join(f"{k} {v:.4f}" for k, v in res["means"].items())
            typer.echo(f"OK   {f} ({len(res['frames'])} frames; {means})")
    if bad:
        raise typer.Exit(1)
