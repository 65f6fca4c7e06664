#!/usr/bin/env bash
# Command 1: install into ./.venv and run the server on 127.0.0.1:3000 with its data in ./data.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/hackatime-lite serve --host 127.0.0.1 --port "${PORT:-3000}" --data-dir "${HACKATIME_DATA_DIR:-./data}" "$@"
