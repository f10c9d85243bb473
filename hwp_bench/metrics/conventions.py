"""The one source of truth for metric conventions: directions, display order, default protocol
and test-pose track.

Everything that ranks, bolds, sorts or prints metrics (the runner's summary, the tables, the
leaderboard) reads these constants instead of keeping its own copy. This module imports
nothing, so any layer may depend on it.
"""

from __future__ import annotations

from types import MappingProxyType

#: Whether a larger value is better, per image metric.
HIGHER_IS_BETTER = MappingProxyType({"psnr": True, "ssim": True, "lpips": False})

#: The order metrics are shown in, everywhere.
METRIC_ORDER = ("psnr", "ssim", "lpips")

#: The protocol used when none is named (the runner, the tables, the leaderboard).
#: ``hwp-v1`` stays registered (old result files verify) but is not a valid default: see
#: docs/validity.md for why ``hwp-v2`` replaced it, and why ``hwp-v3`` (hwp-v2 with the
#: registration on a sub-pixel grid) replaced ``hwp-v2``, which also stays registered.
DEFAULT_PROTOCOL = "hwp-v3"

#: Test-pose tracks: which hand parameters a method receives for the test frames.
#: ``estimated``: the dataset's own (estimator) parameters; ``aligned``: those refined by the
#: toolkit's aligner against each test frame's hand mask, identical for every method;
#: ``exact``: the noise-free parameters (synthetic data only: the pose oracle).
TRACKS = ("estimated", "aligned", "exact")

#: The track used when none is named (the runner, the tables, the leaderboard).
DEFAULT_TRACK = "aligned"

#: The track of a result file written before tracks existed (it rendered the dataset's
#: parameters as they were).
LEGACY_TRACK = "estimated"

__all__ = [
    "DEFAULT_PROTOCOL",
    "DEFAULT_TRACK",
    "HIGHER_IS_BETTER",
    "LEGACY_TRACK",
    "METRIC_ORDER",
    "TRACKS",
]
