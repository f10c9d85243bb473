"""hwp-bench: benchmark and dataset toolkit for hand avatars from monocular in-the-wild video.

Public entry points are imported lazily so that ``import hwp_bench`` stays cheap (the CLI and
the leaderboard server import it on every start).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_dataset"]


def load_dataset(
    name_or_path: str = "hwp", config: str = "all", *, split: str | None = None, **kwargs
):
    """Load HWP (or HWP-Synth, or a local folder in our layout); see :mod:`hwp_bench.data`."""
    from hwp_bench.data.loading import load_dataset as _load

    return _load(name_or_path, config, split=split, **kwargs)
