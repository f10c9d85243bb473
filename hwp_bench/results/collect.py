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

from hwp_bench.results.schema import ResultError, read_result

#: WildGHand's ablation switches and their full-method values (methods/wildghand/config.py).
ABLATION_DEFAULTS: dict[str, Any] = {
    "dpd": True,
    "pao": "full",
    "head_offsets": True,
    "head_refine": True,
}


def variant_of(config: dict[str, Any]) -> str:
    """Label of the ablation variant a config describes: ``full`` or ``dpd=off,pao=binary``.

    Only the ablation switches count (other keys, such as the learning rate, are part of the
    preset). A config without those keys (any baseline) is ``full``.
    """
    parts = []
    for key, full in ABLATION_DEFAULTS.items():
        if key not in config:
            continue
        value = config[key]
        if value != full:
            shown = "off" if value is False else "on" if value is True else str(value)
            parts.append(f"{key}={shown}")
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

    @property
    def clean(self) -> bool:
        return is_clean_dataset(self.dataset)


def record_from_result(result: dict[str, Any], path: str | os.PathLike = "") -> ResultRecord:
    """Flatten a parsed result dict (see :mod:`hwp_bench.results.schema`)."""
    method = result["method"]
    dataset = result["dataset"]
    config = dict(method.get("config") or {})
    return ResultRecord(
        method=str(method["id"]),
        # Only WildGHand has ablation switches; a baseline's config never makes it a variant.
        variant=variant_of(config) if str(method["id"]) == "wildghand" else "full",
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


def collect(paths: Iterable[str | os.PathLike]) -> tuple[list[ResultRecord], list[str]]:
    """Records of every result file under ``paths`` and a list of skipped files with reasons.

    JSON files that are not hwp-bench results (run manifests, configs) are skipped with a
    note; a result file that fails to parse is also reported rather than dropped silently.
    """
    records: list[ResultRecord] = []
    skipped: list[str] = []
    for f in iter_result_files(paths):
        try:
            head = (
                json.loads(f.read_text(encoding="utf-8")) if f.stat().st_size < 64 << 20 else None
            )
        except (OSError, json.JSONDecodeError) as exc:
            skipped.append(f"{f}: unreadable ({exc})")
            continue
        if not isinstance(head, dict) or head.get("schema") != "hwp-bench-result":
            continue  # not a result file: manifests, logs, configs live beside results
        try:
            records.append(record_from_result(read_result(f), f))
        except (ResultError, KeyError, TypeError, ValueError) as exc:
            skipped.append(f"{f}: {exc}")
    return records, skipped
