#!/usr/bin/env bash
# Creates .venv and installs neurocosim with its test extras. Sourced by demo.sh and test.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.11 python3.12 python3.10 python3; do
    if command -v "$cand" >/dev/null 2>&1; then py="$cand"; break; fi
  done
fi
if [ -z "$py" ]; then
  echo "neurocosim: no Python 3 found. Install it: apt-get install python3.11 python3.11-venv" >&2
  exit 1
fi
if ! "$py" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 14) else 1)'; then
  echo "neurocosim: $py is $("$py" --version 2>&1); Python 3.10 to 3.13 is needed (3.11 preferred)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$py" -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    echo "neurocosim: '$py -m venv' failed. On Debian install the venv module: apt-get install python3-venv" >&2
    exit 1
  fi
fi
stamp=.venv/.neurocosim-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ]; then
  echo "neurocosim: installing packages into .venv (first time takes a few minutes)..."
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
