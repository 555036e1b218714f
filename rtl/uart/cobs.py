"""COBS frame decoder: wire bytes in (0x00 ends a frame), frame bytes out, one per clock."""


from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class CobsDecoder(wiring.Component):
    """Per input byte, at most one output byte (`o_valid` strobe with `o_data`), so no
    back-pressure is needed at UART rates. On the delimiter `end` pulses, with `error`
    when the frame was malformed (a block ran past the delimiter)."""

    i: In(stream.Signature(8))
    o_data: Out(8)
    o_valid: Out(1)
    end: Out(1)
    error: Out(1)

    def elaborate(self, platform) -> Module:
        m = Module()
        remaining = Signal(8)        # data bytes left in the current block
        last_code = Signal(8)
        first = Signal(init=1)       # next byte is the frame's first code byte
        bad = Signal()
        b = self.i.payload
        m.d.comb += self.i.ready.eq(1)
        m.d.sync += [self.o_valid.eq(0), self.end.eq(0), self.error.eq(0)]
        with m.If(self.i.valid):
            with m.If(b == 0):
                m.d.sync += [self.end.eq(1), self.error.eq(bad | (remaining != 0)),
                             remaining.eq(0), first.eq(1), bad.eq(0)]
            with m.Elif(remaining == 0):
                # a code byte: the previous block (if not a full 0xFF one) implied a zero
                with m.If(~first & (last_code != 0xFF)):
                    m.d.sync += [self.o_data.eq(0), self.o_valid.eq(1)]
                m.d.sync += [remaining.eq(b - 1), last_code.eq(b), first.eq(0)]
            with m.Else():
                m.d.sync += [self.o_data.eq(b), self.o_valid.eq(1),
                             remaining.eq(remaining - 1)]
        return m
