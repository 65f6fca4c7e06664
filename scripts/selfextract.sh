#!/bin/sh
# hackatime-lite @VERSION@, one file: this script, then a gzipped tar of the PyInstaller one-dir build.
# The first start unpacks the build (~165 MB: the Python runtime, DuckDB, numpy) into a cache directory named
# by the archive's hash and runs it from there; later starts find it there and unpack nothing, so they start
# as fast as an installed copy (a PyInstaller one-file executable unpacks everything on every start: 1.7x the
# start of `python -m hackatime_lite serve`, issue 13). Another version unpacks beside it. Set
# HACKATIME_CACHE_DIR to choose the directory; deleting it is always safe (the next start unpacks again).
# Written by scripts/build_binary.sh from scripts/selfextract.sh; @ID@ and @SKIP@ are filled in there.
set -eu
id=@ID@
if [ -n "${HACKATIME_CACHE_DIR:-}" ]; then
    cache=$HACKATIME_CACHE_DIR
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
    cache=$XDG_CACHE_HOME/hackatime-lite
elif [ -n "${HOME:-}" ] && [ "$HOME" != / ]; then
    cache=$HOME/.cache/hackatime-lite
else
    cache=${TMPDIR:-/tmp}/hackatime-lite-$(id -u)
fi
run=$cache/$id
if [ ! -x "$run/hackatime-lite" ]; then
    mkdir -p "$cache"
    # Unpacked into a fresh directory, then published with one atomic step (a symbolic link that `ln -n` will
    # not replace): starts racing on an empty cache each unpack, one link wins, the others remove their copy.
    unpacked=$(mktemp -d "$cache/$id.XXXXXX")
    trap 'rm -rf "$unpacked"' EXIT
    trap 'exit 1' HUP INT TERM
    # -m: the files get the time they were unpacked, not the archive's (0, for a reproducible archive), so
    # cleaners that go by age (tmpfiles.d, when the cache is under /tmp) see them as new.
    tail -n +@SKIP@ "$0" | gzip -dc | tar -xmf - -C "$unpacked"
    [ -x "$unpacked/hackatime-lite" ] || { echo "hackatime-lite: the archive in $0 is damaged" >&2; exit 1; }
    if [ -L "$run" ] && [ ! -x "$run/hackatime-lite" ]; then
        rm -f "$run"  # its directory was deleted
    fi
    if ln -sn "${unpacked##*/}" "$run" 2>/dev/null; then
        trap - EXIT HUP INT TERM
    else
        rm -rf "$unpacked"
        trap - EXIT HUP INT TERM
        [ -x "$run/hackatime-lite" ] || { echo "hackatime-lite: cannot use $cache (set HACKATIME_CACHE_DIR)" >&2; exit 1; }
    fi
fi
exec "$run/hackatime-lite" "$@"
