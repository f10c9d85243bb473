"""The HWP dataset: schema, Hub/offline loading, splits, perturbation tags, upstream converter.

Light to import: heavy parts (``datasets``, ``torch``, ``pyarrow``) load on first use.

* ``load_frames(source, capture, split) -> list[Frame]`` and ``load_dataset`` (loading.py)
* ``captures_for(config)``, Table II / V in :mod:`hwp_bench.data.tags`
* the split rule in :mod:`hwp_bench.data.splits`
* ``DatasetWriter`` (layout.py) writes dataset folders; ``FrameDataset`` (torch_view.py)
"""

from __future__ import annotations

from hwp_bench.data.frame import HAND_SIDES, Frame, HandParams
from hwp_bench.data.splits import SPLITS, split_bounds, split_of
from hwp_bench.data.tags import CONFIGS, captures_for

__all__ = [
    "CONFIGS",
    "HAND_SIDES",
    "SPLITS",
    "DatasetWriter",
    "Frame",
    "FrameDataset",
    "HandParams",
    "captures_for",
    "load_dataset",
    "load_frames",
    "resolve",
    "split_bounds",
    "split_of",
]

_LAZY = {
    "DatasetWriter": "hwp_bench.data.layout",
    "FrameDataset": "hwp_bench.data.torch_view",
    "load_dataset": "hwp_bench.data.loading",
    "load_frames": "hwp_bench.data.loading",
    "resolve": "hwp_bench.data.loading",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hwp_bench.data' has no attribute {name!r}")
