"""One time-multiplexed LIF/STDP core with writable memories, built for a capacity
(rtl.capacity.ChipCapacity) with one `Core` of an fpga image as initial contents.

A state machine over EV (one event of the list) -> SYN (one synapse of its row) ... -> NEU
(one neuron) -> [TR (one pre trace per axon) -> PHDR (one spiking neuron) -> POT (one
plastic input)] -> DONE. Every memory has synchronous read ports (block RAM on an FPGA), so
an item takes one cycle per level of dependent reads plus one (`ph` counts them; the costs
are in hw/targets/fpga.py): NEU and TR 2 cycles, EV, SYN, PHDR and POT 3. An item writes
in its last cycle, before the next item reads, so a synapse that hits the ring word the
previous synapse wrote reads the new value. The arithmetic is emulator.fpga.oracle's,
statement by statement.

The per-core scalars (n, w_shift, stdp, a_plus, a_minus, w_min, w_max, dx, dy) and the
copies of the chip's n_axons and ring_depth are one-word memories read combinationally:
registers that a state reset (the chip's ResetInserter) leaves alone, like every other
memory. The host writes any memory through `link.cfg_*` while the core is DONE; `link.clr`
walks the addresses to clear the state (and with `clr_all` every memory).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out

from .capacity import REGION_ID, ChipCapacity
from .signatures import CoreLinkSignature, ubits


class LifCore(wiring.Component):
    """The core; `link` faces the chip (rtl.chip.Chip). `core` (an image's Core, or None
    for an empty one) gives the initial contents; `capacity` the memory sizes (default:
    exactly this core's)."""

    def __init__(self, core, spec, n_axons: int, ring_depth: int,
                 capacity: ChipCapacity | None = None):
        n = int(core.params["n"][0]) if core is not None else 0
        if core is not None and n < 1:
            raise ValueError(f"core {core.index}: n={n} neurons, must be >= 1")
        if ring_depth < 1:
            raise ValueError(f"ring_depth={ring_depth} must be >= 1")
        if capacity is None:
            if core is None:
                raise ValueError("an empty core needs a capacity")
            capacity = ChipCapacity(
                1, n, max(1, len(core.memories["syn_w"])), max(1, int(n_axons)),
                int(ring_depth), 1, stdp=bool(int(core.params["stdp"][0])))
        cap = capacity
        if n > cap.neurons_per_core:
            raise ValueError(f"core {core.index}: n={n} neurons, the capacity holds "
                             f"{cap.neurons_per_core}")
        if not 1 <= ring_depth <= cap.ring_depth or not 0 <= n_axons <= cap.n_axons:
            raise ValueError(f"ring_depth={ring_depth}, n_axons={n_axons}: the capacity "
                             f"holds {cap.ring_depth} and {cap.n_axons}")
        self.core, self.spec, self.cap = core, spec, cap
        self.n, self.G, self.D = n, int(n_axons), int(ring_depth)
        self.NPC, self.GC, self.DC, self.S = (cap.neurons_per_core, cap.n_axons,
                                              cap.ring_depth, cap.synapses_per_core)
        if core is not None:
            self.sc = {k: int(core.params[k][0]) for k in
                       ("w_shift", "stdp", "a_plus", "a_minus", "w_min", "w_max", "dx", "dy")}
        else:
            self.sc = dict.fromkeys(("w_shift", "stdp", "a_plus", "a_minus", "w_min",
                                     "w_max", "dx", "dy"), 0)
        if self.sc["stdp"] and not cap.stdp:
            raise ValueError(f"core {core.index} uses STDP; the capacity has no STDP hardware")
        self.slot_bits = ubits(self.DC - 1)
        self.axon_bits = ubits(self.GC - 1)
        self.neuron_bits = ubits(self.NPC - 1)
        self.syn_bits = ubits(self.S - 1)
        super().__init__({"link": Out(CoreLinkSignature(
            self.slot_bits, self.axon_bits, self.neuron_bits, self.syn_bits,
            spec.weight_bits, ubits(cap.max_depth - 1), ubits(cap.clear_cycles - 1)))})

    def _init(self, table: str, name: str) -> list[int]:
        if self.core is None:
            return []
        return [int(v) for v in getattr(self.core, table)[name]]

    def elaborate(self, platform) -> Module:
        m = Module()
        spec, sc, cap, link = self.spec, self.sc, self.cap, self.link
        NPC, GC, DC, S = self.NPC, self.GC, self.DC, self.S
        F, sf = spec.decay_bits, spec.stdp_frac_bits
        sb = spec.state_bits
        vlo, vhi = spec.v_format.min_int, spec.v_format.max_int
        ilo, ihi = spec.isyn_format.min_int, spec.isyn_format.max_int
        thi = spec.trace_format.max_int
        wshape = signed(spec.weight_bits)
        sshape = signed(sb)
        tshape = unsigned(spec.trace_bits)
        ptr = unsigned(ubits(S))
        stdp_hw = cap.stdp
        idle = Signal()     # the core is DONE: the host may write
        host_we = Signal()
        m.d.comb += host_we.eq(link.cfg_we & idle)

        def memory(name: str, shape, depth: int, init) -> Memory:
            init = [int(v) for v in init]
            if len(init) > depth:
                raise ValueError(f"{name}: {len(init)} initial values, depth {depth}")
            mem = Memory(shape=shape, depth=depth, init=init + [0] * (depth - len(init)))
            m.submodules[name] = mem
            return mem

        def config(name: str, shape, depth: int, init):
            """A memory the host writes (region `name`; a clear of everything zeroes it)
            and its write port (which the datapath may drive outside DONE)."""
            mem = memory(name, shape, depth, init)
            wr = mem.write_port()
            with m.If(link.clr):
                m.d.comb += [wr.addr.eq(link.clr_addr), wr.data.eq(0),
                             wr.en.eq(link.clr_all)]
            with m.Elif(host_we & (link.cfg_region == REGION_ID[name])):
                m.d.comb += [wr.addr.eq(link.cfg_addr), wr.data.eq(link.cfg_data),
                             wr.en.eq(1)]
            return mem, wr

        def register(name: str, shape, init: int):
            """A one-word config memory read combinationally: the register's value."""
            return config(name, shape, 1, [init])[0].read_port(domain="comb").data

        cleared = []     # the state memories' write ports: zero at a clear

        def state(name: str, shape, depth: int):
            """A state memory (zero at a clear) and its write port."""
            mem = memory(name, shape, depth, [])
            cleared.append(mem.write_port())
            return mem, cleared[-1]

        def sat(name, expr, lo, hi, shape):
            out = Signal(shape, name=name)
            with m.If(expr < lo):
                m.d.comb += out.eq(lo)
            with m.Elif(expr > hi):
                m.d.comb += out.eq(hi)
            with m.Else():
                m.d.comb += out.eq(expr)
            return out

        # --- registers the host writes ---------------------------------------------------
        n = register("n", unsigned(ubits(NPC)), self.n)
        G = register("n_axons", unsigned(ubits(GC)), self.G)
        D = register("ring_depth", unsigned(ubits(DC)), self.D)
        w_shift = register("w_shift", unsigned(ubits(sb - 1)), sc["w_shift"])
        m.d.comb += link.active.eq(n != 0)

        # --- memories ---------------------------------------------------------------------
        row, _ = config("row_ptr", ptr, GC + 1, self._init("memories", "row_ptr"))
        row_a, row_b = row.read_port(), row.read_port()
        syn_post, _ = config("syn_post", unsigned(self.neuron_bits), S,
                             self._init("memories", "syn_post"))
        syn_w, w_wr = config("syn_w", wshape, S, self._init("memories", "syn_w"))
        syn_dly, _ = config("syn_delay", unsigned(self.slot_bits), S,
                            self._init("memories", "syn_delay"))
        post_rd = syn_post.read_port()
        w_rd = syn_w.read_port()
        w_host = syn_w.read_port()
        dly_rd = syn_dly.read_port()
        prm = {}
        for name, shape in (("theta", sshape), ("u_reset", sshape), ("bias", sshape),
                            ("dm", unsigned(F)), ("ds", unsigned(F)),
                            ("refrac", unsigned(spec.refrac_bits))):
            prm[name] = config(name, shape, NPC, self._init("params", name))[0].read_port()
        u0, _ = config("u0", sshape, NPC, self._init("params", "u0"))
        u0_rd = u0.read_port()
        u_mem = memory("u", sshape, NPC, self._init("params", "u0"))
        u_rd, u_wr = u_mem.read_port(), u_mem.write_port()
        isyn_mem, i_wr = state("isyn", sshape, NPC)
        ref_mem, r_wr = state("ref", unsigned(spec.refrac_bits), NPC)
        ring, ring_wr = state("ring", sshape, DC * NPC)
        i_rd, r_rd, ring_rd = isyn_mem.read_port(), ref_mem.read_port(), ring.read_port()
        in_list = memory("in_list", unsigned(self.axon_bits), GC, [])
        out_list = memory("out_list", unsigned(self.neuron_bits), NPC, [])
        in_rd, in_wr = in_list.read_port(), in_list.write_port()
        out_rd, out_wr = out_list.read_port(), out_list.write_port()
        # u: the host's u0 is also the next run's u; a state clear copies u0 into u
        # (u0 read at clr_addr, written one cycle later)
        clr_d, clr_all_d = Signal(), Signal()
        clr_addr_d = Signal.like(link.clr_addr)
        m.d.sync += [clr_d.eq(link.clr), clr_all_d.eq(link.clr_all),
                     clr_addr_d.eq(link.clr_addr)]
        m.d.comb += u0_rd.addr.eq(link.clr_addr)
        if stdp_hw:
            stdp_on = register("stdp", 1, sc["stdp"])
            a_plus = register("a_plus", unsigned(spec.weight_bits + sf), sc["a_plus"])
            a_minus = register("a_minus", unsigned(spec.weight_bits + sf), sc["a_minus"])
            w_min = register("w_min", wshape, sc["w_min"])
            w_max = register("w_max", wshape, sc["w_max"])
            dx = register("dx", unsigned(F), sc["dx"])
            dy = register("dy", unsigned(F), sc["dy"])
            pl_rd = config("syn_plastic", 1, S,
                           self._init("memories", "syn_plastic"))[0].read_port()
            y_mem, y_wr = state("y", tshape, NPC)
            x_mem, x_wr = state("x", tshape, GC)
            flag, f_wr = state("flag", 1, GC)
            y_rd, x_rd, f_rd = y_mem.read_port(), x_mem.read_port(), flag.read_port()
            col, _ = config("col_ptr", ptr, NPC + 1, self._init("memories", "col_ptr"))
            col_a, col_b = col.read_port(), col.read_port()
            col_syn = config("col_syn", unsigned(self.syn_bits), S,
                             self._init("memories", "col_syn"))[0].read_port()
            col_pre = config("col_pre", unsigned(self.axon_bits), S,
                             self._init("memories", "col_pre"))[0].read_port()

        # --- registers ----------------------------------------------------------------
        e = Signal(unsigned(self.axon_bits + 1))
        k = Signal(ptr)
        kend = Signal(ptr)
        j = Signal(unsigned(self.neuron_bits))
        out_n = Signal(unsigned(self.neuron_bits + 1))
        m.d.comb += [link.out_n.eq(out_n), out_rd.addr.eq(link.out_addr),
                     link.out_data.eq(out_rd.data), w_host.addr.eq(link.w_addr),
                     link.w_data.eq(w_host.data)]
        m.d.comb += [in_wr.en.eq(link.in_we), in_wr.addr.eq(link.in_addr),
                     in_wr.data.eq(link.in_data), in_rd.addr.eq(e)]

        # --- event / synapse datapath -------------------------------------------------
        a_in = in_rd.data
        m.d.comb += [row_a.addr.eq(a_in), row_b.addr.eq(a_in + 1)]
        m.d.comb += [post_rd.addr.eq(k), dly_rd.addr.eq(k)]
        if stdp_hw:
            m.d.comb += pl_rd.addr.eq(k)
        slot_sum = Signal(unsigned(self.slot_bits + 1))
        slot = Signal(unsigned(self.slot_bits + 1))
        m.d.comb += slot_sum.eq(link.t_slot + dly_rd.data)
        m.d.comb += slot.eq(Mux(slot_sum >= D, slot_sum - D, slot_sum))
        w = w_rd.data
        acc = sat("acc", ring_rd.data + (w << w_shift), ilo, ihi, sshape)

        # --- neuron datapath ----------------------------------------------------------
        for port in (u_rd, i_rd, r_rd, *prm.values()):
            m.d.comb += port.addr.eq(j)
        m.d.comb += [u_wr.addr.eq(j), i_wr.addr.eq(j), r_wr.addr.eq(j)]
        isyn_new = sat("isyn_new", ((i_rd.data * prm["ds"].data) >> F) + ring_rd.data,
                       ilo, ihi, sshape)
        v_new = sat("v_new", ((u_rd.data * prm["dm"].data) >> F) + i_rd.data
                    + prm["bias"].data, vlo, vhi, sshape)
        refractory = r_rd.data != 0
        spike = Signal()
        m.d.comb += spike.eq(~refractory & (v_new >= prm["theta"].data))

        if stdp_hw:
            a = Signal(unsigned(self.axon_bits))
            pidx = Signal(unsigned(self.neuron_bits + 1))
            ck = Signal(ptr)
            ckend = Signal(ptr)
            y_dec = Signal(unsigned(spec.trace_bits))
            m.d.comb += y_dec.eq((y_rd.data * dy) >> F)
            y_new = sat("y_new", y_dec + Mux(spike, spec.trace_impulse, 0), 0, thi, tshape)
            x_dec = Signal(unsigned(spec.trace_bits))
            m.d.comb += x_dec.eq((x_rd.data * dx) >> F)
            x_new = sat("x_new", x_dec + Mux(f_rd.data, spec.trace_impulse, 0), 0, thi,
                        tshape)
            dep = sat("w_dep", w - ((a_minus * y_rd.data) >> sf), w_min, w_max, wshape)
            pot = sat("w_pot", w + ((a_plus * x_rd.data) >> sf), w_min, w_max, wshape)
            m.d.comb += [y_wr.addr.eq(j), f_wr.addr.eq(a)]
            m.d.comb += [col_a.addr.eq(out_rd.data), col_b.addr.eq(out_rd.data + 1),
                         col_syn.addr.eq(ck), col_pre.addr.eq(ck),
                         x_wr.addr.eq(a)]

        # default read addresses (overridden per state below)
        m.d.comb += [ring_rd.addr.eq(link.t_slot * NPC + j), w_rd.addr.eq(k)]
        if stdp_hw:
            m.d.comb += [y_rd.addr.eq(j), x_rd.addr.eq(a), f_rd.addr.eq(a)]

        # --- clears and host writes of the state memories (only while DONE; after the
        # default addresses above, before the state machine's writes below) ------------
        for wr in cleared:
            with m.If(link.clr):
                m.d.comb += [wr.addr.eq(link.clr_addr), wr.data.eq(0), wr.en.eq(1)]
        with m.If(clr_d):
            m.d.comb += [u_wr.addr.eq(clr_addr_d), u_wr.en.eq(1),
                         u_wr.data.eq(Mux(clr_all_d, 0, u0_rd.data))]
        with m.Elif(host_we & (link.cfg_region == REGION_ID["u0"])):
            m.d.comb += [u_wr.addr.eq(link.cfg_addr), u_wr.data.eq(link.cfg_data),
                         u_wr.en.eq(1)]

        def after_neurons():
            """From the last neuron (or from an empty neuron list) on."""
            if stdp_hw:
                with m.If(stdp_on & (G != 0)):
                    m.d.sync += a.eq(0)
                    m.next = "TR"
                with m.Elif(stdp_on):
                    m.d.sync += pidx.eq(0)
                    m.next = "PHDR"
                with m.Else():
                    m.next = "DONE"
            else:
                m.next = "DONE"

        ph = Signal(2)   # the cycle within the current item
        with m.FSM(init="DONE"):
            with m.State("DONE"):
                m.d.comb += [link.done.eq(1), idle.eq(1)]
                with m.If(link.go):
                    m.d.sync += [e.eq(0), out_n.eq(0), j.eq(0), ph.eq(0)]
                    m.next = "EV"
            with m.State("EV"):      # ph0: in_list[e]; ph1: row_ptr[axon]; ph2: row
                with m.If(ph == 0):
                    with m.If(e == link.in_n):
                        m.d.sync += j.eq(0)
                        with m.If(n == 0):
                            after_neurons()
                        with m.Else():
                            m.next = "NEU"
                    with m.Else():
                        m.d.sync += ph.eq(1)
                with m.Elif(ph == 1):
                    m.d.sync += ph.eq(2)
                    if stdp_hw:
                        with m.If(stdp_on):
                            m.d.comb += [f_wr.addr.eq(a_in), f_wr.data.eq(1),
                                         f_wr.en.eq(1)]
                with m.Else():
                    m.d.sync += [ph.eq(0), e.eq(e + 1), k.eq(row_a.data),
                                 kend.eq(row_b.data)]
                    with m.If(row_a.data != row_b.data):
                        m.next = "SYN"
            with m.State("SYN"):     # ph0: synapse k; ph1: ring, y; ph2: write
                m.d.comb += ring_rd.addr.eq(slot * NPC + post_rd.data)
                if stdp_hw:
                    m.d.comb += y_rd.addr.eq(post_rd.data)
                with m.If(ph == 2):
                    m.d.comb += [ring_wr.addr.eq(slot * NPC + post_rd.data),
                                 ring_wr.data.eq(acc), ring_wr.en.eq(1)]
                    if stdp_hw:
                        with m.If(pl_rd.data):
                            m.d.comb += [w_wr.addr.eq(k), w_wr.data.eq(dep), w_wr.en.eq(1)]
                    m.d.sync += [k.eq(k + 1), ph.eq(0)]
                    with m.If(k + 1 == kend):
                        m.next = "EV"
                with m.Else():
                    m.d.sync += ph.eq(ph + 1)
            with m.State("NEU"):     # ph0: neuron j's words; ph1: update and write
                with m.If(ph == 1):
                    m.d.comb += [ring_wr.addr.eq(link.t_slot * NPC + j), ring_wr.data.eq(0),
                                 ring_wr.en.eq(1),
                                 i_wr.data.eq(isyn_new), i_wr.en.eq(1), u_wr.en.eq(1),
                                 r_wr.en.eq(1)]
                    with m.If(refractory):
                        m.d.comb += [r_wr.data.eq(r_rd.data - 1),
                                     u_wr.data.eq(prm["u_reset"].data)]
                    with m.Elif(spike):
                        m.d.comb += [r_wr.data.eq(prm["refrac"].data),
                                     u_wr.data.eq(prm["u_reset"].data)]
                    with m.Else():
                        m.d.comb += [r_wr.data.eq(0), u_wr.data.eq(v_new)]
                    with m.If(spike):
                        m.d.comb += [out_wr.addr.eq(out_n), out_wr.data.eq(j),
                                     out_wr.en.eq(1)]
                        m.d.sync += out_n.eq(out_n + 1)
                    if stdp_hw:
                        with m.If(stdp_on):
                            m.d.comb += [y_wr.data.eq(y_new), y_wr.en.eq(1)]
                    m.d.sync += [j.eq(j + 1), ph.eq(0)]
                    with m.If(j + 1 == n):
                        after_neurons()
                with m.Else():
                    m.d.sync += ph.eq(1)
            if stdp_hw:
                with m.State("TR"):  # ph0: x[a], flag[a]; ph1: write
                    with m.If(ph == 1):
                        m.d.comb += [x_wr.data.eq(x_new), x_wr.en.eq(1),
                                     f_wr.addr.eq(a), f_wr.data.eq(0), f_wr.en.eq(1)]
                        m.d.sync += [a.eq(a + 1), ph.eq(0)]
                        with m.If(a + 1 == G):
                            m.d.sync += pidx.eq(0)
                            m.next = "PHDR"
                    with m.Else():
                        m.d.sync += ph.eq(1)
                with m.State("PHDR"):  # ph0: out_list[p]; ph1: col_ptr[j]; ph2: column
                    m.d.comb += out_rd.addr.eq(pidx)
                    with m.If(ph == 0):
                        with m.If(pidx == out_n):
                            m.next = "DONE"
                        with m.Else():
                            m.d.sync += ph.eq(1)
                    with m.Elif(ph == 1):
                        m.d.sync += ph.eq(2)
                    with m.Else():
                        m.d.sync += [ph.eq(0), pidx.eq(pidx + 1), ck.eq(col_a.data),
                                     ckend.eq(col_b.data)]
                        with m.If(col_a.data != col_b.data):
                            m.next = "POT"
                with m.State("POT"):   # ph0: column entry; ph1: weight, x; ph2: write
                    m.d.comb += [x_rd.addr.eq(col_pre.data), w_rd.addr.eq(col_syn.data)]
                    with m.If(ph == 2):
                        m.d.comb += [w_wr.addr.eq(col_syn.data), w_wr.data.eq(pot),
                                     w_wr.en.eq(1)]
                        m.d.sync += [ck.eq(ck + 1), ph.eq(0)]
                        with m.If(ck + 1 == ckend):
                            m.next = "PHDR"
                    with m.Else():
                        m.d.sync += ph.eq(ph + 1)
        return m
