#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite (slow model tests included).
#
#   scripts/test.sh                   everything, as CI runs it
#   scripts/test.sh -m "not slow"     extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --dev
scripts/services.sh
exec .venv/bin/python -m pytest "$@"
