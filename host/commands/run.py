"""`neurocosim run SCRIPT [--target T] [args]`: run an unchanged PyNN script on a target."""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from pathlib import Path

from ...hw.errors import TargetError
from ...hw.targets import get_target


def register(sub) -> None:
    p = sub.add_parser("run", help="run a PyNN script on a target",
                       description="Runs SCRIPT as `python SCRIPT args...` with PyNN's "
                                   "neurocosim backend on TARGET (overriding the script's "
                                   "own setup(target=...)).")
    p.add_argument("script", type=Path)
    p.add_argument("--target", default=None, help="target name (see `neurocosim targets`)")
    p.set_defaults(func=main, accepts_extra=True)


def main(args: argparse.Namespace) -> int:
    if not args.script.is_file():
        raise TargetError(f"script {args.script} not found")
    if args.target:
        get_target(args.target)  # unknown target: clear error before the script starts
        os.environ["NEUROCOSIM_TARGET"] = args.target
    sys.argv = [str(args.script), *args.extra]
    sys.path.insert(0, str(args.script.resolve().parent))
    runpy.run_path(str(args.script), run_name="__main__")
    return 0
