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
    """The payload is written at buffer addresses 6.. through `w_addr/w_data/w_en`. A `send`
    pulse latches `type`, `seq` and a frame body: `pre` (2 bytes, when `pre_on`) followed by
    the `n` buffer bytes from address `start`; it then computes the CRC and streams
    COBS(header + body + CRC) + 0x00 on `o`. The header, `pre` and the CRC stay in
    registers, never in the buffer, so a frame may be a slice of the buffered answer (a
    FRAGMENTS piece, with its index and last index in `pre`) or carry no buffer bytes at all
    (an ERROR: code and command in `pre`), and the answer in the buffer survives both.
    `resend` streams the last frame again; `nack` streams the constant NACK frame. `busy` is
    high until the delimiter is out.

    The frame buffer is a block RAM with a synchronous read port, addressed one cycle
    ahead: in every cycle it shows the byte at frame position `r` (CRC and COBS data: `k`;
    COBS scan: `q`), and `byte` is frame byte `r` from the header, the buffer or the CRC."""

    w_addr: In(range(P.MAX_FRAME))
    w_data: In(8)
    w_en: In(1)
    send: In(1)
    resend: In(1)
    nack: In(1)
    type: In(8)
    seq: In(16)
    n: In(range(P.MAX_PAYLOAD + 1))
    start: In(range(P.MAX_FRAME))
    pre: In(16)
    pre_on: In(1)
    busy: Out(1)
    o: Out(stream.Signature(8))

    def elaborate(self, platform) -> Module:
        b = _SendBuild(self)
        with b.m.FSM():   # states are numbered in order of first mention: keep this order
            b.idle_state()
            b.nack_state()
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
        wr = mem.write_port()
        self.rd = rd = mem.read_port()
        self.rom_rd = rom.read_port(domain="comb")   # a few bytes: logic, not block RAM
        self.total = Signal(range(P.MAX_FRAME + 1))   # frame bytes with CRC
        self.end = Signal(range(P.MAX_FRAME + 1))     # frame bytes without CRC
        self.hlen = Signal(range(P.HEADER_SIZE + 3))  # header (+ pre) bytes
        self.base = Signal(range(P.MAX_FRAME))        # buffer address of frame byte 0
        self.p = Signal(range(P.MAX_FRAME + 1))        # start of the current COBS block
        self.q = Signal(range(P.MAX_FRAME + 1))        # scan / emit position
        self.k = Signal(range(P.MAX_FRAME + 1))
        r = Signal(range(P.MAX_FRAME + 1))             # the frame byte `byte` shows
        self.r_next = r_next = Signal.like(r)
        self.head = Signal(64)                         # header and pre bytes
        self.crc_val = Signal(32)
        self.byte = Signal(8)
        m.d.comb += [r_next.eq(r), rd.addr.eq(self.base + r_next)]
        m.d.sync += r.eq(r_next)
        m.d.comb += self.byte.eq(Mux(r < self.hlen, self.head.word_select(r[:3], 8),
                                     Mux(r < self.end, rd.data,
                                         self.crc_val.word_select((r - self.end)[:2], 8))))
        m.d.comb += [wr.addr.eq(tx.w_addr), wr.data.eq(tx.w_data),
                     wr.en.eq(tx.w_en & ~tx.busy)]
        m.d.comb += crc.i.payload.eq(self.byte)

    def idle_state(self) -> None:
        """IDLE: a NACK, a new frame (latch its header and length) or a resend starts."""
        m, tx, k = self.m, self.tx, self.k
        with m.State("IDLE"):
            with m.If(tx.nack):
                m.d.sync += k.eq(0)
                m.next = "NACK"
            with m.Elif(tx.send):
                hlen = P.HEADER_SIZE + 2 * tx.pre_on
                m.d.sync += [self.head.eq(P.PROTOCOL_VERSION | tx.type << 8 | tx.seq << 16
                                          | (tx.n + 2 * tx.pre_on) << 32 | tx.pre << 48),
                             self.hlen.eq(hlen), self.base.eq(tx.start - hlen),
                             self.end.eq(tx.n + hlen),
                             self.total.eq(tx.n + hlen + P.CRC_SIZE), k.eq(0)]
                m.next = "CRC_CLEAR"
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

    def crc_states(self) -> None:
        """CRC_CLEAR..CRC_LATCH: the CRC-32 over header, pre and buffer bytes, latched."""
        m, tx, k, crc = self.m, self.tx, self.k, self.crc
        with m.State("CRC_CLEAR"):
            m.d.comb += [tx.busy.eq(1), crc.clear.eq(1), self.r_next.eq(0)]
            m.next = "CRC"
        with m.State("CRC"):  # CRC over header + body (r == k)
            m.d.comb += [tx.busy.eq(1), crc.i.valid.eq(1), self.r_next.eq(k + 1)]
            m.d.sync += k.eq(k + 1)
            with m.If(k == self.end - 1):
                m.d.sync += k.eq(0)
                m.next = "CRC_LATCH"
        with m.State("CRC_LATCH"):
            m.d.comb += [tx.busy.eq(1), self.r_next.eq(0)]
            m.d.sync += [self.crc_val.eq(crc.crc), self.p.eq(0), self.q.eq(0)]
            m.next = "SCAN"

    def scan_state(self) -> None:
        """SCAN (r == q): COBS finds the block end q (a zero, the frame end, or 254 bytes
        on)."""
        m, tx, p, q, r_next = self.m, self.tx, self.p, self.q, self.r_next
        with m.State("SCAN"):
            m.d.comb += tx.busy.eq(1)
            with m.If((q == self.total) | (q - p == 254) | (self.byte == 0)):
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
                m.d.comb += [tx.o.payload.eq(self.byte), tx.o.valid.eq(1)]
                with m.If(tx.o.ready):
                    m.d.sync += k.eq(k + 1)
                    m.d.comb += r_next.eq(k + 1)
        with m.State("DELIM"):
            m.d.comb += [tx.busy.eq(1), tx.o.payload.eq(0), tx.o.valid.eq(1)]
            with m.If(tx.o.ready):
                m.next = "IDLE"
