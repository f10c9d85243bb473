"""The HWP dataset: schema, Hub/offline loading, splits, perturbation tags, upstream converter."""

from hwp_bench.data.frame import HAND_SIDES, Frame, HandParams

__all__ = ["HAND_SIDES", "Frame", "HandParams"]
