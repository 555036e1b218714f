"""The whole board side of the link: UART pins <-> command dispatcher <-> HostBus."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import protocol as P
from .dispatcher import CommandDispatcher
from .rx import UartRx
from .signature import HostBus
from .tx import UartTx


class UartLink(wiring.Component):
    """`rx`/`tx` are the UART pins (8N1, `divisor` clocks per bit: clock_hz / baud); the
    core attaches to `bus`. `identity` is what IDENTIFY answers (host.protocol.Identity)."""

    rx: In(1, init=1)
    tx: Out(1, init=1)
    bus: Out(HostBus())

    def __init__(self, identity: P.Identity, divisor: int):
        self.identity = identity
        self.divisor = divisor
        # check parameters now, with the components' own messages
        UartRx(divisor), UartTx(divisor), CommandDispatcher(identity)
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.uart_rx = urx = UartRx(self.divisor)
        m.submodules.uart_tx = utx = UartTx(self.divisor)
        m.submodules.dispatcher = disp = CommandDispatcher(self.identity)
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]
        wiring.connect(m, urx.o, disp.i)
        wiring.connect(m, disp.o, utx.i)
        wiring.connect(m, disp.bus, wiring.flipped(self.bus))
        return m
