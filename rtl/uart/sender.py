"""Frame sender: header + payload buffer -> CRC-32 appended -> COBS-encoded wire bytes."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..packed import memory_attrs
from . import protocol as P
from .crc import Crc32

#: the NACK frame is constant: its wire bytes are sent from this table, so a NACK never
#: overwrites the buffered last response (which answers a retransmitted request)
NACK_WIRE = P.encode_frame(P.NACK_TYPE, 0, b"")
#: a COBS block holds at most this many data bytes (its code byte is then 0xFF)
COBS_BLOCK = 254


class FrameSender(wiring.Component):
    """The payload is written at buffer addresses 6.. through `w_addr/w_data/w_en`. A `send`
    pulse latches `type`, `seq` and a frame body: `pre` (2 bytes, when `pre_on`) followed by
    the `n` buffer bytes from address `start`; it then streams COBS(header + body + CRC) +
    0x00 on `o`. The header, `pre` and the CRC stay in registers, never in the buffer, so a
    frame may be a slice of the buffered answer (a FRAGMENTS piece, with its index and last
    index in `pre`) or carry no buffer bytes at all (an ERROR: code and command in `pre`),
    and the answer in the buffer survives both. `resend` streams the last frame again;
    `nack` streams the constant NACK frame. `busy` is high until the delimiter is out.

    Byte-serial, one pass: a source walks the frame's bytes once (header from registers,
    body from the buffer, then the CRC it computed on the way); COBS takes them into a
    block FIFO (a block RAM) up to a zero, the 254th byte or the frame's end, and then
    sends the block's code byte and its bytes. No frame position is compared or added:
    the source counts down its body bytes, the FIFO counts its block."""

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
        b = _SendBuild(self, getattr(platform, "family", None))
        b.source()
        with b.m.FSM():
            b.idle_state()
            b.nack_state()
            b.block_states()
        return b.m


#: the source's segments: header (and pre), buffer bytes, CRC, done
_HDR, _BODY, _CRC, _END = range(4)


class _SendBuild:
    """One elaboration of a FrameSender: its module, buffers and the signals the state
    machine shares, built by steps that `FrameSender.elaborate` calls."""

    def __init__(self, tx: FrameSender, family: "str | None" = None):
        self.tx = tx
        self.m = m = Module()
        m.submodules.mem = mem = Memory(shape=8, depth=P.MAX_FRAME, init=[])
        # the COBS block FIFO (2 Kbit): LUT RAM on ECP5, where block RAMs bound the chip
        m.submodules.fifo = fifo = Memory(shape=8, depth=COBS_BLOCK + 2, init=[],
                                          attrs=memory_attrs(family, 8 * (COBS_BLOCK + 2),
                                                             COBS_BLOCK + 2))
        m.submodules.crc = self.crc = Crc32()
        m.submodules.nack_rom = rom = Memory(shape=8, depth=len(NACK_WIRE),
                                             init=list(NACK_WIRE))
        wr = mem.write_port()
        self.rd = mem.read_port()
        self.f_wr = fifo.write_port()
        self.f_rd = fifo.read_port()
        self.rom_rd = rom.read_port(domain="comb")   # a few bytes: logic, not block RAM
        m.d.comb += [wr.addr.eq(tx.w_addr), wr.data.eq(tx.w_data),
                     wr.en.eq(tx.w_en & ~tx.busy)]
        # the frame latched by `send` (a resend walks it again)
        self.h_type = Signal(8)
        self.h_seq = Signal(16)
        self.h_len = Signal(16)
        self.h_pre = Signal(16)
        self.h_pre_on = Signal()
        self.h_start = Signal.like(tx.start)
        self.h_n = Signal.like(tx.n)
        self.k = Signal(range(len(NACK_WIRE)))
        self.cnt = Signal(range(COBS_BLOCK + 1))   # bytes in the COBS block
        self.e = Signal(range(COBS_BLOCK + 1))     # block bytes sent
        self.e_next = Signal.like(self.e)
        self.final = Signal()   # the block being sent is the frame's last
        m.d.comb += [self.e_next.eq(self.e), self.f_rd.addr.eq(self.e_next)]
        m.d.sync += self.e.eq(self.e_next)

    def source(self) -> None:
        """The frame's bytes in order: `byte` is the current one (`seg` not _END); `take`
        moves on (and feeds the CRC); `restart` goes back to the latched frame's first."""
        m, crc, rd = self.m, self.crc, self.rd
        self.seg = seg = Signal(2)
        self.i = i = Signal(3)                       # header or CRC byte
        self.addr = addr = Signal.like(self.h_start)  # buffer byte shown on rd.data
        self.rem = rem = Signal.like(self.h_n)      # buffer bytes left
        self.take = take = Signal()
        self.restart = Signal()
        self.byte = Signal(8)
        header = Cat(Const(P.PROTOCOL_VERSION, 8), self.h_type, self.h_seq,
                     self.h_len, self.h_pre)
        hdr_last = Mux(self.h_pre_on, P.HEADER_SIZE + 1, P.HEADER_SIZE - 1)
        body = take & (seg == _BODY)
        m.d.comb += [rd.addr.eq(addr + body),
                     self.byte.eq(Mux(seg == _HDR, header.word_select(i, 8),
                                      Mux(seg == _BODY, rd.data,
                                          crc.crc.word_select(i[:2], 8)))),
                     crc.i.payload.eq(self.byte),
                     crc.i.valid.eq(take & (seg != _CRC)), crc.clear.eq(self.restart)]
        with m.If(self.restart):
            m.d.sync += [seg.eq(_HDR), i.eq(0), addr.eq(self.h_start), rem.eq(self.h_n)]
        with m.Elif(take):
            m.d.sync += i.eq(i + 1)
            with m.If(seg == _HDR):
                with m.If(i == hdr_last):
                    m.d.sync += [i.eq(0), seg.eq(Mux(rem == 0, _CRC, _BODY))]
            with m.Elif(seg == _BODY):
                m.d.sync += [addr.eq(addr + 1), rem.eq(rem - 1), i.eq(0)]
                with m.If(rem == 1):
                    m.d.sync += seg.eq(_CRC)
            with m.Elif(i == 3):
                m.d.sync += seg.eq(_END)

    def idle_state(self) -> None:
        """IDLE: a NACK, a new frame (latch its header and body) or a resend starts."""
        m, tx = self.m, self.tx
        with m.State("IDLE"):
            with m.If(tx.nack):
                m.d.sync += self.k.eq(0)
                m.next = "NACK"
            with m.Elif(tx.send):
                m.d.sync += [self.h_type.eq(tx.type), self.h_seq.eq(tx.seq),
                             self.h_len.eq(tx.n + 2 * tx.pre_on), self.h_pre.eq(tx.pre),
                             self.h_pre_on.eq(tx.pre_on), self.h_start.eq(tx.start),
                             self.h_n.eq(tx.n)]
                m.next = "START"
            with m.Elif(tx.resend):
                m.next = "START"

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

    def block_states(self) -> None:
        """START (the source rewinds), FILL (a COBS block into the FIFO), CODE (its code
        byte: bytes + 1), DATA (its bytes), DELIM (the final 0x00). A block ends at a zero
        (taken, implied by the code), at its 254th byte or at the frame's end (`final`:
        a frame that ends in a zero or a full block ends with an empty block, code 1)."""
        m, tx, cnt, e = self.m, self.tx, self.cnt, self.e
        with m.State("START"):
            m.d.comb += [tx.busy.eq(1), self.restart.eq(1)]
            m.d.sync += [cnt.eq(0), self.final.eq(0)]
            m.next = "FILL"
        with m.State("FILL"):   # a zero ends the block (implied by its code byte)
            m.d.comb += tx.busy.eq(1)
            with m.If(self.seg == _END):
                m.d.sync += self.final.eq(1)
                m.next = "CODE"
            with m.Else():
                m.d.comb += self.take.eq(1)
                with m.If(self.byte == 0):
                    m.next = "CODE"
                with m.Else():
                    m.d.comb += [self.f_wr.addr.eq(cnt), self.f_wr.data.eq(self.byte),
                                 self.f_wr.en.eq(1)]
                    m.d.sync += cnt.eq(cnt + 1)
                    with m.If(cnt == COBS_BLOCK - 1):
                        m.next = "CODE"
        with m.State("CODE"):   # (the FIFO shows byte 0)
            m.d.comb += [tx.busy.eq(1), tx.o.payload.eq(cnt + 1), tx.o.valid.eq(1),
                         self.e_next.eq(0)]
            with m.If(tx.o.ready):
                m.next = "DATA"
        with m.State("DATA"):   # (the FIFO shows byte e)
            m.d.comb += tx.busy.eq(1)
            with m.If(e == cnt):
                m.d.sync += cnt.eq(0)
                with m.If(self.final):
                    m.next = "DELIM"
                with m.Else():
                    m.next = "FILL"
            with m.Else():
                m.d.comb += [tx.o.payload.eq(self.f_rd.data), tx.o.valid.eq(1)]
                with m.If(tx.o.ready):
                    m.d.comb += self.e_next.eq(e + 1)
        with m.State("DELIM"):
            m.d.comb += [tx.busy.eq(1), tx.o.payload.eq(0), tx.o.valid.eq(1)]
            with m.If(tx.o.ready):
                m.next = "IDLE"
