#!/usr/bin/env bash
# The main job: set up everything, then run the demo network on the default target.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec neurocosim run examples/demo.py "$@"
