#!/usr/bin/env bash
# Services and system packages the tests need, installed with the system's package manager.
# Idempotent: does nothing when everything is already there.
#
#   chromium   Debian's headless Chromium, driven by Playwright (browser tests: tests/server).
#              Playwright's own browser download needs a network we do not have.
set -euo pipefail

have_chromium() { [ -x /usr/bin/chromium ]; }

if ! have_chromium; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian's chromium for the browser tests..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || true
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
      || echo "could not install chromium: browser tests will skip (fail under CI=true)" >&2
  else
    echo "chromium missing and apt-get unavailable (or not root):" \
      "browser tests will skip (fail under CI=true)" >&2
  fi
fi
