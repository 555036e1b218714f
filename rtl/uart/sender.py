"""Frame sender: header + payload buffer -> CRC-32 appended -> COBS-encoded wire bytes."""

from amaranth import Module, Signal
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
        b = _SendBuild(self)
        with b.m.FSM():   # states are numbered in order of first mention: keep this order
            b.idle_state()
            b.nack_state()
            b.header_state()
            b.crc_states()
            b.scan_state()
            b.emit_states()
        return b.m


class _SendBuild:
    """One elaboration of a FrameSender: its module, buffers and the signals the state
    machine shares, built by steps that `FrameSender.elaborate` calls."""

    def __init__(self, tx: FrameSender):
        self.tx = tx
        self.m = m = Module()
        m.submodules.mem = mem = Memory(shape=8, depth=P.MAX_FRAME, init=[])
        m.submodules.crc = self.crc = crc = Crc32()
        m.submodules.nack_rom = rom = Memory(shape=8, depth=len(NACK_WIRE),
                                             init=list(NACK_WIRE))
        self.wr = wr = mem.write_port()
        self.rd = rd = mem.read_port()
        self.rom_rd = rom.read_port(domain="comb")   # a few bytes: logic, not block RAM
        self.total = Signal(range(P.MAX_FRAME + 1))   # frame bytes with CRC
        self.p = Signal(range(P.MAX_FRAME + 1))        # start of the current COBS block
        self.q = Signal(range(P.MAX_FRAME + 1))        # scan / emit position
        self.k = Signal(range(P.MAX_FRAME + 1))
        r = Signal(range(P.MAX_FRAME + 1))             # the byte rd.data shows
        self.r_next = r_next = Signal.like(r)
        self.head = Signal(48)
        self.crc_val = Signal(32)
        m.d.comb += [r_next.eq(r), rd.addr.eq(r_next)]
        m.d.sync += r.eq(r_next)

        m.d.comb += [wr.addr.eq(tx.w_addr), wr.data.eq(tx.w_data),
                     wr.en.eq(tx.w_en & ~tx.busy)]
        m.d.comb += crc.i.payload.eq(rd.data)

    def idle_state(self) -> None:
        """IDLE: a NACK, a new frame (latch its header and length) or a resend starts."""
        m, tx, k = self.m, self.tx, self.k
        with m.State("IDLE"):
            with m.If(tx.nack):
                m.d.sync += k.eq(0)
                m.next = "NACK"
            with m.Elif(tx.send):
                m.d.sync += [self.head.eq(tx.type << 8 | tx.seq << 16 | tx.n << 32
                                          | P.PROTOCOL_VERSION),
                             self.total.eq(tx.n + P.HEADER_SIZE + P.CRC_SIZE), k.eq(0)]
                m.next = "HEAD"
            with m.Elif(tx.resend):
                m.d.sync += [self.p.eq(0), self.q.eq(0)]
                m.d.comb += self.r_next.eq(0)
                m.next = "SCAN"

    def nack_state(self) -> None:
        """NACK: the constant NACK frame's wire bytes, straight from the ROM."""
        m, tx, k, rom_rd = self.m, self.tx, self.k, self.rom_rd
        with m.State("NACK"):
            m.d.comb += [tx.busy.eq(1), rom_rd.addr.eq(k), tx.o.payload.eq(rom_rd.data),
                         tx.o.valid.eq(1)]
            with m.If(tx.o.ready):
                m.d.sync += k.eq(k + 1)
                with m.If(k == len(NACK_WIRE) - 1):
                    m.next = "IDLE"

    def header_state(self) -> None:
        """HEAD: the latched header bytes into the buffer, ahead of the payload."""
        m, tx, k, wr = self.m, self.tx, self.k, self.wr
        with m.State("HEAD"):  # header bytes into the buffer
            m.d.comb += [tx.busy.eq(1), wr.en.eq(1), wr.addr.eq(k),
                         wr.data.eq(self.head.word_select(k[:3], 8))]
            m.d.sync += k.eq(k + 1)
            with m.If(k == P.HEADER_SIZE - 1):
                m.d.sync += k.eq(0)
                m.next = "CRC_CLEAR"

    def crc_states(self) -> None:
        """CRC_CLEAR..CRC_PUT: the CRC-32 over header + payload, appended to the buffer."""
        m, tx, k, wr, crc, total = self.m, self.tx, self.k, self.wr, self.crc, self.total
        with m.State("CRC_CLEAR"):
            m.d.comb += [tx.busy.eq(1), crc.clear.eq(1), self.r_next.eq(0)]
            m.next = "CRC"
        with m.State("CRC"):  # CRC over header + payload
            m.d.comb += [tx.busy.eq(1), crc.i.valid.eq(1), self.r_next.eq(k + 1)]
            m.d.sync += k.eq(k + 1)
            with m.If(k == total - P.CRC_SIZE - 1):
                m.d.sync += k.eq(0)
                m.next = "CRC_LATCH"
        with m.State("CRC_LATCH"):
            m.d.comb += tx.busy.eq(1)
            m.d.sync += self.crc_val.eq(crc.crc)
            m.next = "CRC_PUT"
        with m.State("CRC_PUT"):
            m.d.comb += [tx.busy.eq(1), wr.en.eq(1),
                         wr.addr.eq(total - P.CRC_SIZE + k),
                         wr.data.eq(self.crc_val.word_select(k[:2], 8))]
            m.d.sync += k.eq(k + 1)
            with m.If(k == P.CRC_SIZE - 1):
                m.d.sync += [self.p.eq(0), self.q.eq(0)]
                m.d.comb += self.r_next.eq(0)
                m.next = "SCAN"

    def scan_state(self) -> None:
        """SCAN (r == q): COBS finds the block end q (a zero, the frame end, or 254 bytes
        on)."""
        m, tx, p, q, r_next = self.m, self.tx, self.p, self.q, self.r_next
        with m.State("SCAN"):
            m.d.comb += tx.busy.eq(1)
            with m.If((q == self.total) | (q - p == 254) | (self.rd.data == 0)):
                m.d.comb += r_next.eq(p)
                m.next = "CODE"
            with m.Else():
                m.d.sync += q.eq(q + 1)
                m.d.comb += r_next.eq(q + 1)

    def emit_states(self) -> None:
        """CODE, DATA, DELIM: a block's code byte, its data bytes, and the final 0x00."""
        m, tx, p, q, k, r_next = self.m, self.tx, self.p, self.q, self.k, self.r_next
        with m.State("CODE"):  # (r == p, where DATA starts)
            m.d.comb += [tx.busy.eq(1), tx.o.payload.eq(q - p + 1), tx.o.valid.eq(1)]
            with m.If(tx.o.ready):
                m.d.sync += k.eq(p)
                m.next = "DATA"
        with m.State("DATA"):  # (r == k)
            m.d.comb += tx.busy.eq(1)
            with m.If(k == q):  # block done: where does the next one start?
                with m.If(q == self.total):
                    m.next = "DELIM"
                with m.Elif(q - p == 254):
                    m.d.sync += p.eq(q)
                    m.next = "SCAN"
                with m.Else():  # q holds a zero, implied by the code byte
                    m.d.sync += [p.eq(q + 1), q.eq(q + 1)]
                    m.d.comb += r_next.eq(q + 1)
                    m.next = "SCAN"
            with m.Else():
                m.d.comb += [tx.o.payload.eq(self.rd.data), tx.o.valid.eq(1)]
                with m.If(tx.o.ready):
                    m.d.sync += k.eq(k + 1)
                    m.d.comb += r_next.eq(k + 1)
        with m.State("DELIM"):
            m.d.comb += [tx.busy.eq(1), tx.o.payload.eq(0), tx.o.valid.eq(1)]
            with m.If(tx.o.ready):
                m.next = "IDLE"
