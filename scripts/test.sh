#!/usr/bin/env bash
# The README's test command: set up .venv if needed, lint, then run the fast test suite.
# Slow tests run with `tox -e slow` (or `scripts/test.sh -m slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check hwp_bench methods baselines leaderboard tests benchmarks scripts
if [ $# -eq 0 ]; then
  set -- -m "not slow and not gpu"
fi
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
