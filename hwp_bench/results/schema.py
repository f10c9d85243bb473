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
* ``unscored_frames`` (only when there are any): test frames whose ground truth has nothing
  to score (no hand pixel: a video frame the hands left), ``{index: reason}``; they are the
  same for every method, are not in ``frames`` and do not count in ``frames_expected``;
* ``integrity``: SHA-256 of the canonical JSON of everything else, computed over exactly
  what is written (the result is turned into its JSON form first). It catches *accidental*
  edits (a value changed by hand, a damaged copy, a bad merge), even when the means were
  fixed too; it is not a seal: whoever edits a value on purpose can recompute it. Results
  that must be trusted carry a keyed ``signature`` (HMAC-SHA256,
  :mod:`hwp_bench.results.signature`), which only the key holder can make.

Reading is strict (:func:`loads_result`): UTF-8 JSON without NaN/Infinity or duplicate keys,
and every field the toolkit reads has its type checked (:func:`schema_problems`) before any
value is used.

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
import re
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from hwp_bench.io import atomic_write_text
from hwp_bench.io.canonical import canonical_hash, canonical_json

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "ResultError",
    "build_result",
    "canonical_sha256",
    "finalize_result",
    "loads_result",
    "package_versions",
    "read_result",
    "result_filename",
    "schema_problems",
    "verify_result",
    "write_result",
]

SCHEMA = "hwp-bench-result"
SCHEMA_VERSION = 1
_PACKAGES = ("hwp-bench", "torch", "numpy", "scipy", "scikit-image", "gsplat", "lpips")
MAX_RESULT_BYTES = 64 * 1024**2
_MAX_RESULT_BYTES = MAX_RESULT_BYTES  # old private name
#: Fields computed from the others; never taken from the caller.
_DERIVED = ("means", "tag_means", "integrity", "signature")
#: Frame keys are decimal frame indices written by the toolkit: ASCII digits, no sign, no padding.
_INDEX_RE = re.compile(r"0|[1-9][0-9]{0,8}")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")


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


def _plain(obj: Any, where: str = "result") -> Any:
    """``obj`` as the JSON a reader will parse back: string keys, lists, plain finite numbers.

    The integrity hash is computed over this form, so what is hashed is exactly what a reader
    of the file sees (integer keys, for instance, become strings and sort as strings).
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ResultError(f"{where}: non-finite number {obj} (JSON cannot hold it)")
        return float(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, np.generic):
        return _plain(obj.item(), where)
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist(), where)
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (str, int, np.integer)):
                raise ResultError(f"{where}: key {k!r} is not a string or an integer")
            key = k if isinstance(k, str) else str(int(k))
            if key in out:
                raise ResultError(f"{where}: two keys read as {key!r} once written")
            out[key] = _plain(v, f"{where}.{key}")
        return out
    if isinstance(obj, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise ResultError(f"{where}: a {type(obj).__name__} cannot be stored in a result file")


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
    unscored: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """Assemble a finalised result dict (means, tag means, integrity computed here).

    ``dataset``: id, revision, config, capture, split. ``method``: id, version, preset,
    config (its ``config_hash`` is added). ``protocol``: an id or a Protocol. ``frames``:
    ``{index: {metric: value}}``. ``unscored``: ``{index: reason}`` of test frames left out
    because their ground truth has nothing to score (:func:`~hwp_bench.metrics.split_scorable`).
    """
    proto = _protocol_obj(protocol)
    method = dict(method)
    method["config"] = _plain(method.get("config") or {}, "method.config")
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
    if unscored:
        result["unscored_frames"] = {str(int(k)): str(v) for k, v in sorted(unscored.items())}
        result["notes"].append(
            f"{len(unscored)} test frames not scored: their ground truth has no hand pixel to "
            f"score (frames {', '.join(str(int(k)) for k in sorted(unscored)[:10])}"
            f"{', ...' if len(unscored) > 10 else ''}; reasons in unscored_frames)"
        )
    no_alpha = sum(1 for fv in result["frames"].values() if fv.get("silhouette_missing"))
    if no_alpha and not any("silhouette missing" in n for n in result["notes"]):
        result["notes"].append(
            f"silhouette missing on {no_alpha} of {len(frames)} frames: scored with alpha = 1 "
            f"(protocol {proto.id} expects the method's rendered silhouette)"
        )
    if extra:
        result["extra"] = dict(extra)
    return finalize_result(result)


def _means(result: Mapping[str, Any], proto=None) -> tuple[dict, dict]:
    proto = proto or _protocol_obj(result["protocol"]["id"])
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
    """SHA-256 of the canonical JSON of ``result`` without ``integrity`` and ``signature``.

    It detects accidental edits (a hand-edited value, a truncated copy, a merge gone wrong):
    anyone can recompute it after a deliberate edit. For results that must be trusted, see the
    keyed signature in :mod:`hwp_bench.results.signature`.
    """
    body = {k: v for k, v in result.items() if k not in ("integrity", "signature")}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _int_keys(obj: Any) -> tuple[Any, bool]:
    """``obj`` with dicts whose keys are all frame indices keyed by ints again (legacy hash)."""
    if isinstance(obj, dict):
        changed = False
        items = []
        for k, v in obj.items():
            v2, c = _int_keys(v)
            changed |= c
            items.append((k, v2))
        if items and all(isinstance(k, str) and _INDEX_RE.fullmatch(k) for k, _ in items):
            return {int(k): v for k, v in items}, True
        return dict(items), changed
    if isinstance(obj, list):
        pairs = [_int_keys(v) for v in obj]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    return obj, False


def _legacy_sha256(result: Mapping[str, Any]) -> str | None:
    """The hash files written before hashes were taken over the written form carry.

    Those hashed ``extra`` (WildGHand's per-frame ``diagnostics.omega``) while its keys were
    still integers, which sort differently from the strings a reader sees. Recomputing it that
    way keeps those genuine files verifiable; it is no weaker than the current hash.
    """
    extra = result.get("extra")
    if not isinstance(extra, dict):
        return None
    legacy_extra, changed = _int_keys(extra)
    if not changed:
        return None
    body = {k: v for k, v in result.items() if k not in ("integrity", "signature")}
    body["extra"] = legacy_extra
    try:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
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
    both = set(result.get("unscored_frames") or {}) & set(frames)
    if both:
        raise ResultError(f"frames both scored and unscored: {sorted(both)[:5]}")
    unknown = set(result.get("frame_tags", {})) - set(frames)
    if unknown:
        raise ResultError(f"tags for frames that were not scored: {sorted(unknown)[:5]}")


def finalize_result(result: dict[str, Any]) -> dict[str, Any]:
    """Check completeness, recompute means/tag means and the integrity hash (in place).

    The result is first turned into exactly what its JSON file will hold (:func:`_plain`), so
    the hash is over the written form and a reader recomputes the same digest.
    """
    for key, fv in (result.get("frames") or {}).items():
        bad = [m for m, v in fv.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            raise ResultError(f"frame {key} has non-finite {', '.join(bad)}")
    body = _plain({k: v for k, v in result.items() if k not in _DERIVED})
    _check_complete(body)
    body["means"], body["tag_means"] = _means(body)
    body["integrity"] = {"sha256": canonical_sha256(body)}
    result.clear()
    result.update(body)
    return result


def _result_text(result: Mapping[str, Any]) -> str:
    return json.dumps(result, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_result(path: str | os.PathLike, result: dict[str, Any]) -> Path:
    """Finalise and write ``result`` atomically (a reader sees the whole file or none).

    The text is parsed back before it is written and must carry its own hash: what is hashed
    is what is on disk.
    """
    finalize_result(result)
    text = _result_text(result)
    if canonical_sha256(json.loads(text)) != result["integrity"]["sha256"]:
        raise ResultError("the serialised result does not match its integrity hash (a bug)")
    return atomic_write_text(path, text)


# ---------------------------------------------------------------------------- reading


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a number a result file may hold")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} overflows a float")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"key {dup!r} appears twice in one object")
    return out


def loads_result(raw: bytes | str, name: str = "result") -> dict[str, Any]:
    """Parse result JSON strictly and check its schema; raise :class:`ResultError`.

    Strict: UTF-8, no NaN/Infinity (not even as ``1e999``), no duplicate keys, bounded
    nesting; then :func:`schema_problems` (types of every field the toolkit reads).
    """
    if len(raw) > MAX_RESULT_BYTES:
        raise ResultError(f"{name}: larger than {MAX_RESULT_BYTES} bytes")
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
        data = json.loads(
            text,
            parse_constant=_no_constants,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        raise ResultError(f"{name}: not valid JSON (nested too deeply)") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultError(f"{name}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ResultError(f"{name}: not an hwp-bench result file")
    if data.get("schema_version") != SCHEMA_VERSION or isinstance(data["schema_version"], bool):
        raise ResultError(
            f"{name}: schema version {data.get('schema_version')!r} (this toolkit reads "
            f"{SCHEMA_VERSION})"
        )
    problems = schema_problems(data)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ResultError(f"{name}: " + "; ".join(problems[:3]) + more)
    return data


def read_result(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a result file and check its schema (use :func:`verify_result` for values)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_RESULT_BYTES:
            raise ResultError(f"{p}: larger than {MAX_RESULT_BYTES} bytes")
        raw = p.read_bytes()
    except OSError as exc:
        raise ResultError(f"{p}: cannot read ({exc.strerror or exc})") from None
    return loads_result(raw, str(p))


def _is_num(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return abs(v) < 2**1000  # converts to a float without overflow
    return isinstance(v, float) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(v), "null" if v is None else "a number" if _is_num(v) else type(v).__name__
    )


def schema_problems(data: Any) -> list[str]:
    """Type problems in a parsed result (empty: every field the toolkit reads is usable).

    Checked before any value is used, so that a string mean, a list of frames or a boolean
    seed is reported with its field instead of being coerced or crashing a table.
    """
    if not isinstance(data, dict):
        return [f"the file holds {_kind(data)}, not a result object"]
    out: list[str] = []

    def field(obj: dict, key: str, want: type, what: str, where: str, optional=False):  # noqa: ANN202
        if key not in obj:
            if not optional:
                out.append(f"missing field {where}{key!r}")
            return None
        v = obj[key]
        ok = isinstance(v, want) and not (isinstance(v, bool) and want is not bool)
        if not ok:
            out.append(f"{where}{key} must be {what}, not {_kind(v)}")
            return None
        return v

    def numbers(obj: Any, where: str, *, ints: bool = False) -> None:
        if not isinstance(obj, dict):
            out.append(f"{where} must be an object, not {_kind(obj)}")
            return
        bad = [k for k, v in obj.items() if not (_is_int(v) if ints else _is_num(v))]
        if bad:
            what = "integers" if ints else "finite numbers"
            out.append(f"{where} must hold {what}: {', '.join(map(repr, bad[:3]))} do not")

    if data.get("schema") != SCHEMA:
        return [f"schema is {data.get('schema')!r}, not {SCHEMA!r}"]
    if not _is_int(data.get("schema_version")) or data["schema_version"] != SCHEMA_VERSION:
        return [f"schema_version is {data.get('schema_version')!r}, not {SCHEMA_VERSION}"]
    ds = field(data, "dataset", dict, "an object", "")
    if ds is not None:
        for key in ("id", "capture"):
            if field(ds, key, str, "a string", "dataset.") == "":
                out.append(f"dataset.{key} is empty")
    me = field(data, "method", dict, "an object", "")
    if me is not None:
        if field(me, "id", str, "a string", "method.") == "":
            out.append("method.id is empty")
        if me.get("preset") is not None:
            field(me, "preset", str, "a string", "method.")
        field(me, "config", dict, "an object", "method.", optional=True)
        field(me, "config_hash", str, "a string", "method.", optional=True)
    field(data, "seed", int, "an integer", "")
    pr = field(data, "protocol", dict, "an object", "")
    if pr is not None:
        field(pr, "id", str, "a string", "protocol.")
        field(pr, "params", dict, "an object", "protocol.")
    metrics = field(data, "metrics", list, "a list", "")
    if metrics is not None:
        if not metrics or not all(isinstance(m, str) and m for m in metrics):
            out.append("metrics must be a non-empty list of names")
            metrics = None
        elif len(set(metrics)) != len(metrics):
            out.append("metrics lists a name twice")
    frames = field(data, "frames", dict, "an object keyed by frame index", "")
    if frames is not None:
        if not frames:
            out.append("frames is empty")
        bad_keys = [k for k in frames if not _INDEX_RE.fullmatch(k)]
        if bad_keys:
            out.append(f"frames keys must be frame indices: {', '.join(map(repr, bad_keys[:3]))}")
        for k, fv in list(frames.items()):
            before = len(out)
            numbers(fv, f"frames.{k}")
            if len(out) > before and len(out) >= 10:
                break
    tags = field(data, "frame_tags", dict, "an object", "", optional=True)
    if tags is not None:
        bad = [
            k
            for k, v in tags.items()
            if not (isinstance(v, list) and all(isinstance(t, str) for t in v))
        ]
        if bad:
            out.append(f"frame_tags must map frames to lists of tags: {bad[:3]} do not")
    unscored = field(data, "unscored_frames", dict, "an object", "", optional=True)
    if unscored is not None:
        bad = [
            k for k, v in unscored.items() if not (_INDEX_RE.fullmatch(k) and isinstance(v, str))
        ]
        if bad:
            out.append(f"unscored_frames must map frame indices to reasons: {bad[:3]} do not")
        elif frames is not None and set(unscored) & set(frames):
            out.append("unscored_frames names frames that were scored")
    if field(data, "frames_expected", int, "an integer", "") is not None:
        if data["frames_expected"] < 1:
            out.append("frames_expected must be at least 1")
    if "means" not in data:
        out.append("missing field 'means'")
    else:
        numbers(data["means"], "means")
    tm = field(data, "tag_means", dict, "an object", "", optional=True)
    if tm is not None:
        for t, mv in list(tm.items())[:50]:
            numbers(mv, f"tag_means.{t}")
    if "timings" in data:
        numbers(data["timings"], "timings")
    if "peak_memory" in data:
        numbers(data["peak_memory"], "peak_memory", ints=True)
    hashes = field(data, "hashes", dict, "an object", "")
    if hashes is not None:
        for key in ("predictions", "ground_truth"):
            field(hashes, key, str, "a string", "hashes.", optional=True)
    notes = field(data, "notes", list, "a list", "", optional=True)
    if notes is not None and not all(isinstance(n, str) for n in notes):
        out.append("notes must be a list of strings")
    integ = field(data, "integrity", dict, "an object", "")
    if integ is not None:
        digest = field(integ, "sha256", str, "a string", "integrity.")
        if digest is not None and not _HEX64_RE.fullmatch(digest):
            out.append("integrity.sha256 is not a SHA-256 hex digest")
        if set(integ) - {"sha256"}:  # the one field no hash covers: nothing may hide there
            out.append(f"integrity holds unknown fields {sorted(integ)[:3]}")
    field(data, "extra", dict, "an object", "", optional=True)
    field(data, "signature", dict, "an object", "", optional=True)
    if data.get("created") is not None:
        field(data, "created", str, "a string", "")
    return out


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def verify_result(
    result: Mapping[str, Any],
    *,
    predictions_sha256: str | None = None,
    ground_truth_sha256: str | None = None,
) -> list[str]:
    """Problems found in ``result`` (empty list: it checks out). Never raises.

    Checks the types of every field (:func:`schema_problems`), the completeness, recomputes
    the means and tag means from the per-frame values and the integrity hash, and (when
    given) compares the prediction and ground-truth hashes.
    """
    problems = schema_problems(result)
    if problems:
        return problems
    try:
        _check_complete(result)
    except ResultError as exc:
        return [f"incomplete: {exc}"]
    try:
        proto = _protocol_obj(result["protocol"]["id"])
        means, tag_means = _means(result, proto)
    except Exception as exc:  # noqa: BLE001 - unknown or unavailable protocol, bad values
        return [f"cannot recompute means: {type(exc).__name__}: {exc}"]
    file_means = result["means"]
    for m, v in means.items():
        got = file_means.get(m)
        if got is None or not _close(float(got), v):
            problems.append(f"mean {m}: file says {got}, per-frame values give {v}")
    stray = sorted(set(file_means) - set(means))
    if stray:
        problems.append(f"means for metrics the file does not list: {stray[:5]}")
    file_tags = result.get("tag_means", {})
    for t, mv in tag_means.items():
        for m, v in mv.items():
            got = file_tags.get(t, {}).get(m)
            if got is None or not _close(float(got), v):
                problems.append(f"tag {t} mean {m}: file says {got}, per-frame values give {v}")
    extra_tags = set(file_tags) - set(tag_means)
    if extra_tags:
        problems.append(f"tag means without tagged frames: {sorted(extra_tags)[:5]}")
    recorded = result["integrity"]["sha256"]
    try:
        actual = canonical_sha256(result)
    except (ValueError, TypeError, RecursionError) as exc:
        actual = f"<cannot be computed: {type(exc).__name__}>"
    if recorded != actual and recorded != _legacy_sha256(result):
        problems.append(
            f"integrity hash mismatch (recorded {recorded}, content {actual}): "
            "the file was edited after it was written"
        )
    if canonical_json(proto.params) != canonical_json(result["protocol"]["params"]):
        problems.append(f"protocol {proto.id} parameters differ from this toolkit's definition")
    cfg = result["method"].get("config")
    if cfg is not None and result["method"].get("config_hash") != canonical_hash(cfg):
        problems.append("method config_hash does not match the stored config")
    for name, want in (("predictions", predictions_sha256), ("ground_truth", ground_truth_sha256)):
        if want is not None and result["hashes"].get(name) != want:
            problems.append(
                f"{name} hash: file says {result['hashes'].get(name)}, recomputed {want}"
            )
    return problems
