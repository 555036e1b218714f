"""`neurocosim export SCRIPT -o model.nir [args]`: run a PyNN script on the reference and
write the network it built as a NIR graph (neurocosim.nirio.write); what NIR cannot
express is refused by name, what it approximates is listed."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...hw.errors import TargetError
from ...nirio import write
from ...sim.scripts import run_pynn_script


def register(sub) -> None:
    p = sub.add_parser("export", help="write a PyNN script's network as a NIR graph",
                       description="Runs SCRIPT on the reference and writes the network of "
                                   "its last run as a NIR file.")
    p.add_argument("script", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="the .nir file to write")
    p.add_argument("--debug", action="store_true", help="on an error, the whole traceback")
    p.set_defaults(func=main, accepts_extra=True)


def main(args: argparse.Namespace) -> int:
    if not args.script.is_file():
        raise TargetError(f"script {args.script} not found")
    status = run_pynn_script(args.script, "reference", args.extra)
    if status != 0:
        return status
    from ...pynn_backend.simulator import state
    if state.image is None:
        raise TargetError(f"{args.script} ran no simulation: there is no network to export")
    report = write(state.image.network, args.output)
    print(f"neurocosim: wrote {args.output}")
    for line in report.lines():
        print(line)
    return 0
