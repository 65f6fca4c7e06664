#!/usr/bin/env bash
# Build the one-file executable dist/hackatime-lite from a clean venv with runtime dependencies only
# (dev packages in the build venv tripled the size). Every cache stays inside build/ so CI keeps nothing
# outside the repo. Usage: scripts/build_binary.sh [--reuse-venv]   (HACKATIME_ONEDIR=1: one-dir, to compare)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=build/venv

export PIP_CACHE_DIR="$PWD/build/pip-cache"
export PYINSTALLER_CONFIG_DIR="$PWD/build/pyinstaller-config"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# A regular (non-editable) install, so the bundle holds exactly what a user's `pip install` gets,
# package data (web assets) included.
if [[ "${1:-}" == "--reuse-venv" && -x "$VENV/bin/pyinstaller" ]]; then
    # Only our own code changed: refresh it.
    "$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps .
else
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet ".[build]"  # runtime deps + the pinned PyInstaller
fi

"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller build.spec

built=dist/hackatime-lite
if [[ "${HACKATIME_ONEDIR:-}" == 1 ]]; then
    built=dist/hackatime-lite-onedir/hackatime-lite  # see build.spec
fi
ls -l "$built"
"$built" --version
"$built" --help < /dev/null > /dev/null  # the stdlib fast front (cli/fast.py) and its generated cache are bundled
