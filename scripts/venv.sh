#!/usr/bin/env bash
# Create .venv (Python 3.11) if needed and install the given requirements file into it.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=${1:-requirements.txt}
if [ ! -x .venv/bin/python ]; then
  python=$(command -v python3.11 || command -v python3)
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r "$requirements"
