#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite (slow model tests included).
#
#   scripts/test.sh                   everything, as CI runs it
#   scripts/test.sh -m "not slow"     extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --dev
scripts/services.sh
# A PostgreSQL server for the `postgres` tests (installed if missing), stopped on exit.
PG_DIR=$(mktemp -d /tmp/podium-pg-XXXXXX)
if PODIUM_TEST_PG_URL=$(scripts/postgres.sh start "$PG_DIR"); then
  export PODIUM_TEST_PG_URL
  trap 'scripts/postgres.sh stop "$PG_DIR"; rm -rf "$PG_DIR"' EXIT
else
  echo "PostgreSQL did not start: the postgres tests will try on their own, else skip" >&2
  rm -rf "$PG_DIR"
fi
.venv/bin/python -m pytest "$@"
