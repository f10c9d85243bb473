"""The fuzz pass of benchmarks/fuzz.py at its fast-suite size (issue 17): about 2,400 mutated
zips (150 of them uploaded over HTTP), manifests, result files and pickles. None may raise
anything but its documented, coded error or get an HTTP 500; whatever is accepted must pass a
slow independent validity check. ``python benchmarks/fuzz.py`` runs ten times as many."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path


def _fuzz_module():
    path = Path(__file__).parents[2] / "benchmarks" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("_hwp_fuzz", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while created
    spec.loader.exec_module(module)
    return module


def test_fuzz_pass_finds_no_crash_and_accepts_only_valid_inputs(tmp_path):
    fuzz = _fuzz_module()
    logging.disable(logging.WARNING)  # the server logs every rejection
    try:
        tally = fuzz.run(scale=1.0, seed=0, workdir=tmp_path)
    finally:
        logging.disable(logging.NOTSET)
    print("\n".join(tally.lines()))
    assert tally.violations == []
    assert tally.cases() >= 2000
    for kind, n in fuzz.BASE_CASES.items():
        outcomes = tally.outcomes[kind]
        assert sum(outcomes.values()) == n
        # not vacuous: every kind has inputs refused and (the mutations that keep an input
        # valid, or leave it untouched) accepted
        assert outcomes["accepted"] > 0 and sum(outcomes.values()) > outcomes["accepted"], kind
    assert "CRASH" not in str(tally.outcomes)
