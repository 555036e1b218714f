"""Bridge from the link's HostBus to the fpga chip's host port (rtl.signatures
ControlSignature): one timestep at a time, each step's spikes packed into a
protocol step record, memory writes into the chip's write port, weights read through
the chip's weight port, RESET as a chip reset followed by the chip's clear."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..signatures import ControlSignature
from . import protocol as P
from .signature import HostBus


class ChipBridge(wiring.Component):
    """Answers the dispatcher's HostBus with the fpga chip.

    RUN adds timesteps; the chip is started one step at a time while the link's spike
    buffer takes the previous step's record (the chip's spike output has no
    back-pressure, so the record of a step is gathered here: `n_neurons` ids at most).
    A write (`we`) goes to the chip's write port in the same cycle (the dispatcher writes
    only between runs, and the chip is idle then). A READ (the dispatcher allows only the
    readable weight region) returns the chip's synapse word, sign-extended, once the chip
    is idle. RESET pulses `chip_reset` (the chip's sync domain: time, state machines),
    clears the counters, then starts the chip's clear (state, or with reset bit 1 every
    memory); `running` stays high until the clear is over, so the dispatcher answers
    RESET only then.

    The counters are updated a byte per cycle (PASS, 8 cycles after each step's record
    and after each RUN: one 8-bit adder per counter, the registers rotate a byte a cycle,
    no 64-bit adders or comparators); `running` stays high during a pass. The record of a
    step holds back its last byte while the link's spike buffer is not ready, so a link
    that holds `spikes.ready` low sees the counters still once a pass begun before is
    over (at most 8 cycles).
    """

    def __init__(self, ctl: ControlSignature, n_neurons: int):
        if not 1 <= n_neurons <= P.MAX_IDS:
            raise ValueError(f"n_neurons={n_neurons} must be in 1..{P.MAX_IDS} (ids of one "
                             "step record)")
        self.ctl_sig, self.n_neurons = ctl, n_neurons
        super().__init__({"bus": In(HostBus()), "ctl": In(ctl), "chip_reset": Out(1)})

    def elaborate(self, platform) -> Module:
        b = _BridgeBuild(self)
        b.counters()
        with b.m.FSM():
            b.idle_state()
            b.step_states()
            b.pass_state()
        b.reset()
        return b.m


class _BridgeBuild:
    """One elaboration of a ChipBridge: its module and the signals its states share."""

    def __init__(self, br: ChipBridge):
        self.m = m = Module()
        self.bus, self.ctl, self.br = bus, ctl, _ = br.bus, br.ctl, br
        N = br.n_neurons
        m.submodules.ids = ids = Memory(shape=16, depth=N, init=[])
        self.wr = ids.write_port()
        self.rd = ids.read_port()        # block RAM: addressed by b's next value (b_next)
        self.cnt = Signal(range(N + 1))  # spikes of the step
        self.cyc = Signal(32)            # cycles of the step
        self.b = Signal(range(10 + 2 * N + 1))
        self.b_next = Signal.like(self.b)  # the record byte of the next cycle; rd shows its id
        m.d.comb += [self.b_next.eq(self.b), self.rd.addr.eq((self.b_next - 10) >> 1)]
        m.d.sync += self.b.eq(self.b_next)
        self.read_pending = Signal()
        self.clear = Signal(2)   # a clear to start (RESET's bits), once the chip is reset
        m.d.comb += [ctl.w_core.eq(bus.core), ctl.w_addr.eq(bus.index), ctl.n_steps.eq(1),
                     ctl.cfg_we.eq(bus.we), ctl.cfg_core.eq(bus.core),
                     ctl.cfg_region.eq(bus.region), ctl.cfg_addr.eq(bus.index),
                     ctl.cfg_data.eq(bus.wdata)]
        m.d.sync += bus.rvalid.eq(0)
        with m.If(bus.re):
            m.d.sync += self.read_pending.eq(1)

    def counters(self) -> None:
        """The 64- and 32-bit counters, rotated a byte a cycle while `passing`: in pass
        byte j each counter's low byte gets its sum (a step: done + 1, cycles + cyc,
        spikes + cnt, most = max(most, cyc) decided in bytes 0..3 and written in 4..7,
        last = cyc; a RUN: target + run_steps), and `behind` (done < target) is compared
        on the way. A `peek` rotates them as a pass that adds nothing."""
        m, bus = self.m, self.bus
        self.done, self.target = Signal(64), Signal(64)
        self.cycles, self.spikes = Signal(64), Signal(64)
        self.last, self.most = Signal(32), Signal(32)
        self.run_add = Signal(32)       # run_steps of the RUN being added
        self.step_pass = Signal()       # the pass adds a step's results
        self.run_pend = Signal()        # a RUN's pass is owed
        self.passing = Signal()
        self.j = j = Signal(3)          # pass byte
        self.behind = Signal()          # done < target
        self.gt = Signal()              # cyc > most (bytes 0..j-1)
        self.lt = Signal()              # new done < new target (bytes 0..j-1)
        m.d.comb += [bus.running.eq(self.behind | self.passing | self.run_pend
                                    | (self.clear != 0) | self.ctl.busy),
                     bus.steps_done.eq(self.done), bus.steps_target.eq(self.target),
                     bus.cycles.eq(self.cycles), bus.last_cycles.eq(self.last),
                     bus.max_cycles.eq(self.most), bus.spike_count.eq(self.spikes)]
        with m.If(bus.run):
            m.d.sync += [self.run_add.eq(bus.run_steps), self.run_pend.eq(1)]
        # a peek rotates as a pass that adds nothing (never during a PASS: the link
        # waits for it to end)
        step = self.step_pass & self.passing
        low = j[2] == 0                             # bytes 0..3 of a 32-bit addend
        cyc_j = Mux(step & low, self.cyc.word_select(j[:2], 8), 0)
        cnt32 = Cat(self.cnt, Const(0, 32 - len(self.cnt)))
        cnt_j = Mux(step & low, cnt32.word_select(j[:2], 8), 0)
        run_j = Mux(~self.step_pass & self.passing & low,
                    self.run_add.word_select(j[:2], 8), 0)
        self.sums = {}
        for name, reg, add, cin in (("done", self.done, 0, step & (j == 0)),
                                    ("target", self.target, run_j, 0),
                                    ("cycles", self.cycles, cyc_j, 0),
                                    ("spikes", self.spikes, cnt_j, 0)):
            carry = Signal(name=f"{name}_carry")
            total = Signal(9, name=f"{name}_sum")
            m.d.comb += total.eq(reg[:8] + add + Mux(j == 0, cin, carry))
            self.sums[name] = (reg, total, carry)
        most_j = self.most[:8]
        cyc_hi = self.cyc.word_select(j[:2], 8)
        m.d.comb += self.passing.eq(0)   # (set by PASS)
        most_in = Mux(~low & step & self.gt, cyc_hi, most_j)
        last_in = Mux(step, cyc_hi, self.last[:8])   # last = cyc, in two turns
        with m.If(self.passing | bus.peek):
            for reg, total, _ in self.sums.values():
                m.d.sync += reg.eq(Cat(reg[8:], total[:8]))
            m.d.sync += [self.most.eq(Cat(self.most[8:], most_in)),
                         self.last.eq(Cat(self.last[8:], last_in))]
        gt_prev = Mux(j == 0, 0, self.gt)
        self.gt_next = Mux(low, (cyc_hi > most_j) | ((cyc_hi == most_j) & gt_prev), self.gt)
        nd, nt = self.sums["done"][1][:8], self.sums["target"][1][:8]
        self.lt_next = (nd < nt) | ((nd == nt) & Mux(j == 0, 0, self.lt))

    def idle_state(self) -> None:
        """IDLE: a clear owed, a weight read, a RUN's pass, or the next step."""
        m, bus, ctl = self.m, self.bus, self.ctl
        with m.State("IDLE"):
            with m.If(self.clear.any() & ~bus.reset.any()):
                m.d.comb += ctl.clear.eq(self.clear)
                m.d.sync += self.clear.eq(0)
            with m.Elif(self.read_pending & ~ctl.busy):
                m.d.sync += [bus.rdata.eq(ctl.w_data.as_signed()), bus.rvalid.eq(1),
                             self.read_pending.eq(0)]
            with m.Elif(self.run_pend & ~bus.reset.any()):
                m.d.sync += [self.run_pend.eq(0), self.step_pass.eq(0), self.j.eq(0)]
                m.next = "PASS"
            with m.Elif(self.behind & ~ctl.busy & ~bus.reset.any()):
                m.d.comb += ctl.start.eq(1)
                m.d.sync += self.cnt.eq(0)
                m.next = "STEP"

    def step_states(self) -> None:
        """STEP gathers the step's spike ids; RECORD sends its record: 10 header bytes,
        then 2 bytes per id."""
        m, bus, ctl, b, cnt = self.m, self.bus, self.ctl, self.b, self.cnt
        with m.State("STEP"):
            with m.If(ctl.spike_valid):
                m.d.comb += [self.wr.addr.eq(cnt), self.wr.data.eq(ctl.spike_axon),
                             self.wr.en.eq(1)]
                m.d.sync += cnt.eq(cnt + 1)
            with m.If(ctl.step_done):
                m.d.sync += self.cyc.eq(ctl.step_cycles)
                m.d.comb += self.b_next.eq(0)
                m.next = "RECORD"
            with m.If(bus.reset.any()):  # the chip is reset too: no step_done comes
                m.next = "IDLE"
        with m.State("RECORD"):
            header = Cat(self.done[:32], self.cyc, cnt.as_unsigned()[:16])
            rd = self.rd
            byte = Mux(b < 10, header.word_select(b[:4], 8),
                       Mux(b[0], rd.data[8:], rd.data[:8]))
            with m.If(b == 10 + 2 * cnt):
                m.d.sync += [self.step_pass.eq(1), self.j.eq(0)]
                m.next = "PASS"
            with m.Else():
                m.d.comb += [bus.spikes.payload.eq(byte), bus.spikes.valid.eq(1)]
                with m.If(bus.spikes.ready):
                    m.d.comb += self.b_next.eq(b + 1)
            with m.If(bus.reset.any()):
                m.next = "IDLE"

    def pass_state(self) -> None:
        """PASS: bytes 0..7 of every counter, low byte first (see `counters`)."""
        m, j = self.m, self.j
        with m.State("PASS"):
            m.d.comb += self.passing.eq(1)
            for reg, total, carry in self.sums.values():
                m.d.sync += carry.eq(total[8])
            m.d.sync += [self.gt.eq(self.gt_next), self.lt.eq(self.lt_next), j.eq(j + 1)]
            with m.If(j == 7):
                m.d.sync += self.behind.eq(self.lt_next)
                m.next = "IDLE"
            with m.If(self.bus.reset.any()):
                m.next = "IDLE"

    def reset(self) -> None:
        """RESET: the chip's reset, every counter zero, the clear owed."""
        m, bus = self.m, self.bus
        with m.If(bus.reset.any()):
            m.d.comb += self.br.chip_reset.eq(1)
            m.d.sync += [self.target.eq(0), self.done.eq(0), self.cycles.eq(0),
                         self.spikes.eq(0), self.last.eq(0), self.most.eq(0),
                         self.behind.eq(0), self.run_pend.eq(0), self.read_pending.eq(0),
                         self.clear.eq(Mux(bus.reset[1], 0b11, 0b01))]
