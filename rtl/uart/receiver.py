"""Frame receiver: wire bytes -> COBS decode -> frame buffer, length and CRC-32 checked."""

from amaranth import Cat, Module, Mux, Signal
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
    in (it is then answered with a NACK), and `h_shift` shifts `h_data` into `head` (the
    dispatcher puts a FRAGMENTS request's own command there, 16 bytes in order).

    `head` is a shift register (a byte enters at the top; no 16-way byte select): a frame
    shorter than 16 bytes is shifted on after its delimiter until its first byte is byte
    0, and `ok` pulses then (at most 6 cycles later: a frame has at least 10 bytes, and
    a frame begun meanwhile is spoiled, as one that arrives while the last is answered).
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
    h_shift: In(1)
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
        shifted = Signal(range(HEAD_BYTES + 1))   # bytes shifted into head so far
        aligning = Signal()    # a good frame's head is being shifted into place
        head_in = Signal(8)
        last_crc = Signal(32)

        m.d.comb += [cobs.i.payload.eq(self.i.payload), cobs.i.valid.eq(self.i.valid),
                     self.i.ready.eq(1),
                     rd.addr.eq(self.r_addr), self.r_data.eq(rd.data),
                     self.head.eq(head),
                     crc.i.payload.eq(cobs.o_data), crc.i.valid.eq(cobs.o_valid),
                     wr.addr.eq(count), wr.data.eq(cobs.o_data)]
        m.d.sync += [self.ok.eq(0), self.bad.eq(0)]
        m.d.comb += head_in.eq(Mux(self.h_shift, self.h_data, cobs.o_data))
        take = Signal()   # a frame byte enters head (or, aligning, a filler byte)
        busy = self.hold | aligning   # a frame begun now is spoiled (as under `hold`)
        with m.If(busy & self.i.valid & (self.i.payload != 0)):
            m.d.sync += spoiled.eq(1)  # a delimiter alone spoils nothing
        with m.If(cobs.o_valid & ~spoiled & ~busy):
            with m.If(count < P.MAX_FRAME):
                m.d.comb += wr.en.eq(1)
            m.d.comb += take.eq(shifted != HEAD_BYTES)
            m.d.sync += count.eq(count + (count <= P.MAX_FRAME))
            # the CRC field is the last 4 bytes: keep a rolling copy of them
            m.d.sync += last_crc.eq(Cat(last_crc[8:], cobs.o_data))
        with m.If(aligning):   # the frame is good if its length field is right
            with m.If(shifted == HEAD_BYTES):
                m.d.sync += [aligning.eq(0), shifted.eq(0)]
                with m.If(head[32:48] + P.HEADER_SIZE == self.length):
                    m.d.sync += self.ok.eq(1)
                with m.Else():
                    m.d.sync += self.bad.eq(1)
            with m.Else():
                m.d.comb += take.eq(1)
        with m.If(take):
            m.d.sync += shifted.eq(shifted + 1)
        with m.If(take | self.h_shift):
            m.d.sync += head.eq(Cat(head[8:], head_in))
        m.d.comb += crc.clear.eq(cobs.end)
        with m.If(cobs.end):
            good = (~cobs.error & ~spoiled & crc.ok
                    & (count >= P.HEADER_SIZE + P.CRC_SIZE) & (count <= P.MAX_FRAME))
            with m.If(good):
                m.d.sync += [aligning.eq(1), self.length.eq(count - P.CRC_SIZE),
                             self.crc.eq(last_crc)]
            with m.Else():
                with m.If(~aligning):
                    m.d.sync += shifted.eq(0)
                with m.If((count != 0) | spoiled | cobs.error):
                    m.d.sync += self.bad.eq(1)
            m.d.sync += [count.eq(0), spoiled.eq(0)]
        return m
