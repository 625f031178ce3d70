#!/usr/bin/env bash
# A Chromium for the browser tests (tox -e browser runs this first):
# Playwright's own build where it can be downloaded; otherwise the operating
# system's (Debian's chromium package), installed when missing and we may.
# Anything else is a clear failure, not a skipped test.
set -euo pipefail
python="${1:?usage: ensure_chromium.sh PYTHON}"
if timeout 300 "$python" -m playwright install chromium >/dev/null 2>&1; then
    echo "browser tests: Playwright's own Chromium"
    exit 0
fi
echo "browser tests: Playwright's Chromium cannot be downloaded here; using the system's"
if [ -z "${PARITY_CHROMIUM:-}" ] && ! command -v chromium >/dev/null \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "browser tests: installing Debian's chromium"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ -n "${PARITY_CHROMIUM:-}" ] || command -v chromium >/dev/null; then
    exit 0
fi
echo "error: no Chromium for the browser tests (tox -e browser): Playwright could not" \
    "download its own, there is no chromium on PATH, and apt-get could not install it" \
    "(it needs root). Install the chromium package, or set PARITY_CHROMIUM to a" \
    "Chromium executable." >&2
exit 1
