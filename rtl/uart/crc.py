"""CRC-32/ISO-HDLC (the protocol's CRC, zlib.crc32), one byte per clock, reflected."""


from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

POLY = 0xEDB88320
#: CRC of (data + its CRC, little-endian): constant for any data, so a receiver checks a
#: whole frame, CRC bytes included, against this one value
CRC32_RESIDUE = 0x2144DF1C


class Crc32(wiring.Component):
    """`clear` starts a new frame; each accepted byte of `i` updates `crc` (final xor
    applied); `ok` is high when the bytes so far end with their own correct CRC."""

    i: In(stream.Signature(8))
    clear: In(1)
    crc: Out(32)
    ok: Out(1)

    def elaborate(self, platform) -> Module:
        m = Module()
        state = Signal(32, init=0xFFFFFFFF)
        nxt = Signal(32)
        m.d.comb += nxt.eq(state ^ self.i.payload)
        for k in range(8):  # one named signal per bit step keeps the netlist linear
            step = Signal(32, name=f"step{k}")
            m.d.comb += step.eq(Mux(nxt[0], (nxt >> 1) ^ POLY, nxt >> 1))
            nxt = step
        m.d.comb += [self.i.ready.eq(1), self.crc.eq(state ^ 0xFFFFFFFF),
                     self.ok.eq(self.crc == CRC32_RESIDUE)]
        with m.If(self.clear):
            m.d.sync += state.eq(0xFFFFFFFF)
        with m.Elif(self.i.valid):
            m.d.sync += state.eq(nxt[:32])
        return m
