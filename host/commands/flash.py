"""`neurocosim flash --board B FILE [--dry-run]`: program a bitstream with the board's
programmer (rtl.boards.BOARDS: iceprog for iCE40 boards, dfu-util for the OrangeCrab,
openFPGALoader for the ULX3S and Xilinx boards). A missing or non-bitstream file (no sync
word of the board's FPGA family), an unknown board or a missing tool is a clear,
non-zero exit, also with --dry-run."""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
from pathlib import Path

from ...hw.errors import TargetError
from ...rtl.boards import BOARDS, flash_command


def register(sub) -> None:
    tools: dict[str, list[str]] = {}
    for b in BOARDS.values():
        tools.setdefault(b.program[0], []).append(b.name)
    p = sub.add_parser("flash", help="program a bitstream onto a board",
                       description="Runs " + " or ".join(f"{t} ({', '.join(b)})"
                                                        for t, b in tools.items())
                       + " on FILE.")
    p.add_argument("file", type=Path,
                   help="bitstream (neurocore.bin for iCE40, neurocore.bit for ECP5 and "
                        "Xilinx), as `neurocosim rtl build` writes it")
    p.add_argument("--board", required=True, help=" | ".join(BOARDS))
    p.add_argument("--dry-run", action="store_true",
                   help="check the file, print the command, run nothing")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    cmd = flash_command(args.board, args.file)
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    tool = shutil.which(cmd[0])
    if tool is None:
        raise TargetError(f"{cmd[0]} is not installed (not on PATH); it programs the "
                          f"{args.board}. Install it (e.g. apt install fpga-icestorm, "
                          "dfu-util or openfpgaloader), or use --dry-run")
    proc = subprocess.run([tool, *cmd[1:]], capture_output=True, text=True)
    if proc.returncode != 0:
        raise TargetError(f"{cmd[0]} failed (exit {proc.returncode}): is the {args.board} "
                          f"plugged in? {(proc.stderr or proc.stdout).strip()[-400:]}")
    print(proc.stdout.strip() or f"programmed {args.board} with {args.file}")
    return 0
