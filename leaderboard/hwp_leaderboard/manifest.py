"""``manifest.json``: who made a submission, with what, for which split and protocol.

The schema is strict (unknown keys are rejected, lengths bounded, links must be http(s), no
type coercion: ``fit_time_s`` of ``"12"`` or ``true`` is refused, not read as 12 or 1) because
every field ends up on a public web page: a ``javascript:`` link, a megabyte-long name, a NUL
or a right-to-left override that makes a name read as something else must be refused here, not
escaped later. Required: ``method``, ``authors``, ``split``. Everything else is optional and
defaults to what the server scores (the default protocol ``hwp-v3`` and test-pose track
``aligned``: the renders were made from the aligned parameters of the public test spec).
``contact`` is for the organisers
only: it is stored, never published (:func:`hwp_leaderboard.site.public_record`).
"""

from __future__ import annotations

import json
import unicodedata
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL, DEFAULT_TRACK, TRACKS
from hwp_leaderboard.errors import SubmissionError

SPLITS = ("single", "inter")
#: Fields the public pages and ``leaderboard.json`` never show.
PRIVATE_FIELDS = ("contact",)
#: Invisible format characters that are part of ordinary text (zero-width (non-)joiners).
_ALLOWED_FORMAT = {"\u200c", "\u200d"}


def _visible_text(value: str, *, newlines: bool = False) -> str:
    """Refuse control characters (NUL ...), bidirectional overrides (U+202E ...), other
    invisible format characters, lone surrogates and line/paragraph separators."""
    for ch in value:
        cat = unicodedata.category(ch)
        if newlines and ch in "\n\t":
            continue
        if cat in ("Cc", "Cs", "Zl", "Zp") or (cat == "Cf" and ch not in _ALLOWED_FORMAT):
            raise ValueError(
                f"contains the invisible or control character U+{ord(ch):04X} "
                f"({unicodedata.name(ch, cat)})"
            )
    return value


def _short(v: str) -> str:
    return _visible_text(v)


def _long(v: str) -> str:
    return _visible_text(v, newlines=True)


ShortStr = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_short),
]
LongStr = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_long)
]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_short)
]


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
    model_config = ConfigDict(extra="forbid", strict=True)

    id: ShortStr
    revision: ShortStr | None = None


class Manifest(BaseModel):
    """The submission's description; see the module docstring for the rules."""

    model_config = ConfigDict(extra="forbid", strict=True)

    method: ShortStr
    authors: list[ShortStr] = Field(min_length=1, max_length=50)
    split: str
    protocol: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = (
        DEFAULT_PROTOCOL
    )
    # The test poses the renders were made from (docs/tracks.md); shown with every entry.
    test_poses: str = DEFAULT_TRACK
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

    @field_validator("test_poses")
    @classmethod
    def _test_poses(cls, v: str) -> str:
        if v not in TRACKS:
            raise ValueError(f"test_poses must be one of {', '.join(TRACKS)}")
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
        except RecursionError:
            raise SubmissionError(
                "bad-manifest", "manifest.json is not valid JSON: nested too deeply"
            ) from None
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
    except RecursionError:  # a deeply nested value inside a known key
        raise SubmissionError("bad-manifest", "manifest.json is nested too deeply") from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False)[:5]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "manifest"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        raise SubmissionError(
            "bad-manifest", "manifest.json is invalid: " + "; ".join(problems)
        ) from None


def manifest_json(manifest: Manifest) -> str:
    """Canonical JSON of a manifest (what the database stores and the site shows)."""
    return json.dumps(manifest.model_dump(exclude_none=True), sort_keys=True)
