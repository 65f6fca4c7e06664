#!/usr/bin/env bash
# Command 2: install the test dependencies into ./.venv and run the whole test suite (plus ruff).
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -n 2 "$@"
