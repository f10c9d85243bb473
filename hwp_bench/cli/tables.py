"""``hwp-bench results table``: the paper's tables regenerated from result files."""

from __future__ import annotations

from pathlib import Path

import typer

from hwp_bench.cli.results import add_command
from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL


def _seeds(text: str | None) -> list[int] | None:
    """``--seeds`` of the table commands: None (every seed) or the list; exit 2 if unreadable."""
    from hwp_bench.cli.seeds import parse_seeds

    if text is None:
        return None
    try:
        return parse_seeds(text)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def table_cmd(
    table: str = typer.Option(..., "--table", "-t", help="III | IV | V | VI | VII | VIII | IX | X"),
    results: list[Path] = typer.Option(
        [Path("runs")], "--results", "-r", help="Result files or folders (searched recursively)."
    ),
    fmt: str = typer.Option("markdown", "--format", "-f", help="markdown | latex | csv | json"),
    protocol: str | None = typer.Option(
        None,
        "--protocol",
        help=f"Protocol id, if files mix several (default: {DEFAULT_PROTOCOL} if present).",
    ),
    test_poses: str | None = typer.Option(
        None,
        "--test-poses",
        help="Test-pose track, if files mix several (default: aligned if present).",
    ),
    preset: str | None = typer.Option(None, "--preset", help="Preset, if files mix several."),
    dataset: str | None = typer.Option(None, "--dataset", help="Dataset id, if files mix several."),
    paper: bool = typer.Option(True, "--paper/--no-paper", help="Show the paper's numbers too."),
    seeds: str | None = typer.Option(
        None, "--seeds", help="Only these seeds, e.g. 0 or 0,1 (default: every seed, averaged)."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
) -> None:
    """Build paper Table TABLE from result files, beside the paper's numbers."""
    from hwp_bench.io import atomic_write_text
    from hwp_bench.results.collect import InvalidResultsError, collect_results
    from hwp_bench.results.tables import TableError, make_table, only_seeds

    try:
        # Every file is verified first (types, means from per-frame values, integrity hash):
        # one that fails stops the table, named, instead of moving a cell silently.
        records = collect_results(results).raise_for_invalid()
        records = only_seeds(records, _seeds(seeds))
        text = make_table(
            table,
            records,
            protocol=protocol,
            preset=preset,
            dataset=dataset,
            track=test_poses,
            show_paper=paper,
        ).render(fmt)
    except (TableError, InvalidResultsError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if out is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(out, text)
        typer.echo(f"wrote {out}")


add_command("table", table_cmd)


def report_cmd(
    results: list[Path] = typer.Option(
        [Path("runs")], "--results", "-r", help="Result files or folders (searched recursively)."
    ),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
    protocol: str | None = typer.Option(None, "--protocol"),
    test_poses: str | None = typer.Option(None, "--test-poses"),
    preset: str | None = typer.Option(None, "--preset"),
    dataset: str | None = typer.Option(None, "--dataset"),
    captures: str | None = typer.Option(
        None, "--captures", help="Comma-separated captures for the qualitative grid."
    ),
    seeds: str | None = typer.Option(
        None, "--seeds", help="Only these seeds, e.g. 0 or 0,1 (default: every seed, averaged)."
    ),
) -> None:
    """Write a static HTML report (tables, bar charts, grids, omega, PAO masks, sweeps)."""
    from hwp_bench.results.collect import InvalidResultsError, collect_results
    from hwp_bench.results.report import build_report, summary
    from hwp_bench.results.tables import TableError

    try:
        collect_results(results).raise_for_invalid()  # a report is tables too: verify first
        path = build_report(
            results,
            out,
            protocol=protocol,
            preset=preset,
            dataset=dataset,
            track=test_poses,
            captures=captures.split(",") if captures else None,
            seeds=_seeds(seeds),
        )
    except (TableError, InvalidResultsError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    s = summary(path)
    typer.echo(f"wrote {path} ({s['tables']} tables, {s['images']} figures)")


add_command("report", report_cmd)
