"""``hwp-bench leaderboard ...``: run the server or a worker, administer teams, build the site.

Where the state lives: ``--storage DIR`` (default ``$HWP_LEADERBOARD_STORAGE`` or
``<HWP_HOME>/leaderboard``) holds archives, samples and the default SQLite database;
``--db URL`` (``sqlite:///PATH`` or ``postgresql://...``) points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)
admin = typer.Typer(no_args_is_help=True, help="Teams, tokens and submissions (operators only).")
app.add_typer(admin, name="admin")

STORAGE_OPT = typer.Option(
    None, "--storage", help="State folder (default $HWP_LEADERBOARD_STORAGE)."
)
DB_OPT = typer.Option(
    None, "--db", help="Database URL (default: SQLite file in the storage folder)."
)


def _storage_dir(storage: Path | None) -> Path:
    if storage is not None:
        return storage
    env = os.environ.get("HWP_LEADERBOARD_STORAGE")
    if env:
        return Path(env)
    from hwp_bench.paths import data_home

    return data_home() / "leaderboard"


def _open(storage: Path | None, db: str | None):  # noqa: ANN202
    from hwp_leaderboard.database import Store
    from hwp_leaderboard.files import FileStore

    st = FileStore(_storage_dir(storage))
    return st, Store(db or os.environ.get("HWP_LEADERBOARD_DB") or st.default_database_url)


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(2)


def _signing_key(path: Path | None) -> bytes | None:
    """The key bytes of ``--signing-key`` (one-line error and exit 2 when unusable)."""
    if path is None:
        return None
    from hwp_bench.results.signature import SignatureError, load_key

    try:
        return load_key(path)
    except SignatureError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("serve")
def serve(
    dataset: str = typer.Option(
        "synth", "--dataset", help="Full dataset with test pixels (name or folder)."
    ),
    dataset_id: str = typer.Option(
        None, "--dataset-id", help="Id submissions must name (default: --dataset)."
    ),
    storage: Path = STORAGE_OPT,
    db: str = DB_OPT,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    quota: int = typer.Option(
        5, "--quota", help="Submissions per team per 24 h (failed ones count)."
    ),
    workers: int = typer.Option(1, "--workers", help="Scoring threads in the server (0: none)."),
    max_upload_mb: int = typer.Option(512, "--max-upload-mb"),
    lease_s: float = typer.Option(
        120.0, "--lease-s", help="Claim lease; a dead scorer's work returns after it."
    ),
    poll_s: float = typer.Option(2.0, "--poll-s", help="Queue polling interval of the scorer."),
    frame_delay_s: float = typer.Option(
        0.0, "--frame-delay-s", help="Pause per scored frame (CPU share)."
    ),
    signing_key: Path = typer.Option(
        None,
        "--signing-key",
        help="Key file (hwp-bench results keygen): sign every published record.",
    ),
) -> None:
    """Serve the leaderboard: uploads, team status, ranking pages; scores in the background."""
    import uvicorn
    from hwp_leaderboard.groundtruth import DatasetGroundTruth
    from hwp_leaderboard.limits import Limits
    from hwp_leaderboard.server import Settings, create_app

    settings = Settings(
        storage=_storage_dir(storage),
        database_url=db or os.environ.get("HWP_LEADERBOARD_DB"),
        quota_per_day=quota,
        workers=workers,
        limits=Limits(max_upload_bytes=max_upload_mb * 1024 * 1024),
        lease_s=lease_s,
        poll_s=poll_s,
        frame_delay_s=frame_delay_s,
        signing_key=_signing_key(signing_key),
    )
    gt = DatasetGroundTruth(dataset, dataset_id=dataset_id)
    app_ = create_app(settings, gt)
    typer.echo(f"leaderboard on http://{host}:{port} (state in {settings.storage})")
    uvicorn.run(app_, host=host, port=port, log_level="info")


@app.command("worker")
def worker(
    dataset: str = typer.Option("synth", "--dataset"),
    dataset_id: str = typer.Option(None, "--dataset-id"),
    storage: Path = STORAGE_OPT,
    db: str = DB_OPT,
    once: bool = typer.Option(False, "--once", help="Score what is queued, then exit."),
    lease_s: float = typer.Option(
        120.0, "--lease-s", help="Claim lease; a dead scorer's work returns after it."
    ),
    poll_s: float = typer.Option(2.0, "--poll-s", help="Queue polling interval."),
    frame_delay_s: float = typer.Option(
        0.0, "--frame-delay-s", help="Pause per scored frame (CPU share)."
    ),
) -> None:
    """Run a scoring worker against the same storage and database as the server."""
    import logging

    from hwp_leaderboard.groundtruth import DatasetGroundTruth
    from hwp_leaderboard.worker import Worker

    # One line per claimed, scored or failed submission on stderr (ids and reasons, no data).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    st, store = _open(storage, db)
    w = Worker(
        store,
        st,
        DatasetGroundTruth(dataset, dataset_id=dataset_id),
        lease_s=lease_s,
        poll_s=poll_s,
        frame_delay_s=frame_delay_s,
    )
    if once:
        typer.echo(f"scored {w.drain(timeout=24 * 3600)} submission(s)")
    else:
        w.run_forever()


@app.command("build")
def build(
    out: Path = typer.Argument(..., help="Folder for the static site."),
    storage: Path = STORAGE_OPT,
    db: str = DB_OPT,
    title: str = typer.Option("hwp-bench leaderboard", "--title"),
    signing_key: Path = typer.Option(
        None, "--signing-key", help="Key file: sign the records of leaderboard.json."
    ),
) -> None:
    """Export the ranking and detail pages as a static site (index.html, submissions/, samples/)."""
    from hwp_leaderboard.site import build_site

    key = _signing_key(signing_key)
    st, store = _open(storage, db)
    build_site(store, st, out, title=title, signing_key=key)
    typer.echo(f"wrote {out / 'index.html'}")


@admin.command("create-team")
def create_team(name: str, storage: Path = STORAGE_OPT, db: str = DB_OPT) -> None:
    """Create a team."""
    _, store = _open(storage, db)
    try:
        team = store.create_team(name)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"created team {team.name}")


@admin.command("create-token")
def create_token(
    team: str,
    label: str = typer.Option(None, "--label"),
    storage: Path = STORAGE_OPT,
    db: str = DB_OPT,
) -> None:
    """Create an API token for TEAM and print it (shown once; only its hash is stored)."""
    _, store = _open(storage, db)
    try:
        token = store.create_token(team, label)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(token)


@admin.command("revoke-tokens")
def revoke_tokens(team: str, storage: Path = STORAGE_OPT, db: str = DB_OPT) -> None:
    """Revoke every token of TEAM."""
    _, store = _open(storage, db)
    try:
        n = store.revoke_tokens(team)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"revoked {n} token(s) of {team}")


@admin.command("teams")
def teams(storage: Path = STORAGE_OPT, db: str = DB_OPT) -> None:
    """List teams with their active tokens and submission counts."""
    _, store = _open(storage, db)
    for t in store.teams():
        typer.echo(f"{t['name']}\ttokens={t['tokens']}\tsubmissions={t['submissions']}")


@admin.command("submissions")
def submissions(
    status: str = typer.Option(None, "--status", help="pending | scoring | done | failed"),
    storage: Path = STORAGE_OPT,
    db: str = DB_OPT,
) -> None:
    """List submissions (all teams)."""
    _, store = _open(storage, db)
    for s in store.list_submissions(status=status):
        psnr = s["scores"]["metrics"].get("psnr") if s.get("scores") else None
        typer.echo(
            f"{s['id']}\t{s['team']}\t{s['status']}\t{s.get('method') or ''}\t{s.get('split') or ''}"
            f"\t{'' if psnr is None else f'{psnr:.2f}'}\t{s.get('reason') or ''}"
        )


@admin.command("rescore")
def rescore(submission_id: str, storage: Path = STORAGE_OPT, db: str = DB_OPT) -> None:
    """Put a submission back in the scoring queue (after fixing the scorer or the data)."""
    _, store = _open(storage, db)
    if not store.reset(submission_id):
        _fail(f"no stored archive for submission {submission_id}")
    typer.echo(f"{submission_id} queued")


@app.command("export-public")
def export_public_cmd(
    src: Path = typer.Argument(..., help="Full dataset folder (what the server scores against)."),
    dst: Path = typer.Argument(..., help="New folder for the public copy."),
) -> None:
    """Copy a dataset folder for publication with the test clips' pixels and masks withheld."""
    from hwp_leaderboard.public_export import export_public

    try:
        info = export_public(src, dst)
    except (FileExistsError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(
        f"wrote {dst}: {len(info['captures'])} captures, test pixels withheld on "
        f"{info['test_rows_stripped']} frames"
    )
