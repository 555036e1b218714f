"""UART receiver, 8N1, sampling each bit in its middle after a two-flop synchroniser."""


from amaranth import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class UartRx(wiring.Component):
    """Bytes out on `o`; `frame_error` pulses on a low stop bit, `overrun` when a byte
    arrives while the previous one was not yet taken (the new byte replaces it)."""

    rx: In(1, init=1)
    o: Out(stream.Signature(8))
    frame_error: Out(1)
    overrun: Out(1)

    #: fewest clock cycles per bit the receiver samples reliably
    MIN_DIVISOR = 4

    def __init__(self, divisor: int):
        if not isinstance(divisor, int) or divisor < self.MIN_DIVISOR:
            raise ValueError(f"UART divisor {divisor!r} must be an integer >= "
                             f"{self.MIN_DIVISOR} (clock cycles per bit)")
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        d = self.divisor
        s1, s2 = Signal(init=1), Signal(init=1)
        m.d.sync += [s1.eq(self.rx), s2.eq(s1)]
        cnt = Signal(range(d))
        bit = Signal(range(8))
        shreg = Signal(8)
        m.d.sync += [self.frame_error.eq(0), self.overrun.eq(0)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~s2):
                    m.d.sync += cnt.eq(d // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(cnt == 0):
                    with m.If(~s2):
                        m.d.sync += [cnt.eq(d - 1), bit.eq(0)]
                        m.next = "DATA"
                    with m.Else():  # a glitch, not a start bit
                        m.next = "IDLE"
                with m.Else():
                    m.d.sync += cnt.eq(cnt - 1)
            with m.State("DATA"):
                with m.If(cnt == 0):
                    m.d.sync += [shreg.eq(Cat(shreg[1:], s2)), cnt.eq(d - 1), bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += cnt.eq(cnt - 1)
            with m.State("STOP"):
                with m.If(cnt == 0):
                    with m.If(s2):
                        m.d.sync += [self.o.payload.eq(shreg), self.o.valid.eq(1),
                                     self.overrun.eq(self.o.valid & ~self.o.ready)]
                    with m.Else():
                        m.d.sync += self.frame_error.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += cnt.eq(cnt - 1)
        return m
