"""``manifest.json``: who made a submission, with what, for which split and protocol.

The schema is strict (unknown keys are rejected, lengths bounded, links must be http(s)) because
every field ends up on a public web page: a ``javascript:`` link or a megabyte-long name must be
refused here, not escaped later. Required: ``method``, ``authors``, ``split``. Everything else
is optional and defaults to what the server scores (protocol ``hwp-v1``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL
from hwp_leaderboard.errors import SubmissionError

SPLITS = ("single", "inter")

ShortStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongStr = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


def _check_url(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    lower = value.lower()
    if not (lower.startswith("https://") or lower.startswith("http://")):
        raise ValueError("links must start with http:// or https://")
    if any(c in value for c in ' "<>\\\n\r\t'):
        raise ValueError("links may not contain spaces, quotes or angle brackets")
    return value


class DatasetRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ShortStr
    revision: ShortStr | None = None


class Manifest(BaseModel):
    """The submission's description; see the module docstring for the rules."""

    model_config = ConfigDict(extra="forbid")

    method: ShortStr
    authors: list[ShortStr] = Field(min_length=1, max_length=50)
    split: str
    protocol: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = (
        DEFAULT_PROTOCOL
    )
    paper_url: Url | None = None
    code_url: Url | None = None
    dataset: DatasetRef | None = None
    hardware: ShortStr | None = None
    fit_time_s: float | None = Field(default=None, ge=0, le=1e9)
    method_version: ShortStr | None = None
    description: LongStr | None = None
    contact: ShortStr | None = None

    @field_validator("split")
    @classmethod
    def _split(cls, v: str) -> str:
        if v not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}")
        return v

    @field_validator("paper_url", "code_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return _check_url(v)


def parse_manifest(data: bytes | str | dict[str, Any]) -> Manifest:
    """Parse and validate a manifest; raise :class:`SubmissionError` (``bad-manifest``)."""
    if isinstance(data, bytes | str):
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SubmissionError(
                "bad-manifest", f"manifest.json is not valid JSON: {exc}"
            ) from None
    else:
        obj = data
    if not isinstance(obj, dict):
        raise SubmissionError("bad-manifest", "manifest.json must hold a JSON object")
    try:
        return Manifest.model_validate(obj)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "manifest"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        raise SubmissionError(
            "bad-manifest", "manifest.json is invalid: " + "; ".join(problems)
        ) from None


def manifest_json(manifest: Manifest) -> str:
    """Canonical JSON of a manifest (what the database stores and the site shows)."""
    return json.dumps(manifest.model_dump(exclude_none=True), sort_keys=True)
