"""`neurocosim rtl export IMAGE -o OUT` (Verilog of the fpga core) and
`neurocosim rtl build --board B IMAGE -o OUT` (bitstream, resources, max clock): the chip
behind the UART front end on the board's UART pins at `--baud`, so that `neurocosim flash`
programs it and host.board (`neurocosim board info|run --port ...`) drives it.

Both build the chip for a capacity (rtl.capacity.ChipCapacity): by default exactly what
IMAGE needs; `--neurons-per-core`, `--synapses-per-core`, `--cores`, `--axons`,
`--ring-depth`, `--stimulus-depth` and `--stdp/--no-stdp` make it larger, so that the
host can write other images into it. IMAGE is its power-up contents."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..protocol import DEFAULT_BAUD, DEFAULT_SPIKE_BUFFER
from ...rtl.boards import BOARDS


def register(sub) -> None:
    p = sub.add_parser("rtl", help="export or build the Amaranth fpga core of an image",
                       description="Generates the LIF/STDP core of an fpga image (compiled "
                                   "with target 'fpga') as Verilog, or builds a bitstream.")
    rsub = p.add_subparsers(dest="rtl_command", required=True)
    e = rsub.add_parser("export", help="write OUT/neurocore.v and OUT/neurocore.json")
    e.add_argument("image", type=Path, help="image file (HardwareImage.save)")
    e.add_argument("-o", "--out", type=Path, default=Path("out"))
    e.add_argument("--name", default="neurocore", help="top module name")
    _capacity_args(e)
    e.set_defaults(func=main_export)
    b = rsub.add_parser("build", help="bitstream for a board (iCE40 and ECP5 via YoWASP, "
                                      "Xilinx via Vivado)")
    b.add_argument("image", type=Path)
    b.add_argument("--board", required=True,
                   help=" | ".join(f"{n} ({b.fpga})" for n, b in BOARDS.items()))
    b.add_argument("-o", "--out", type=Path, default=None,
                   help="build folder (default build/BOARD)")
    b.add_argument("--baud", type=int, default=DEFAULT_BAUD, metavar="BAUD",
                   help=f"the UART's bit rate (default: the protocol's, {DEFAULT_BAUD})")
    b.add_argument("--spike-buffer", type=int, default=DEFAULT_SPIKE_BUFFER, metavar="BYTES",
                   help=f"the board's spike buffer, a power of two (default "
                        f"{DEFAULT_SPIKE_BUFFER}: 8 block RAMs; 1024 takes 2)")
    _capacity_args(b)
    b.set_defaults(func=main_build)


#: option -> ChipCapacity field
_CAPACITY = {"cores": "n_cores", "neurons_per_core": "neurons_per_core",
             "synapses_per_core": "synapses_per_core", "axons": "n_axons",
             "ring_depth": "ring_depth", "stimulus_depth": "stimulus_depth"}


def _capacity_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("capacity", "what the chip holds (default: what IMAGE needs)")
    for opt in _CAPACITY:
        g.add_argument("--" + opt.replace("_", "-"), type=int, default=None, metavar="N")
    g.add_argument("--stdp", action=argparse.BooleanOptionalAction, default=None,
                   help="build the STDP hardware (default: if IMAGE uses STDP)")


def capacity_of(image, args: argparse.Namespace):
    """IMAGE's needs with the capacity options applied; a bad value or one that IMAGE
    does not fit is a clear error naming it."""
    import dataclasses

    from ...hw.errors import TargetError
    from ...rtl.capacity import ChipCapacity
    from ...rtl.export import check_image
    check_image(image)
    cap = ChipCapacity.of_image(image)
    change = {field: getattr(args, opt) for opt, field in _CAPACITY.items()
              if getattr(args, opt) is not None}
    if args.stdp is not None:
        change["stdp"] = args.stdp
    try:
        cap = dataclasses.replace(cap, **change)
    except ValueError as exc:
        raise TargetError(f"rtl: {exc}") from None
    cap.check(image)
    return cap


def main_export(args: argparse.Namespace) -> int:
    """Write the Verilog and report the capacity it was built for (read back from the
    sidecar, which records the chip's own), beside what the image uses of it."""
    import json

    from ...hw.image import HardwareImage
    from ...rtl.capacity import ChipCapacity
    from ...rtl.export import export_verilog
    image = HardwareImage.load(args.image)
    path = export_verilog(image, args.out, name=args.name, capacity=capacity_of(image, args))
    meta = path.with_suffix(".json")
    built = ChipCapacity(**json.loads(meta.read_text())["capacity"])
    d = image.data["fpga"]
    print(f"wrote {path} and {meta}\n    built for  {built.summary()}\n"
          f"    image uses {len(image.cores)} core(s), {d['n_neurons']} neurons, "
          f"{d['n_axons']} axons")
    return 0


def main_build(args: argparse.Namespace) -> int:
    from ...hw.image import HardwareImage
    from ...rtl.boards import build_board
    image = HardwareImage.load(args.image)
    out = args.out or Path("build") / args.board
    report = build_board(image, args.board, out, capacity_of(image, args), baud=args.baud,
                         spike_buffer=args.spike_buffer)
    print("\n".join(report.lines()))
    print(f"UART on {BOARDS[args.board].uart}\n"
          f"program it: neurocosim flash --board {args.board} {report.bitstream}\n"
          f"then drive it: neurocosim board info --port PORT --baud {args.baud}")
    return 0
