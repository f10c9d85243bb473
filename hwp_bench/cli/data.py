"""``hwp-bench data ...``: dataset commands (owned by the dataset area; synth adds its own)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
