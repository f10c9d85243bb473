"""Canonical JSON and its SHA-256: the one way the toolkit fingerprints a configuration.

Sorted keys, no whitespace, tuples as lists, NaN refused. Both the runner's job identity
(:func:`hwp_bench.methods.config.config_hash`) and the result file's ``method.config_hash``
hash through here, so the same config always gives the same digest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_hash", "canonical_json"]


def canonical_json(obj: Any) -> str:
    """Sorted keys, compact separators, no NaN: the form that is hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)


def canonical_hash(obj: Any) -> str:
    """SHA-256 hex digest of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()
