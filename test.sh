#!/usr/bin/env bash
# Command 2: install what the tests need into ./.venv (and Debian's chromium for the browser tests, when
# running as root), then ruff, then every test: the default (fast) suite, the `slow` tests (real server
# processes, the legacy client, the browser; property tests with many more examples), and the executable
# build test. Extra arguments go to the default-suite run; HACKATIME_SKIP_BINARY=1 skips the (~2 min)
# executable build.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: chromium is not installed (needs root: apt-get install chromium); browser tests will be skipped" >&2
  fi
fi
# PostgreSQL's server binaries, for the throwaway clusters the PostgreSQL tests start and stop themselves
# (tests/pg_support.py). Debian's own cluster service is not started: policy-rc.d refuses it during the install.
have_postgres() {
  [ -n "${HACKATIME_TEST_DATABASE_URL:-}" ] || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
if ! have_postgres; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    added_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
    fi
    install_status=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
      || install_status=$?
    if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    if [ "$install_status" != 0 ]; then
      # As root the PostgreSQL tests are part of the run (CI): a failed install fails it, never skips silently.
      echo "error: apt-get install postgresql failed ($install_status)" >&2
      exit "$install_status"
    fi
  else
    echo "note: PostgreSQL is not installed (needs root: apt-get install postgresql, or set" \
         "HACKATIME_TEST_DATABASE_URL); PostgreSQL tests will be skipped" >&2
  fi
fi
# The dashboard's asset sources (web/): their pinned npm packages (package-lock.json), so that the slow test that
# rebuilds the bundle and compares it byte for byte with the packaged static files runs, not skips.
if command -v npm >/dev/null 2>&1 && [ ! -d web/node_modules/esbuild ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
.venv/bin/ruff check .
# The type checker over src/ (pyproject's [tool.mypy]); the layering and SQL-placement guards are tests
# (tests/test_architecture.py) and run in the default suite below.
.venv/bin/mypy

# pytest exits 5 when a selection collects no tests (e.g. no test carries the marker any more): not a failure.
run_pytest() {
  local status=0
  .venv/bin/python -m pytest "$@" || status=$?
  if [ "$status" = 5 ]; then
    echo "note: no tests selected by: pytest $*" >&2
    status=0
  fi
  return "$status"
}

# 1. The default suite (pyproject's addopts: not slow, not binary, not load) — what `pytest` runs alone.
HYPOTHESIS_PROFILE=dev run_pytest -n 2 "$@"
# 2. The slow tests, plus every property test again with many more examples.
HYPOTHESIS_PROFILE=thorough run_pytest -n 2 -m "(slow or hypothesis) and not binary and not load"
# 3. PostgreSQL (`postgres` marker: the store contract on PostgreSQL, the replica's watermark under concurrent
#    writers, shared state across nodes), then the API suite and the feature modules (their module-scoped
#    worlds: tests/conftest.py's world_settings) again with the store on PostgreSQL. Each
#    pytest process starts its own throwaway cluster and stops it at the end.
if have_postgres; then
  run_pytest -n 2 -m "postgres and not slow"  # the slow ones (two real nodes) run in step 2
  HACKATIME_TEST_STORE=postgres run_pytest -n 2 tests/test_ingest_api.py tests/test_ingest_hardening.py \
    tests/test_read_api_contract.py tests/test_read_api_access.py tests/test_native_read_api.py \
    tests/test_leaderboards.py tests/test_web_pages.py tests/test_rate_limits.py \
    tests/test_goals.py tests/test_aliases.py tests/test_teams.py tests/test_trust_audit.py tests/test_webhooks.py \
    tests/test_badges.py tests/test_ai_stats.py tests/test_focus.py tests/test_filters.py tests/test_metrics.py \
    tests/test_live_events.py
else
  echo "note: skipping the PostgreSQL tests: no PostgreSQL server binaries (see above)" >&2
fi
# 4. The executable.
if [ "${HACKATIME_SKIP_BINARY:-0}" != 1 ]; then
  run_pytest -m binary
fi
