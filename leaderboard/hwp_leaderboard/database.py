"""The leaderboard's database: teams, hashed API tokens and submissions with their status.

SQLite (a file, WAL mode) by default; a ``postgresql://`` URL uses psycopg when installed (the
``postgres`` extra). The SQL is plain and portable; the only dialect differences (placeholders,
how a write transaction takes its lock) live in :class:`Database`. Both serialise writers the
same way: SQLite's ``BEGIN IMMEDIATE`` takes the database's write lock, PostgreSQL's write
transactions take one transaction-scoped advisory lock first (it exists before any table does,
so creating the schema from two processes at once is serialised too). Every read-then-write
(quota check and insert, pick and claim) is therefore exact on both. The tests run the store,
the worker and the server against both backends.

Submission life cycle, and why nothing is lost or half-recorded:

* ``pending``: the archive is on disk (written atomically *before* the row exists).
* ``scoring``: a worker claimed it in a transaction, with a lease it keeps renewing.
* ``done`` / ``failed``: scores, or the reason, written in the *same* UPDATE as the status.

A worker that dies mid-scoring leaves ``scoring`` with a lease that runs out; :meth:`Store.
recover_expired` turns it back into ``pending`` and it is scored again. A finishing worker only
writes if it still holds the claim, so a late writer cannot overwrite a newer attempt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATUSES = ("pending", "scoring", "done", "failed")
TOKEN_PREFIX = "hwpl_"

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS teams (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS tokens (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL REFERENCES teams(id),
        token_hash TEXT NOT NULL UNIQUE,
        label TEXT,
        created DOUBLE PRECISION NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS submissions (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL REFERENCES teams(id),
        created DOUBLE PRECISION NOT NULL,
        split TEXT,
        protocol TEXT,
        method TEXT,
        manifest TEXT,
        archive TEXT,
        sha256 TEXT,
        size_bytes BIGINT,
        status TEXT NOT NULL,
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        worker TEXT,
        lease_until DOUBLE PRECISION,
        started DOUBLE PRECISION,
        finished DOUBLE PRECISION,
        scores TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS submissions_team_created ON submissions (team_id, created)",
    "CREATE INDEX IF NOT EXISTS submissions_status ON submissions (status, created)",
]


# The key of the advisory lock every PostgreSQL write transaction takes (any fixed 64-bit
# number; this one spells "hwpl" in ASCII).
_PG_WRITE_LOCK = 0x6877706C


def hash_token(token: str) -> str:
    """Tokens are 256-bit random strings, so one SHA-256 is enough (no salt or KDF needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class QuotaExceeded(Exception):
    def __init__(self, used: int, quota: int) -> None:
        super().__init__(f"quota reached: {used} of {quota} submissions in the last 24 h")
        self.used = used
        self.quota = quota


@dataclass
class Team:
    id: str
    name: str


class Database:
    """A thin connection factory hiding the SQLite / PostgreSQL differences."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            self.kind = "sqlite"
            self.path = Path(url[len("sqlite:///") :])
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif url.startswith(("postgresql://", "postgres://")):
            self.kind = "postgres"
            try:
                import psycopg  # noqa: F401
            except ImportError as exc:  # pragma: no cover - optional extra
                raise RuntimeError(
                    "a PostgreSQL URL needs psycopg: pip install 'hwp-bench[postgres]'"
                ) from exc
        else:
            raise ValueError(
                f"unsupported database URL {url!r} (sqlite:///PATH or postgresql://...)"
            )

    def _connect(self):  # noqa: ANN202
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def sql(self, query: str) -> str:
        return query if self.kind == "sqlite" else query.replace("?", "%s")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """A write transaction that serialises with other writers (so quota checks are exact)."""
        conn = self._connect()
        try:
            if self.kind == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
            else:
                conn.execute("BEGIN")
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_WRITE_LOCK,))
            cur = _Cursor(conn, self)
            yield cur
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    @contextlib.contextmanager
    def read(self) -> Iterator[Any]:
        conn = self._connect()
        try:
            yield _Cursor(conn, self)
        finally:
            conn.close()


class _Cursor:
    def __init__(self, conn: Any, db: Database) -> None:
        self.conn = conn
        self.db = db

    def execute(self, query: str, params: tuple = ()) -> Any:
        return self.conn.execute(self.db.sql(query), params)

    def rows(self, query: str, params: tuple = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(self.db.sql(query), params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def one(self, query: str, params: tuple = ()) -> dict[str, Any] | None:
        rows = self.rows(query, params)
        return rows[0] if rows else None


class Store:
    """Teams, tokens and submissions (see the module docstring for the life cycle)."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        with self.db.transaction() as cur:
            for stmt in _SCHEMA:
                cur.execute(stmt)

    # -- teams and tokens ---------------------------------------------------------------
    def create_team(self, name: str) -> Team:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("team names are 1 to 100 characters")
        team = Team(id=uuid.uuid4().hex, name=name)
        with self.db.transaction() as cur:
            if cur.one("SELECT id FROM teams WHERE name = ?", (name,)):
                raise ValueError(f"team {name!r} already exists")
            cur.execute(
                "INSERT INTO teams (id, name, created) VALUES (?, ?, ?)",
                (team.id, team.name, time.time()),
            )
        return team

    def team_by_name(self, name: str) -> Team | None:
        with self.db.read() as cur:
            row = cur.one("SELECT id, name FROM teams WHERE name = ?", (name,))
        return Team(**row) if row else None

    def teams(self) -> list[dict[str, Any]]:
        with self.db.read() as cur:
            return cur.rows(
                "SELECT t.id, t.name, t.created, "
                "(SELECT COUNT(*) FROM tokens k WHERE k.team_id = t.id AND k.revoked = 0) AS tokens, "
                "(SELECT COUNT(*) FROM submissions s WHERE s.team_id = t.id) AS submissions "
                "FROM teams t ORDER BY t.name"
            )

    def create_token(self, team_name: str, label: str | None = None) -> str:
        """Create an API token for a team; the plain token is returned once and never stored."""
        team = self.team_by_name(team_name)
        if team is None:
            raise ValueError(f"no team named {team_name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO tokens (id, team_id, token_hash, label, created) VALUES (?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, team.id, hash_token(token), label, time.time()),
            )
        return token

    def revoke_tokens(self, team_name: str) -> int:
        team = self.team_by_name(team_name)
        if team is None:
            raise ValueError(f"no team named {team_name!r}")
        with self.db.transaction() as cur:
            cur.execute("UPDATE tokens SET revoked = 1 WHERE team_id = ?", (team.id,))
            row = cur.one("SELECT COUNT(*) AS n FROM tokens WHERE team_id = ?", (team.id,))
        return int(row["n"]) if row else 0

    def team_for_token(self, token: str | None) -> Team | None:
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        with self.db.read() as cur:
            row = cur.one(
                "SELECT t.id, t.name FROM tokens k JOIN teams t ON t.id = k.team_id "
                "WHERE k.token_hash = ? AND k.revoked = 0",
                (hash_token(token),),
            )
        return Team(**row) if row else None

    # -- submissions --------------------------------------------------------------------
    def used_quota(self, team_id: str, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self.db.read() as cur:
            row = cur.one(
                "SELECT COUNT(*) AS n FROM submissions WHERE team_id = ? AND created > ?",
                (team_id, now - 86400.0),
            )
        return int(row["n"])

    def add_submission(
        self,
        *,
        submission_id: str,
        team_id: str,
        quota: int | None,
        status: str,
        reason: str | None = None,
        split: str | None = None,
        protocol: str | None = None,
        method: str | None = None,
        manifest: dict | None = None,
        archive: str | None = None,
        sha256: str | None = None,
        size_bytes: int | None = None,
    ) -> dict[str, Any]:
        """Insert a submission, checking the team's 24 h quota in the same transaction."""
        assert status in ("pending", "failed")
        now = time.time()
        with self.db.transaction() as cur:
            if quota is not None:
                row = cur.one(
                    "SELECT COUNT(*) AS n FROM submissions WHERE team_id = ? AND created > ?",
                    (team_id, now - 86400.0),
                )
                if int(row["n"]) >= quota:
                    raise QuotaExceeded(int(row["n"]), quota)
            cur.execute(
                "INSERT INTO submissions (id, team_id, created, split, protocol, method, manifest, "
                "archive, sha256, size_bytes, status, reason, finished) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    submission_id,
                    team_id,
                    now,
                    split,
                    protocol,
                    method,
                    json.dumps(manifest, sort_keys=True) if manifest is not None else None,
                    archive,
                    sha256,
                    size_bytes,
                    status,
                    reason,
                    now if status == "failed" else None,
                ),
            )
        return self.get(submission_id)

    def get(self, submission_id: str) -> dict[str, Any] | None:
        with self.db.read() as cur:
            row = cur.one(
                "SELECT s.*, t.name AS team FROM submissions s JOIN teams t ON t.id = s.team_id "
                "WHERE s.id = ?",
                (submission_id,),
            )
        return _decode(row) if row else None

    def list_submissions(
        self, *, team_id: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        query = "SELECT s.*, t.name AS team FROM submissions s JOIN teams t ON t.id = s.team_id"
        where, params = [], []
        if team_id is not None:
            where.append("s.team_id = ?")
            params.append(team_id)
        if status is not None:
            where.append("s.status = ?")
            params.append(status)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY s.created, s.id"
        with self.db.read() as cur:
            return [_decode(r) for r in cur.rows(query, tuple(params))]

    def counts(self) -> dict[str, int]:
        with self.db.read() as cur:
            rows = cur.rows("SELECT status, COUNT(*) AS n FROM submissions GROUP BY status")
        out = dict.fromkeys(STATUSES, 0)
        out.update({r["status"]: int(r["n"]) for r in rows})
        return out

    # -- the worker's side --------------------------------------------------------------
    def recover_expired(self, now: float | None = None) -> int:
        """Return claims whose worker stopped renewing its lease to ``pending``."""
        now = time.time() if now is None else now
        # Idle workers poll this: look without the write lock first, so that polling does not
        # compete with uploads for it (the UPDATE below re-checks under the lock).
        with self.db.read() as cur:
            if not cur.one(
                "SELECT id FROM submissions WHERE status = 'scoring' AND lease_until < ? LIMIT 1",
                (now,),
            ):
                return 0
        with self.db.transaction() as cur:
            cur_ = cur.execute(
                "UPDATE submissions SET status = 'pending', worker = NULL, lease_until = NULL "
                "WHERE status = 'scoring' AND lease_until < ?",
                (now,),
            )
            return int(cur_.rowcount or 0)

    def claim(self, worker: str, lease_s: float, max_attempts: int) -> dict[str, Any] | None:
        """Claim the oldest pending submission (or fail one that crashed too often)."""
        while True:
            with self.db.read() as cur:  # an empty queue costs no write lock (see above)
                if not cur.one("SELECT id FROM submissions WHERE status = 'pending' LIMIT 1"):
                    return None
            now = time.time()
            with self.db.transaction() as cur:
                row = cur.one(
                    "SELECT id, attempts FROM submissions WHERE status = 'pending' "
                    "ORDER BY created, id LIMIT 1"
                )
                if row is None:
                    return None
                if int(row["attempts"]) >= max_attempts:
                    cur.execute(
                        "UPDATE submissions SET status = 'failed', finished = ?, reason = ? "
                        "WHERE id = ?",
                        (
                            now,
                            f"scoring stopped unexpectedly {row['attempts']} times (a server "
                            "problem, not your submission); the organisers have been notified",
                            row["id"],
                        ),
                    )
                    continue
                cur.execute(
                    "UPDATE submissions SET status = 'scoring', worker = ?, lease_until = ?, "
                    "attempts = attempts + 1, started = ? WHERE id = ? AND status = 'pending'",
                    (worker, now + lease_s, now, row["id"]),
                )
            return self.get(row["id"])

    def renew(self, submission_id: str, worker: str, lease_s: float) -> bool:
        with self.db.transaction() as cur:
            c = cur.execute(
                "UPDATE submissions SET lease_until = ? "
                "WHERE id = ? AND worker = ? AND status = 'scoring'",
                (time.time() + lease_s, submission_id, worker),
            )
            return bool(c.rowcount)

    def finish(
        self,
        submission_id: str,
        worker: str,
        *,
        status: str,
        scores: dict | None = None,
        reason: str | None = None,
    ) -> bool:
        """Record the outcome in one UPDATE, only if ``worker`` still holds the claim."""
        assert status in ("done", "failed", "pending")
        with self.db.transaction() as cur:
            c = cur.execute(
                "UPDATE submissions SET status = ?, scores = ?, reason = ?, finished = ?, "
                "worker = NULL, lease_until = NULL "
                "WHERE id = ? AND worker = ? AND status = 'scoring'",
                (
                    status,
                    json.dumps(scores, sort_keys=True, allow_nan=False)
                    if scores is not None
                    else None,
                    reason,
                    time.time() if status != "pending" else None,
                    submission_id,
                    worker,
                ),
            )
            return bool(c.rowcount)

    def reset(self, submission_id: str) -> bool:
        """Admin: put a submission back in the queue (e.g. after fixing the scorer)."""
        with self.db.transaction() as cur:
            c = cur.execute(
                "UPDATE submissions SET status = 'pending', attempts = 0, worker = NULL, "
                "lease_until = NULL, scores = NULL, reason = NULL, finished = NULL "
                "WHERE id = ? AND archive IS NOT NULL",
                (submission_id,),
            )
            return bool(c.rowcount)


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    for key in ("manifest", "scores"):
        if row.get(key):
            row[key] = json.loads(row[key])
    return row
