"""Fixtures for the result-file tests: the runner's tiny dataset and the baselines' tiny
HWP-Synth folder are the existing fixtures of tests/runner and tests/baselines, re-exported;
``load_script`` imports a file of scripts/ (not a package) as a module."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parents[2] / "scripts"


def _conftest(area: str):
    path = Path(__file__).parents[1] / area / "conftest.py"
    spec = importlib.util.spec_from_file_location(f"_hwp_{area}_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tiny_dataset = _conftest("runner").tiny_dataset
tiny_synth = _conftest("baselines").tiny_synth


@pytest.fixture(scope="session")
def load_script():
    """``load_script(name)``: scripts/<name>.py as a fresh module."""

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"_hwp_script_{name}", SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
