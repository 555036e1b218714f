"""Frame receiver: wire bytes -> COBS decode -> frame buffer, length and CRC-32 checked."""

from amaranth import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from . import protocol as P
from .cobs import CobsDecoder
from .crc import Crc32

HEAD_BYTES = 16  # every request's fixed fields fit here (header 6 + access/spike req 10)


class FrameReceiver(wiring.Component):
    """Decoded frames land in a buffer (block RAM) read through `r_addr`/`r_data`: `r_data`
    is the byte at the `r_addr` of the previous cycle (a synchronous read port).

    On a delimiter: `ok` pulses for a frame with good COBS, length field and CRC (with
    `length`, the frame's size without CRC, and its first 16 bytes on `head`); `bad`
    pulses for a damaged one (answered with a NACK); an empty frame is idle line. While
    `hold` is high (a frame is being answered) arriving data bytes spoil the frame they are
    in (it is then answered with a NACK), and `h_we` writes `h_data` into byte `h_addr` of
    `head` (the dispatcher puts a FRAGMENTS request's own command there).
    """

    i: In(stream.Signature(8))
    hold: In(1)
    ok: Out(1)
    bad: Out(1)
    length: Out(range(P.MAX_FRAME + 1))
    head: Out(8 * HEAD_BYTES)
    crc: Out(32)
    r_addr: In(range(P.MAX_FRAME))
    r_data: Out(8)
    h_we: In(1)
    h_addr: In(4)
    h_data: In(8)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.cobs = cobs = CobsDecoder()
        m.submodules.crc = crc = Crc32()
        m.submodules.mem = mem = Memory(shape=8, depth=P.MAX_FRAME, init=[])
        wr = mem.write_port()
        rd = mem.read_port()
        count = Signal(range(P.MAX_FRAME + 2))
        spoiled = Signal()
        head = Signal(8 * HEAD_BYTES)
        last_crc = Signal(32)

        m.d.comb += [cobs.i.payload.eq(self.i.payload), cobs.i.valid.eq(self.i.valid),
                     self.i.ready.eq(1),
                     rd.addr.eq(self.r_addr), self.r_data.eq(rd.data),
                     self.head.eq(head),
                     crc.i.payload.eq(cobs.o_data), crc.i.valid.eq(cobs.o_valid),
                     wr.addr.eq(count), wr.data.eq(cobs.o_data)]
        m.d.sync += [self.ok.eq(0), self.bad.eq(0)]
        with m.If(self.hold & self.i.valid & (self.i.payload != 0)):
            m.d.sync += spoiled.eq(1)  # a delimiter alone spoils nothing
        with m.If(cobs.o_valid & ~spoiled & ~self.hold):
            with m.If(count < P.MAX_FRAME):
                m.d.comb += wr.en.eq(1)
                for k in range(HEAD_BYTES):
                    with m.If(count == k):
                        m.d.sync += head[8 * k:8 * k + 8].eq(cobs.o_data)
            m.d.sync += count.eq(count + (count <= P.MAX_FRAME))
            # the CRC field is the last 4 bytes: keep a rolling copy of them
            m.d.sync += last_crc.eq(Cat(last_crc[8:], cobs.o_data))
        with m.If(self.h_we):
            m.d.sync += head.word_select(self.h_addr, 8).eq(self.h_data)
        m.d.comb += crc.clear.eq(cobs.end)
        with m.If(cobs.end):
            payload_len = head[32:48]
            good = (~cobs.error & ~spoiled & crc.ok
                    & (count >= P.HEADER_SIZE + P.CRC_SIZE) & (count <= P.MAX_FRAME)
                    & (payload_len + P.HEADER_SIZE + P.CRC_SIZE == count))
            with m.If(good):
                m.d.sync += [self.ok.eq(1), self.length.eq(count - P.CRC_SIZE),
                             self.crc.eq(last_crc)]
            with m.Elif((count != 0) | spoiled | cobs.error):
                m.d.sync += self.bad.eq(1)
            m.d.sync += [count.eq(0), spoiled.eq(0)]
        return m
