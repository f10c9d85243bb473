"""Keyed signatures (HMAC-SHA256) for result files and leaderboard records.

A result file's ``integrity`` hash is unkeyed: it catches accidental edits, but whoever edits a
value on purpose can recompute it. A signature is an HMAC-SHA256 over the same canonical JSON
(:func:`hwp_bench.io.canonical.canonical_json`, every field except ``signature``) with a secret
key: only the key holder (the leaderboard, an organiser) can make one, and anyone holding the
key, or the server that signed, can check it. It proves "the key holder produced exactly
these values", no more: it says nothing about how the renders were made.

Keys are files of at least 32 random bytes, written as 64+ hex digits (``hwp-bench results
keygen``). A signature names its key by ``key_id`` (a hash of the key, not the key), so a
file signed with another key is reported as such rather than as tampered.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hwp_bench.io.canonical import canonical_json

__all__ = [
    "ALGORITHM",
    "SignatureError",
    "attach_signature",
    "check_signature",
    "key_id",
    "load_key",
    "new_key_text",
    "sign",
]

ALGORITHM = "hmac-sha256"
FIELD = "signature"
MIN_KEY_BYTES = 32
_MAX_KEY_FILE = 4096
_HEX_RE = re.compile(r"[0-9a-fA-F]+")


class SignatureError(ValueError):
    """A key file is unusable (missing, too short, not hex)."""


def new_key_text() -> str:
    """A fresh random key as hex text (32 bytes), to be stored in a file only its owner reads."""
    return secrets.token_hex(MIN_KEY_BYTES)


def parse_key(text: str | bytes) -> bytes:
    """Key bytes from hex text (whitespace ignored); at least 32 bytes."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise SignatureError("a key file holds hex digits only") from None
    digits = "".join(text.split())
    if not digits or not _HEX_RE.fullmatch(digits) or len(digits) % 2:
        raise SignatureError("a key file holds an even number of hex digits only")
    key = bytes.fromhex(digits)
    if len(key) < MIN_KEY_BYTES:
        raise SignatureError(f"the key has {len(key)} bytes; at least {MIN_KEY_BYTES} are needed")
    return key


def load_key(path: str | os.PathLike) -> bytes:
    """Read a key file (see :func:`parse_key`); raise :class:`SignatureError` with the reason."""
    p = Path(path)
    try:
        if p.stat().st_size > _MAX_KEY_FILE:
            raise SignatureError(f"{p}: larger than {_MAX_KEY_FILE} bytes, not a key file")
        raw = p.read_bytes()
    except OSError as exc:
        raise SignatureError(f"{p}: cannot read the key ({exc.strerror or exc})") from None
    try:
        return parse_key(raw)
    except SignatureError as exc:
        raise SignatureError(f"{p}: {exc}") from None


def key_id(key: bytes) -> str:
    """A public name for ``key`` (16 hex digits of a domain-separated hash, not the key)."""
    return hashlib.sha256(b"hwp-bench signing key id\x00" + key).hexdigest()[:16]


def _message(obj: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in obj.items() if k != FIELD}
    return canonical_json(body).encode("utf-8")


def sign(obj: Mapping[str, Any], key: bytes) -> dict[str, str]:
    """The signature block of ``obj`` (every field except ``signature``)."""
    mac = hmac.new(key, _message(obj), hashlib.sha256).hexdigest()
    return {"alg": ALGORITHM, "key_id": key_id(key), "hmac": mac}


def attach_signature(obj: dict[str, Any], key: bytes) -> dict[str, Any]:
    """Add (or replace) ``obj["signature"]`` in place and return ``obj``."""
    obj.pop(FIELD, None)
    obj[FIELD] = sign(obj, key)
    return obj


def check_signature(obj: Any, key: bytes) -> list[str]:
    """Problems with ``obj``'s signature under ``key`` (empty: it is genuine). Never raises."""
    if not isinstance(obj, Mapping):
        return ["not a JSON object"]
    sig = obj.get(FIELD)
    if sig is None:
        return ["not signed (no signature field)"]
    if not isinstance(sig, Mapping) or not all(
        isinstance(sig.get(k), str) for k in ("alg", "key_id", "hmac")
    ):
        return ["signature must be an object with alg, key_id and hmac strings"]
    if sig["alg"] != ALGORITHM:
        return [f"signature algorithm {sig['alg']!r} is not {ALGORITHM}"]
    if sig["key_id"] != key_id(key):
        return [f"signed with another key (key id {sig['key_id']}, this key is {key_id(key)})"]
    try:
        want = hmac.new(key, _message(obj), hashlib.sha256).hexdigest()
    except (TypeError, ValueError, RecursionError) as exc:
        return [f"signature cannot be checked ({type(exc).__name__})"]
    if not hmac.compare_digest(want, sig["hmac"]):
        return ["signature mismatch: the content changed after it was signed"]
    return []
