"""``hwp-bench hand ...``: hand model commands (owned by the hand-model area)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
