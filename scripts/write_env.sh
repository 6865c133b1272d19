#!/usr/bin/env bash
# Write a development .env (DEBUG=true, a generated SECRET_KEY) at $1 unless a file is there.
# scripts/demo.sh calls it for .env, which manage.py reads, so every README command runs as written.
set -euo pipefail
target=${1:-.env}
[ -e "$target" ] && exit 0
secret=$("$(dirname "$0")/../.venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')
umask 077
printf '# Written by scripts/write_env.sh for local development: never deploy with these.\nDEBUG=true\nSECRET_KEY=%s\n' \
  "$secret" > "$target"
echo "Wrote $target (DEBUG=true and a generated SECRET_KEY) for the management commands."
