#!/usr/bin/env bash
# Build the one-file executable dist/hackatime-lite from a clean venv with runtime dependencies only
# (dev packages in the build venv tripled the size). Every cache stays inside build/ so CI keeps nothing
# outside the repo. Usage: scripts/build_binary.sh [--reuse-venv]   (also leaves the one-dir build in
# dist/hackatime-lite-onedir/, which bench/binary.py measures beside the one file)
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

# The one file: scripts/selfextract.sh, then the one-dir build as a gzipped tar (reproducible: sorted names,
# no owners or times, so the same build gets the same cache key @ID@, the archive's hash).
onedir=dist/hackatime-lite-onedir
payload=build/hackatime-lite.tar.gz
tar -C "$onedir" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - . | gzip -9n > "$payload"
id=$(sha256sum "$payload" | cut -c1-16)
version=$("$onedir/hackatime-lite" --version | awk '{print $NF}')
stub_lines=$(wc -l < scripts/selfextract.sh)
sed -e "s/@ID@/$version-$id/" -e "s/@SKIP@/$((stub_lines + 1))/" -e "s/@VERSION@/$version/" \
    scripts/selfextract.sh > dist/hackatime-lite.tmp
[[ $(wc -l < dist/hackatime-lite.tmp) == "$stub_lines" ]]
cat "$payload" >> dist/hackatime-lite.tmp
chmod 755 dist/hackatime-lite.tmp
mv dist/hackatime-lite.tmp dist/hackatime-lite

built=dist/hackatime-lite
ls -l "$built"
"$built" --version
"$built" --help < /dev/null > /dev/null  # the stdlib fast front (cli/fast.py) and its generated cache are bundled
