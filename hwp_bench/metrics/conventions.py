"""The one source of truth for metric conventions: directions, display order, default protocol.

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
DEFAULT_PROTOCOL = "hwp-v1"

__all__ = ["DEFAULT_PROTOCOL", "HIGHER_IS_BETTER", "METRIC_ORDER"]
