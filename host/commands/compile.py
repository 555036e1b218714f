"""`neurocosim compile SCRIPT --target T [--set K=V ...] -o net.npz [args]`: run an
unchanged PyNN script on a target (as `run` does, with the same --set, --port and
--strict) and write the image it compiled, the file `rtl export`, `rtl build` and
`board run` take, printing the mapping report.

The image is the one the script's runs used (its last, after any network change between
runs); the script's own simulation runs too, since the backend compiles at run(), and
writes no result files."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...hw.errors import TargetError
from ...hw.targets import get_target
from ...sim.scripts import run_pynn_script
from .script_options import add_script_options, settings_of


def register(sub) -> None:
    p = sub.add_parser("compile", help="compile a PyNN script for a target into an image file",
                       description="Runs SCRIPT as `python SCRIPT args...` on TARGET (as "
                                   "`run` does) and writes the hardware image it compiled, "
                                   "for `rtl export|build` and `board run`.")
    p.add_argument("script", type=Path)
    p.add_argument("--target", default=None,
                   help="target name (see `neurocosim targets`; default: the script's own)")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="the image file to write (e.g. net.npz)")
    add_script_options(p)
    p.set_defaults(func=main, accepts_extra=True)


def main(args: argparse.Namespace) -> int:
    if not args.script.is_file():
        raise TargetError(f"script {args.script} not found")
    if args.target:
        get_target(args.target)  # unknown target: clear error before the script starts
    status = run_pynn_script(args.script, args.target, args.extra, quiet=True,
                             settings=settings_of(args), strict=args.strict)
    if status != 0:
        return status
    from ...pynn_backend.simulator import state
    from ...sim.output import mapping_lines
    image = state.image
    if image is None:
        raise TargetError(f"{args.script} ran no simulation: nothing was compiled "
                          "(the backend compiles the network at run())")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.output)
    net = image.network
    print(f"neurocosim: wrote {args.output}: {args.script.name} for {image.target.name}, "
          f"{len(image.cores)} core(s), {sum(p.size for p in net.populations)} neurons, "
          f"{sum(p.size for p in net.projections)} synapses")
    print("\n".join(mapping_lines(state.result())))
    return 0
