"""The chip: cores in lock step, the broadcast spike router and the stimulus memory,
behind the host-facing `ControlSignature` (rtl.signatures) that a UART front end attaches
to. Built for a capacity (rtl.capacity.ChipCapacity; default: exactly what the image
needs) with the image's values as initial contents; the host rewrites every memory
through `ctl.cfg_*` between runs, so the chip runs any image that fits its capacity.

Per timestep: START (pulse `go` to every active core, i.e. one with neurons), WAIT (until
every core is done), RC (route: per active core, one cycle per spike it emitted,
broadcast to every core's next event list and shown on `spike_valid`, plus one cycle to
move to the next core; the active cores are the first ones, a core with n = 0 ends the
list), RS (one cycle per stimulus spike of this step, plus one), END (one cycle:
`step_done`, `step_cycles`). The spike-list and stimulus reads are addressed with the
next value of their counters (ri, sp), so each entry is on the read port in its cycle.
`w_data` is the weight at `w_core`/`w_addr` of the cycle before (a synchronous block-RAM
read). CLEAR (`ctl.clear`) walks every memory address once (`capacity.clear_cycles`,
plus one).
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out

from ..hw.errors import TargetError
from ..hw.layouts.fpga import CHIP_WIDE, DATA, RTL_CYCLES, REGION_ID, STIM_END, cycle_field
from .capacity import ChipCapacity
from .core import LifCore
from .signatures import ControlSignature, ubits


def check_cycle_costs(spec) -> None:
    """Refuse a spec whose cycle costs differ from the ones the RTL implements
    (hw.layouts.fpga.RTL_CYCLES), naming the field and both values."""
    for name, rtl in RTL_CYCLES.items():
        field = cycle_field(name)
        asked = getattr(spec, field)
        if asked != rtl:
            raise TargetError(f"the fpga RTL implements {field}={rtl}; the spec asks "
                              f"{field}={asked} (a cycle cost only the emulator can vary)")


class Chip(wiring.Component):
    """The cores of an fpga chip of `capacity` (default: the image's needs), holding
    `image` at power-up; `ctl` faces the host."""

    def __init__(self, image, capacity: ChipCapacity | None = None):
        d = image.data[DATA]
        if not image.cores:
            raise ValueError("the image has no cores")
        self.image, self.spec = image, image.target
        check_cycle_costs(self.spec)
        self.capacity = cap = capacity or ChipCapacity.of_image(image)
        cap.check(image)
        self.G = cap.n_axons
        self.D = cap.ring_depth
        self.npc = cap.neurons_per_core
        self.C = cap.n_cores
        self.stim_step = [int(v) for v in d["stim_step"]]
        self.stim_axon = [int(v) for v in d["stim_axon"]]
        self.axon_bits = ubits(self.G - 1)
        self.syn_bits = ubits(cap.synapses_per_core - 1)
        super().__init__({"ctl": Out(ControlSignature(
            self.axon_bits, self.syn_bits, ubits(self.C - 1), self.spec.weight_bits,
            ubits(cap.max_depth - 1)))})

    def elaborate(self, platform) -> Module:
        m = Module()
        cores = self._cores(m)
        w = self._wires()
        self._stimulus_memory(m, w)
        self._wire_cores(m, cores, w)
        with m.FSM(init="IDLE"):
            self._idle_and_clear(m, w)
            self._compute(m, cores, w)
            self._route(m, w)
        return m

    def _cores(self, m: Module) -> list[LifCore]:
        """One LifCore per capacity core, holding the image's core where there is one."""
        d = self.image.data[DATA]
        G0, D0 = int(d["n_axons"]), int(d["ring_depth"])
        cores = []
        for i in range(self.C):
            core = self.image.cores[i] if i < len(self.image.cores) else None
            m.submodules[f"core{i}"] = lc = LifCore(core, self.spec, G0, D0, self.capacity)
            cores.append(lc)
        return cores

    def _wires(self) -> SimpleNamespace:
        """The chip's own registers and the signals its parts share."""
        cap, S1 = self.capacity, self.capacity.stimulus_depth + 1
        return SimpleNamespace(
            idle=Signal(), clearing=Signal(), clr_all=Signal(),
            ca=Signal(range(cap.clear_cycles + 1)),          # the address a clear writes
            t=Signal(32), t_slot=Signal(unsigned(ubits(self.D - 1))), left=Signal(32),
            cyc=Signal(32), sp=Signal(range(S1)),
            in_n=Signal(unsigned(self.axon_bits + 1)), rc=Signal(unsigned(ubits(self.C - 1))),
            ri=Signal(unsigned(ubits(self.npc))), ri_next=Signal(unsigned(ubits(self.npc))),
            sp_next=Signal(range(cap.stimulus_depth + 1)),
            bcast=Signal(), bdata=Signal(unsigned(self.axon_bits)),
            out_n=Signal(unsigned(ubits(self.npc))), out_d=Signal(unsigned(self.axon_bits)),
            last_core=Signal(),     # rc is the last active core
            all_done=Signal(), chip_wide=Signal())

    def _stimulus_memory(self, m: Module, w: SimpleNamespace) -> None:
        """The chip's own memories: stimulus (step, axon), its copy of ring_depth."""
        ctl, cap = self.ctl, self.capacity
        D0 = int(self.image.data[DATA]["ring_depth"])
        S1 = cap.stimulus_depth + 1                # always one end marker after the list
        stim_s = Memory(shape=32, depth=S1,
                        init=self.stim_step + [STIM_END] * (S1 - len(self.stim_step)))
        stim_a = Memory(shape=unsigned(self.axon_bits), depth=S1, init=self.stim_axon)
        ring_d = Memory(shape=unsigned(ubits(cap.ring_depth)), depth=1, init=[D0])
        m.submodules.stim_step, m.submodules.stim_axon = stim_s, stim_a
        m.submodules.ring_depth = ring_d
        w.D = ring_d.read_port(domain="comb").data
        for mem, name, cleared in ((stim_s, "stim_step", STIM_END), (stim_a, "stim_axon", 0),
                                   (ring_d, "ring_depth", 0)):
            wr = mem.write_port()
            with m.If(w.clearing):
                m.d.comb += [wr.addr.eq(w.ca), wr.data.eq(cleared), wr.en.eq(w.clr_all)]
            with m.Elif(w.idle & ctl.cfg_we & (ctl.cfg_region == REGION_ID[name])):
                m.d.comb += [wr.addr.eq(ctl.cfg_addr), wr.data.eq(ctl.cfg_data),
                             wr.en.eq(1)]
        st_rd_s, st_rd_a = stim_s.read_port(), stim_a.read_port()
        m.d.comb += [ctl.t.eq(w.t), st_rd_s.addr.eq(w.sp_next), st_rd_a.addr.eq(w.sp_next)]
        m.d.comb += [w.sp_next.eq(w.sp), w.ri_next.eq(w.ri)]   # the FSM assigns them
        m.d.sync += [w.sp.eq(w.sp_next), w.ri.eq(w.ri_next)]
        w.st_step, w.st_axon = st_rd_s.data, st_rd_a.data

    def _wire_cores(self, m: Module, cores: list[LifCore], w: SimpleNamespace) -> None:
        """Every core's link: event-list writes, host writes, clears, the router's view."""
        ctl, C = self.ctl, self.C
        m.d.comb += w.chip_wide.eq(0)
        for name in CHIP_WIDE:
            with m.If(ctl.cfg_region == REGION_ID[name]):
                m.d.comb += w.chip_wide.eq(1)
        m.d.comb += w.last_core.eq(1)
        for i, lc in enumerate(cores):
            m.d.comb += [lc.link.t_slot.eq(w.t_slot), lc.link.in_n.eq(w.in_n),
                         lc.link.in_we.eq(w.bcast), lc.link.in_addr.eq(w.in_n),
                         lc.link.in_data.eq(w.bdata), lc.link.out_addr.eq(w.ri_next),
                         lc.link.w_addr.eq(ctl.w_addr),
                         lc.link.cfg_we.eq(w.idle & ctl.cfg_we
                                           & (w.chip_wide | (ctl.cfg_core == i))),
                         lc.link.cfg_region.eq(ctl.cfg_region),
                         lc.link.cfg_addr.eq(ctl.cfg_addr), lc.link.cfg_data.eq(ctl.cfg_data),
                         lc.link.clr.eq(w.clearing), lc.link.clr_all.eq(w.clr_all),
                         lc.link.clr_addr.eq(w.ca)]
            with m.If(w.rc == i):
                with m.If(lc.link.active):
                    m.d.comb += [w.out_n.eq(lc.link.out_n),
                                 w.out_d.eq(lc.link.out_data + i * self.npc)]
                if i + 1 < C:
                    m.d.comb += w.last_core.eq(~cores[i + 1].link.active)
            with m.If(ctl.w_core == i):
                m.d.comb += ctl.w_data.eq(lc.link.w_data)
        m.d.comb += w.all_done.eq(1)
        for lc in cores:
            with m.If(~lc.link.done):
                m.d.comb += w.all_done.eq(0)

    def _idle_and_clear(self, m: Module, w: SimpleNamespace) -> None:
        """IDLE (host writes; start or clear) and CLEAR (one address per cycle)."""
        ctl, cap = self.ctl, self.capacity
        with m.State("IDLE"):
            m.d.comb += w.idle.eq(1)
            with m.If(ctl.clear != 0):
                m.d.sync += [w.ca.eq(0), w.clr_all.eq(ctl.clear[1]), w.t.eq(0),
                             w.t_slot.eq(0), w.in_n.eq(0)]
                m.d.comb += w.sp_next.eq(0)
                m.next = "CLEAR"
            with m.Elif(ctl.start & (ctl.n_steps != 0)):
                m.d.sync += w.left.eq(ctl.n_steps)
                m.next = "START"
        with m.State("CLEAR"):   # one address per cycle; the cores' u follows by one
            m.d.comb += [ctl.busy.eq(1), w.clearing.eq(w.ca < cap.clear_cycles)]
            m.d.sync += w.ca.eq(w.ca + 1)
            with m.If(w.ca == cap.clear_cycles):
                m.next = "IDLE"

    def _compute(self, m: Module, cores: list[LifCore], w: SimpleNamespace) -> None:
        """START (pulse the active cores) and WAIT (until every core is done)."""
        ctl = self.ctl
        with m.State("START"):
            m.d.comb += ctl.busy.eq(1)
            for lc in cores:
                m.d.comb += lc.link.go.eq(lc.link.active)
            m.d.sync += w.cyc.eq(1)
            m.next = "WAIT"
        with m.State("WAIT"):
            m.d.comb += ctl.busy.eq(1)
            m.d.sync += w.cyc.eq(w.cyc + 1)
            with m.If(w.all_done):
                m.d.sync += [w.in_n.eq(0), w.rc.eq(0)]
                m.d.comb += w.ri_next.eq(0)
                m.next = "RC"

    def _route(self, m: Module, w: SimpleNamespace) -> None:
        """RC (neuron spikes, core by core), RS (this step's stimulus), END (the step)."""
        ctl = self.ctl
        with m.State("RC"):    # core rc's spike ri is on its port: broadcast it, or next core
            m.d.comb += ctl.busy.eq(1)
            m.d.sync += w.cyc.eq(w.cyc + 1)
            with m.If(w.ri == w.out_n):
                m.d.sync += w.rc.eq(w.rc + 1)
                m.d.comb += w.ri_next.eq(0)
                with m.If(w.last_core):
                    m.next = "RS"
            with m.Else():
                m.d.comb += [w.bcast.eq(1), w.bdata.eq(w.out_d), ctl.spike_valid.eq(1),
                             ctl.spike_axon.eq(w.out_d), w.ri_next.eq(w.ri + 1)]
                m.d.sync += w.in_n.eq(w.in_n + 1)
        with m.State("RS"):    # stimulus entry sp is on its port: its step == t?
            m.d.comb += ctl.busy.eq(1)
            m.d.sync += w.cyc.eq(w.cyc + 1)
            with m.If(w.st_step == w.t):
                m.d.comb += [w.bcast.eq(1), w.bdata.eq(w.st_axon), w.sp_next.eq(w.sp + 1)]
                m.d.sync += w.in_n.eq(w.in_n + 1)
            with m.Else():
                m.next = "END"
        with m.State("END"):
            m.d.comb += [ctl.busy.eq(1), ctl.step_done.eq(1), ctl.step_cycles.eq(w.cyc + 1)]
            m.d.sync += [w.t.eq(w.t + 1), w.left.eq(w.left - 1),
                         w.t_slot.eq(Mux(w.t_slot + 1 >= w.D, 0, w.t_slot + 1))]
            with m.If(w.left == 1):
                m.next = "IDLE"
            with m.Else():
                m.next = "START"


def chip_ports_doc() -> str:
    """The Verilog port names of the exported chip (ctl members, flattened by Amaranth)."""
    return ", ".join(f"ctl__{n}" for n in ControlSignature(1, 1, 1, 2).members)


__all__ = ["Chip", "STIM_END", "chip_ports_doc"]
