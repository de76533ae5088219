#!/usr/bin/env bash
# Install everything the tests need, check the code (ruff, mypy), then run the whole suite
# (slow model tests included). Any failing step fails the run.
#
#   scripts/test.sh                   everything, as CI runs it
#   scripts/test.sh -m "not slow"     extra arguments go to pytest
#
# With CI=true (.ci/run sets it) a PostgreSQL or Chromium that cannot start fails the tests
# that need it; without it those tests skip with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --dev
PYTHON=.venv/bin/python scripts/lint.sh
scripts/services.sh
# A PostgreSQL server for the `postgres` tests (installed if missing), stopped on exit.
PG_DIR=$(mktemp -d /tmp/podium-pg-XXXXXX)
if PODIUM_TEST_PG_URL=$(scripts/postgres.sh start "$PG_DIR"); then
  export PODIUM_TEST_PG_URL
  trap 'scripts/postgres.sh stop "$PG_DIR"; rm -rf "$PG_DIR"' EXIT
else
  if [ "${CI:-}" = true ]; then
    echo "PostgreSQL did not start (CI=true): the postgres tests cannot run" >&2
    exit 1
  fi
  echo "PostgreSQL did not start: the postgres tests will try on their own, else skip" >&2
  rm -rf "$PG_DIR"
fi
.venv/bin/python -m pytest "$@"
