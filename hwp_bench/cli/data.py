"""``hwp-bench data ...``: dataset commands (owned by the dataset area; synth adds its own).

``export`` (write a dataset folder), ``info`` (captures, split sizes, tags),
``convert-upstream`` (the authors' release -> our layout), ``push`` (publish to the Hub).
Heavy imports happen inside the commands so that ``hwp-bench --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(2)


@app.command("export")
def export(
    dest: Path = typer.Argument(..., help="Folder to write (e.g. ./hwp)."),
    source: str = typer.Option(
        "hwp", "--source", "-s", help="hwp, synth, synth-clean, a Hub repo id or a folder."
    ),
    config: str = typer.Option("all", "--config", "-c", help="single, inter, all or captureNN."),
    force: bool = typer.Option(False, help="Write into a non-empty folder that is not a dataset."),
) -> None:
    """Write a dataset folder (Parquet + dataset card) that `datasets.load_dataset` reads offline."""
    from hwp_bench.data.layout import LayoutError, copy_captures, is_dataset_folder
    from hwp_bench.data.loading import DatasetNotFoundError, resolve
    from hwp_bench.data.tags import captures_for

    # (typer.Exit is a RuntimeError: _fail is never called inside these try blocks)
    if dest.exists() and any(dest.iterdir()) and not is_dataset_folder(dest) and not force:
        _fail(f"{dest} is not empty and not a dataset folder (use --force to write anyway)")
    error = None
    try:
        caps = captures_for(config)
        src = resolve(source, captures=caps)
    except (ValueError, LayoutError, DatasetNotFoundError, RuntimeError) as exc:
        error = str(exc)
    if error:
        _fail(error)
    if src.resolve() == dest.resolve():
        _fail(f"source and destination are the same folder: {dest}")
    copied = copy_captures(src, dest, caps)
    if not copied:
        _fail(f"{source} has none of the captures of config {config!r}")
    typer.echo(f"wrote {len(copied)} captures ({', '.join(copied)}) to {dest}")


@app.command("info")
def info(
    folder: str = typer.Argument(
        None, help="Dataset folder, hwp, synth or a repo id; omit for the paper's Table II."
    ),
    config: str = typer.Option("all", "--config", "-c", help="Only captures of this config."),
    perturbation: str = typer.Option(
        None,
        "--perturbation",
        "-p",
        help="Only captures tagged hoi, complex_pose, illumination or blur.",
    ),
    quick: bool = typer.Option(
        False, "--quick", help="Check structure and Parquet rows only, not every image."
    ),
) -> None:
    """Print captures, frame counts per split and perturbation tags as a table, then check
    the folder (manifest, card, split files, every Parquet shard, row labels, images); exit 1
    when anything is broken.

    Example: captures with motion blur among the interacting ones: ``info -c inter -p blur``.
    """
    from tabulate import tabulate

    from hwp_bench.data.splits import SPLITS, split_bounds
    from hwp_bench.data.tags import CAPTURES, TABLE_II, TABLE_V_GROUPS, query

    try:
        selected = set(query(config, perturbation=perturbation))
    except ValueError as exc:
        selected, error = None, str(exc)
    if selected is None:
        _fail(error)
    if folder is None:
        rows = []
        for c in (c for c in TABLE_II if c.capture in selected):
            counts = [hi - lo for lo, hi in split_bounds(c.frames).values()]
            rows.append(
                [
                    c.capture,
                    c.hand_type,
                    c.action,
                    c.device,
                    c.frames,
                    *counts,
                    ", ".join(c.perturbations),
                ]
            )
        typer.echo("HWP, paper Table II (splits by the 80/10/10 rule):")
        typer.echo(
            tabulate(
                rows,
                headers=["capture", "hand", "action", "device", "frames", *SPLITS, "perturbations"],
            )
        )
        typer.echo(
            "\nTable V groups (inter): "
            + "; ".join(f"{k}: {', '.join(v)}" for k, v in TABLE_V_GROUPS.items())
        )
        return
    from hwp_bench.data.layout import LayoutError, read_captures
    from hwp_bench.data.loading import DatasetNotFoundError, resolve

    error = None
    try:
        root = resolve(folder)
        caps = read_captures(root)
    except (ValueError, LayoutError, DatasetNotFoundError, RuntimeError) as exc:
        error = str(exc)
    if error:
        _fail(error)
    rows = []
    for cap, d in caps.items():
        if cap not in selected:
            continue
        t2 = CAPTURES.get(cap)
        rows.append(
            [
                cap,
                d["hand_type"],
                t2.action if t2 else "",
                d["num_frames"],
                *(d["counts"][s] for s in SPLITS),
                len(d.get("missing") or []),
                ", ".join(d["tags"]) or "-",
            ]
        )
    total = [sum(r[i] for r in rows) for i in range(3, 8)]
    rows.append(["total", "", "", *total, ""])
    typer.echo(f"{root}:")
    typer.echo(
        tabulate(rows, headers=["capture", "hand", "action", "frames", *SPLITS, "missing", "tags"])
    )
    from hwp_bench.data.layout import validate_dataset

    check = validate_dataset(root, images=not quick, progress=True)
    if check.problems:
        typer.echo(f"\nBROKEN: {len(check.problems)} problem(s) in {root}:", err=True)
        for p in check.problems[:50]:
            typer.echo(f"  - {p}", err=True)
        raise typer.Exit(1)
    what = f"{check.rows} rows" + ("" if quick else f", {check.images} images decoded")
    typer.echo(f"\nchecked: healthy ({what})")


@app.command("convert-upstream")
def convert_upstream_cmd(
    src: Path = typer.Argument(
        ..., help="Folder with captureN_subsample3[_single]/ from the authors."
    ),
    dst: Path = typer.Argument(..., help="Output dataset folder."),
    size: int = typer.Option(256, help="Side of the square hand crops in pixels."),
    captures: str = typer.Option("", help="Comma-separated capture ids (default: all found)."),
) -> None:
    """Convert the authors' HWP release (output.pkl + frames + SAM masks) into our layout."""
    from hwp_bench.data.upstream import convert_upstream

    caps = [c.strip() for c in captures.split(",") if c.strip()] or None
    try:
        report = convert_upstream(src, dst, size=size, captures=caps)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    for line in report.summary_lines():
        typer.echo(line)
    typer.echo(f"full per-frame report: {dst / 'conversion_report.json'}")
    if not any(c.converted for c in report.captures):
        _fail("no capture was converted")


@app.command("push")
def push(
    folder: Path = typer.Argument(..., help="Dataset folder to upload."),
    repo: str = typer.Argument(..., help="Hub dataset repo id, e.g. hwp-bench/hwp."),
    private: bool = typer.Option(False, help="Create the repo as private."),
    revision: str = typer.Option(None, help="Branch to commit to (default: main)."),
    token: str = typer.Option(None, envvar="HF_TOKEN", help="Hub token (default: HF login)."),
    endpoint: str = typer.Option(
        None, envvar="HF_ENDPOINT", help="Hub URL (default: huggingface.co)."
    ),
) -> None:
    """Upload a dataset folder to the Hugging Face Hub in one commit (card regenerated first)."""
    from hwp_bench.data.hub import push_dataset
    from hwp_bench.data.layout import LayoutError

    try:
        info = push_dataset(
            folder, repo, token=token, private=private or None, revision=revision, endpoint=endpoint
        )
    except LayoutError as exc:
        _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - network/auth errors: one line, exit 2
        _fail(f"push to {repo} failed: {type(exc).__name__}: {exc}")
    typer.echo(f"pushed {folder} to {repo}: {info.commit_url}")


# `data import-video` lives in its own module (the video area); registered here.
from hwp_bench.cli.video import import_video as _import_video  # noqa: E402
from hwp_bench.cli.video import video_figure as _video_figure  # noqa: E402

app.command("import-video")(_import_video)
app.command("video-figure")(_video_figure)
