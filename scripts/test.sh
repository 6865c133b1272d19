#!/usr/bin/env bash
# Install everything and run the whole test suite against real PostgreSQL and Redis.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k cart`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/venv.sh requirements-dev.txt
bash scripts/services.sh

export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}

echo "== Full suite on PostgreSQL, real Redis and real worker processes =="
.venv/bin/python -m pytest "$@"

echo "== Unit tests on SQLite (the demo's default database) =="
DATABASE_URL=sqlite:// .venv/bin/python -m pytest -q -m "not services" tests/shop
