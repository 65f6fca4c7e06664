#!/usr/bin/env bash
# Command 1: install into ./.venv and run the server on 127.0.0.1:3000 with its data in ./data.
# The first start downloads the packages (a minute or two); later starts skip the install while
# pyproject.toml is unchanged, so a restart costs only the server's own start.
set -euo pipefail
cd "$(dirname "$0")"
stamp=.venv/.installed-pyproject.sha256
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/hackatime-lite ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e .
  echo "$want" > "$stamp"
fi
exec .venv/bin/hackatime-lite serve --host 127.0.0.1 --port "${PORT:-3000}" --data-dir "${HACKATIME_DATA_DIR:-./data}" "$@"
