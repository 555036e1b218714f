"""`neurocosim run SCRIPT [--target T] [--set K=V ...] [--port P] [--strict] [args]`:
run an unchanged PyNN script on a target, print its mapping report, write the result.
`neurocosim run MODEL.nir --input EVENTS.npz --duration MS` does the same for a NIR graph."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ...hw.errors import TargetError
from ...hw.targets import get_target
from ...sim.scripts import run_pynn_script
from .script_options import add_nir_options, add_script_options, settings_of


def register(sub) -> None:
    p = sub.add_parser("run", help="run a PyNN script on a target",
                       description="Runs SCRIPT as `python SCRIPT args...` with PyNN's "
                                   "neurocosim backend on TARGET (overriding the script's "
                                   "own setup(target=...)), with the --set settings over "
                                   "the script's own.")
    p.add_argument("script", type=Path)
    p.add_argument("--target", default=None, help="target name (see `neurocosim targets`)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the result files (default results/SCRIPT-TARGET)")
    add_nir_options(p)
    add_script_options(p)
    p.set_defaults(func=main, accepts_extra=True)


def main(args: argparse.Namespace) -> int:
    if not args.script.is_file():
        raise TargetError(f"script {args.script} not found")
    if args.script.suffix == ".nir":        # a NIR graph instead of a PyNN script
        from .nir_model import run_nir
        return run_nir(args)
    if args.target:
        get_target(args.target)  # unknown target: clear error before the script starts
    settings = settings_of(args)
    start = time.monotonic()
    status = run_pynn_script(args.script, args.target, args.extra, settings=settings,
                             strict=args.strict)
    if status != 0:
        return status
    from ...pynn_backend.simulator import state
    result = state.result()
    if result is None:
        print("neurocosim: the script ran no simulation; no result files written")
        return 0
    from .report import finish_run
    out = args.out or Path("results") / f"{args.script.stem}-{result.target}"
    sizes = {p.name: p.size for p in state.image.network.populations}
    return finish_run(result, out, f"{args.script.name} on {result.target}", sizes,
                      state.spec, time.monotonic() - start)
