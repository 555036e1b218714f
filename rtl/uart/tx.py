"""UART transmitter, 8N1: start bit, 8 data bits LSB first, stop bit; `divisor` clocks a bit."""


from amaranth import Cat, C, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class UartTx(wiring.Component):
    """Takes a byte when `i.valid & i.ready`; `tx` idles high."""

    i: In(stream.Signature(8))
    tx: Out(1, init=1)

    def __init__(self, divisor: int):
        if not isinstance(divisor, int) or divisor < 2:
            raise ValueError(f"UART divisor {divisor!r} must be an integer >= 2 "
                             "(clock cycles per bit)")
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        cnt = Signal(range(self.divisor))
        shreg = Signal(10, init=0x3FF)
        bits = Signal(range(11))
        m.d.comb += self.i.ready.eq(bits == 0)
        m.d.sync += self.tx.eq(shreg[0])
        with m.If(bits == 0):
            with m.If(self.i.valid):
                m.d.sync += [shreg.eq(Cat(C(0, 1), self.i.payload, C(1, 1))),
                             bits.eq(10), cnt.eq(self.divisor - 1)]
        with m.Elif(cnt == 0):
            m.d.sync += [shreg.eq(Cat(shreg[1:], C(1, 1))), bits.eq(bits - 1),
                         cnt.eq(self.divisor - 1)]
        with m.Else():
            m.d.sync += cnt.eq(cnt - 1)
        return m
