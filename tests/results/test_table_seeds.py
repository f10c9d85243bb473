"""``results table --seeds``: one seed's table, or the seeds given, averaged; bad input is a
one-line error."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.cli.seeds import parse_seeds
from hwp_bench.results import write_result

from .test_tables_verify import CAPTURES, _inter_psnr, _result


@pytest.fixture
def two_seeds(tmp_path):
    root = tmp_path / "runs"
    for cap in CAPTURES:
        write_result(root / f"s0-{cap}.json", _result(cap, 18.0, seed=0))
        write_result(root / f"s1-{cap}.json", _result(cap, 20.0, seed=1))
    return root


def _table(root, *extra):
    args = ["results", "table", "-t", "III", "-r", str(root), "-f", "json", "--no-paper"]
    return CliRunner().invoke(app, args + list(extra))


def test_seeds_select_the_result_files_that_are_averaged(two_seeds):
    res = _table(two_seeds)
    assert res.exit_code == 0, res.output
    assert _inter_psnr(res) == pytest.approx(19.0)  # every seed, averaged (rule 2)
    assert json.loads(res.stdout)["context"]["seeds"] == [0, 1]
    one = _table(two_seeds, "--seeds", "1")
    assert _inter_psnr(one) == pytest.approx(20.0)
    assert json.loads(one.stdout)["context"]["seeds"] == [1]  # the caption says which
    assert _inter_psnr(_table(two_seeds, "--seeds", "0")) == pytest.approx(18.0)
    assert _inter_psnr(_table(two_seeds, "--seeds", "0-1")) == pytest.approx(19.0)


def test_bad_seeds_are_one_line_errors(two_seeds):
    res = _table(two_seeds, "--seeds", "3")
    assert res.exit_code == 2 and "no result files for seeds [3]" in res.output
    assert "the files have: 0, 1" in res.output and "Traceback" not in res.output
    res = _table(two_seeds, "--seeds", "one")
    assert res.exit_code == 2 and "not a non-negative integer" in res.output


def test_parse_seeds():
    assert parse_seeds("0,1") == [0, 1]
    assert parse_seeds("2-4,3") == [2, 3, 4]
    for bad in ("", "a", "3-1", "-1"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)
