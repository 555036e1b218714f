"""`neurocosim board info|run|virtual`: talk to a board (or serve a virtual one)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..protocol import DEFAULT_BAUD


def register(sub) -> None:
    p = sub.add_parser("board", help="identify, run on, or emulate a board over UART")
    bsub = p.add_subparsers(dest="board_command", metavar="ACTION", required=True)

    info = bsub.add_parser("info", help="identify the board on PORT")
    _link_args(info)
    info.set_defaults(func=main_info)

    run = bsub.add_parser("run", help="load an image file onto the board and run it")
    _link_args(run)
    run.add_argument("image", type=Path, help="a HardwareImage file (HardwareImage.save)")
    run.add_argument("--duration", type=float, required=True, help="ms of model time")
    run.add_argument("--out", type=Path, default=None, help="folder for result files")
    run.set_defaults(func=main_run)

    virt = bsub.add_parser("virtual", help="serve a virtual board and print its port")
    virt.add_argument("--transport", choices=("pty", "tcp"), default="pty")
    virt.add_argument("--baud", type=int, default=None,
                      help="model the UART at this rate (default: as fast as possible)")
    virt.add_argument("--image", type=Path, default=None,
                      help="serve the core this image needs (an fpga image: the fpga "
                           "emulator's model)")
    virt.add_argument("--core", choices=("fpga", "link-test"), default="fpga",
                      help="without --image: the fpga core (default spec) or the small "
                           "link test core")
    virt.add_argument("--cores", type=int, default=1)
    virt.add_argument("--neurons-per-core", type=int, default=256)
    virt.add_argument("--seconds", type=float, default=None,
                      help="stop after this long (default: until Ctrl-C)")
    virt.set_defaults(func=main_virtual)


def _link_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", required=True,
                   help="serial port or URL: /dev/ttyUSB0, a pty path, socket://host:port")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD)
    p.add_argument("--timeout", type=float, default=0.25, help="seconds per attempt")


def main_info(args: argparse.Namespace) -> int:
    from ..board import Board
    with Board(args.port, baud=args.baud, timeout=args.timeout) as board:
        ident, c = board.identity, board.counters()
    print(f"{ident.model}: protocol {ident.protocol_version}, {ident.n_cores} core(s) x "
          f"{ident.neurons_per_core} neurons, clock {ident.clock_hz / 1e6:g} MHz, "
          f"spike buffer {ident.spike_buffer} bytes, frames up to {ident.max_payload} bytes")
    for name, value in ident.params:
        print(f"    {name:<24} {value}")
    for r in ident.regions:
        lo, hi = r.value_range
        access = "read-only" if r.readonly else "write-only" if r.writeonly else "read-write"
        print(f"    region {r.id:>3} {r.name:<16} {r.kind.name:<8} {r.depth} x "
              f"{'i' if r.signed else 'u'}{8 * r.width} ({lo}..{hi}, {access})")
    print(f"    counters: {c.steps} steps, {c.cycles} cycles, {c.spikes} spikes, "
          f"{c.rx_errors} bad frames, {c.duplicates} retransmissions answered")
    return 0


def main_run(args: argparse.Namespace) -> int:
    from ...hw.image import HardwareImage
    from ..board import BoardRunner
    image = HardwareImage.load(args.image)
    total = round(args.duration / float(image.target.timestep or image.network.timestep))
    t0 = time.monotonic()
    last = [t0]

    def progress(step: int) -> None:  # a line every 2 s for long runs
        now = time.monotonic()
        if now - last[0] >= 2.0:
            last[0] = now
            print(f"  step {step + 1}/{total} ({(step + 1) / (now - t0):,.0f} steps/s)",
                  flush=True)

    runner = BoardRunner(image, port=args.port, baud=args.baud, timeout=args.timeout,
                         progress=progress)
    try:
        runner.run(args.duration)
        result = runner.result()
    finally:
        runner.close()
    n = sum(len(s) for s in result.spikes.values())
    print(f"board: {result.t_stop:g} ms, {n} spikes, "
          f"{result.info['link']['retransmits']} retransmissions")
    from ...sim.output import mapping_lines, write_result
    print("\n".join(mapping_lines(result)))
    if args.out is not None:
        sizes = {p.name: p.size for p in image.network.populations}
        paths = write_result(result, args.out, title=f"{args.image.name} on the board",
                             sizes=sizes)
        print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def main_virtual(args: argparse.Namespace) -> int:
    from ..virtual_board import FpgaBoardModel, LifCoreModel, VirtualBoard
    if args.image is not None:
        from ...hw.image import HardwareImage
        vb = VirtualBoard.for_image(HardwareImage.load(args.image), transport=args.transport,
                                    baud=args.baud)
    elif args.core == "fpga":
        from ...hw.targets import get_target
        spec = get_target("fpga").replace(n_cores=args.cores,
                                          neurons_per_core=args.neurons_per_core)
        vb = VirtualBoard(FpgaBoardModel(spec), transport=args.transport, baud=args.baud)
    else:
        vb = VirtualBoard(LifCoreModel(args.cores, args.neurons_per_core),
                          transport=args.transport, baud=args.baud)
    vb.start()
    print(vb.port, flush=True)
    try:
        t0 = time.monotonic()
        while args.seconds is None or time.monotonic() - t0 < args.seconds:
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        vb.close()
    return 0
