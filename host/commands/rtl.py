"""`neurocosim rtl export IMAGE -o OUT` (Verilog of the fpga core) and
`neurocosim rtl build --board B IMAGE -o OUT` (bitstream, resources, max clock)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("rtl", help="export or build the Amaranth fpga core of an image",
                       description="Generates the LIF/STDP core of an fpga image (compiled "
                                   "with target 'fpga') as Verilog, or builds a bitstream.")
    rsub = p.add_subparsers(dest="rtl_command", required=True)
    e = rsub.add_parser("export", help="write OUT/neurocore.v and OUT/neurocore.json")
    e.add_argument("image", type=Path, help="image file (HardwareImage.save)")
    e.add_argument("-o", "--out", type=Path, default=Path("out"))
    e.add_argument("--name", default="neurocore", help="top module name")
    e.set_defaults(func=main_export)
    b = rsub.add_parser("build", help="bitstream for a board (iCE40 via YoWASP, "
                                      "Xilinx via Vivado)")
    b.add_argument("image", type=Path)
    b.add_argument("--board", required=True,
                   help="icestick | icebreaker | arty_a7 | cmod_a7")
    b.add_argument("-o", "--out", type=Path, default=None,
                   help="build folder (default build/BOARD)")
    b.set_defaults(func=main_build)


def main_export(args: argparse.Namespace) -> int:
    from ...hw.image import HardwareImage
    from ...rtl.export import export_verilog
    image = HardwareImage.load(args.image)
    path = export_verilog(image, args.out, name=args.name)
    d = image.data["fpga"]
    print(f"wrote {path} ({len(image.cores)} core(s), {d['n_neurons']} neurons, "
          f"{d['n_axons']} axons) and {path.with_suffix('.json')}")
    return 0


def main_build(args: argparse.Namespace) -> int:
    from ...hw.image import HardwareImage
    from ...rtl.boards import build_board
    image = HardwareImage.load(args.image)
    out = args.out or Path("build") / args.board
    report = build_board(image, args.board, out)
    print("\n".join(report.lines()))
    return 0
