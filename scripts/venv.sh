#!/usr/bin/env bash
# Create .venv (Python 3.11) if needed and install the given requirements file into it.
# Checks what it needs first (Python 3.11 with venv, disk space) and names the command that
# installs a missing piece; then says what it installs and how big it is, with pip's progress.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=${1:-requirements.txt}
case "$requirements" in
  # Measured on disk in a fresh .venv (2026-12-01); TensorFlow alone is 1.3 GB.
  requirements-dev.txt) size="about 2.5 GB" ;;
  *) size="about 2.2 GB" ;;
esac

if [ ! -x .venv/bin/python ]; then
  python=$(command -v python3.11 || command -v python3 || true)
  if [ -z "$python" ] || ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    echo "Moodshop needs Python 3.11 (found: ${python:-none}${python:+ $("$python" -V 2>&1)})." >&2
    echo "Install it: apt-get install python3.11 python3.11-venv (Debian/Ubuntu), or from python.org." >&2
    exit 1
  fi
  if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    echo "$python cannot create a virtualenv: apt-get install python3.11-venv" >&2
    exit 1
  fi
  free_kb=$(df -Pk . | awk 'NR == 2 {print $4}')
  if [ "$free_kb" -lt 3500000 ]; then
    echo "The install needs $size in .venv (plus pip's cache); only $((free_kb / 1024)) MB free here." >&2
    exit 1
  fi
  echo "Creating .venv with $python ($("$python" -V 2>&1))"
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi

# What pip would install (names and versions), so a long install says what it is doing.
[ -e .venv/.installed ] || echo "Working out what $requirements needs (pip resolves it; a minute or two on a new .venv)..."
missing=$(.venv/bin/python -m pip install --dry-run --quiet --report - -r "$requirements" | .venv/bin/python -c '
import json, sys
print(" ".join(p["metadata"]["name"] + "==" + p["metadata"]["version"] for p in json.load(sys.stdin)["install"]))')
if [ -z "$missing" ]; then
  echo "All of $requirements is installed in .venv."
  touch .venv/.installed
  exit 0
fi
count=$(wc -w <<<"$missing")
if [ ! -e .venv/.installed ]; then
  echo "Installing $count packages from $requirements into .venv: $size on disk (TensorFlow is 1.3 GB)."
  echo "This takes a few minutes; pip shows each download below."
else
  echo "Installing $count new or changed packages from $requirements into .venv:"
fi
echo "  $missing" | fold -s -w 100
.venv/bin/python -m pip install --progress-bar on -r "$requirements"
touch .venv/.installed
