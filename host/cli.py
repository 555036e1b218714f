"""The `neurocosim` command line: one entry point, a subcommand per user task.

Each subcommand lives in its own module under host/commands/ with a `register(subparsers)`
function; this file only collects them and turns errors into one line on stderr (the
traceback with --debug) and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from ..hw.errors import NeurocosimError
from ..sim.scripts import ScriptError

#: modules under neurocosim.host.commands, in the order `--help` lists them
COMMAND_MODULES = ["run", "compare", "compile", "targets", "sweep", "report", "board",
                   "rtl", "flash", "export"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurocosim",
        description="Compile a PyNN network once, run it on a float reference, chip "
                    "emulators, an FPGA core, a board or SFQ models, and compare them.")
    parser.set_defaults(debug=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.commands.{name}").register(sub)
    return parser


def main(argv: "list[str] | None" = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if "--" in extra:                # `neurocosim run SCRIPT -- --opt`: the script's
        extra.remove("--")           # options, which argparse leaves behind its `--`
    args.extra = extra
    try:
        return int(args.func(args) or 0)
    except ScriptError as exc:       # the script's own error, or a target refusing it
        if args.debug:
            traceback.print_exception(exc.error)
        print(f"neurocosim: {exc}", file=sys.stderr)
        return 1
    except NeurocosimError as exc:
        if args.debug:
            traceback.print_exception(exc)
        print(f"neurocosim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
