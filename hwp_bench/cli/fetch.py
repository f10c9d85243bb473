"""``hwp-bench data fetch`` (the authors' HWP release) and ``hwp-bench assets fetch``.

``data fetch`` is registered on the ``data`` typer app of :mod:`hwp_bench.cli.data` when this
module is imported (``hwp_bench/cli/__init__.py`` imports it), like ``data synth``; ``assets``
is its own typer app, mounted there.
"""

from __future__ import annotations

from pathlib import Path

import typer

from hwp_bench.cli.data import app as data_app

app = typer.Typer(no_args_is_help=True)


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(2)


def _captures(captures: str, config: str) -> list[str]:
    from hwp_bench.data.tags import CAPTURE_IDS, captures_for

    if captures:
        out = []
        for c in (c.strip() for c in captures.split(",") if c.strip()):
            cid = f"capture{int(c):02d}" if c.isdigit() else c
            if cid not in CAPTURE_IDS:
                raise ValueError(f"unknown capture {c!r}: choose among {', '.join(CAPTURE_IDS)}")
            out.append(cid)
        return out
    return captures_for(config)


@data_app.command("fetch")
def fetch(
    captures: str = typer.Option(
        "", "--captures", "-c", help="Comma-separated captures (capture04 or 4); default: --config."
    ),
    config: str = typer.Option("all", help="single, inter, all or captureNN."),
    revision: str = typer.Option(
        None, envvar="HWP_RELEASE_REVISION", help="Upstream commit or branch to pin."
    ),
    dest: Path = typer.Option(None, help="Output folder (default: $HWP_HOME/datasets/hwp)."),
    repo: str = typer.Option(
        None, envvar="HWP_RELEASE_REPO", help="Release repo (default: XuanHuang0/WildGHand)."
    ),
    endpoint: str = typer.Option(
        None, envvar="HF_ENDPOINT", help="Hub URL (default: huggingface.co)."
    ),
    size: int = typer.Option(256, help="Side of the square hand crops in pixels."),
    keep_raw: bool = typer.Option(False, help="Keep the raw downloads after converting."),
) -> None:
    """Download captures of the authors' HWP release and convert them into the data home.

    Only output.pkl and the frames and masks it names are downloaded; an interrupted fetch
    resumes. `hwp_bench.load_dataset("hwp", ...)` and `--dataset hwp` then work offline.
    """
    from hwp_bench.data.release import ReleaseError, fetch_release

    error = None
    try:
        caps = _captures(captures, config)
        result = fetch_release(
            caps,
            dest=dest,
            repo_id=repo,
            revision=revision,
            endpoint=endpoint,
            size=size,
            keep_raw=keep_raw,
        )
    except (ValueError, ReleaseError) as exc:
        error = str(exc)
    if error:
        _fail(error)
    for cr in result.reports:
        typer.echo(
            f"{cr.capture} ({cr.folder}): {cr.converted}/{cr.entries} frames converted, "
            f"{cr.skipped} skipped"
        )
        for note in cr.notes:
            typer.echo(f"  note: {note}")
        for f in [f for f in cr.frames if not f.converted][:10]:
            typer.echo(
                f"  {cr.capture} frame {f.index} ({f.image}): SKIPPED: {'; '.join(f.problems)}"
            )
    if result.present:
        typer.echo(f"already converted at this commit: {', '.join(result.present)}")
    typer.echo(f"{result.folder} (revision {result.revision})")
    if result.reports:
        typer.echo(f"full per-frame report: {result.folder / 'conversion_report.json'}")


@app.command("fetch")
def assets_fetch(
    name: str = typer.Argument(..., help="Asset to download: sam (the authors' vit_h.pth)."),
    revision: str = typer.Option(None, help="Commit or branch of the asset's repo."),
    endpoint: str = typer.Option(
        None, envvar="HF_ENDPOINT", help="Hub URL (default: huggingface.co)."
    ),
) -> None:
    """Download a model file into the data home, with its SHA-256 recorded."""
    from hwp_bench.assets import AssetError, asset_record, fetch_asset

    error = None
    try:
        path = fetch_asset(name, revision=revision, endpoint=endpoint)
    except (ValueError, AssetError) as exc:
        error = str(exc)
    if error:
        _fail(error)
    rec = asset_record(name) or {}
    typer.echo(f"{path} ({rec.get('size')} bytes, sha256 {rec.get('sha256')})")


@app.command("list")
def assets_list() -> None:
    """Show the known assets and whether they are fetched."""
    from hwp_bench.assets import ASSETS, asset_path

    for name, a in ASSETS.items():
        p = asset_path(name)
        where = str(p) if p else "not fetched"
        typer.echo(f"{name}: {a.repo_id}/{a.filename} ({a.description}): {where}")
