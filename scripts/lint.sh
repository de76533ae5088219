#!/usr/bin/env bash
# The checks CI runs before the tests (scripts/test.sh calls this); any finding fails the run.
#
#   scripts/lint.sh      ruff (lint and format) on podium, tests and benchmarks; mypy on podium
#
# PYTHON picks the interpreter whose ruff and mypy run (default: ./.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

"$PYTHON" -m ruff check podium tests benchmarks
"$PYTHON" -m ruff format --check podium tests benchmarks
# The files, the strict public modules and the untyped libraries are set in pyproject.toml.
"$PYTHON" -m mypy
