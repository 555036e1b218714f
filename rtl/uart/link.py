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
        # built now, so that bad parameters fail here with the components' own messages
        self._parts = UartRx(divisor), UartTx(divisor), CommandDispatcher(identity)
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        urx, utx, disp = self._parts
        m.submodules.uart_rx, m.submodules.uart_tx, m.submodules.dispatcher = urx, utx, disp
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]
        wiring.connect(m, urx.o, disp.i)
        wiring.connect(m, disp.o, utx.i)
        wiring.connect(m, disp.bus, wiring.flipped(self.bus))
        return m
