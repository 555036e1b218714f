"""The chip: cores in lock step, the broadcast spike router and the stimulus memory,
behind the host-facing `ControlSignature` (rtl.signatures) that a UART front end attaches
to. Built for a capacity (rtl.capacity.ChipCapacity; default: exactly what the image
needs) with the image's values as initial contents; the host rewrites every memory
through `ctl.cfg_*` between runs, so the chip runs any image that fits its capacity.

Per timestep: START (pulse `go` to every active core, i.e. one with neurons), WAIT (until
every core is done), RC (route: per active core, two cycles per spike it emitted
(synchronous read of its spike list), broadcast to every core's next event list and shown
on `spike_valid`, plus one cycle to move to the next core; the active cores are the first
ones, a core with n = 0 ends the list), RS (two cycles per stimulus spike of this step,
plus two), END (one cycle: `step_done`, `step_cycles`). `w_data` is the weight at
`w_core`/`w_addr` of the cycle before (a synchronous block-RAM read). CLEAR (`ctl.clear`)
walks every memory address once (`capacity.clear_cycles`, plus one).
"""

from __future__ import annotations

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
        ctl, C, cap = self.ctl, self.C, self.capacity
        d = self.image.data[DATA]
        G0, D0 = int(d["n_axons"]), int(d["ring_depth"])
        cores = []
        for i in range(C):
            core = self.image.cores[i] if i < len(self.image.cores) else None
            lc = LifCore(core, self.spec, G0, D0, cap)
            m.submodules[f"core{i}"] = lc
            cores.append(lc)
        idle = Signal()
        clearing = Signal()
        clr_all = Signal()
        ca = Signal(range(cap.clear_cycles + 1))   # the address a clear writes

        # --- the chip's own memories: stimulus (step, axon) and its copy of ring_depth --
        S1 = cap.stimulus_depth + 1                # always one end marker after the list
        stim_s = Memory(shape=32, depth=S1,
                        init=self.stim_step + [STIM_END] * (S1 - len(self.stim_step)))
        stim_a = Memory(shape=unsigned(self.axon_bits), depth=S1, init=self.stim_axon)
        ring_d = Memory(shape=unsigned(ubits(cap.ring_depth)), depth=1, init=[D0])
        m.submodules.stim_step, m.submodules.stim_axon = stim_s, stim_a
        m.submodules.ring_depth = ring_d
        D = ring_d.read_port(domain="comb").data
        for mem, name, cleared in ((stim_s, "stim_step", STIM_END), (stim_a, "stim_axon", 0),
                                   (ring_d, "ring_depth", 0)):
            wr = mem.write_port()
            with m.If(clearing):
                m.d.comb += [wr.addr.eq(ca), wr.data.eq(cleared), wr.en.eq(clr_all)]
            with m.Elif(idle & ctl.cfg_we & (ctl.cfg_region == REGION_ID[name])):
                m.d.comb += [wr.addr.eq(ctl.cfg_addr), wr.data.eq(ctl.cfg_data),
                             wr.en.eq(1)]
        st_rd_s, st_rd_a = stim_s.read_port(), stim_a.read_port()

        t = Signal(32)
        t_slot = Signal(unsigned(ubits(self.D - 1)))
        left = Signal(32)
        cyc = Signal(32)
        sp = Signal(range(S1))
        in_n = Signal(unsigned(self.axon_bits + 1))
        rc = Signal(unsigned(ubits(C - 1)))
        ph = Signal()
        ri = Signal(unsigned(ubits(self.npc)))
        m.d.comb += [ctl.t.eq(t), st_rd_s.addr.eq(sp), st_rd_a.addr.eq(sp)]
        st_step, st_axon = st_rd_s.data, st_rd_a.data

        chip_wide = Signal()
        m.d.comb += chip_wide.eq(0)
        for name in CHIP_WIDE:
            with m.If(ctl.cfg_region == REGION_ID[name]):
                m.d.comb += chip_wide.eq(1)
        bcast = Signal()
        bdata = Signal(unsigned(self.axon_bits))
        out_n = Signal(unsigned(ubits(self.npc)))
        out_d = Signal(unsigned(self.axon_bits))
        last_core = Signal()     # rc is the last active core
        m.d.comb += last_core.eq(1)
        for i, lc in enumerate(cores):
            m.d.comb += [lc.link.t_slot.eq(t_slot), lc.link.in_n.eq(in_n),
                         lc.link.in_we.eq(bcast), lc.link.in_addr.eq(in_n),
                         lc.link.in_data.eq(bdata), lc.link.out_addr.eq(ri),
                         lc.link.w_addr.eq(ctl.w_addr),
                         lc.link.cfg_we.eq(idle & ctl.cfg_we
                                           & (chip_wide | (ctl.cfg_core == i))),
                         lc.link.cfg_region.eq(ctl.cfg_region),
                         lc.link.cfg_addr.eq(ctl.cfg_addr), lc.link.cfg_data.eq(ctl.cfg_data),
                         lc.link.clr.eq(clearing), lc.link.clr_all.eq(clr_all),
                         lc.link.clr_addr.eq(ca)]
            with m.If(rc == i):
                with m.If(lc.link.active):
                    m.d.comb += [out_n.eq(lc.link.out_n),
                                 out_d.eq(lc.link.out_data + i * self.npc)]
                if i + 1 < C:
                    m.d.comb += last_core.eq(~cores[i + 1].link.active)
            with m.If(ctl.w_core == i):
                m.d.comb += ctl.w_data.eq(lc.link.w_data)
        all_done = Signal()
        m.d.comb += all_done.eq(1)
        for lc in cores:
            with m.If(~lc.link.done):
                m.d.comb += all_done.eq(0)

        with m.FSM(init="IDLE"):
            with m.State("IDLE"):
                m.d.comb += idle.eq(1)
                with m.If(ctl.clear != 0):
                    m.d.sync += [ca.eq(0), clr_all.eq(ctl.clear[1]), t.eq(0),
                                 t_slot.eq(0), sp.eq(0), in_n.eq(0)]
                    m.next = "CLEAR"
                with m.Elif(ctl.start & (ctl.n_steps != 0)):
                    m.d.sync += left.eq(ctl.n_steps)
                    m.next = "START"
            with m.State("CLEAR"):   # one address per cycle; the cores' u follows by one
                m.d.comb += [ctl.busy.eq(1), clearing.eq(ca < cap.clear_cycles)]
                m.d.sync += ca.eq(ca + 1)
                with m.If(ca == cap.clear_cycles):
                    m.next = "IDLE"
            with m.State("START"):
                m.d.comb += ctl.busy.eq(1)
                for lc in cores:
                    m.d.comb += lc.link.go.eq(lc.link.active)
                m.d.sync += cyc.eq(1)
                m.next = "WAIT"
            with m.State("WAIT"):
                m.d.comb += ctl.busy.eq(1)
                m.d.sync += cyc.eq(cyc + 1)
                with m.If(all_done):
                    m.d.sync += [in_n.eq(0), rc.eq(0), ri.eq(0), ph.eq(0)]
                    m.next = "RC"
            with m.State("RC"):    # ph0: next core, or ask spike ri; ph1: broadcast it
                m.d.comb += ctl.busy.eq(1)
                m.d.sync += cyc.eq(cyc + 1)
                with m.If(ph == 0):
                    with m.If(ri == out_n):
                        m.d.sync += [rc.eq(rc + 1), ri.eq(0)]
                        with m.If(last_core):
                            m.next = "RS"
                    with m.Else():
                        m.d.sync += ph.eq(1)
                with m.Else():
                    m.d.comb += [bcast.eq(1), bdata.eq(out_d), ctl.spike_valid.eq(1),
                                 ctl.spike_axon.eq(out_d)]
                    m.d.sync += [in_n.eq(in_n + 1), ri.eq(ri + 1), ph.eq(0)]
            with m.State("RS"):    # ph0: ask stimulus entry sp; ph1: its step == t?
                m.d.comb += ctl.busy.eq(1)
                m.d.sync += cyc.eq(cyc + 1)
                with m.If(ph == 0):
                    m.d.sync += ph.eq(1)
                with m.Elif(st_step == t):
                    m.d.comb += [bcast.eq(1), bdata.eq(st_axon)]
                    m.d.sync += [in_n.eq(in_n + 1), sp.eq(sp + 1), ph.eq(0)]
                with m.Else():
                    m.d.sync += ph.eq(0)
                    m.next = "END"
            with m.State("END"):
                m.d.comb += [ctl.busy.eq(1), ctl.step_done.eq(1),
                             ctl.step_cycles.eq(cyc + 1)]
                m.d.sync += [t.eq(t + 1), left.eq(left - 1),
                             t_slot.eq(Mux(t_slot + 1 >= D, 0, t_slot + 1))]
                with m.If(left == 1):
                    m.next = "IDLE"
                with m.Else():
                    m.next = "START"
        return m


def chip_ports_doc() -> str:
    """The Verilog port names of the exported chip (ctl members, flattened by Amaranth)."""
    return ", ".join(f"ctl__{n}" for n in ControlSignature(1, 1, 1, 2).members)


__all__ = ["Chip", "STIM_END", "chip_ports_doc"]
