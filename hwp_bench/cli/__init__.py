"""The ``hwp-bench`` command line.

Each area owns one module here that defines a typer app or commands; this file only mounts
them, so that adding a verb never touches another area's code. Sub-modules are imported lazily
by typer at start-up, so keep their top-level imports light (import torch inside commands).
"""

from __future__ import annotations

import os

# torch's OpenMP threads spin-wait by default; on a shared or busy CPU that made renders 5-10x
# slower (measured by the rasterizer benchmark). Must be set before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import typer  # noqa: E402

from hwp_bench.cli import data as _data
from hwp_bench.cli import eval as _eval
from hwp_bench.cli import fetch as _fetch  # also registers `data fetch`
from hwp_bench.cli import hand as _hand
from hwp_bench.cli import leaderboard as _leaderboard
from hwp_bench.cli import protocol as _protocol
from hwp_bench.cli import results as _results
from hwp_bench.cli import run as _run
from hwp_bench.cli import submit as _submit
from hwp_bench.cli import sweep as _sweep
from hwp_bench.cli import synth as _synth  # noqa: F401  (registers data synth/preview)
from hwp_bench.cli import tables as _tables  # noqa: F401  (adds `results table`)

app = typer.Typer(
    name="hwp-bench",
    help="Benchmark and dataset toolkit for hand avatars from monocular in-the-wild video.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(_hand.app, name="hand", help="Hand models: inspect and render.")
app.add_typer(_data.app, name="data", help="Datasets: HWP-Synth, HWP export, conversion, info.")
app.add_typer(_fetch.app, name="assets", help="Model files (SAM checkpoint): fetch, list.")
app.command("run")(_run.run)
app.command("methods")(_run.methods)
app.command("test-method")(_run.test_method)
app.command("eval")(_eval.eval_cmd)
app.add_typer(_protocol.app, name="protocol", help="Evaluation protocols: list, validate.")
app.command("synth-sweep")(_sweep.sweep_cmd)
app.add_typer(_results.app, name="results", help="Result files: verify, tables, reports.")
app.add_typer(_submit.app, name="submit", help="Leaderboard submissions: pack, check, upload.")
app.add_typer(_leaderboard.app, name="leaderboard", help="Leaderboard server, admin, site.")


@app.command("version")
def version() -> None:
    """Print the toolkit version."""
    from hwp_bench import __version__

    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
