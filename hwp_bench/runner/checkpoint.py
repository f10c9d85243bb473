"""Crash-safe checkpoint folders: a method's ``save(dir)`` plus the runner's step counter.

A checkpoint is written into a fresh temporary folder, completed with ``runner_state.json``
(the step to continue from and the fit time spent so far), then swapped in by renames. A kill
at any moment leaves either the previous checkpoint or the new one, never a half-written one:
the state file is written last, so a folder without it is ignored.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hwp_bench.io import atomic_write_json

STATE_FILE = "runner_state.json"


def save_checkpoint(method, folder: str | Path, state: dict[str, Any]) -> Path:
    """``method.save`` into a temporary sibling, add ``state``, then replace ``folder``."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        method.save(tmp)
        atomic_write_json(tmp / STATE_FILE, state)
        old = folder.with_name(folder.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def find_checkpoint(folder: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The complete checkpoint at ``folder`` (or its ``.old`` twin after an ill-timed kill)."""
    folder = Path(folder)
    for candidate in (folder, folder.with_name(folder.name + ".old")):
        state_file = candidate / STATE_FILE
        if state_file.is_file():
            try:
                return candidate, json.loads(state_file.read_text())
            except (OSError, json.JSONDecodeError):
                continue
    return None


def clean_stale(folder: str | Path) -> None:
    """Remove temporaries left by a killed ``save_checkpoint``."""
    folder = Path(folder)
    if not folder.parent.is_dir():
        return
    for p in folder.parent.glob(f".{folder.name}.*.tmp"):
        shutil.rmtree(p, ignore_errors=True)
