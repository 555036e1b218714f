"""Command dispatcher: the board side of host.protocol between wire bytes and a core.

Receives frames (FrameReceiver), answers each request once (a retransmission of the last
request is answered again from the sender's buffer, never re-executed), writes and reads
the core's memories over the HostBus (a read-only region is not written, a write-only one
not read, a write with any value outside the region's range not executed), resets the core (answered once its `running` is low again), starts runs, and serves the spike stream from a
circular buffer with the protocol's cursor semantics. The IDENTIFY answer is the packed
`Identity` given at construction, so the RTL and the host agree by construction.
"""

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from . import protocol as P
from .receiver import FrameReceiver
from .sender import FrameSender
from .signature import HostBus

_ACC = P.HEADER_SIZE + P.ACCESS_SIZE  # first value byte of a WRITE_* frame


class CommandDispatcher(wiring.Component):
    """Wire bytes in on `i`, wire bytes out on `o`, the core on `bus`."""

    i: In(stream.Signature(8))
    o: Out(stream.Signature(8))
    bus: Out(HostBus())

    def __init__(self, identity: P.Identity):
        buf = identity.spike_buffer
        if buf < 64 or buf & (buf - 1):
            raise ValueError(f"spike buffer of {buf} bytes must be a power of two >= 64")
        if identity.max_payload != P.MAX_PAYLOAD:
            raise ValueError(f"identity max_payload {identity.max_payload} must be "
                             f"{P.MAX_PAYLOAD} (the receive buffer)")
        if not identity.regions:
            raise ValueError("identity has no regions")
        self.identity = identity
        self.rom = P.pack_identity(identity)
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        ident = self.identity
        m.submodules.rx = rx = FrameReceiver()
        m.submodules.tx = tx = FrameSender()
        # the buffers are block RAMs: synchronous reads, addressed one cycle ahead
        m.submodules.rom = rom = Memory(shape=8, depth=len(self.rom), init=list(self.rom))
        rom_rd = rom.read_port()
        sbuf_size = ident.spike_buffer
        m.submodules.sbuf = sbuf = Memory(shape=8, depth=sbuf_size, init=[])
        s_wr = sbuf.write_port()
        s_rd = sbuf.read_port()
        bus = self.bus

        wiring.connect(m, wiring.flipped(self.i), rx.i)
        wiring.connect(m, tx.o, wiring.flipped(self.o))

        # ---- request fields (the receiver keeps a frame's first 16 bytes) ------------
        head = rx.head
        version, rtype, seq, plen = head[0:8], head[8:16], head[16:32], head[32:48]
        a_core, a_region, a_offset, a_count = head[48:56], head[56:64], head[64:96], head[96:112]
        cursor, want = head[48:112], head[112:128]
        h_seq = Signal(16)
        h_type = Signal(8)
        h_plen = Signal(16)

        # ---- region table ---------------------------------------------------------
        r_known, r_kind, r_width, r_signed, r_depth = (Signal(), Signal(8), Signal(3),
                                                      Signal(), Signal(32))
        r_readonly, r_writeonly = Signal(), Signal()
        r_lo, r_hi = Signal(signed(34)), Signal(signed(34))   # the region's value range
        with m.Switch(a_region):
            for r in ident.regions:
                lo, hi = r.value_range
                with m.Case(r.id):
                    m.d.comb += [r_known.eq(1), r_kind.eq(int(r.kind)), r_width.eq(r.width),
                                 r_signed.eq(r.signed), r_depth.eq(r.depth),
                                 r_readonly.eq(r.readonly), r_writeonly.eq(r.writeonly),
                                 r_lo.eq(lo), r_hi.eq(hi)]
        n_bytes = Signal(32)
        m.d.comb += n_bytes.eq(a_count * r_width)

        # ---- spike buffer: the core pushes, READ_SPIKES frees and copies -------------
        mask = sbuf_size - 1
        s_head, s_tail = Signal(range(sbuf_size)), Signal(range(sbuf_size))
        fill = Signal(range(sbuf_size + 1))
        base = Signal(64)
        drop = Signal(range(sbuf_size + 1))
        push = Signal()
        m.d.comb += [bus.spikes.ready.eq(fill < sbuf_size), push.eq(bus.spikes.valid
                                                                    & bus.spikes.ready),
                     s_wr.addr.eq(s_head), s_wr.data.eq(bus.spikes.payload),
                     s_wr.en.eq(push)]
        m.d.sync += fill.eq(fill + push - drop)
        with m.If(push):
            m.d.sync += s_head.eq((s_head + 1) & mask)

        # ---- link counters and the duplicate cache ---------------------------------
        rx_frames, rx_errors, dups = Signal(32), Signal(32), Signal(32)
        last_seq, last_crc, have_last = Signal(16), Signal(32), Signal()
        nack_pending = Signal()
        with m.If(rx.ok):
            m.d.sync += rx_frames.eq(rx_frames + 1)
        with m.If(rx.bad):
            m.d.sync += [rx_errors.eq(rx_errors + 1), nack_pending.eq(1)]

        # ---- response building --------------------------------------------------------
        k = Signal(32)          # element / byte counter of the current loop
        b = Signal(3)           # byte within an element
        n = Signal(range(P.MAX_PAYLOAD + 1))  # response payload bytes written so far
        ptr = Signal(range(P.MAX_FRAME))      # request byte being read (CHECK, WRITE)
        # `n` and `ptr` change through their next values (comb), which address the block
        # RAMs: in each cycle the ROM holds byte `n`, the spike buffer byte `n` of the
        # chunk and the receiver byte `ptr`
        n_next = Signal.like(n)
        ptr_next = Signal.like(ptr)
        m.d.comb += [n_next.eq(n), ptr_next.eq(ptr), rx.r_addr.eq(ptr_next),
                     rom_rd.addr.eq(n_next),
                     s_rd.addr.eq((s_tail + n_next - P.SPIKE_RESP_HEAD) & mask)]
        m.d.sync += [n.eq(n_next), ptr.eq(ptr_next)]
        err = Signal(8)
        word = Signal(32)
        put = Signal(8 * 44)    # fixed-size fields to emit (counters: 44 bytes), shifted
                                # out a byte at a time (no 44-way byte select)
        put_len = Signal(range(45))
        resp_type = Signal(8)
        spoil = Signal()
        m.d.comb += [tx.w_addr.eq(P.HEADER_SIZE + n), tx.seq.eq(h_seq), tx.type.eq(resp_type),
                     tx.n.eq(n)]
        m.d.comb += [bus.core.eq(a_core), bus.region.eq(a_region), bus.index.eq(a_offset + k),
                     bus.run_steps.eq(head[48:80])]
        m.d.comb += rx.hold.eq(spoil)

        # an element assembled little-endian from the frame, sign-extended
        ext = Mux(r_signed & word[7] & (r_width == 1), 0xFFFFFF00, 0)
        ext2 = Mux(r_signed & word[15] & (r_width == 2), 0xFFFF0000, 0)
        element = Signal(32)
        value = Signal(signed(34))
        m.d.comb += [element.eq(word | ext | ext2),
                     value.eq(Mux(r_signed, element.as_signed(), element))]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(nack_pending & ~tx.busy & ~rx.ok):
                    m.d.comb += tx.nack.eq(1)
                    m.d.sync += nack_pending.eq(rx.bad)
                with m.Elif(rx.ok):
                    m.d.sync += [h_seq.eq(seq), h_type.eq(rtype), h_plen.eq(plen),
                                 k.eq(0), b.eq(0), word.eq(0), spoil.eq(1)]
                    m.d.comb += n_next.eq(0)
                    m.next = "DECODE"
            with m.State("DECODE"):  # (waits while a NACK is still going out)
                m.d.comb += ptr_next.eq(_ACC)  # CHECK reads the values from here on
                with m.If(tx.busy):
                    pass
                with m.Elif(rtype[7]):
                    m.d.sync += spoil.eq(0)
                    m.next = "IDLE"  # a board ignores responses (an echo on the line)
                with m.Elif(have_last & (seq == last_seq) & (rx.crc == last_crc)):
                    m.d.comb += tx.resend.eq(1)
                    m.d.sync += [dups.eq(dups + 1), spoil.eq(0)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [last_seq.eq(seq), last_crc.eq(rx.crc), have_last.eq(1),
                                 resp_type.eq(rtype | 0x80)]
                    with m.If(version != P.PROTOCOL_VERSION):
                        m.d.sync += err.eq(P.ErrorCode.VERSION)
                        m.next = "ERROR"
                    with m.Elif(rtype == P.Cmd.IDENTIFY):
                        with m.If(plen != 0):
                            m.d.sync += err.eq(P.ErrorCode.BAD_PAYLOAD)
                            m.next = "ERROR"
                        with m.Else():
                            m.next = "IDENT"
                    with m.Elif(rtype == P.Cmd.RESET):
                        with m.If((plen != 1) | (head[48:56] > 1)):
                            m.d.sync += err.eq(P.ErrorCode.BAD_PAYLOAD)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.comb += bus.reset.eq(Mux(head[48], 0b11, 0b01))
                            m.d.sync += [s_head.eq(0), s_tail.eq(0), base.eq(0)]
                            m.d.comb += drop.eq(fill + push)  # empty the spike buffer
                            m.next = "RESET_WAIT"
                    with m.Elif((rtype >= P.Cmd.WRITE_PARAMS) & (rtype <= P.Cmd.READ_REGION)):
                        is_write = rtype != P.Cmd.READ_REGION
                        with m.If(is_write & bus.running):
                            m.d.sync += err.eq(P.ErrorCode.BUSY)
                            m.next = "ERROR"
                        with m.Elif(plen < P.ACCESS_SIZE):
                            m.d.sync += err.eq(P.ErrorCode.BAD_PAYLOAD)
                            m.next = "ERROR"
                        with m.Elif((a_core >= ident.n_cores) | ~r_known
                                    | (is_write & (r_kind != rtype - P.Cmd.WRITE_PARAMS))
                                    | (is_write & r_readonly) | (~is_write & r_writeonly)):
                            m.d.sync += err.eq(P.ErrorCode.BAD_REGION)
                            m.next = "ERROR"
                        with m.Elif(a_offset + a_count > r_depth):
                            m.d.sync += err.eq(P.ErrorCode.OUT_OF_RANGE)
                            m.next = "ERROR"
                        with m.Elif(is_write & (n_bytes != plen - P.ACCESS_SIZE)):
                            m.d.sync += err.eq(P.ErrorCode.BAD_PAYLOAD)
                            m.next = "ERROR"
                        with m.Elif(is_write):
                            m.next = "CHECK"
                        with m.Elif(plen != P.ACCESS_SIZE):
                            m.d.sync += err.eq(P.ErrorCode.BAD_PAYLOAD)
                            m.next = "ERROR"
                        with m.Elif(n_bytes + P.ACCESS_SIZE > P.MAX_PAYLOAD):
                            m.d.sync += err.eq(P.ErrorCode.OUT_OF_RANGE)
                            m.next = "ERROR"
                        with m.Else():
                            m.next = "ECHO"
                    with m.Elif(rtype == P.Cmd.RUN):
                        with m.If(plen != 4):
                            m.d.sync += err.eq(P.ErrorCode.BAD_PAYLOAD)
                            m.next = "ERROR"
                        with m.Elif(bus.running):
                            m.d.sync += err.eq(P.ErrorCode.BUSY)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.comb += bus.run.eq(1)
                            m.next = "SEND"
                    with m.Elif(rtype == P.Cmd.READ_SPIKES):
                        with m.If(plen != 10):
                            m.d.sync += err.eq(P.ErrorCode.BAD_PAYLOAD)
                            m.next = "ERROR"
                        with m.Elif((cursor < base) | (cursor > base + fill)):
                            m.d.sync += err.eq(P.ErrorCode.OUT_OF_RANGE)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.comb += drop.eq(cursor - base)
                            m.d.sync += [s_tail.eq((s_tail + cursor - base) & mask),
                                         base.eq(cursor)]
                            m.next = "SPIKES"
                    with m.Elif(rtype == P.Cmd.READ_COUNTERS):
                        with m.If(plen != 0):
                            m.d.sync += err.eq(P.ErrorCode.BAD_PAYLOAD)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.sync += [put.eq(Cat(bus.steps_done, bus.cycles,
                                                    bus.last_cycles, bus.max_cycles,
                                                    bus.spike_count, rx_frames, rx_errors,
                                                    dups)),
                                         put_len.eq(44)]
                            m.next = "PUT"
                    with m.Else():
                        m.d.sync += err.eq(P.ErrorCode.UNKNOWN_COMMAND)
                        m.next = "ERROR"

            with m.State("ERROR"):
                m.d.sync += [resp_type.eq(P.ERROR_TYPE),
                             put.eq(Cat(err, h_type)), put_len.eq(2)]
                m.next = "PUT"

            with m.State("RESET_WAIT"):  # answered once the core's reset is over
                with m.If(~bus.running):
                    m.next = "SEND"

            with m.State("PUT"):  # write put_len bytes of `put` as payload, then send
                with m.If(n == put_len):
                    m.next = "SEND"
                with m.Else():
                    m.d.comb += [tx.w_data.eq(put[:8]), tx.w_en.eq(1), n_next.eq(n + 1)]
                    m.d.sync += put.eq(put >> 8)

            with m.State("IDENT"):
                with m.If(n == len(self.rom)):
                    m.next = "SEND"
                with m.Else():
                    m.d.comb += [tx.w_data.eq(rom_rd.data), tx.w_en.eq(1), n_next.eq(n + 1)]

            with m.State("CHECK"):  # every element within the region's range, or nothing
                with m.If(k == a_count):  # is written
                    m.d.sync += [k.eq(0), b.eq(0), word.eq(0)]
                    m.d.comb += ptr_next.eq(_ACC)
                    m.next = "WRITE"
                with m.Elif(b == r_width):
                    with m.If((value < r_lo) | (value > r_hi)):
                        m.d.sync += err.eq(P.ErrorCode.OUT_OF_RANGE)
                        m.next = "ERROR"
                    m.d.sync += [k.eq(k + 1), b.eq(0), word.eq(0)]
                with m.Else():
                    m.d.comb += ptr_next.eq(ptr + 1)
                    m.d.sync += [word.eq(word | (rx.r_data << (b * 8))), b.eq(b + 1)]

            with m.State("WRITE"):  # assemble each element, little-endian, then write it
                with m.If(k == a_count):
                    m.next = "SEND"
                with m.Elif(b == r_width):
                    m.d.comb += [bus.wdata.eq(element), bus.we.eq(1)]
                    m.d.sync += [k.eq(k + 1), b.eq(0), word.eq(0)]
                with m.Else():
                    m.d.comb += ptr_next.eq(ptr + 1)
                    m.d.sync += [word.eq(word | (rx.r_data << (b * 8))), b.eq(b + 1)]

            with m.State("ECHO"):  # READ_REGION answers with its access fields first
                with m.If(n == P.ACCESS_SIZE):
                    m.next = "READ_REQ"
                with m.Else():
                    m.d.comb += [tx.w_data.eq(head.word_select(6 + n[:3], 8)), tx.w_en.eq(1),
                                 n_next.eq(n + 1)]
            with m.State("READ_REQ"):
                with m.If(k == a_count):
                    m.next = "SEND"
                with m.Else():
                    m.d.comb += bus.re.eq(1)
                    m.next = "READ_WAIT"
            with m.State("READ_WAIT"):
                with m.If(bus.rvalid):
                    m.d.sync += [word.eq(bus.rdata), b.eq(0)]
                    m.next = "READ_PUT"
            with m.State("READ_PUT"):
                with m.If(b == r_width):
                    m.d.sync += k.eq(k + 1)
                    m.next = "READ_REQ"
                with m.Else():
                    m.d.comb += [tx.w_data.eq(word.word_select(b[:2], 8)), tx.w_en.eq(1),
                                 n_next.eq(n + 1)]
                    m.d.sync += b.eq(b + 1)

            with m.State("SPIKES"):  # chunk header, then up to `want` buffered bytes
                avail = Signal(range(P.MAX_PAYLOAD + 1))
                limit = P.MAX_PAYLOAD - P.SPIKE_RESP_HEAD
                m.d.comb += avail.eq(Mux(fill < want, Mux(fill < limit, fill, limit),
                                         Mux(want < limit, want, limit)))
                status = Cat(bus.running, bus.running & (fill >= sbuf_size))
                m.d.sync += [put.eq(Cat(base, status, Const(0, 6), bus.steps_done,
                                        bus.steps_target)),
                             put_len.eq(P.SPIKE_RESP_HEAD), k.eq(avail)]
                m.next = "SPIKE_HEAD"
            with m.State("SPIKE_HEAD"):
                with m.If(n == put_len):
                    m.next = "SPIKE_DATA"
                with m.Else():
                    m.d.comb += [tx.w_data.eq(put[:8]), tx.w_en.eq(1), n_next.eq(n + 1)]
                    m.d.sync += put.eq(put >> 8)
            with m.State("SPIKE_DATA"):
                j = n - P.SPIKE_RESP_HEAD
                with m.If(j == k):
                    m.next = "SEND"
                with m.Else():
                    m.d.comb += [tx.w_data.eq(s_rd.data), tx.w_en.eq(1), n_next.eq(n + 1)]

            with m.State("SEND"):  # the request is answered: the receiver may go on
                with m.If(~tx.busy):
                    m.d.comb += tx.send.eq(1)
                    m.d.sync += spoil.eq(0)
                    m.next = "IDLE"
        return m
