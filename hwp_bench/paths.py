"""Where the toolkit keeps data, caches and downloaded weights.

``HWP_HOME`` overrides everything (default: ``$XDG_CACHE_HOME/hwp-bench`` or
``~/.cache/hwp-bench``). Sub-folders: ``datasets/`` (exported and synthetic datasets),
``weights/`` (LPIPS), ``cache/`` (subdivided hands, region proposals).
"""

from __future__ import annotations

import os
from pathlib import Path


def data_home() -> Path:
    """Root folder for everything the toolkit writes outside a run's output folder."""
    env = os.environ.get("HWP_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hwp-bench"


def datasets_dir() -> Path:
    return data_home() / "datasets"


def weights_dir() -> Path:
    return data_home() / "weights"


def cache_dir() -> Path:
    return data_home() / "cache"
