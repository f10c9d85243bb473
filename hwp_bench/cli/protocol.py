"""``hwp-bench protocol ...``: the evaluation protocols known here (built-ins and plugins)."""

from __future__ import annotations

import typer

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL
from hwp_bench.metrics.validity import PROTOCOLS as VALIDITY_PROTOCOLS

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


@app.command("validate")
def validate_cmd(
    dataset: str = typer.Option(
        "synth", "--dataset", help="An HWP-Synth dataset: synth | synth-clean | PATH"
    ),
    captures: str = typer.Option(
        "", "--captures", help="Comma-separated captures (default: every capture it holds)"
    ),
    protocols: str = typer.Option(
        ",".join(VALIDITY_PROTOCOLS), "--protocols", help="Comma-separated protocol ids"
    ),
    tracks: str = typer.Option(
        "estimated,aligned,exact", "--test-poses", help="Comma-separated test-pose tracks"
    ),
    metrics: str = typer.Option("psnr,ssim,lpips", "--metrics", help="Comma-separated metrics"),
    out: str = typer.Option(
        "", "--out", "-o", help="Markdown file to write the table into (e.g. docs/validity.md)"
    ),
    json_out: str = typer.Option("", "--json", help="Also write every number as JSON here"),
    check: str = typer.Option(
        DEFAULT_PROTOCOL,
        "--check",
        help="Exit 1 if this protocol's validity claims fail ('' : none)",
    ),
    aligner_edges: bool = typer.Option(
        True,
        "--aligner-edges/--no-aligner-edges",
        help="Align the test poses with the aligner's image-edge term (the default aligner; "
        "--no-aligner-edges: the silhouette aligner alone, docs/tracks.md)",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """The validity table: the perfect avatar (HWP-Synth's own renderer) and controlled
    degradations of it, scored by each protocol on each test-pose track (docs/validity.md).

    Into OUT goes the block between its generated-table markers (the rest of the file is kept).
    """
    from hwp_bench.metrics.protocols import get_protocol
    from hwp_bench.metrics.validity import compute_validity, write_markdown_block
    from hwp_bench.tracks import TrackError, check_track
    from hwp_bench.tracks.align import AlignConfig

    def items(text: str) -> list[str]:
        return [x.strip() for x in text.split(",") if x.strip()]

    def fail(msg: str) -> None:
        typer.echo(f"error: {msg}", err=True)
        raise typer.Exit(2)

    try:
        track_list = [check_track(t) for t in items(tracks)]
        for p in items(protocols):
            get_protocol(p)
    except TrackError as exc:
        fail(f"--test-poses: {exc}")
    except KeyError as exc:
        fail(f"--protocols: {exc.args[0] if exc.args else exc}")
    unknown = [m for m in items(metrics) if m not in ("psnr", "ssim", "lpips")]
    if unknown:
        fail(f"--metrics: {', '.join(unknown)} not among psnr, ssim, lpips")
    try:
        report = compute_validity(
            dataset,
            captures=items(captures) or None,
            protocols=items(protocols),
            tracks=track_list,
            metrics=items(metrics),
            progress=progress,
            align_config=AlignConfig(image_edges=aligner_edges),
        )
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        fail(str(exc))
    text = report.to_markdown()
    if out:
        write_markdown_block(out, text)
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text)
    if json_out:
        from hwp_bench.io import atomic_write_text

        atomic_write_text(json_out, report.to_json())
    if check:
        bad = report.check(check)
        for b in bad:
            typer.echo(f"claim fails ({check}): {b}", err=True)
        if bad:
            raise typer.Exit(1)
        typer.echo(f"{check}: every validity claim holds", err=True)
