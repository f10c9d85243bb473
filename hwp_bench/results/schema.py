"""Result files: one JSON per (method, preset, dataset, capture, seed).

Design: docs/design.md, section 'Result file'.

Tables are computed from these files only, so a file must say everything that determines its
numbers and must be checkable:

* ``schema``/``schema_version``; ``dataset`` (id, revision, config, capture, split); ``method``
  (id, version, preset, config, ``config_hash``); ``seed``; ``protocol`` (id, params);
* ``metrics`` (names); ``frames``: per-frame values keyed by the frame index (a string, JSON
  keys are strings); ``frame_tags`` (per-frame perturbation tags); ``frames_expected``;
* ``means`` and ``tag_means``: always recomputed from ``frames`` by :func:`finalize_result`
  with the protocol's capture mean (``wildghand-paper`` rounds to 3 decimals), never trusted
  from the caller;
* ``timings`` (``fit_s``, ``render_s_per_frame``, ...), ``peak_memory`` (bytes), ``packages``;
* ``hashes``: SHA-256 of predictions and ground truth (:mod:`hwp_bench.results.hashing`);
* ``notes`` (e.g. frames without a silhouette under ``wildghand-paper``);
* ``integrity``: SHA-256 of the canonical JSON of everything else, so that an edited value is
  detected by :func:`verify_result` even when the editor also fixed the means.

A result is only written when complete (every expected frame scored with every metric):
there is no such thing as a partial result file.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from hwp_bench.io import atomic_write_json
from hwp_bench.io.canonical import canonical_hash

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "ResultError",
    "build_result",
    "canonical_sha256",
    "finalize_result",
    "package_versions",
    "read_result",
    "result_filename",
    "verify_result",
    "write_result",
]

SCHEMA = "hwp-bench-result"
SCHEMA_VERSION = 1
_PACKAGES = ("hwp-bench", "torch", "numpy", "scipy", "scikit-image", "gsplat", "lpips")
_MAX_RESULT_BYTES = 64 * 1024**2


class ResultError(ValueError):
    """A result file is malformed, incomplete or inconsistent."""


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine the numbers (absent ones are left out)."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def result_filename(method: str, preset: str, dataset: str, capture: str, seed: int) -> str:
    """Conventional file name ``<method>__<preset>__<dataset>__<capture>__s<seed>.json``."""
    parts = [method, preset or "default", dataset, capture]
    for p in parts:
        if not p or "/" in p or "\\" in p or p.startswith("."):
            raise ValueError(f"unsafe name component {p!r}")
    return "__".join(parts) + f"__s{int(seed)}.json"


def _protocol_obj(protocol):
    from hwp_bench.metrics.protocols import Protocol, get_protocol

    return protocol if isinstance(protocol, Protocol) else get_protocol(protocol)


def build_result(
    *,
    dataset: Mapping[str, Any],
    method: Mapping[str, Any],
    seed: int,
    protocol,
    frames: Mapping[int, Mapping[str, float]],
    predictions_sha256: str,
    ground_truth_sha256: str,
    frame_tags: Mapping[int, list[str]] | None = None,
    frames_expected: int | None = None,
    timings: Mapping[str, float] | None = None,
    peak_memory: Mapping[str, int] | None = None,
    notes: list[str] | None = None,
    metrics: tuple[str, ...] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble a finalised result dict (means, tag means, integrity computed here).

    ``dataset``: id, revision, config, capture, split. ``method``: id, version, preset,
    config (its ``config_hash`` is added). ``protocol``: an id or a Protocol. ``frames``:
    ``{index: {metric: value}}``.
    """
    proto = _protocol_obj(protocol)
    method = dict(method)
    method.setdefault("config", {})
    method["config_hash"] = canonical_hash(method["config"])
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset": dict(dataset),
        "method": method,
        "seed": int(seed),
        "protocol": proto.to_dict(),
        "metrics": list(metrics or proto.metrics),
        "frames": {str(int(k)): {m: float(v) for m, v in fv.items()} for k, fv in frames.items()},
        "frame_tags": {str(int(k)): sorted(set(v)) for k, v in (frame_tags or {}).items()},
        "frames_expected": int(frames_expected if frames_expected is not None else len(frames)),
        "timings": {k: float(v) for k, v in (timings or {}).items()},
        "peak_memory": {k: int(v) for k, v in (peak_memory or {}).items()},
        "packages": package_versions(),
        "hashes": {
            "predictions": str(predictions_sha256),
            "ground_truth": str(ground_truth_sha256),
        },
        "notes": list(notes or []),
    }
    no_alpha = sum(1 for fv in result["frames"].values() if fv.get("silhouette_missing"))
    if no_alpha and not any("silhouette missing" in n for n in result["notes"]):
        result["notes"].append(
            f"silhouette missing on {no_alpha} of {len(frames)} frames: scored with alpha = 1 "
            f"(protocol {proto.id} expects the method's rendered silhouette)"
        )
    if extra:
        result["extra"] = dict(extra)
    return finalize_result(result)


def _means(result: Mapping[str, Any]) -> tuple[dict, dict]:
    proto = _protocol_obj(result["protocol"]["id"])
    frames = result["frames"]
    metrics = result["metrics"]
    means = {m: proto.capture_mean([fv[m] for fv in frames.values()]) for m in metrics}
    tags: dict[str, list[str]] = {}
    for idx, tlist in result.get("frame_tags", {}).items():
        for t in tlist:
            tags.setdefault(t, []).append(idx)
    tag_means = {
        t: {m: proto.capture_mean([frames[i][m] for i in idxs]) for m in metrics}
        for t, idxs in sorted(tags.items())
    }
    return means, tag_means


def canonical_sha256(result: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``result`` without its ``integrity`` field."""
    body = {k: v for k, v in result.items() if k != "integrity"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_complete(result: Mapping[str, Any]) -> None:
    frames = result["frames"]
    metrics = result["metrics"]
    if not frames:
        raise ResultError("a result needs at least one scored frame")
    if len(frames) != result["frames_expected"]:
        raise ResultError(
            f"{len(frames)} frames scored but {result['frames_expected']} expected: "
            "a partial result is not written"
        )
    for idx, fv in frames.items():
        missing = [m for m in metrics if m not in fv]
        if missing:
            raise ResultError(f"frame {idx} lacks {', '.join(missing)}")
        bad = [m for m, v in fv.items() if not math.isfinite(v)]
        if bad:
            raise ResultError(f"frame {idx} has non-finite {', '.join(bad)}")
    unknown = set(result.get("frame_tags", {})) - set(frames)
    if unknown:
        raise ResultError(f"tags for frames that were not scored: {sorted(unknown)[:5]}")


def finalize_result(result: dict[str, Any]) -> dict[str, Any]:
    """Check completeness, recompute means/tag means and the integrity hash (in place)."""
    _check_complete(result)
    result["means"], result["tag_means"] = _means(result)
    result["integrity"] = {"sha256": canonical_sha256(result)}
    return result


def write_result(path: str | os.PathLike, result: dict[str, Any]) -> Path:
    """Finalise and write ``result`` atomically (a reader sees the whole file or none)."""
    finalize_result(result)
    return atomic_write_json(path, result)


def read_result(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a result file and check its schema (use :func:`verify_result` for values)."""
    p = Path(path)
    if p.stat().st_size > _MAX_RESULT_BYTES:
        raise ResultError(f"{p}: larger than {_MAX_RESULT_BYTES} bytes")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultError(f"{p}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ResultError(f"{p}: not an hwp-bench result file")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ResultError(
            f"{p}: schema version {data.get('schema_version')} (this toolkit reads {SCHEMA_VERSION})"
        )
    for key in ("dataset", "method", "protocol", "metrics", "frames", "means", "hashes"):
        if key not in data:
            raise ResultError(f"{p}: missing field {key!r}")
    return data


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def verify_result(
    result: Mapping[str, Any],
    *,
    predictions_sha256: str | None = None,
    ground_truth_sha256: str | None = None,
) -> list[str]:
    """Problems found in ``result`` (empty list: it checks out).

    Recomputes the means and tag means from the per-frame values, the integrity hash, the
    completeness, and (when given) compares the prediction and ground-truth hashes.
    """
    problems: list[str] = []
    try:
        _check_complete(result)
    except (ResultError, KeyError, TypeError) as exc:
        problems.append(f"incomplete: {exc}")
        return problems
    try:
        means, tag_means = _means(result)
    except (KeyError, ValueError) as exc:
        return problems + [f"cannot recompute means: {exc}"]
    for m, v in means.items():
        got = result["means"].get(m)
        if got is None or not _close(float(got), v):
            problems.append(f"mean {m}: file says {got}, per-frame values give {v}")
    file_tags = result.get("tag_means", {})
    for t, mv in tag_means.items():
        for m, v in mv.items():
            got = file_tags.get(t, {}).get(m)
            if got is None or not _close(float(got), v):
                problems.append(f"tag {t} mean {m}: file says {got}, per-frame values give {v}")
    extra_tags = set(file_tags) - set(tag_means)
    if extra_tags:
        problems.append(f"tag means without tagged frames: {sorted(extra_tags)}")
    recorded = result.get("integrity", {}).get("sha256")
    actual = canonical_sha256(result)
    if recorded != actual:
        problems.append(
            f"integrity hash mismatch (recorded {recorded}, content {actual}): "
            "the file was edited after it was written"
        )
    try:
        proto = _protocol_obj(result["protocol"]["id"])
        if proto.params != result["protocol"].get("params"):
            problems.append(f"protocol {proto.id} parameters differ from this toolkit's definition")
    except KeyError as exc:
        problems.append(str(exc))
    cfg = result["method"].get("config")
    if cfg is not None and result["method"].get("config_hash") != canonical_hash(cfg):
        problems.append("method config_hash does not match the stored config")
    for name, want in (("predictions", predictions_sha256), ("ground_truth", ground_truth_sha256)):
        if want is not None and result["hashes"].get(name) != want:
            problems.append(
                f"{name} hash: file says {result['hashes'].get(name)}, recomputed {want}"
            )
    return problems
