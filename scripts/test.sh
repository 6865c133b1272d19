#!/usr/bin/env bash
# Install everything and run the whole test suite against real PostgreSQL and Redis.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k cart`).
#
# Needs Python 3.11 and Chromium (installed here with apt-get when running as root on Debian).
# PostgreSQL and Redis: TEST_DATABASE_URL / TEST_REDIS_URL, else the servers answering on
# 127.0.0.1:5432 / 6379 (TEST_DEFAULT_PG_PORT / TEST_DEFAULT_REDIS_PORT), else throwaway ones
# from pip packages, in a temporary folder on free ports, stopped afterwards (tests/servers.py).
# MOODSHOP_SKIP_BROWSER_TESTS=1 skips the browser tests (said in pytest's summary and at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

skip_browser=${MOODSHOP_SKIP_BROWSER_TESTS:-}
if [ "$skip_browser" = 1 ]; then
  echo "Browser tests will be skipped (MOODSHOP_SKIP_BROWSER_TESTS=1)."
elif ! command -v chromium >/dev/null && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's Chromium for the browser tests (apt-get install chromium chromium-driver, about 300 MB)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "The browser tests need Debian's Chromium: sudo apt-get install chromium chromium-driver" >&2
    echo "(or run with MOODSHOP_SKIP_BROWSER_TESTS=1 to skip them)" >&2
    exit 1
  fi
fi

bash scripts/venv.sh requirements-dev.txt

echo "== Full suite on PostgreSQL, real Redis and real worker processes =="
.venv/bin/python -m tests.servers -- .venv/bin/python -m pytest "$@"

echo "== Unit tests on SQLite (the demo's default database) =="
DATABASE_URL=sqlite:// .venv/bin/python -m pytest -q -m "not services" tests/shop

if [ "$skip_browser" = 1 ]; then
  echo "NOTE: the browser tests were skipped (MOODSHOP_SKIP_BROWSER_TESTS=1)."
fi
