"""Read a folder of result files into flat records that tables and reports are computed from.

Tables are computed from result files only (docs/design.md, section 'Result file').
A record is one file: which
method (and which ablation variant of it), which dataset, capture, seed and protocol, and its
per-capture means. Files that are not hwp-bench results are reported, never silently used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwp_bench.metrics.conventions import LEGACY_TRACK
from hwp_bench.results.schema import (
    MAX_RESULT_BYTES,
    SCHEMA,
    ResultError,
    loads_result,
    verify_result,
)

#: WildGHand's ablation switches and their full-method values (methods/wildghand/config.py).
#: Only WildGHand has them: a baseline's config never makes it an ablation variant. Files
#: without a key count as the full method (the switches are as old as the result files).
ABLATION_DEFAULTS: dict[str, Any] = {
    "dpd": True,
    "pao": "full",
    "head_offsets": True,
    "head_refine": True,
}

#: Training options of the Gaussian trainer that WildGHand and the Gaussian baselines share
#: (docs/fidelity.md), at today's defaults. A run with another value is its own variant, for
#: WildGHand and the baselines alike, so that a table never averages it with the default runs.
#: This module cannot import the method packages: a test ties these values to
#: ``wildghand.config.DEFAULT_CONFIG``.
TRAINING_OPTION_DEFAULTS: dict[str, Any] = {
    "colour_region": "frame",
    "colour_hand_from": 0.3,
    "train_poses": "aligned",
    "refine_frames": False,
}

#: What a Gaussian-trainer config without the key meant: the behaviour from before the option
#: existed (``wildghand.config.NEUTRAL_OPTIONS``; ``train_poses``: every fit before the option
#: started from the dataset's estimates). Not the default: defaults may move on, old files
#: keep what they measured.
TRAINING_OPTION_LEGACY: dict[str, Any] = {
    "colour_region": "frame",
    "colour_hand_from": 1.0,
    "train_poses": "estimated",
    "refine_frames": False,  # before the option, no per-frame corrections
}

#: Training options whose default is the preset's (``wildghand.config.PRESETS``): a Gaussian
#: trainer's run at another value is its own variant (a quick run at ``subdivision=1``, the
#: preset's value until 2026-12-07, never averages with one at today's 2). Every result file
#: records the key; a preset not listed here is not judged on it.
PRESET_OPTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "subdivision": {"quick": 2, "paper": 3},
}

#: A key every Gaussian-trainer config has recorded since the first result files; mean-color
#: or the perfect avatar have none of the training options and are never a variant.
_GAUSSIAN_TRAINER_KEY = "w_rec"
#: The training options a method that is not a Gaussian trainer may record (Handy's texture
#: fit starts from the same training poses and takes the same per-frame corrections): judged
#: on their own where a config has them.
_POSE_OPTIONS = ("train_poses", "refine_frames")


def _shown(key: str, value: Any) -> str:
    shown = "off" if value is False else "on" if value is True else str(value)
    return f"{key}={shown}"


def _variant_parts(label: str) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    for item in str(label).split(","):
        key, _, value = item.strip().partition("=")
        try:
            parts[key.strip()] = float(value)
        except ValueError:
            parts[key.strip()] = value.strip()
    return parts


def same_variant(label: str, wanted: str) -> bool:
    """Whether a variant label names the variant a user typed, e.g. ``dpd_dropout=0`` for the
    label ``dpd_dropout=0.0``: labels show a value as the config holds it, so a float option
    set as ``0`` reads back as ``0.0``. Keys match in any order, numbers by value."""
    if label == wanted:
        return True
    return _variant_parts(label) == _variant_parts(wanted)


def variant_of(
    config: dict[str, Any],
    method: str = "wildghand",
    overrides: Iterable[str] = (),
    preset: str | None = None,
) -> str:
    """Label of the variant a config describes: ``full`` or e.g. ``dpd=off,pao=binary``.

    What counts: the ablation switches (WildGHand's), the shared training options (compared
    with today's defaults), and every other key the run set on the command line
    (``overrides``, the ``--set key=value`` list a result file records): a run with, say,
    ``--set pao_mu=region`` measured something else than the full method and must never be
    averaged with it. Keys of the preset itself are not overrides. A baseline is ``full``
    unless a training option differs from today's default or it was run with an override.
    """
    parts = []
    known: set[str] = set()
    if method == "wildghand":
        known |= set(ABLATION_DEFAULTS)
        parts += [
            _shown(key, config[key])
            for key, full in ABLATION_DEFAULTS.items()
            if key in config and config[key] != full
        ]
    if _GAUSSIAN_TRAINER_KEY in config:
        options = TRAINING_OPTION_DEFAULTS
    elif _POSE_OPTIONS[0] in config:
        options = {k: TRAINING_OPTION_DEFAULTS[k] for k in _POSE_OPTIONS}
    else:
        options = {}
    known |= set(options)
    for key, default in options.items():
        value = config.get(key, TRAINING_OPTION_LEGACY[key])
        if value != default:
            parts.append(_shown(key, value))
    if _GAUSSIAN_TRAINER_KEY in config:
        for key, by_preset in PRESET_OPTION_DEFAULTS.items():
            if preset in by_preset and key in config:
                known.add(key)
                if config[key] != by_preset[preset]:
                    parts.append(_shown(key, config[key]))
    others = {}
    for item in overrides:
        key, _, raw = str(item).partition("=")
        key = key.strip()
        if key and key not in known:
            others[key] = config.get(key, raw.strip())
    parts += [_shown(key, others[key]) for key in sorted(others)]
    return ",".join(parts) or "full"


def is_clean_dataset(dataset_id: str) -> bool:
    """The clean twin of HWP-Synth (the oracle's training data) is named ``...-clean``."""
    return str(dataset_id).endswith("-clean")


@dataclass
class ResultRecord:
    """One result file, flattened."""

    method: str
    variant: str
    preset: str
    dataset: str
    capture: str
    seed: int
    protocol: str
    means: dict[str, float]
    config: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, dict[str, float]] = field(default_factory=dict)
    path: str = ""
    # The test-pose track the renders were made from (files from before tracks: estimated).
    track: str = LEGACY_TRACK

    @property
    def clean(self) -> bool:
        return is_clean_dataset(self.dataset)


def _overrides(method: dict[str, Any]) -> list[str]:
    """The ``--set`` list a result file records (absent in files from before it, or not a list
    of strings in a malformed one: then no override is assumed)."""
    raw = method.get("overrides")
    if not isinstance(raw, list):
        return []
    return [x for x in raw if isinstance(x, str)]


def record_from_result(result: dict[str, Any], path: str | os.PathLike = "") -> ResultRecord:
    """Flatten a parsed result dict (see :mod:`hwp_bench.results.schema`)."""
    method = result["method"]
    dataset = result["dataset"]
    config = dict(method.get("config") or {})
    return ResultRecord(
        method=str(method["id"]),
        variant=variant_of(
            config, str(method["id"]), _overrides(method), str(method.get("preset") or "")
        ),
        preset=str(method.get("preset") or "default"),
        dataset=str(dataset.get("id", "")),
        capture=str(dataset["capture"]),
        seed=int(result["seed"]),
        protocol=str(result["protocol"]["id"]),
        means={k: float(v) for k, v in result["means"].items()},
        config=config,
        extra=dict(result.get("extra") or {}),
        frames=result.get("frames", {}),
        path=str(path),
        track=str(dataset.get("test_poses") or LEGACY_TRACK),
    )


def iter_result_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Every ``*.json`` under the given files/folders, sorted (symlinks are not followed)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            for root, _dirs, files in os.walk(p):
                out.extend(Path(root) / f for f in files if f.endswith(".json"))
        else:
            raise FileNotFoundError(f"no result file or folder at {p}")
    return sorted(set(out))


class InvalidResultsError(ResultError):
    """Result files that fail verification: a table made from them would mislead."""

    def __init__(self, invalid: list[tuple[str, list[str]]]) -> None:
        self.invalid = invalid
        lines = [f"{path}: {'; '.join(problems[:3])}" for path, problems in invalid]
        super().__init__(
            f"{len(invalid)} result file(s) fail verification (see `hwp-bench results verify`); "
            "fix or remove them:\n  " + "\n  ".join(lines)
        )


@dataclass
class Collection:
    """What :func:`collect_results` found: verified records, files that failed, other JSON."""

    records: list[ResultRecord] = field(default_factory=list)
    invalid: list[tuple[str, list[str]]] = field(default_factory=list)  # (path, problems)
    ignored: list[str] = field(default_factory=list)  # JSON files that are not results

    def raise_for_invalid(self) -> list[ResultRecord]:
        """The records, or :class:`InvalidResultsError` naming every file that failed."""
        if self.invalid:
            raise InvalidResultsError(self.invalid)
        return self.records


def _check_file(path: Path) -> tuple[dict[str, Any] | None, list[str] | None]:
    """``(result, None)`` for a verified result, ``(None, problems)`` for a failed one, and
    ``(None, None)`` for a JSON file that does not claim to be a result."""
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            return None, [f"larger than {MAX_RESULT_BYTES} bytes"]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [f"unreadable ({exc.strerror or exc})"]
    try:
        head = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # A damaged result cannot be told apart from a damaged manifest: both are refused.
        return None, [f"not valid JSON ({type(exc).__name__})"]
    if not isinstance(head, dict) or head.get("schema") != SCHEMA:
        return None, None  # run manifests, configs, sweep summaries live beside results
    try:
        result = loads_result(raw, str(path))
    except ResultError as exc:
        return None, [str(exc).removeprefix(f"{path}: ")]
    problems = verify_result(result)
    if problems:
        return None, problems
    return result, None


def collect_results(paths: Iterable[str | os.PathLike]) -> Collection:
    """Every result file under ``paths``, each verified before it is used.

    Verified means: schema types, finite numbers, means and tag means recomputed from the
    per-frame values, integrity hash (:func:`hwp_bench.results.schema.verify_result`). A file
    that fails is listed in ``invalid`` with its problems, never turned into a record.
    """
    out = Collection()
    for f in iter_result_files(paths):
        result, problems = _check_file(f)
        if problems is not None:
            out.invalid.append((str(f), problems))
        elif result is None:
            out.ignored.append(str(f))
        else:
            try:
                out.records.append(record_from_result(result, f))
            except (KeyError, TypeError, ValueError) as exc:  # schema-checked: not expected
                out.invalid.append((str(f), [f"cannot be read into a record ({exc})"]))
    return out


def collect(paths: Iterable[str | os.PathLike]) -> tuple[list[ResultRecord], list[str]]:
    """Records of the verified result files under ``paths`` and the files that failed.

    The second list names each result file that failed verification (or a ``.json`` that is
    not valid JSON) with its problems; JSON files that are not results are skipped silently.
    Callers that make tables should refuse when it is not empty
    (:meth:`Collection.raise_for_invalid`); :func:`collect_results` gives the full picture.
    """
    got = collect_results(paths)
    return got.records, [f"{p}: {'; '.join(problems[:3])}" for p, problems in got.invalid]
