"""``hwp-bench protocol ...``: the evaluation protocols known here (built-ins and plugins)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command("list")
def list_cmd() -> None:
    """List every protocol with where it is registered; the default is marked with *."""
    from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL
    from hwp_bench.metrics.protocols.registry import describe_protocols

    for row in describe_protocols():
        mark = "*" if row["id"] == DEFAULT_PROTOCOL else " "
        status = row["description"] if row["available"] else f"UNAVAILABLE: {row['reason']}"
        typer.echo(f"{mark} {row['id']:<20} {row['source']:<32} {status}")
