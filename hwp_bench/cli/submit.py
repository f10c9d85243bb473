"""``hwp-bench submit ...``: pack a run into a leaderboard submission, check it, upload it.

``check`` runs exactly the validation the server runs (``hwp_leaderboard.archive``); give it
the split's public spec (``--spec FILE``, ``--server URL``, or ``--dataset`` for a local full
dataset) to also compare frames and sizes with the test split.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL

app = typer.Typer(no_args_is_help=True)

TOKEN_ENV = "HWP_LEADERBOARD_TOKEN"


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(2)


def _request(method: str, url: str, **kwargs):  # noqa: ANN003, ANN202
    """One HTTP request; network errors and non-JSON answers become a one-line message."""
    import httpx

    try:
        r = httpx.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {url}: {exc}")
    try:
        body = r.json()
    except ValueError:
        _fail(f"{url} answered {r.status_code} without JSON: is this a hwp-bench leaderboard?")
    return r.status_code, body


@app.command("pack")
def pack(
    results_dir: Path = typer.Argument(
        ..., help="A run folder holding renders/<capture>/<index>.png|.npy."
    ),
    out: Path = typer.Option(Path("submission.zip"), "--out", "-o", help="The zip to write."),
    manifest: Path = typer.Option(None, "--manifest", help="A manifest.json to start from."),
    method: str = typer.Option(
        None, "--method", help="Method name on the leaderboard (default: from the run's run.json)."
    ),
    author: list[str] = typer.Option(None, "--author", help="An author (repeat for several)."),
    split: str = typer.Option(None, "--split", help="single | inter (default: from the captures)."),
    protocol: str = typer.Option(
        None,
        "--protocol",
        help=f"Evaluation protocol (default: the toolkit's, {DEFAULT_PROTOCOL}).",
    ),
    test_poses: str = typer.Option(
        None,
        "--test-poses",
        help="Test-pose track the renders were made from, which picks renders/<track>/ in a "
        "run folder (default: aligned if the run has it)",
    ),
    paper: str = typer.Option(None, "--paper", help="Link to the paper."),
    code: str = typer.Option(None, "--code", help="Link to the code."),
    dataset_id: str = typer.Option(None, "--dataset-id"),
    dataset_revision: str = typer.Option(None, "--dataset-revision"),
    hardware: str = typer.Option(None, "--hardware", help='e.g. "1x A100 40GB".'),
    fit_time: float = typer.Option(None, "--fit-time", help="Fit time per capture in seconds."),
) -> None:
    """Pack the renders of a run into a submission zip (manifest.json + renders/)."""
    from hwp_leaderboard.errors import SubmissionError
    from hwp_leaderboard.pack import pack_submission

    man: dict = {}
    if manifest is not None:
        try:
            man = json.loads(manifest.read_text())
        except (OSError, ValueError) as exc:
            _fail(f"cannot read {manifest}: {exc}")
    given = {
        "method": method,
        "authors": list(author) if author else None,
        "split": split,
        "protocol": protocol,
        "test_poses": test_poses,
        "paper_url": paper,
        "code_url": code,
        "hardware": hardware,
        "fit_time_s": fit_time,
    }
    man.update({k: v for k, v in given.items() if v is not None})
    if dataset_id:
        man["dataset"] = {
            "id": dataset_id,
            **({"revision": dataset_revision} if dataset_revision else {}),
        }
    if not man.get("authors"):
        _fail("--author is required (or give authors in --manifest)")
    try:
        path = pack_submission(results_dir, out, man)
    except SubmissionError as exc:
        _fail(f"cannot pack: {exc.reason}")
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def _load_spec(spec: Path | None, server: str | None, dataset: str | None):  # noqa: ANN202
    from hwp_leaderboard.spec import SplitSpec

    if spec is not None:
        try:
            obj = json.loads(spec.read_text(encoding="utf-8"))
            specs = [SplitSpec.from_dict(o) for o in (obj if isinstance(obj, list) else [obj])]
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            _fail(f"cannot read the spec {spec}: {type(exc).__name__}: {exc}")
        except (KeyError, TypeError, AttributeError) as exc:
            _fail(f"{spec} is not a split spec (from /api/spec/<split>): {exc!r}")
        return {s.split: s for s in specs}
    if server is not None:
        out = {}
        for split in ("single", "inter"):
            code, body = _request("GET", f"{server.rstrip('/')}/api/spec/{split}", timeout=60)
            if code == 200:
                try:
                    out[split] = SplitSpec.from_dict(body)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    _fail(f"{server} sent a malformed spec for {split}: {exc!r}")
        return out
    if dataset is not None:
        from hwp_leaderboard.groundtruth import DatasetGroundTruth

        gt = DatasetGroundTruth(dataset)
        return {s: gt.spec(s) for s in gt.splits()}
    return None


@app.command("check")
def check(
    archive: Path = typer.Argument(..., help="The submission zip."),
    spec: Path = typer.Option(None, "--spec", help="A split spec JSON (from /api/spec/<split>)."),
    server: str = typer.Option(
        None, "--server", help="Fetch the split specs from this leaderboard."
    ),
    dataset: str = typer.Option(
        None, "--dataset", help="Derive the spec from a local full dataset."
    ),
) -> None:
    """Validate a submission zip with the server's own checks (structure, manifest, images)."""
    from hwp_leaderboard.archive import check_submission
    from hwp_leaderboard.errors import SubmissionError

    specs = _load_spec(spec, server, dataset)
    try:
        index = check_submission(archive, spec=specs)
    except SubmissionError as exc:
        _fail(f"invalid submission ({exc.code}): {exc.reason}")
    except OSError as exc:
        _fail(f"cannot read {archive}: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback, for any input
        _fail(f"invalid submission (unreadable-archive): {type(exc).__name__}: {exc}")
    m = index.manifest
    typer.echo(
        f"ok: {m.method} ({m.split}, protocol {m.protocol}): {len(index.renders)} renders in "
        f"{len(index.captures)} captures, {index.size_bytes / 1e6:.1f} MB"
    )
    if specs is None:
        typer.echo(
            "note: no --spec/--server/--dataset given, frames were not compared with the split"
        )


@app.command("upload")
def upload(
    archive: Path = typer.Argument(..., help="The submission zip."),
    server: str = typer.Option(..., "--server", help="Leaderboard URL, e.g. http://127.0.0.1:8000"),
    token: str = typer.Option(None, "--token", help=f"API token (default: ${TOKEN_ENV})."),
) -> None:
    """Upload a submission; prints its id and status (scoring happens on the server)."""
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        _fail(f"no token: pass --token or set {TOKEN_ENV}")
    code, body = _request(
        "POST",
        f"{server.rstrip('/')}/api/submissions",
        content=archive.read_bytes(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/zip"},
        timeout=600,
    )
    if code != 202:
        _fail(f"rejected ({code}): {body.get('reason') or body.get('detail')}")
    quota = body["quota"]
    typer.echo(
        f"submitted {body['id']}: {body['status']} (quota {quota['used']}/{quota['per_day']})"
    )


@app.command("status")
def status(
    submission_id: str = typer.Argument(None, help="One submission (default: all of the team's)."),
    server: str = typer.Option(..., "--server"),
    token: str = typer.Option(None, "--token", help=f"API token (default: ${TOKEN_ENV})."),
) -> None:
    """Show the team's submissions: status, reason, scores."""
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        _fail(f"no token: pass --token or set {TOKEN_ENV}")
    path = f"/api/submissions/{submission_id}" if submission_id else "/api/submissions"
    code, body = _request(
        "GET",
        f"{server.rstrip('/')}{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    if code != 200:
        _fail(f"error {code}: {body.get('detail')}")
    rows = [body] if submission_id else body["submissions"]
    for s in rows:
        line = f"{s['id']}  {s['status']:8s} {s.get('method') or ''} {s.get('split') or ''}"
        if s.get("scores"):
            m = s["scores"]["metrics"]
            line += "  " + "  ".join(f"{k}={v:.4f}" for k, v in sorted(m.items()))
        if s.get("reason"):
            line += f"  ({s['reason']})"
        typer.echo(line)
