#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv and install hwp-bench into it.
# torch is installed first and alone, pinned, so that no dependency can pull a second torch
# (or torchvision, which does not import with this torch build).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.hwp-installed
want=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip setuptools wheel
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[dev]"
  if .venv/bin/python -m pip list 2>/dev/null | grep -qi '^torchvision '; then
    echo "setup: torchvision was installed by a dependency; removing it (it breaks this torch)" >&2
    .venv/bin/python -m pip uninstall -y -q torchvision
  fi
  echo "$want" > "$stamp"
fi
