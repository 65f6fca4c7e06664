#!/usr/bin/env bash
# Build the one-file executable dist/hackatime-lite from a clean venv with runtime dependencies only
# (dev packages in the build venv tripled the size). Every cache stays inside build/ so CI keeps nothing
# outside the repo. Usage: scripts/build_binary.sh [--reuse-venv]
set -euo pipefail
cd "$(dirname "$0")/.."

PYINSTALLER_PINS=(pyinstaller==6.22.3 pyinstaller-hooks-contrib==2026.9)
PYTHON="${PYTHON:-python3}"
VENV=build/venv

export PIP_CACHE_DIR="$PWD/build/pip-cache"
export PYINSTALLER_CONFIG_DIR="$PWD/build/pyinstaller-config"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [[ "${1:-}" != "--reuse-venv" || ! -x "$VENV/bin/pyinstaller" ]]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
# A regular (non-editable) install, so the bundle holds exactly what a user's `pip install` gets,
# including package data such as web assets.
"$VENV/bin/python" -m pip install --quiet --upgrade --force-reinstall --no-deps .
"$VENV/bin/python" -m pip install --quiet . "${PYINSTALLER_PINS[@]}"

"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller build.spec

ls -l dist/hackatime-lite
dist/hackatime-lite --version
