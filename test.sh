#!/usr/bin/env bash
# Command 2: install what the tests need into ./.venv (and Debian's chromium for the browser tests, when
# running as root), then run the whole test suite (plus ruff), then the executable build test.
# Extra arguments go to the main pytest run; HACKATIME_SKIP_BINARY=1 skips the (~2 min) executable build.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: chromium is not installed (needs root: apt-get install chromium); browser tests will be skipped" >&2
  fi
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
.venv/bin/ruff check .
if [ "${HACKATIME_SKIP_BINARY:-0}" != 1 ]; then
  .venv/bin/python -m pytest -m binary
fi
exec .venv/bin/python -m pytest -n 2 "$@"
