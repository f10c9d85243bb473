"""The command line mounts every area and answers --help."""

from __future__ import annotations

from typer.testing import CliRunner

from hwp_bench import __version__
from hwp_bench.cli import app


def test_version_and_help():
    runner = CliRunner()
    res = runner.invoke(app, ["version"])
    assert res.exit_code == 0 and res.output.strip() == __version__
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for verb in ("hand", "data", "run"):
        assert verb in res.output
