"""The chip: the image's cores in lock step, the broadcast spike router and the stimulus
memory, behind the host-facing `ControlSignature` (rtl.signatures) that a UART front end
attaches to.

Per timestep: START (pulse `go` to every core), WAIT (until every core is done), RC (route:
per core, two cycles per spike it emitted (synchronous read of its spike list), broadcast
to every core's next event list and shown on `spike_valid`, plus one cycle to move to the
next core), RS (two cycles per stimulus spike of this step, plus two), END (one cycle:
`step_done`, `step_cycles`). `w_data` is the weight at `w_core`/`w_addr` of the cycle
before (a synchronous block-RAM read).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out

from .core import LifCore
from .signatures import ControlSignature, ubits

STIM_END = (1 << 32) - 1


class Chip(wiring.Component):
    """All cores of an fpga image; `ctl` faces the host."""

    def __init__(self, image):
        d = image.data["fpga"]
        self.image, self.spec = image, image.target
        self.G = int(d["n_axons"])
        self.D = int(d["ring_depth"])
        self.npc = int(d["neurons_per_core"])
        self.C = len(image.cores)
        if self.C < 1:
            raise ValueError("the image has no cores")
        self.stim_step = [int(v) for v in d["stim_step"]] + [STIM_END]
        self.stim_axon = [int(v) for v in d["stim_axon"]] + [0]
        self.axon_bits = ubits(self.G - 1)
        s_max = max(len(c.memories["syn_w"]) for c in image.cores)
        self.syn_bits = ubits(max(s_max - 1, 0))
        super().__init__({"ctl": Out(ControlSignature(self.axon_bits, self.syn_bits,
                                                     ubits(self.C - 1),
                                                     self.spec.weight_bits))})

    def elaborate(self, platform) -> Module:
        m = Module()
        ctl, C, D = self.ctl, self.C, self.D
        cores = []
        for core in self.image.cores:
            lc = LifCore(core, self.spec, self.G, D)
            m.submodules[f"core{core.index}"] = lc
            cores.append(lc)
        stim = Memory(shape=unsigned(32 + self.axon_bits), depth=len(self.stim_step),
                      init=[(a << 32) | s for s, a in zip(self.stim_step, self.stim_axon)])
        m.submodules.stim = stim
        st_rd = stim.read_port()

        t = Signal(32)
        t_slot = Signal(unsigned(ubits(D - 1)))
        left = Signal(32)
        cyc = Signal(32)
        sp = Signal(unsigned(ubits(len(self.stim_step) - 1)))
        in_n = Signal(unsigned(self.axon_bits + 1))
        rc = Signal(unsigned(ubits(C - 1)))
        ph = Signal()
        ri = Signal(unsigned(ubits(self.npc)))
        m.d.comb += [ctl.t.eq(t), st_rd.addr.eq(sp)]
        st_step, st_axon = st_rd.data[:32], st_rd.data[32:]

        bcast = Signal()
        bdata = Signal(unsigned(self.axon_bits))
        out_n = Signal(unsigned(ubits(self.npc)))
        out_d = Signal(unsigned(self.axon_bits))
        for i, lc in enumerate(cores):
            m.d.comb += [lc.link.t_slot.eq(t_slot), lc.link.in_n.eq(in_n),
                         lc.link.in_we.eq(bcast), lc.link.in_addr.eq(in_n),
                         lc.link.in_data.eq(bdata), lc.link.out_addr.eq(ri),
                         lc.link.w_addr.eq(ctl.w_addr)]
            with m.If(rc == i):
                m.d.comb += [out_n.eq(lc.link.out_n),
                             out_d.eq(lc.link.out_data + i * self.npc)]
            with m.If(ctl.w_core == i):
                m.d.comb += ctl.w_data.eq(lc.link.w_data)
        all_done = Signal()
        m.d.comb += all_done.eq(1)
        for lc in cores:
            with m.If(~lc.link.done):
                m.d.comb += all_done.eq(0)

        with m.FSM(init="IDLE"):
            with m.State("IDLE"):
                with m.If(ctl.start & (ctl.n_steps != 0)):
                    m.d.sync += left.eq(ctl.n_steps)
                    m.next = "START"
            with m.State("START"):
                m.d.comb += ctl.busy.eq(1)
                for lc in cores:
                    m.d.comb += lc.link.go.eq(1)
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
                        with m.If(rc == C - 1):
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
                             t_slot.eq(Mux(t_slot == D - 1, 0, t_slot + 1))]
                with m.If(left == 1):
                    m.next = "IDLE"
                with m.Else():
                    m.next = "START"
        return m


def chip_ports_doc() -> str:
    """The Verilog port names of the exported chip (ctl members, flattened by Amaranth)."""
    return ", ".join(f"ctl__{n}" for n in ("start", "n_steps", "busy", "t", "step_done",
                                            "step_cycles", "spike_valid", "spike_axon",
                                            "w_core", "w_addr", "w_data"))


__all__ = ["Chip", "STIM_END", "chip_ports_doc"]
