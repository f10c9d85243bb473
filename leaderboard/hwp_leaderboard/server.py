"""The HTTP server (FastAPI; import this module only where the server is needed): uploads with tokens and quotas, team status, public pages.

Routes::

    GET  /, /index.html                 ranking (done submissions only)
    GET  /submissions/<id>.html         detail page of a done submission
    GET  /samples/<id>/<capture>.png    the submission's own sample renders
    GET  /leaderboard.json              the public records (also /api/leaderboard)
    GET  /api/spec/<split>              what a complete submission holds (no pixels)
    POST /api/submissions               upload a zip (body = the zip, Bearer token)
    GET  /api/submissions[/<id>]        a team's own submissions, status and reason
    GET  /api/health                    queue counts
    POST /api/verify                    check a signed record (or leaderboard.json) against
                                        this server's key and its current scores

An upload is streamed to disk with a hard size cap, its structure checked (cheap: central
directory, manifest, PNG headers) and recorded as ``pending``; the response returns at once and
the scoring worker does the rest. Rejected uploads are recorded as ``failed`` with their reason
and count towards the team's quota like any other submission (quota: ``quota_per_day``
submissions per team in any 24 h window). That includes an archive whose validation fails in an
unexpected way: it is rejected with the code ``unreadable-archive`` (HTTP 422), recorded and
counted, and the operator's log names the exception and where it was raised.

With ``Settings.signing_key`` every published record (``/leaderboard.json``, the static site)
carries an HMAC-SHA256 signature over its canonical JSON (:mod:`hwp_bench.results.signature`):
``hwp-bench results verify --key`` checks it offline, ``POST /api/verify`` checks it here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from hwp_leaderboard.archive import inspect_archive
from hwp_leaderboard.database import QuotaExceeded, Store
from hwp_leaderboard.errors import SubmissionError
from hwp_leaderboard.files import ID_RE, FileStore
from hwp_leaderboard.groundtruth import GroundTruth
from hwp_leaderboard.limits import DEFAULT_LIMITS, Limits
from hwp_leaderboard.manifest import SPLITS
from hwp_leaderboard.scoring import ScorerFactory, protocol_scorer, registered_protocols
from hwp_leaderboard.site import public_record, render_detail, render_index
from hwp_leaderboard.worker import Worker, _where

log = logging.getLogger("hwp_leaderboard.server")
VERIFY_MAX_BYTES = 8 * 1024 * 1024


@dataclass
class Settings:
    storage: Path
    database_url: str | None = None  # default: sqlite file in the storage folder
    quota_per_day: int = 5
    limits: Limits = DEFAULT_LIMITS
    workers: int = 1  # scoring threads in this process (0: run `leaderboard worker` separately)
    lease_s: float = 120.0
    max_attempts: int = 3
    poll_s: float = 2.0
    frame_delay_s: float = 0.0
    title: str = "hwp-bench leaderboard"
    allowed_protocols: tuple[str, ...] = field(default_factory=registered_protocols)
    signing_key: bytes | None = None  # signs every published record (HMAC-SHA256)


def _private_record(row: dict) -> dict:
    """What a team sees about its own submission."""
    return {
        "id": row["id"],
        "status": row["status"],
        "reason": row.get("reason"),
        "split": row.get("split"),
        "protocol": row.get("protocol"),
        "method": row.get("method"),
        "created": row["created"],
        "finished": row.get("finished"),
        "attempts": row.get("attempts"),
        "scores": row.get("scores") if row["status"] == "done" else None,
    }


def create_app(
    settings: Settings,
    ground_truth: GroundTruth,
    *,
    scorer_factory: ScorerFactory = protocol_scorer,
):  # noqa: ANN201
    storage = FileStore(settings.storage)
    store = Store(settings.database_url or storage.default_database_url)
    workers = [
        Worker(
            store,
            storage,
            ground_truth,
            scorer_factory=scorer_factory,
            limits=settings.limits,
            lease_s=settings.lease_s,
            max_attempts=settings.max_attempts,
            poll_s=settings.poll_s,
            frame_delay_s=settings.frame_delay_s,
        )
        for _ in range(settings.workers)
    ]
    specs: dict[str, dict] = {}

    def spec_for(split: str):  # noqa: ANN202
        if split not in specs:
            specs[split] = ground_truth.spec(split)
        return specs[split]

    @contextlib.asynccontextmanager
    async def lifespan(app):  # noqa: ANN001, ANN202
        def warm() -> None:  # load the test clips once, before the first upload needs them
            for split in ground_truth.splits():
                with contextlib.suppress(Exception):
                    spec_for(split)

        threading.Thread(target=warm, name="warm-specs", daemon=True).start()
        for w in workers:
            w.start()
        try:
            yield
        finally:
            for w in workers:
                w.shutdown()

    app = FastAPI(
        title=settings.title, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.store = store
    app.state.storage = storage
    app.state.workers = workers
    app.state.settings = settings

    def team_from(request: Request):  # noqa: ANN202
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        team = store.team_for_token(token)
        if team is None:
            raise HTTPException(401, "missing or invalid API token", {"WWW-Authenticate": "Bearer"})
        return team

    # -- public pages ---------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    @app.get("/index.html", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(
            render_index(store.list_submissions(status="done"), title=settings.title)
        )

    @app.get("/submissions/{name}", response_class=HTMLResponse)
    def detail(name: str) -> HTMLResponse:
        sid = name[:-5] if name.endswith(".html") else name
        if not ID_RE.match(sid):
            raise HTTPException(404, "no such submission")
        row = store.get(sid)
        if row is None or row["status"] != "done":
            raise HTTPException(404, "no such submission")
        return HTMLResponse(render_detail(row, storage.samples(sid), title=settings.title))

    @app.get("/samples/{sid}/{name}")
    def sample(sid: str, name: str) -> FileResponse:
        path = storage.sample_path(sid, name)
        row = store.get(sid) if path is not None else None
        if path is None or row is None or row["status"] != "done":
            raise HTTPException(404, "no such sample")
        return FileResponse(path, media_type="image/png")

    @app.get("/leaderboard.json")
    @app.get("/api/leaderboard")
    def leaderboard_json() -> dict:
        rows = store.list_submissions(status="done")
        key = settings.signing_key
        return {"submissions": [public_record(r, signing_key=key) for r in rows if r.get("scores")]}

    @app.post("/api/verify")
    async def verify(request: Request) -> dict:
        """Is this record (or each record of a leaderboard.json) genuine and still current?"""
        if settings.signing_key is None:
            raise HTTPException(404, "this leaderboard does not sign its records")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > VERIFY_MAX_BYTES:
                raise HTTPException(413, f"body over {VERIFY_MAX_BYTES} bytes")
        return await run_in_threadpool(_verify_records, bytes(body))

    def _verify_records(body: bytes) -> dict:
        import json

        from hwp_bench.results.signature import check_signature

        try:
            doc = json.loads(body)
        except RecursionError:
            raise HTTPException(400, "not valid JSON: nested too deeply") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise HTTPException(400, f"not valid JSON: {exc}") from None
        records = (
            doc.get("submissions") if isinstance(doc, dict) and "submissions" in doc else [doc]
        )
        if not isinstance(records, list) or len(records) > 10_000:
            raise HTTPException(400, 'expected a record or {"submissions": [records]}')
        out = []
        for rec in records:
            problems = check_signature(rec, settings.signing_key)
            sid = rec.get("id") if isinstance(rec, dict) else None
            if not problems:
                row = store.get(sid) if isinstance(sid, str) and ID_RE.match(sid) else None
                if row is None or row["status"] != "done":
                    problems = ["signed here, but no longer on the leaderboard"]
                elif public_record(row, signing_key=settings.signing_key) != rec:
                    problems = ["signed here, but the leaderboard now publishes other values"]
            out.append({"id": sid if isinstance(sid, str) else None, "valid": not problems,
                        "problems": problems})  # fmt: skip
        return {"records": out, "valid": all(r["valid"] for r in out)}

    @app.get("/api/spec/{split}")
    def spec(split: str) -> dict:
        if split not in SPLITS or split not in ground_truth.splits():
            raise HTTPException(404, f"unknown split {split!r}")
        return spec_for(split).to_dict()

    @app.get("/api/health")
    def health() -> dict:
        return {"status": "ok", "queue": store.counts()}

    # -- team API -------------------------------------------------------------------------
    @app.post("/api/submissions")
    async def upload(request: Request) -> JSONResponse:
        # Database and file-system work runs in the thread pool so that one upload's fsyncs
        # and zip checks never stall the event loop that is receiving the others.
        team, used = await run_in_threadpool(_auth_and_quota, request)
        limit = settings.limits.max_upload_bytes
        declared = request.headers.get("content-length")
        sid = uuid.uuid4().hex
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await run_in_threadpool(
                _reject,
                team,
                sid,
                "too-large",
                f"upload is {declared} bytes, the limit is {limit}",
                413,
            )
        tmp = storage.incoming_path()
        size = 0
        try:
            with open(tmp, "wb") as fh:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        break
                    fh.write(chunk)
            if size > limit:
                return await run_in_threadpool(
                    _reject,
                    team,
                    sid,
                    "too-large",
                    f"upload exceeds the limit of {limit} bytes",
                    413,
                )
            response = await run_in_threadpool(_accept, team, sid, tmp, size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        for w in workers:
            w.wake.set()
        return response

    def _auth_and_quota(request: Request):  # noqa: ANN202
        team = team_from(request)
        used = store.used_quota(team.id)
        if used >= settings.quota_per_day:
            raise HTTPException(
                429,
                f"quota reached: {used} of {settings.quota_per_day} submissions in the last 24 h",
            )
        return team, used

    def _reject(team, sid: str, code: str, reason: str, http: int) -> JSONResponse:  # noqa: ANN001
        try:
            store.add_submission(
                submission_id=sid,
                team_id=team.id,
                quota=settings.quota_per_day,
                status="failed",
                reason=f"{code}: {reason}",
            )
        except QuotaExceeded as exc:
            raise HTTPException(429, str(exc)) from None
        log.info("upload %s from team %s rejected: %s", sid, team.name, code)
        return JSONResponse(
            {"id": sid, "status": "failed", "code": code, "reason": reason}, status_code=http
        )

    def _accept(team, sid: str, tmp: Path, size: int) -> JSONResponse:  # noqa: ANN001
        try:
            index = inspect_archive(
                tmp,
                spec={s: spec_for(s) for s in ground_truth.splits() if s in SPLITS},
                limits=settings.limits,
                allowed_protocols=settings.allowed_protocols,
                dataset_id=ground_truth.dataset_id,
            )
        except SubmissionError as exc:
            return _reject(team, sid, exc.code, exc.reason, 422)
        except Exception as exc:  # noqa: BLE001 - an upload never gets a free 500
            log.error("upload %s: validation raised %s at %s", sid, type(exc).__name__, _where(exc))
            return _reject(
                team,
                sid,
                "unreadable-archive",
                f"the archive could not be validated ({type(exc).__name__}); it is recorded "
                "as failed and counts towards the quota",
                422,
            )
        storage.accept(tmp, sid)
        try:
            row = store.add_submission(
                submission_id=sid,
                team_id=team.id,
                quota=settings.quota_per_day,
                status="pending",
                split=index.manifest.split,
                protocol=index.manifest.protocol,
                method=index.manifest.method,
                manifest=index.manifest.model_dump(exclude_none=True),
                archive=f"archives/{sid}.zip",
                sha256=index.sha256,
                size_bytes=index.size_bytes,
            )
        except QuotaExceeded as exc:
            with contextlib.suppress(FileNotFoundError):
                storage.archive_path(sid).unlink()
            raise HTTPException(429, str(exc)) from None
        log.info(
            "upload %s from team %s accepted (%s, %d bytes)", sid, team.name, row["split"], size
        )
        body = _private_record(row)
        body["quota"] = {"used": store.used_quota(team.id), "per_day": settings.quota_per_day}
        return JSONResponse(body, status_code=202)

    @app.get("/api/submissions")
    def my_submissions(request: Request) -> dict:
        team = team_from(request)
        rows = store.list_submissions(team_id=team.id)
        return {
            "team": team.name,
            "quota": {"used": store.used_quota(team.id), "per_day": settings.quota_per_day},
            "submissions": [_private_record(r) for r in rows],
        }

    @app.get("/api/submissions/{sid}")
    def my_submission(sid: str, request: Request) -> dict:
        team = team_from(request)
        row = store.get(sid) if ID_RE.match(sid) else None
        if row is None or row["team_id"] != team.id:
            raise HTTPException(404, "no such submission for this team")
        return _private_record(row)

    return app
