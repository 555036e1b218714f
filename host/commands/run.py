"""`neurocosim run SCRIPT [--target T] [args]`: run an unchanged PyNN script on a target."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...hw.errors import TargetError
from ...hw.targets import get_target
from ...sim.scripts import run_pynn_script


def register(sub) -> None:
    p = sub.add_parser("run", help="run a PyNN script on a target",
                       description="Runs SCRIPT as `python SCRIPT args...` with PyNN's "
                                   "neurocosim backend on TARGET (overriding the script's "
                                   "own setup(target=...)).")
    p.add_argument("script", type=Path)
    p.add_argument("--target", default=None, help="target name (see `neurocosim targets`)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the result files (default results/SCRIPT-TARGET)")
    p.set_defaults(func=main, accepts_extra=True)


def main(args: argparse.Namespace) -> int:
    if not args.script.is_file():
        raise TargetError(f"script {args.script} not found")
    if args.target:
        get_target(args.target)  # unknown target: clear error before the script starts
    status = run_pynn_script(args.script, args.target, args.extra)
    if status != 0:
        return status
    from ...pynn_backend.simulator import state
    result = state.result()
    if result is None:
        print("neurocosim: the script ran no simulation; no result files written")
        return 0
    out = args.out or Path("results") / f"{args.script.stem}-{result.target}"
    from ...sim.output import write_result
    paths = write_result(result, out, title=f"{args.script.name} on {result.target}")
    n = sum(len(s) for s in result.spikes.values())
    print(f"neurocosim: {result.target}, {result.t_stop:g} ms, {n} spikes; "
          f"wrote {', '.join(str(p) for p in paths)}")
    if result.timing is not None:
        for key, value in result.timing.metrics.items():
            print(f"    {key:<32} {value:.6g}")
    return 0
