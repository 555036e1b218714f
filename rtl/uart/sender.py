"""Frame sender: header + payload buffer -> CRC-32 appended -> COBS-encoded wire bytes."""

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from . import protocol as P
from .crc import Crc32

#: the NACK frame is constant: its wire bytes are sent from this table, so a NACK never
#: overwrites the buffered last response (which answers a retransmitted request)
NACK_WIRE = P.encode_frame(P.NACK_TYPE, 0, b"")


class FrameSender(wiring.Component):
    """The payload is written at buffer addresses 6.. through `w_addr/w_data/w_en`; a
    `send` pulse with `type`, `seq` and `n` (payload bytes) writes the header, appends the
    CRC and streams COBS(frame) + 0x00 on `o`. `resend` streams the buffered frame again;
    `nack` streams the constant NACK frame. `busy` is high until the delimiter is out.

    The frame buffer is a block RAM with a synchronous read port, addressed one cycle
    ahead: in every cycle it shows the byte at `r`, the read pointer (CRC and COBS data:
    `k`; COBS scan: `q`)."""

    w_addr: In(range(P.MAX_FRAME))
    w_data: In(8)
    w_en: In(1)
    send: In(1)
    resend: In(1)
    nack: In(1)
    type: In(8)
    seq: In(16)
    n: In(range(P.MAX_PAYLOAD + 1))
    busy: Out(1)
    o: Out(stream.Signature(8))

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.mem = mem = Memory(shape=8, depth=P.MAX_FRAME, init=[])
        m.submodules.crc = crc = Crc32()
        m.submodules.nack_rom = rom = Memory(shape=8, depth=len(NACK_WIRE),
                                             init=list(NACK_WIRE))
        wr = mem.write_port()
        rd = mem.read_port()
        rom_rd = rom.read_port(domain="comb")   # a few bytes: logic, not block RAM
        total = Signal(range(P.MAX_FRAME + 1))   # frame bytes with CRC
        p = Signal(range(P.MAX_FRAME + 1))        # start of the current COBS block
        q = Signal(range(P.MAX_FRAME + 1))        # scan / emit position
        k = Signal(range(P.MAX_FRAME + 1))
        r = Signal(range(P.MAX_FRAME + 1))        # the byte rd.data shows
        r_next = Signal.like(r)
        head = Signal(48)
        crc_val = Signal(32)
        m.d.comb += [r_next.eq(r), rd.addr.eq(r_next)]
        m.d.sync += r.eq(r_next)

        m.d.comb += [wr.addr.eq(self.w_addr), wr.data.eq(self.w_data),
                     wr.en.eq(self.w_en & ~self.busy)]
        m.d.comb += crc.i.payload.eq(rd.data)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.nack):
                    m.d.sync += k.eq(0)
                    m.next = "NACK"
                with m.Elif(self.send):
                    m.d.sync += [head.eq(self.type << 8 | self.seq << 16 | self.n << 32
                                         | P.PROTOCOL_VERSION),
                                 total.eq(self.n + P.HEADER_SIZE + P.CRC_SIZE), k.eq(0)]
                    m.next = "HEAD"
                with m.Elif(self.resend):
                    m.d.sync += [p.eq(0), q.eq(0)]
                    m.d.comb += r_next.eq(0)
                    m.next = "SCAN"
            with m.State("NACK"):
                m.d.comb += [self.busy.eq(1), rom_rd.addr.eq(k), self.o.payload.eq(rom_rd.data),
                             self.o.valid.eq(1)]
                with m.If(self.o.ready):
                    m.d.sync += k.eq(k + 1)
                    with m.If(k == len(NACK_WIRE) - 1):
                        m.next = "IDLE"
            with m.State("HEAD"):  # header bytes into the buffer
                m.d.comb += [self.busy.eq(1), wr.en.eq(1), wr.addr.eq(k),
                             wr.data.eq(head.word_select(k[:3], 8))]
                m.d.sync += k.eq(k + 1)
                with m.If(k == P.HEADER_SIZE - 1):
                    m.d.sync += k.eq(0)
                    m.next = "CRC_CLEAR"
            with m.State("CRC_CLEAR"):
                m.d.comb += [self.busy.eq(1), crc.clear.eq(1), r_next.eq(0)]
                m.next = "CRC"
            with m.State("CRC"):  # CRC over header + payload
                m.d.comb += [self.busy.eq(1), crc.i.valid.eq(1), r_next.eq(k + 1)]
                m.d.sync += k.eq(k + 1)
                with m.If(k == total - P.CRC_SIZE - 1):
                    m.d.sync += k.eq(0)
                    m.next = "CRC_LATCH"
            with m.State("CRC_LATCH"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += crc_val.eq(crc.crc)
                m.next = "CRC_PUT"
            with m.State("CRC_PUT"):
                m.d.comb += [self.busy.eq(1), wr.en.eq(1),
                             wr.addr.eq(total - P.CRC_SIZE + k),
                             wr.data.eq(crc_val.word_select(k[:2], 8))]
                m.d.sync += k.eq(k + 1)
                with m.If(k == P.CRC_SIZE - 1):
                    m.d.sync += [p.eq(0), q.eq(0)]
                    m.d.comb += r_next.eq(0)
                    m.next = "SCAN"
            # COBS: find the block end q (a zero, the frame end, or 254 bytes on)
            with m.State("SCAN"):  # (r == q)
                m.d.comb += self.busy.eq(1)
                with m.If((q == total) | (q - p == 254) | (rd.data == 0)):
                    m.d.comb += r_next.eq(p)
                    m.next = "CODE"
                with m.Else():
                    m.d.sync += q.eq(q + 1)
                    m.d.comb += r_next.eq(q + 1)
            with m.State("CODE"):  # (r == p, where DATA starts)
                m.d.comb += [self.busy.eq(1), self.o.payload.eq(q - p + 1), self.o.valid.eq(1)]
                with m.If(self.o.ready):
                    m.d.sync += k.eq(p)
                    m.next = "DATA"
            with m.State("DATA"):  # (r == k)
                m.d.comb += self.busy.eq(1)
                with m.If(k == q):  # block done: where does the next one start?
                    with m.If(q == total):
                        m.next = "DELIM"
                    with m.Elif(q - p == 254):
                        m.d.sync += p.eq(q)
                        m.next = "SCAN"
                    with m.Else():  # q holds a zero, implied by the code byte
                        m.d.sync += [p.eq(q + 1), q.eq(q + 1)]
                        m.d.comb += r_next.eq(q + 1)
                        m.next = "SCAN"
                with m.Else():
                    m.d.comb += [self.o.payload.eq(rd.data), self.o.valid.eq(1)]
                    with m.If(self.o.ready):
                        m.d.sync += k.eq(k + 1)
                        m.d.comb += r_next.eq(k + 1)
            with m.State("DELIM"):
                m.d.comb += [self.busy.eq(1), self.o.payload.eq(0), self.o.valid.eq(1)]
                with m.If(self.o.ready):
                    m.next = "IDLE"
        return m
