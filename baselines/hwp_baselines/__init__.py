"""Baselines of the WildGHand paper and robust-fitting peers, behind the hwp-bench Method API."""
