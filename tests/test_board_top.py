"""The board top that `rtl build` synthesises (rtl.boards.BoardTop): the fpga board's UART
front end on the platform's "uart" pins, its bit divisor from the board clock. Without a
toolchain: an IDENTIFY frame sent into the rx pin of the elaborated top (Amaranth
simulator) is answered on the tx pin with the board's identity and clock."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from amaranth import Fragment, Signal
from amaranth.sim import Simulator

from neurocosim.host import protocol as P
from neurocosim.hw.compiler import compile as hw_compile
from neurocosim.hw.errors import TargetError
from neurocosim.rtl.boards import BoardTop, uart_divisor

from rtl_uart.harness import uart_receive_frame, uart_send

sys.path.insert(0, str(Path(__file__).parent / "rtl"))
from netgen import random_network  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


class PinsPlatform:
    """The part of an amaranth-boards platform the top uses: its clock and the "uart" 0
    resource (pins `rx.i` in, `tx.o` out); records what was requested."""

    def __init__(self, clock_hz: float):
        self.default_clk_frequency = clock_hz
        self.uart = SimpleNamespace(rx=SimpleNamespace(i=Signal(init=1, name="uart_rx")),
                                    tx=SimpleNamespace(o=Signal(name="uart_tx")))
        self.requested = []

    def request(self, name, number=0):
        self.requested.append((name, number))
        if name != "uart":
            raise LookupError(f"no resource {name!r}")
        return self.uart


def test_uart_divisor_from_the_board_clock_or_a_clear_refusal():
    assert uart_divisor(12e6, 1_000_000) == 12
    assert uart_divisor(12e6, 921_600) == 13          # 923077 baud, 0.2% off
    assert uart_divisor(100e6, 1_000_000) == 100
    with pytest.raises(TargetError, match=r"baud 2500000: the 12 MHz board clock makes "
                                          r"2400000 baud at best \(divisor 5\), 4\.0% off; "
                                          r"the limit is 2%"):
        uart_divisor(12e6, 2_500_000)
    with pytest.raises(TargetError, match=r"baud 4000000: the 12 MHz board clock gives 3\.00 "
                                          r"clock cycles per bit, the UART needs at least 4 "
                                          r"\(baud <= 3000000\)"):
        uart_divisor(12e6, 4_000_000)
    with pytest.raises(TargetError, match="baud 0 must be a positive integer"):
        uart_divisor(12e6, 0)


def test_board_top_answers_identify_on_the_uart_pins():
    image = hw_compile(random_network(31, stdp=True, n_exc=6, n_inh=2, n_src=3), "fpga",
                       neurons_per_core=8)
    clock = 4e6                       # 4 clock cycles a bit at 1 Mbaud: a short simulation
    top = BoardTop(image, clock)
    assert top.divisor == 4 and top.baud == P.DEFAULT_BAUD
    platform = PinsPlatform(clock)
    dut = Fragment.get(top, platform)
    assert platform.requested == [("uart", 0)]
    rx, tx = platform.uart.rx.i, platform.uart.tx.o
    request = b"\x00" + P.encode_frame(P.Cmd.IDENTIFY, 5)
    received = bytearray()

    async def bench(ctx):
        ctx.set(rx, 1)
        await ctx.tick().repeat(8)
        await uart_send(ctx, rx, request, top.divisor)
        received.extend(await uart_receive_frame(ctx, tx, top.divisor))

    sim = Simulator(dut)
    sim.add_clock(1 / clock)
    sim.add_testbench(bench)
    sim.run()
    frame = P.decode_frame(bytes(received))
    assert (frame.type, frame.seq) == (P.Cmd.IDENTIFY | P.RESPONSE_BIT, 5)
    ident = P.unpack_identity(frame.payload)
    assert ident == top.board.identity
    assert ident.clock_hz == 4_000_000                  # the board's clock, not the spec's
    assert (ident.n_cores, ident.neurons_per_core) == (top.capacity.n_cores, 8)


def test_board_top_refuses_a_baud_its_clock_cannot_make_or_a_bad_spike_buffer():
    image = hw_compile(random_network(31, n_exc=6, n_inh=2, n_src=3), "fpga",
                       neurons_per_core=8)
    with pytest.raises(TargetError, match="baud 2500000: the 12 MHz board clock makes"):
        BoardTop(image, 12e6, baud=2_500_000)
    with pytest.raises(TargetError, match="spike buffer of 1000 bytes must be a power of two"):
        BoardTop(image, 12e6, spike_buffer=1000)
    gc.collect()   # the refused tops warn that they were never used: here, where it is ignored
