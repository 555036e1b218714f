"""Bridge from the link's HostBus to the fpga chip's host port (rtl.signatures
ControlSignature): one timestep at a time, each step's spikes packed into a
protocol step record, memory writes into the chip's write port, weights read through
the chip's weight port, RESET as a chip reset followed by the chip's clear."""

from amaranth import Cat, Module, Mux, Signal
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
    """

    def __init__(self, ctl: ControlSignature, n_neurons: int):
        if not 1 <= n_neurons <= P.MAX_IDS:
            raise ValueError(f"n_neurons={n_neurons} must be in 1..{P.MAX_IDS} (ids of one "
                             "step record)")
        self.ctl_sig, self.n_neurons = ctl, n_neurons
        super().__init__({"bus": In(HostBus()), "ctl": In(ctl), "chip_reset": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        bus, ctl, N = self.bus, self.ctl, self.n_neurons
        m.submodules.ids = ids = Memory(shape=16, depth=N, init=[])
        wr = ids.write_port()
        rd = ids.read_port()        # block RAM: addressed by b's next value (b_next)

        target, done = Signal(64), Signal(64)
        cycles, spikes = Signal(64), Signal(64)
        last, most = Signal(32), Signal(32)
        cnt = Signal(range(N + 1))
        cyc = Signal(32)
        b = Signal(range(10 + 2 * N + 1))
        b_next = Signal.like(b)     # the record byte of the next cycle; rd shows its id
        m.d.comb += [b_next.eq(b), rd.addr.eq((b_next - 10) >> 1)]
        m.d.sync += b.eq(b_next)
        read_pending = Signal()
        clear = Signal(2)   # a clear to start (RESET's bits), once the chip is reset
        m.d.comb += [bus.running.eq((done < target) | (clear != 0) | ctl.busy),
                     bus.steps_done.eq(done),
                     bus.steps_target.eq(target), bus.cycles.eq(cycles),
                     bus.last_cycles.eq(last), bus.max_cycles.eq(most),
                     bus.spike_count.eq(spikes),
                     ctl.w_core.eq(bus.core), ctl.w_addr.eq(bus.index), ctl.n_steps.eq(1),
                     ctl.cfg_we.eq(bus.we), ctl.cfg_core.eq(bus.core),
                     ctl.cfg_region.eq(bus.region), ctl.cfg_addr.eq(bus.index),
                     ctl.cfg_data.eq(bus.wdata)]
        m.d.sync += bus.rvalid.eq(0)
        with m.If(bus.re):
            m.d.sync += read_pending.eq(1)
        with m.If(bus.run):
            m.d.sync += target.eq(target + bus.run_steps)

        header = Cat(done[:32], cyc, cnt.as_unsigned()[:16])
        with m.FSM():
            with m.State("IDLE"):
                with m.If(clear.any() & ~bus.reset.any()):
                    m.d.comb += ctl.clear.eq(clear)
                    m.d.sync += clear.eq(0)
                with m.Elif(read_pending & ~ctl.busy):
                    m.d.sync += [bus.rdata.eq(ctl.w_data.as_signed()), bus.rvalid.eq(1),
                                 read_pending.eq(0)]
                with m.Elif((done < target) & ~ctl.busy & ~bus.reset.any()):
                    m.d.comb += ctl.start.eq(1)
                    m.d.sync += cnt.eq(0)
                    m.next = "STEP"
            with m.State("STEP"):
                with m.If(ctl.spike_valid):
                    m.d.comb += [wr.addr.eq(cnt), wr.data.eq(ctl.spike_axon), wr.en.eq(1)]
                    m.d.sync += cnt.eq(cnt + 1)
                with m.If(ctl.step_done):
                    m.d.sync += cyc.eq(ctl.step_cycles)
                    m.d.comb += b_next.eq(0)
                    m.next = "RECORD"
                with m.If(bus.reset.any()):  # the chip is reset too: no step_done comes
                    m.next = "IDLE"
            with m.State("RECORD"):  # 10 header bytes, then 2 bytes per id
                byte = Mux(b < 10, header.word_select(b[:4], 8),
                           Mux(b[0], rd.data[8:], rd.data[:8]))
                with m.If(b == 10 + 2 * cnt):
                    m.d.sync += [done.eq(done + 1), cycles.eq(cycles + cyc), last.eq(cyc),
                                 most.eq(Mux(cyc > most, cyc, most)),
                                 spikes.eq(spikes + cnt)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += [bus.spikes.payload.eq(byte), bus.spikes.valid.eq(1)]
                    with m.If(bus.spikes.ready):
                        m.d.comb += b_next.eq(b + 1)
                with m.If(bus.reset.any()):
                    m.next = "IDLE"
        with m.If(bus.reset.any()):
            m.d.comb += self.chip_reset.eq(1)
            m.d.sync += [target.eq(0), done.eq(0), cycles.eq(0), spikes.eq(0), last.eq(0),
                         most.eq(0), read_pending.eq(0),
                         clear.eq(Mux(bus.reset[1], 0b11, 0b01))]
        return m
