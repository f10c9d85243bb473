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


def _leaderboard_records(data) -> list | None:  # noqa: ANN001
    """The records of a leaderboard export (``leaderboard.json``) or one record; else None."""
    if isinstance(data, dict) and isinstance(data.get("submissions"), list):
        return data["submissions"]
    if isinstance(data, dict) and "scores" in data and "id" in data:
        return [data]
    return None


def _verify_file(f: Path, predictions: Path | None, key: bytes | None) -> tuple[str, list[str]]:
    """``(summary, problems)`` for one file; problems empty means it checks out."""
    import json

    from hwp_bench.results import ResultError, verify_result
    from hwp_bench.results.schema import MAX_RESULT_BYTES, loads_result
    from hwp_bench.results.signature import check_signature

    try:
        if f.stat().st_size > MAX_RESULT_BYTES:
            return "", [f"larger than {MAX_RESULT_BYTES} bytes"]
        raw = f.read_bytes()
    except OSError as exc:
        return "", [f"cannot read ({exc.strerror or exc})"]
    try:
        res = loads_result(raw, str(f))
    except ResultError as exc:
        records = None
        if key is not None and "not an hwp-bench result file" in str(exc):
            try:
                records = _leaderboard_records(json.loads(raw))
            except (ValueError, RecursionError):
                records = None
        if records is None:
            return "", [str(exc).removeprefix(f"{f}: ")]
        problems = [
            f"record {i} ({r.get('id', '?') if isinstance(r, dict) else '?'}): {p}"
            for i, r in enumerate(records)
            for p in check_signature(r, key)
        ]
        return f"{len(records)} leaderboard record(s), signatures checked", problems
    pred_hash = None
    problems: list[str] = []
    if predictions is not None:
        from hwp_bench.metrics.evaluate import hash_prediction_folder

        try:
            capture = res["dataset"]["capture"]
            pred_hash = hash_prediction_folder(
                predictions, capture, [int(i) for i in res["frames"]]
            )
        except Exception as exc:  # noqa: BLE001 - missing or unreadable renders: this file fails
            problems.append(f"predictions cannot be hashed: {exc}")
    problems += verify_result(res, predictions_sha256=pred_hash)
    if key is not None:
        problems += check_signature(res, key)
    means = ", ".join(f"{k} {v:.4f}" for k, v in res["means"].items())
    signed = "; signature ok" if key is not None else ""
    return f"{len(res['frames'])} frames; {means}{signed}", problems


@app.command("verify")
def verify(
    files: list[Path] = typer.Argument(..., help="Result JSON files to check."),
    predictions: Path | None = typer.Option(
        None, "--predictions", help="Folder of rendered frames: recompute the predictions hash."
    ),
    key: Path | None = typer.Option(
        None,
        "--key",
        help="Key file: also check the keyed signature (result files, or a leaderboard.json).",
    ),
) -> None:
    """Check result FILES: types, means and tag means from the per-frame values, the integrity
    hash (accidental edits) and, with --key, the signature (deliberate edits). Every file is
    reported; exit 1 if any fails."""
    from hwp_bench.results.signature import SignatureError, load_key

    key_bytes = None
    if key is not None:
        try:
            key_bytes = load_key(key)
        except SignatureError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    bad = 0
    for f in files:
        try:
            summary, problems = _verify_file(f, predictions, key_bytes)
        except Exception as exc:  # noqa: BLE001 - one file must never stop the others
            summary, problems = "", [f"cannot be checked ({type(exc).__name__}: {exc})"]
        if problems:
            bad += 1
            typer.echo(f"FAIL {f}", err=True)
            for p in problems[:20]:
                typer.echo(f"  - {p}", err=True)
        else:
            typer.echo(f"OK   {f} ({summary})")
    if bad:
        typer.echo(f"{bad} of {len(files)} file(s) failed", err=True)
        raise typer.Exit(1)


@app.command("sign")
def sign_cmd(
    files: list[Path] = typer.Argument(..., help="Result JSON files to sign (rewritten)."),
    key: Path = typer.Option(..., "--key", help="Key file (from `hwp-bench results keygen`)."),
) -> None:
    """Add a keyed signature to result FILES that verify (for results that must be trusted)."""
    from hwp_bench.io import atomic_write_text
    from hwp_bench.results import ResultError, read_result, verify_result
    from hwp_bench.results.schema import _result_text
    from hwp_bench.results.signature import SignatureError, attach_signature, load_key

    try:
        key_bytes = load_key(key)
    except SignatureError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    bad = 0
    for f in files:
        try:
            res = read_result(f)
            problems = verify_result(res)
        except ResultError as exc:
            problems = [str(exc)]
        if problems:
            bad += 1
            typer.echo(f"FAIL {f}: not signed: {problems[0]}", err=True)
            continue
        atomic_write_text(f, _result_text(attach_signature(res, key_bytes)))
        typer.echo(f"signed {f}")
    if bad:
        raise typer.Exit(1)


@app.command("keygen")
def keygen(
    out: Path = typer.Argument(..., help="Key file to create (must not exist)."),
) -> None:
    """Create a random signing key (hex, readable by its owner only)."""
    import os

    from hwp_bench.results.signature import key_id, new_key_text, parse_key

    text = new_key_text()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        typer.echo(f"error: cannot create {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    typer.echo(f"wrote {out} (key id {key_id(parse_key(text))}); keep it secret")
