"""Fixtures for the result-file tests: the runner's tiny dataset and the baselines' tiny
HWP-Synth folder are the existing fixtures of tests/runner and tests/baselines, re-exported."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _conftest(area: str):
    path = Path(__file__).parents[1] / area / "conftest.py"
    spec = importlib.util.spec_from_file_location(f"_hwp_{area}_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tiny_dataset = _conftest("runner").tiny_dataset
tiny_synth = _conftest("baselines").tiny_synth
