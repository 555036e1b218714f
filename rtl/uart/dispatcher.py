"""Command dispatcher: the board side of host.protocol between wire bytes and a core.

Receives frames (FrameReceiver), answers each request once (a retransmission of the last
request is answered again from the sender's buffer, never re-executed), writes and reads
the core's memories over the HostBus (a read-only region is not written, a write-only one
not read, a write with any value outside the region's range not executed), resets the core
(answered once its `running` is low again), starts runs, and serves the spike stream from a
circular buffer with the protocol's cursor semantics. The IDENTIFY answer is the packed
`Identity` given at construction, so the RTL and the host agree by construction.

FRAGMENTS (docs/protocol.md) runs its read with the read's own fields put into the
receiver's `head`, builds the answer into the sender's buffer as any answer, keeps it under
(sequence number, command, payload) and sends the asked pieces as slices of that buffer;
an answer kept survives ERROR answers (sent from registers) until another command runs.
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
#: cycles the counters are held before they are copied (a core's update of them takes
#: at most 8 cycles: ChipBridge's PASS)
SETTLE = 9


def above(sig, c: int):
    """sig > c for a constant c, as logic (no carry chain): some bit where c has a 0 and
    sig a 1, with sig's 1s at every higher bit where c has a 1."""
    terms = []
    for i in range(len(sig)):
        if not (c >> i) & 1:
            higher = [sig[j] for j in range(i + 1, len(sig)) if (c >> j) & 1]
            terms.append(sig[i] & (Cat(*higher).all() if higher else 1))
    return Cat(*terms).any() if terms else Const(0)


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
        """The buffers and request fields, then the state machine by groups of states."""
        b = _DispatchBuild(self)
        b.region_table()
        b.spike_buffer()
        b.link_counters()
        b.response()
        b.fragment_fields()
        with b.m.FSM():   # states are numbered in order of first mention: keep this order
            b.receive_states()
            b.answer_states()
            b.write_states()
            b.read_states()
            b.spike_states()
            b.send_state()
            b.fragment_states()
        return b.m


class _DispatchBuild:
    """One elaboration of a CommandDispatcher: its module, buffers and the signals the
    state machine shares, built by steps that `CommandDispatcher.elaborate` calls."""

    def __init__(self, disp: CommandDispatcher):
        self.ident, self.rom_bytes, self.bus = disp.identity, disp.rom, disp.bus
        self.m = m = Module()
        m.submodules.rx = self.rx = FrameReceiver()
        m.submodules.tx = self.tx = FrameSender()
        # the buffers are block RAMs: synchronous reads, addressed one cycle ahead
        m.submodules.rom = rom = Memory(shape=8, depth=len(self.rom_bytes),
                                        init=list(self.rom_bytes))
        self.rom_rd = rom.read_port()
        self.sbuf_size = self.ident.spike_buffer
        m.submodules.sbuf = sbuf = Memory(shape=8, depth=self.sbuf_size, init=[])
        self.s_wr = sbuf.write_port()
        self.s_rd = sbuf.read_port()
        wiring.connect(m, wiring.flipped(disp.i), self.rx.i)
        wiring.connect(m, self.tx.o, wiring.flipped(disp.o))
        # the request's fields (the receiver keeps a frame's first 16 bytes)
        self.head = head = self.rx.head
        self.version, self.rtype = head[0:8], head[8:16]
        self.seq, self.plen = head[16:32], head[32:48]
        self.a_core, self.a_region = head[48:56], head[56:64]
        self.a_offset, self.a_count = head[64:96], head[96:112]
        self.cursor, self.want = head[48:112], head[112:128]
        self.h_seq = Signal(16)
        self.h_type = Signal(8)
        self.h_plen = Signal(16)

    def region_table(self) -> None:
        """The addressed region's entry of the identity's table (r_known low: none).

        Sized by the identity, not by the protocol's field widths: depths as wide as the
        deepest region; the value ranges byte by byte (`bound_bytes`)."""
        m, regions = self.m, self.ident.regions
        self.r_known = Signal()
        self.r_kind = Signal(8)
        self.r_width = Signal(3)
        self.r_signed = Signal()
        self.r_depth = Signal(range(max(r.depth for r in regions) + 1))
        self.r_readonly = Signal()
        self.r_writeonly = Signal()
        with m.Switch(self.a_region):
            for r in regions:
                with m.Case(r.id):
                    m.d.comb += [self.r_known.eq(1), self.r_kind.eq(int(r.kind)),
                                 self.r_width.eq(r.width), self.r_signed.eq(r.signed),
                                 self.r_depth.eq(r.depth), self.r_readonly.eq(r.readonly),
                                 self.r_writeonly.eq(r.writeonly)]

        self.n_bytes = Signal(18)   # a_count * width (1, 2 or 4): a shift, not a multiplier
        m.d.comb += self.n_bytes.eq(Mux(self.r_width[2], self.a_count << 2,
                                        Mux(self.r_width[1], self.a_count << 1,
                                            self.a_count)))

    def bound_bytes(self, b) -> "tuple[Signal, Signal]":
        """Byte `b` of the addressed region's lowest and highest value, each `width` bytes
        little-endian, offset binary when signed (top bit flipped, so that an unsigned
        byte-serial comparison orders them); a region without a range: its width's."""
        m = self.m
        lo_b, hi_b = Signal(8), Signal(8)
        with m.Switch(Cat(b[:2], self.a_region)):
            for r in self.ident.regions:
                bits = 8 * r.width
                lo, hi = r.range or ((-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if r.signed
                                     else (0, (1 << bits) - 1))
                shift = (1 << (bits - 1)) if r.signed else 0
                for j in range(r.width):
                    with m.Case(j | (r.id << 2)):
                        m.d.comb += [lo_b.eq(((lo + shift) >> (8 * j)) & 0xFF),
                                     hi_b.eq(((hi + shift) >> (8 * j)) & 0xFF)]
        return lo_b, hi_b

    def spike_buffer(self) -> None:
        """The circular spike buffer: the core pushes at s_head, READ_SPIKES frees up to
        its cursor (`drop`, s_tail, base) and copies from s_tail."""
        m, bus, size = self.m, self.bus, self.sbuf_size
        self.mask = size - 1
        self.s_head = Signal(range(size))
        self.s_tail = Signal(range(size))
        # the chunk's read pointer: from s_tail, a byte per SPIKE_DATA byte; the buffer is
        # addressed by its next value
        self.s_rp = Signal(range(size))
        self.s_rp_next = Signal(range(size))
        m.d.comb += [self.s_rp_next.eq(self.s_rp), self.s_rd.addr.eq(self.s_rp_next)]
        m.d.sync += self.s_rp.eq(self.s_rp_next)
        self.fill = Signal(range(size + 1))
        self.base = Signal(64)
        self.drop = Signal(range(size + 1))
        self.push = Signal()
        # high while the answer copies the core's counters: the core holds its record
        # (and so its counters) until the copy is out; the copy begins `SETTLE` cycles
        # on (a counter update begun before is over: rtl.uart.chip_bridge)
        self.freeze = Signal()
        self.settle = Signal(range(SETTLE + 1))
        with m.If(~self.freeze):   # (counted once per copy, from its first cycle)
            m.d.sync += self.settle.eq(0)
        m.d.comb += [bus.spikes.ready.eq(~self.fill[-1] & ~self.freeze),
                     self.push.eq(bus.spikes.valid & bus.spikes.ready),
                     self.s_wr.addr.eq(self.s_head), self.s_wr.data.eq(bus.spikes.payload),
                     self.s_wr.en.eq(self.push)]
        m.d.sync += self.fill.eq(self.fill + self.push - self.drop)
        with m.If(self.push):
            m.d.sync += self.s_head.eq((self.s_head + 1) & self.mask)
        # READ_SPIKES' cursor - base, a byte a cycle (SPK_CHK): its low bytes, whether a
        # higher byte is not zero (`far`) and the borrow (cursor behind base)
        self.ahead = Signal(8 * ((len(self.fill) + 7) // 8))
        self.far = Signal()
        self.borrow = Signal()
        self.borrow2 = Signal()   # (CHECK: the highest value minus the element)
        # `base` is a rotating register: its low byte is read, then rotated in again
        # (`rot_base`) or replaced by a cursor byte (`load_base`)
        self.rot_base = Signal()
        self.load_base = Signal()
        with m.If(self.rot_base | self.load_base):
            m.d.sync += self.base.eq(Cat(self.base[8:], Mux(self.load_base, self.rx.r_data,
                                                            self.base[:8])))
        # computed outside the state machine (an assignment inside a state is a mux)
        self.avail = Signal(range(P.MAX_PAYLOAD + 1))   # bytes the spike chunk takes
        fill, want, limit = self.fill, self.want, P.MAX_PAYLOAD - P.SPIKE_RESP_HEAD
        m.d.comb += self.avail.eq(Mux(fill < want, Mux(fill < limit, fill, limit),
                                      Mux(want < limit, want, limit)))

    def link_counters(self) -> None:
        """Frames and errors received, duplicates answered again; the last request's
        seq and CRC (the duplicate cache); a NACK owed for a bad frame.

        The three 32-bit counters rotate a byte a turn (`lph`: which byte is low), all
        together: an event is owed (`pend`) until byte 0, where an 8-bit adder adds it and
        a round of 4 turns begins (its carry follows in bytes 1..3); they rest at byte 0
        (no register toggles while the link is quiet). While the counters are being
        copied (`freeze`, settled) nothing new is added, and each byte copied turns them
        (`l_copy`)."""
        m, rx = self.m, self.rx
        self.rx_frames = Signal(32)
        self.rx_errors = Signal(32)
        self.dups = Signal(32)
        self.dup_seen = Signal()   # a retransmission is answered (comb, DECODE)
        self.last_seq = Signal(16)
        self.last_crc = Signal(32)
        self.have_last = Signal()
        self.nack_pending = Signal()
        self.lph = Signal(2)
        self.l_copy = Signal()   # (comb) the copy takes the low bytes: turn
        with m.If(rx.bad):
            m.d.sync += self.nack_pending.eq(1)
        at0 = self.lph == 0
        apply = at0 & ~(self.freeze & (self.settle == SETTLE))
        pends = [Signal(name=f"{reg.name}_pend")
                 for reg in (self.rx_frames, self.rx_errors, self.dups)]
        turn = ~at0 | (Cat(*pends).any() & apply) | self.l_copy
        with m.If(turn):
            m.d.sync += self.lph.eq(self.lph + 1)
        for reg, event, pend in ((self.rx_frames, rx.ok, pends[0]),
                                 (self.rx_errors, rx.bad, pends[1]),
                                 (self.dups, self.dup_seen, pends[2])):
            carry = Signal(name=f"{reg.name}_carry")
            total = Signal(9, name=f"{reg.name}_sum")
            m.d.comb += total.eq(reg[:8] + Mux(at0, pend & apply, carry))
            with m.If(turn):
                m.d.sync += [reg.eq(Cat(reg[8:], total[:8])), carry.eq(total[8])]
            with m.If(apply):
                m.d.sync += pend.eq(0)
            with m.If(event):
                m.d.sync += pend.eq(1)

    def response(self) -> None:
        """The answer's counters and buffers' addresses, the bus fields from the request,
        and a request element assembled little-endian and sign-extended."""
        m, rx, tx, bus = self.m, self.rx, self.tx, self.bus
        # element / byte counter of the current loop: an access's count is checked to be
        # within the deepest region first, a spike chunk holds at most MAX_PAYLOAD bytes
        self.k = Signal(max(len(self.r_depth), P.MAX_PAYLOAD.bit_length()))
        self.count = self.a_count[:len(self.k)]   # (its bits above are zero then)
        self.b = Signal(3)           # byte within an element
        self.n = Signal(range(P.MAX_PAYLOAD + 1))  # response payload bytes written so far
        self.ptr = Signal(range(P.MAX_FRAME))      # request byte being read (CHECK, WRITE)
        # `n` and `ptr` change through their next values (comb), which address the block
        # RAMs: in each cycle the ROM holds byte `n`, the spike buffer byte `n` of the
        # chunk and the receiver byte `ptr`
        self.n_next = Signal.like(self.n)
        self.ptr_next = Signal.like(self.ptr)
        m.d.comb += [self.n_next.eq(self.n), self.ptr_next.eq(self.ptr),
                     rx.r_addr.eq(self.ptr_next), self.rom_rd.addr.eq(self.n_next)]
        m.d.sync += [self.n.eq(self.n_next), self.ptr.eq(self.ptr_next)]
        self.err = Signal(8)
        self.word = Signal(32)       # an element: shifted in at the top, a byte a cycle
        self.resp_type = Signal(8)
        self.spoil = Signal()
        m.d.comb += [tx.w_addr.eq(P.HEADER_SIZE + self.n), tx.seq.eq(self.h_seq),
                     tx.type.eq(self.resp_type), tx.n.eq(self.n),
                     tx.start.eq(P.HEADER_SIZE)]
        # (wdata is read only with `we`: not gated by the state, which would cost a mux)
        m.d.comb += [bus.core.eq(self.a_core), bus.region.eq(self.a_region),
                     bus.index.eq(self.a_offset[:len(self.r_depth)] + self.k),
                     bus.run_steps.eq(self.head[48:80])]
        m.d.comb += rx.hold.eq(self.spoil)
        m.d.comb += bus.wdata.eq(self.word)

    def fragment_fields(self) -> None:
        """A FRAGMENTS request's fields (f_*), the kept answer's key (k_*, valid while
        k_valid) and length, and the walk over its pieces."""
        self.f_cmd = Signal(8)     # latched: F_LOAD overwrites these bytes of `head`
        self.f_copies = Signal(4)
        self.f_size = Signal(range(P.MAX_FRAGMENT_DATA + 1))
        self.f_first = Signal(8)
        self.f_m = Signal(8)
        self.f_exec = Signal()     # the read runs for FRAGMENTS: SEND keeps its answer
        self.f_ipl = Signal(range(P.MAX_PAYLOAD + 1))   # the read's own payload bytes
        self.last_frag = Signal()  # the last request was answered with fragments
        self.k_valid = Signal()
        self.k_seq = Signal(16)
        self.k_cmd = Signal(8)
        self.k_ipl = Signal.like(self.f_ipl)
        self.k_pay = Signal(80)
        self.a_len = Signal(range(P.MAX_PAYLOAD + 1))   # the kept answer's bytes
        self.f_last = Signal(8)    # last fragment index
        self.f_rem = Signal(range(P.MAX_PAYLOAD + 1))   # then: the last fragment's bytes
        self.f_k = Signal(8)       # fragment being considered
        self.f_start = Signal(range(P.MAX_FRAME))   # its first byte in the sender's buffer
        self.f_c = Signal(4)       # copies still to send

    # --- steps used by several states ---------------------------------------------------

    def fail(self, code: P.ErrorCode) -> None:
        """Answer the request with an ERROR frame carrying `code`."""
        self.m.d.sync += self.err.eq(code)
        self.m.next = "ERROR"

    def emit(self, data) -> None:
        """Write `data` as the next payload byte of the answer."""
        self.m.d.comb += [self.tx.w_data.eq(data), self.tx.w_en.eq(1),
                          self.n_next.eq(self.n + 1)]

    def emit_fields(self, size: int, byte, peek, then: str, wait=Const(0), rotate=0,
                    link=0) -> None:
        """Write `size` bytes, byte n being `byte` (live values: the core's counters held
        still by `freeze`; `peek` high: a counter's low byte, rotated on; `rotate`: base's
        low byte, rotated on; `link`: the link counters' low byte, turned on), then go to
        state `then`; nothing while `wait` is high."""
        m = self.m
        m.d.comb += self.freeze.eq(1)
        with m.If(self.settle != SETTLE):
            m.d.sync += self.settle.eq(self.settle + 1)
        with m.Elif(self.n == size):
            m.next = then
        with m.Elif(~wait):
            self.emit(byte)
            m.d.comb += [self.bus.peek.eq(peek), self.rot_base.eq(rotate),
                         self.l_copy.eq(link)]

    def shift_word(self, byte) -> None:
        """Shift `byte` into `word` at the top (an element comes low byte first)."""
        self.m.d.sync += self.word.eq(Cat(self.word[8:], byte))

    # --- the state machine: receive and decode -----------------------------------------

    def receive_states(self) -> None:
        """IDLE: a NACK owed, or a frame received; DECODE: check and start the answer."""
        m, tx, rx = self.m, self.tx, self.rx
        with m.State("IDLE"):
            with m.If(self.nack_pending & ~tx.busy & ~rx.ok):
                m.d.comb += tx.nack.eq(1)
                m.d.sync += self.nack_pending.eq(rx.bad)
            with m.Elif(rx.ok):
                m.d.sync += [self.h_seq.eq(self.seq), self.h_type.eq(self.rtype),
                             self.h_plen.eq(self.plen), self.k.eq(0), self.b.eq(0),
                             self.borrow.eq(0), self.borrow2.eq(0), self.spoil.eq(1)]
                m.d.comb += self.n_next.eq(0)
                m.next = "DECODE"
        with m.State("DECODE"):  # (waits while a NACK is still going out)
            # (READ_SPIKES finds its cursor 10 bytes back, as after F_LOAD)
            m.d.comb += self.ptr_next.eq(P.HEADER_SIZE + 10)
            with m.If(tx.busy):
                pass
            with m.Elif(self.rtype[7]):
                m.d.sync += self.spoil.eq(0)
                m.next = "IDLE"  # a board ignores responses (an echo on the line)
            with m.Else():
                self.decode_request()
        with m.State("EXEC"):
            self.decode_command()

    def decode_request(self) -> None:
        """A retransmission is answered again (fragments: sent again from the kept
        answer); a new request is remembered, then executed (EXEC) or fragmented."""
        m, tx, rx = self.m, self.tx, self.rx
        dup = self.have_last & (self.seq == self.last_seq) & (rx.crc == self.last_crc)
        with m.If(dup & ~self.last_frag):
            m.d.comb += tx.resend.eq(1)
            m.d.comb += self.dup_seen.eq(1)
            m.d.sync += self.spoil.eq(0)
            m.next = "IDLE"
        with m.Else():
            with m.If(dup):
                m.d.comb += self.dup_seen.eq(1)
            with m.Else():
                m.d.sync += [self.last_seq.eq(self.seq), self.last_crc.eq(rx.crc),
                             self.have_last.eq(1), self.resp_type.eq(self.rtype | 0x80),
                             self.last_frag.eq(0)]
            ok = self.version == P.PROTOCOL_VERSION
            with m.If(ok & (self.rtype == P.Cmd.FRAGMENTS)):
                self.decode_fragments()
            with m.Else():
                with m.If(ok):  # another command's answer replaces the kept one
                    m.d.sync += self.k_valid.eq(0)
                m.next = "EXEC"

    def decode_command(self) -> None:
        """A new request: check its version, command and payload, then start it."""
        m, rtype, plen = self.m, self.rtype, self.plen
        with m.If(self.version != P.PROTOCOL_VERSION):
            self.fail(P.ErrorCode.VERSION)
        with m.Elif(rtype == P.Cmd.IDENTIFY):
            with m.If(plen != 0):
                self.fail(P.ErrorCode.BAD_PAYLOAD)
            with m.Else():
                m.next = "IDENT"
        with m.Elif(rtype == P.Cmd.RESET):
            self.decode_reset()
        with m.Elif((rtype >= P.Cmd.WRITE_PARAMS) & (rtype <= P.Cmd.READ_REGION)):
            self.decode_access()
        with m.Elif(rtype == P.Cmd.RUN):
            with m.If(plen != 4):
                self.fail(P.ErrorCode.BAD_PAYLOAD)
            with m.Elif(self.bus.running):
                self.fail(P.ErrorCode.BUSY)
            with m.Else():
                m.d.comb += self.bus.run.eq(1)
                m.next = "SEND"
        with m.Elif(rtype == P.Cmd.READ_SPIKES):
            self.decode_read_spikes()
        with m.Elif(rtype == P.Cmd.READ_COUNTERS):
            with m.If(plen != 0):
                self.fail(P.ErrorCode.BAD_PAYLOAD)
            with m.Else():   # (the core's last update lands before PUT)
                m.d.comb += self.freeze.eq(1)
                m.next = "PUT"
        with m.Else():
            self.fail(P.ErrorCode.UNKNOWN_COMMAND)

    def decode_fragments(self) -> None:
        """FRAGMENTS: its fields checked; then its read's own payload is loaded (F_LOAD)."""
        m, plen, head = self.m, self.plen, self.head
        cmd, copies, size = head[48:56], head[56:64], head[64:80]
        n_mask = head[88:96]
        cmd_ok = ((cmd == P.Cmd.IDENTIFY) | (cmd == P.Cmd.READ_REGION)
                  | (cmd == P.Cmd.READ_SPIKES) | (cmd == P.Cmd.READ_COUNTERS))
        fixed = P.HEADER_SIZE + 6  # rx buffer address of the mask
        ipl = Signal(signed(len(plen) + 1))   # the read's own payload: negative, too short
        m.d.comb += ipl.eq(plen - 6 - n_mask)
        with m.If(ipl[-1] | ~cmd_ok | (size == 0) | above(size, P.MAX_FRAGMENT_DATA)
                  | (copies == 0) | above(copies, P.MAX_COPIES)):
            self.fail(P.ErrorCode.BAD_PAYLOAD)
        with m.Else():
            m.d.sync += [self.f_ipl.eq(ipl), self.k.eq(0),
                         self.f_cmd.eq(cmd), self.f_copies.eq(copies), self.f_size.eq(size),
                         self.f_first.eq(head[80:88]), self.f_m.eq(n_mask)]
            m.d.comb += self.ptr_next.eq(fixed + n_mask)
            m.next = "F_LOAD"

    def decode_reset(self) -> None:
        """RESET: pulse the core's reset (bit 0 of the payload: also the memories) and
        empty the spike buffer; answered once the core is no longer running."""
        m, head = self.m, self.head
        with m.If((self.plen != 1) | (head[48:56] > 1)):
            self.fail(P.ErrorCode.BAD_PAYLOAD)
        with m.Else():
            m.d.comb += self.bus.reset.eq(Mux(head[48], 0b11, 0b01))
            m.d.sync += [self.s_head.eq(0), self.s_tail.eq(0), self.base.eq(0)]
            m.d.comb += self.drop.eq(self.fill + self.push)  # empty the spike buffer
            m.next = "RESET_WAIT"

    def decode_access(self) -> None:
        """WRITE_* and READ_REGION: the region, its range and the payload's size checked
        before anything is written or read."""
        m, plen, n_bytes = self.m, self.plen, self.n_bytes
        is_write = self.rtype != P.Cmd.READ_REGION
        with m.If(is_write & self.bus.running):
            self.fail(P.ErrorCode.BUSY)
        with m.Elif(~above(plen, P.ACCESS_SIZE - 1)):
            self.fail(P.ErrorCode.BAD_PAYLOAD)
        with m.Elif(above(self.a_core, self.ident.n_cores - 1) | ~self.r_known
                    | (is_write & (self.r_kind != self.rtype - P.Cmd.WRITE_PARAMS))
                    | (is_write & self.r_readonly) | (~is_write & self.r_writeonly)):
            self.fail(P.ErrorCode.BAD_REGION)
        d = len(self.r_depth)   # offset or count past the deepest region: out of range
        with m.Elif((self.a_offset[d:] != 0) | (self.a_count[d:] != 0)
                    | (self.a_offset[:d] + self.a_count[:d] > self.r_depth)):
            self.fail(P.ErrorCode.OUT_OF_RANGE)
        with m.Elif(is_write & (n_bytes != plen - P.ACCESS_SIZE)):
            self.fail(P.ErrorCode.BAD_PAYLOAD)
        with m.Elif(is_write):
            m.d.comb += self.ptr_next.eq(_ACC)  # CHECK reads the values from here on
            m.next = "CHECK"
        with m.Elif(plen != P.ACCESS_SIZE):
            self.fail(P.ErrorCode.BAD_PAYLOAD)
        with m.Elif(above(n_bytes, P.MAX_PAYLOAD - P.ACCESS_SIZE)):
            self.fail(P.ErrorCode.OUT_OF_RANGE)
        with m.Else():
            m.next = "ECHO"

    def decode_read_spikes(self) -> None:
        """READ_SPIKES: its cursor is compared with base a byte a cycle (SPK_CHK)."""
        m = self.m
        with m.If(self.plen != 10):
            self.fail(P.ErrorCode.BAD_PAYLOAD)
        with m.Else():   # (ptr: 10 bytes past the payload, which the cursor begins)
            m.d.comb += self.ptr_next.eq(self.ptr - 10)
            m.d.sync += [self.b.eq(0), self.borrow.eq(0), self.far.eq(0)]
            m.next = "SPK_CHK"

    # --- the state machine: answers ----------------------------------------------------

    def answer_states(self) -> None:
        """ERROR (sent at once), RESET_WAIT, PUT (fixed-size fields) and IDENT (the identity ROM)."""
        m = self.m
        with m.State("ERROR"):  # from registers: a kept answer in the buffer survives
            with m.If(~self.tx.busy):
                m.d.comb += [self.tx.send.eq(1), self.tx.type.eq(P.ERROR_TYPE),
                             self.tx.pre.eq(Cat(self.err, self.h_type)),
                             self.tx.pre_on.eq(1), self.tx.n.eq(0)]
                m.d.sync += [self.spoil.eq(0), self.f_exec.eq(0)]
                m.next = "IDLE"
        with m.State("RESET_WAIT"):  # answered once the core's reset is over
            with m.If(~self.bus.running):
                m.next = "SEND"
        with m.State("PUT"):  # the counters as payload, then send
            bus, n = self.bus, self.n
            core = Mux(n[4], Mux(n[3], bus.spike_count[:8],
                                 Mux(n[2], bus.max_cycles[:8], bus.last_cycles[:8])),
                       Mux(n[3], bus.cycles[:8], bus.steps_done[:8]))
            link = Mux(n[3], self.dups[:8], Mux(n[2], self.rx_errors[:8],
                                                self.rx_frames[:8]))
            self.emit_fields(44, Mux(n[5], link, core), ~n[5], "SEND",
                             wait=n[5] & (self.lph != n[:2]), link=n[5])
        with m.State("IDENT"):
            with m.If(self.n == len(self.rom_bytes)):
                m.next = "SEND"
            with m.Else():
                self.emit(self.rom_rd.data)

    def write_states(self) -> None:
        """CHECK: every element within the region's range, or nothing is written (its
        bytes compared with the bounds' a byte a cycle: two borrows); WRITE: each element
        shifted into `word`, then sign-extended by shifting on to 4 bytes, then written."""
        m, k, b, rx = self.m, self.k, self.b, self.rx
        last = b + 1 == self.r_width
        with m.State("CHECK"):
            with m.If(k == self.count):
                m.d.sync += [k.eq(0), b.eq(0)]
                m.d.comb += self.ptr_next.eq(_ACC)
                m.next = "WRITE"
            with m.Else():
                lo_b, hi_b = self.bound_bytes(b)
                v = Signal(8)
                below, over = Signal(9), Signal(9)
                m.d.comb += [v.eq(rx.r_data ^ Mux(last & self.r_signed, 0x80, 0)),
                             below.eq(v - lo_b - self.borrow),
                             over.eq(hi_b - v - self.borrow2),
                             self.ptr_next.eq(self.ptr + 1)]
                m.d.sync += [b.eq(b + 1), self.borrow.eq(below[8]),
                             self.borrow2.eq(over[8])]
                with m.If(last):
                    m.d.sync += [k.eq(k + 1), b.eq(0), self.borrow.eq(0),
                                 self.borrow2.eq(0)]
                    with m.If(below[8] | over[8]):
                        self.fail(P.ErrorCode.OUT_OF_RANGE)
        with m.State("WRITE"):
            fill = Mux(self.r_signed & self.word[31], 0xFF, 0)
            with m.If(k == self.count):
                m.next = "SEND"
            with m.Elif(b == 4):
                m.d.comb += self.bus.we.eq(1)
                m.d.sync += [k.eq(k + 1), b.eq(0)]
            with m.Else():
                m.d.sync += b.eq(b + 1)
                with m.If(b < self.r_width):
                    m.d.comb += self.ptr_next.eq(self.ptr + 1)
                    self.shift_word(rx.r_data)
                with m.Else():
                    self.shift_word(fill)

    def read_states(self) -> None:
        """READ_REGION answers with its access fields (ECHO), then each element: ask the
        bus (READ_REQ), wait for it (READ_WAIT), write its bytes (READ_PUT)."""
        m, k, b, n = self.m, self.k, self.b, self.n
        with m.State("ECHO"):
            with m.If(n == P.ACCESS_SIZE):
                m.next = "READ_REQ"
            with m.Else():
                self.emit(self.head.word_select(6 + n[:3], 8))
        with m.State("READ_REQ"):
            with m.If(k == self.count):
                m.next = "SEND"
            with m.Else():
                m.d.comb += self.bus.re.eq(1)
                m.next = "READ_WAIT"
        with m.State("READ_WAIT"):
            with m.If(self.bus.rvalid):
                m.d.sync += [self.word.eq(self.bus.rdata), b.eq(0)]
                m.next = "READ_PUT"
        with m.State("READ_PUT"):
            with m.If(b == self.r_width):
                m.d.sync += k.eq(k + 1)
                m.next = "READ_REQ"
            with m.Else():
                self.emit(self.word[:8])
                self.shift_word(self.rx.r_data)   # (any byte)
                m.d.sync += b.eq(b + 1)

    def spike_states(self) -> None:
        """READ_SPIKES checks its cursor (SPK_CHK, SPK_TEST: cursor - base, a byte a
        cycle, must lie in 0..fill), frees the buffer up to it and makes it base
        (SPK_LOAD), then answers with a chunk header (SPIKES, SPIKE_HEAD) and up to
        `want` buffered bytes (SPIKE_DATA)."""
        m, bus, fill, want = self.m, self.bus, self.fill, self.want
        b, ahead, f = self.b, self.ahead, len(self.fill)
        with m.State("SPK_CHK"):   # (rx.r_data: cursor byte b)
            diff = Signal(9)
            m.d.comb += [diff.eq(self.rx.r_data - self.base[:8] - self.borrow),
                         self.rot_base.eq(1), self.ptr_next.eq(self.ptr + 1)]
            m.d.sync += [self.borrow.eq(diff[8]), b.eq(b + 1)]
            with m.If(b < len(ahead) // 8):
                m.d.sync += ahead.eq(Cat(ahead[8:], diff[:8]))
            with m.Else():
                m.d.sync += self.far.eq(self.far | diff[:8].any())
            with m.If(b == 7):
                m.next = "SPK_TEST"
        with m.State("SPK_TEST"):   # behind base, or past fill: out of range
            with m.If(self.borrow | self.far | ahead[f:].any() | (ahead[:f] > fill)):
                self.fail(P.ErrorCode.OUT_OF_RANGE)
            with m.Else():
                m.d.comb += [self.drop.eq(ahead[:f]), self.ptr_next.eq(self.ptr - 8)]
                m.d.sync += self.s_tail.eq((self.s_tail + ahead[:f]) & self.mask)
                m.next = "SPK_LOAD"
        with m.State("SPK_LOAD"):   # base = cursor (rx.r_data: its byte b)
            m.d.comb += [self.load_base.eq(1), self.ptr_next.eq(self.ptr + 1)]
            m.d.sync += b.eq(b + 1)
            with m.If(b == 7):
                m.next = "SPIKES"
        with m.State("SPIKES"):
            m.d.comb += self.freeze.eq(1)   # (the core's last update lands before SPIKE_HEAD)
            m.d.sync += self.k.eq(self.avail)
            m.d.comb += self.s_rp_next.eq(self.s_tail)
            m.next = "SPIKE_HEAD"
        with m.State("SPIKE_HEAD"):
            status = Cat(bus.running, bus.running & fill[-1])
            n = self.n   # base (bytes 0..7), status, steps_done (9..16), steps_target
            byte = Mux(n < 8, self.base[:8],
                       Mux(n == 8, status, Mux(n < 17, bus.steps_done[:8],
                                               bus.steps_target[:8])))
            self.emit_fields(P.SPIKE_RESP_HEAD, byte, n > 8, "SPIKE_DATA", rotate=n < 8)
        with m.State("SPIKE_DATA"):
            with m.If(self.n - P.SPIKE_RESP_HEAD == self.k):
                m.next = "SEND"
            with m.Else():
                self.emit(self.s_rd.data)
                m.d.comb += self.s_rp_next.eq(self.s_rp + 1)

    def send_state(self) -> None:
        """SEND: the request is answered; the receiver may go on."""
        m = self.m
        with m.State("SEND"):
            with m.If(self.f_exec):  # the answer is kept and sent in fragments
                m.d.sync += [self.f_exec.eq(0), self.k_valid.eq(1), self.k_seq.eq(self.h_seq),
                             self.k_cmd.eq(self.rtype), self.k_ipl.eq(self.f_ipl),
                             self.k_pay.eq(self.head[48:128]), self.a_len.eq(self.n)]
                m.next = "F_SPLIT"
            with m.Elif(~self.tx.busy):
                m.d.comb += self.tx.send.eq(1)
                m.d.sync += self.spoil.eq(0)
                m.next = "IDLE"

    # --- the state machine: FRAGMENTS ---------------------------------------------------

    def fragment_states(self) -> None:
        """F_LOAD puts the read's payload (zero-padded to 10 bytes), command and length
        into `head`; F_KEY reuses the kept answer or runs the read (EXEC, then SEND);
        F_SPLIT counts the fragments; F_WALK, F_TEST, F_SEND send the asked ones."""
        m, rx, k = self.m, self.rx, self.k
        with m.State("F_LOAD"):  # head byte k shifted in anew (rx.r_data: payload byte k-6)
            j = k[:4]
            payload = rx.r_data & Mux(k - 6 < self.f_ipl, 0xFF, 0)
            kept = self.head[:8]   # byte k of the request, as head rotates
            m.d.comb += [rx.h_shift.eq(1),
                         self.ptr_next.eq(self.ptr + (j >= 6)),
                         rx.h_data.eq(Mux(j >= 6, payload,
                                          Cat(kept, self.f_cmd, kept, kept, self.f_ipl[:8],
                                              self.f_ipl[8:]).word_select(j[:3], 8)))]
            m.d.sync += k.eq(k + 1)
            with m.If(j == 15):
                m.next = "F_KEY"
        with m.State("F_KEY"):
            same = (self.k_valid & (self.h_seq == self.k_seq) & (self.rtype == self.k_cmd)
                    & ((self.f_ipl == 0) | ((self.f_ipl == self.k_ipl)
                                            & (self.head[48:128] == self.k_pay))))
            m.d.sync += k.eq(0)
            with m.If(same):
                m.next = "F_SPLIT"
            with m.Else():
                m.d.sync += self.f_exec.eq(1)
                m.next = "EXEC"
        with m.State("F_SPLIT"):
            m.d.sync += [self.f_rem.eq(self.a_len), self.f_last.eq(0)]
            m.next = "F_COUNT"
        with m.State("F_COUNT"):  # last index: ceil(a_len / size) - 1, at most 255
            left = Signal(signed(len(self.f_rem) + 1))   # (a_len minus the pieces so far)
            m.d.comb += left.eq(self.f_rem - self.f_size)
            with m.If(left[-1] | (left == 0)):   # f_rem is the last piece's size
                m.d.sync += [self.f_k.eq(0), self.f_start.eq(P.HEADER_SIZE),
                             self.f_c.eq(self.f_copies), self.last_frag.eq(1)]
                m.next = "F_WALK"
            with m.Elif(self.f_last == P.MAX_FRAGMENTS - 1):
                self.fail(P.ErrorCode.OUT_OF_RANGE)
            with m.Else():
                m.d.sync += [self.f_rem.eq(left), self.f_last.eq(self.f_last + 1)]
        self.fragment_walk()

    def fragment_walk(self) -> None:
        """For each copy, each fragment index: asked (from `first`, or its mask bit set,
        read from the request in the receiver's buffer)? then sent as a buffer slice.
        Fragment i = f_k - first is past the mask once i >> 3 reaches m (i steps by 1):
        equalities, no magnitude comparators."""
        m, f_k = self.m, self.f_k
        fixed = P.HEADER_SIZE + 6  # rx buffer address of the mask
        f_i = Signal(9)   # f_k - first: negative (bit 8) before the first asked fragment
        m.d.comb += f_i.eq(f_k - self.f_first)

        def end_copy():
            m.d.sync += [self.f_c.eq(self.f_c - 1), f_k.eq(0), self.f_start.eq(P.HEADER_SIZE)]
            with m.If(self.f_c == 1):
                m.d.sync += self.spoil.eq(0)
                m.next = "IDLE"

        def advance():   # (from F_WALK, F_TEST or F_SEND: on to F_WALK)
            m.next = "F_WALK"
            with m.If(f_k == self.f_last):
                end_copy()
            with m.Else():
                m.d.sync += [f_k.eq(f_k + 1), self.f_start.eq(self.f_start + self.f_size)]

        with m.State("F_WALK"):
            with m.If(f_i[8]):
                advance()
            with m.Elif(self.f_m == 0):
                m.next = "F_SEND"
            with m.Elif(f_i[3:] == self.f_m):   # past the mask: the copy is out
                end_copy()
            with m.Else():
                m.d.comb += self.ptr_next.eq(fixed + f_i[3:8])
                m.next = "F_TEST"
        with m.State("F_TEST"):  # (rx.r_data: the mask byte of bit f_i)
            with m.If(self.rx.r_data.bit_select(f_i[:3], 1)):
                m.next = "F_SEND"
            with m.Else():
                advance()
        with m.State("F_SEND"):
            tx = self.tx
            with m.If(~tx.busy):
                m.d.comb += [tx.send.eq(1), tx.pre_on.eq(1),
                             tx.pre.eq(Cat(f_k, self.f_last)),
                             tx.start.eq(self.f_start),
                             tx.n.eq(Mux(f_k == self.f_last, self.f_rem, self.f_size))]
                advance()
