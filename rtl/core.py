"""One time-multiplexed LIF/STDP core, generated from one `Core` of an fpga image.

A state machine over EV (one event of the list) -> SYN (one synapse of its row) ... -> NEU
(one neuron) -> [TR (one pre trace per axon) -> PHDR (one spiking neuron) -> POT (one
plastic input)] -> DONE. Every memory has synchronous read ports (block RAM on an FPGA), so
an item takes one cycle per level of dependent reads plus one (`ph` counts them; the costs
are in hw/targets/fpga.py): NEU and TR 2 cycles, EV, SYN, PHDR and POT 3. An item writes
in its last cycle, before the next item reads, so a synapse that hits the ring word the
previous synapse wrote reads the new value. The arithmetic is emulator.fpga.oracle's,
statement by statement.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out

from .signatures import CoreLinkSignature, ubits


def _rom_or_ram(m: Module, name: str, shape, values) -> Memory:
    values = [int(v) for v in values]
    mem = Memory(shape=shape, depth=max(1, len(values)), init=values or [0])
    m.submodules[name] = mem
    return mem


class LifCore(wiring.Component):
    """The core; `link` faces the chip (rtl.chip.Chip)."""

    def __init__(self, core, spec, n_axons: int, ring_depth: int):
        n = int(core.params["n"][0])
        if n < 1:
            raise ValueError(f"core {core.index}: n={n} neurons, must be >= 1")
        if ring_depth < 1:
            raise ValueError(f"ring_depth={ring_depth} must be >= 1")
        self.core, self.spec = core, spec
        self.n, self.G, self.D = n, int(n_axons), int(ring_depth)
        self.S = len(core.memories["syn_w"])
        self.sc = {k: int(core.params[k][0]) for k in
                   ("w_shift", "stdp", "a_plus", "a_minus", "w_min", "w_max", "dx", "dy")}
        self.slot_bits = ubits(self.D - 1)
        self.axon_bits = ubits(self.G - 1)
        self.neuron_bits = ubits(self.n - 1)
        self.syn_bits = ubits(max(self.S - 1, 0))
        super().__init__({"link": Out(CoreLinkSignature(
            self.slot_bits, self.axon_bits, self.neuron_bits, self.syn_bits,
            spec.weight_bits))})

    def elaborate(self, platform) -> Module:
        m = Module()
        spec, c, sc = self.spec, self.core, self.sc
        n, G, D, S = self.n, self.G, self.D, self.S
        F, sf = spec.decay_bits, spec.stdp_frac_bits
        sb = spec.state_bits
        vlo, vhi = spec.v_format.min_int, spec.v_format.max_int
        ilo, ihi = spec.isyn_format.min_int, spec.isyn_format.max_int
        thi = spec.trace_format.max_int
        wshape = signed(spec.weight_bits)
        sshape = signed(sb)
        tshape = unsigned(spec.trace_bits)
        ptr = unsigned(ubits(S))
        link = self.link
        p, mm = c.params, c.memories
        stdp = bool(sc["stdp"])

        def sat(name, expr, lo, hi, shape):
            out = Signal(shape, name=name)
            with m.If(expr < lo):
                m.d.comb += out.eq(lo)
            with m.Elif(expr > hi):
                m.d.comb += out.eq(hi)
            with m.Else():
                m.d.comb += out.eq(expr)
            return out

        # --- memories -----------------------------------------------------------------
        row = _rom_or_ram(m, "row_ptr", ptr, mm["row_ptr"])
        row_a, row_b = row.read_port(), row.read_port()
        syn_post = _rom_or_ram(m, "syn_post", unsigned(self.neuron_bits), mm["syn_post"])
        syn_w = _rom_or_ram(m, "syn_w", wshape, mm["syn_w"])
        syn_dly = _rom_or_ram(m, "syn_delay", unsigned(self.slot_bits), mm["syn_delay"])
        syn_pl = _rom_or_ram(m, "syn_plastic", 1, mm["syn_plastic"])
        post_rd = syn_post.read_port()
        w_rd, w_wr = syn_w.read_port(), syn_w.write_port()
        w_host = syn_w.read_port()
        dly_rd = syn_dly.read_port()
        pl_rd = syn_pl.read_port()
        prm = {}
        for name, shape in (("theta", sshape), ("u_reset", sshape), ("bias", sshape),
                            ("dm", unsigned(F)), ("ds", unsigned(F)),
                            ("refrac", unsigned(spec.refrac_bits))):
            prm[name] = _rom_or_ram(m, name, shape, p[name]).read_port()
        u_mem = _rom_or_ram(m, "u", sshape, p["u0"])
        isyn_mem = _rom_or_ram(m, "isyn", sshape, [0] * n)
        ref_mem = _rom_or_ram(m, "ref", unsigned(spec.refrac_bits), [0] * n)
        ring = _rom_or_ram(m, "ring", sshape, [0] * (D * n))
        in_list = _rom_or_ram(m, "in_list", unsigned(self.axon_bits), [0] * G)
        out_list = _rom_or_ram(m, "out_list", unsigned(self.neuron_bits), [0] * n)
        u_rd, u_wr = u_mem.read_port(), u_mem.write_port()
        i_rd, i_wr = isyn_mem.read_port(), isyn_mem.write_port()
        r_rd, r_wr = ref_mem.read_port(), ref_mem.write_port()
        ring_rd, ring_wr = ring.read_port(), ring.write_port()
        in_rd, in_wr = in_list.read_port(), in_list.write_port()
        out_rd, out_wr = out_list.read_port(), out_list.write_port()
        if stdp:
            y_mem = _rom_or_ram(m, "y", tshape, [0] * n)
            x_mem = _rom_or_ram(m, "x", tshape, [0] * G)
            flag = _rom_or_ram(m, "flag", 1, [0] * G)
            y_rd, y_wr = y_mem.read_port(), y_mem.write_port()
            x_rd, x_wr = x_mem.read_port(), x_mem.write_port()
            f_rd, f_wr = flag.read_port(), flag.write_port()
            col = _rom_or_ram(m, "col_ptr", ptr, mm["col_ptr"])
            col_a, col_b = col.read_port(), col.read_port()
            col_syn = _rom_or_ram(m, "col_syn", unsigned(self.syn_bits),
                                  mm["col_syn"]).read_port()
            col_pre = _rom_or_ram(m, "col_pre", unsigned(self.axon_bits),
                                  mm["col_pre"]).read_port()

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
        m.d.comb += [post_rd.addr.eq(k), dly_rd.addr.eq(k), pl_rd.addr.eq(k)]
        slot_sum = Signal(unsigned(self.slot_bits + 1))
        slot = Signal(unsigned(self.slot_bits + 1))
        m.d.comb += slot_sum.eq(link.t_slot + dly_rd.data)
        m.d.comb += slot.eq(Mux(slot_sum >= D, slot_sum - D, slot_sum))
        w = w_rd.data
        acc = sat("acc", ring_rd.data + (w << sc["w_shift"]), ilo, ihi, sshape)

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

        if stdp:
            a = Signal(unsigned(self.axon_bits))
            pidx = Signal(unsigned(self.neuron_bits + 1))
            ck = Signal(ptr)
            ckend = Signal(ptr)
            y_dec = Signal(unsigned(spec.trace_bits))
            m.d.comb += y_dec.eq((y_rd.data * sc["dy"]) >> F)
            y_new = sat("y_new", y_dec + Mux(spike, spec.trace_impulse, 0), 0, thi, tshape)
            x_dec = Signal(unsigned(spec.trace_bits))
            m.d.comb += x_dec.eq((x_rd.data * sc["dx"]) >> F)
            x_new = sat("x_new", x_dec + Mux(f_rd.data, spec.trace_impulse, 0), 0, thi,
                        tshape)
            dep = sat("w_dep", w - ((sc["a_minus"] * y_rd.data) >> sf), sc["w_min"],
                      sc["w_max"], wshape)
            pot = sat("w_pot", w + ((sc["a_plus"] * x_rd.data) >> sf), sc["w_min"],
                      sc["w_max"], wshape)
            m.d.comb += [y_wr.addr.eq(j), f_wr.addr.eq(a)]
            m.d.comb += [col_a.addr.eq(out_rd.data), col_b.addr.eq(out_rd.data + 1),
                         col_syn.addr.eq(ck), col_pre.addr.eq(ck),
                         x_wr.addr.eq(a)]

        # default read addresses (overridden per state below)
        m.d.comb += [ring_rd.addr.eq(link.t_slot * n + j), w_rd.addr.eq(k)]
        if stdp:
            m.d.comb += [y_rd.addr.eq(j), x_rd.addr.eq(a), f_rd.addr.eq(a)]

        ph = Signal(2)   # the cycle within the current item
        with m.FSM(init="DONE"):
            with m.State("DONE"):
                m.d.comb += link.done.eq(1)
                with m.If(link.go):
                    m.d.sync += [e.eq(0), out_n.eq(0), j.eq(0), ph.eq(0)]
                    m.next = "EV"
            with m.State("EV"):      # ph0: in_list[e]; ph1: row_ptr[axon]; ph2: row
                with m.If(ph == 0):
                    with m.If(e == link.in_n):
                        m.d.sync += j.eq(0)
                        m.next = "NEU"
                    with m.Else():
                        m.d.sync += ph.eq(1)
                with m.Elif(ph == 1):
                    m.d.sync += ph.eq(2)
                    if stdp:
                        m.d.comb += [f_wr.addr.eq(a_in), f_wr.data.eq(1), f_wr.en.eq(1)]
                with m.Else():
                    m.d.sync += [ph.eq(0), e.eq(e + 1), k.eq(row_a.data),
                                 kend.eq(row_b.data)]
                    with m.If(row_a.data != row_b.data):
                        m.next = "SYN"
            with m.State("SYN"):     # ph0: synapse k; ph1: ring, y; ph2: write
                m.d.comb += ring_rd.addr.eq(slot * n + post_rd.data)
                if stdp:
                    m.d.comb += y_rd.addr.eq(post_rd.data)
                with m.If(ph == 2):
                    m.d.comb += [ring_wr.addr.eq(slot * n + post_rd.data),
                                 ring_wr.data.eq(acc), ring_wr.en.eq(1)]
                    if stdp:
                        with m.If(pl_rd.data):
                            m.d.comb += [w_wr.addr.eq(k), w_wr.data.eq(dep), w_wr.en.eq(1)]
                    m.d.sync += [k.eq(k + 1), ph.eq(0)]
                    with m.If(k + 1 == kend):
                        m.next = "EV"
                with m.Else():
                    m.d.sync += ph.eq(ph + 1)
            with m.State("NEU"):     # ph0: neuron j's words; ph1: update and write
                with m.If(ph == 1):
                    m.d.comb += [ring_wr.addr.eq(link.t_slot * n + j), ring_wr.data.eq(0),
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
                    if stdp:
                        m.d.comb += [y_wr.data.eq(y_new), y_wr.en.eq(1)]
                    m.d.sync += [j.eq(j + 1), ph.eq(0)]
                    with m.If(j == n - 1):
                        if stdp:
                            m.d.sync += a.eq(0)
                            m.next = "TR"
                        else:
                            m.next = "DONE"
                with m.Else():
                    m.d.sync += ph.eq(1)
            if stdp:
                with m.State("TR"):  # ph0: x[a], flag[a]; ph1: write
                    with m.If(ph == 1):
                        m.d.comb += [x_wr.data.eq(x_new), x_wr.en.eq(1),
                                     f_wr.addr.eq(a), f_wr.data.eq(0), f_wr.en.eq(1)]
                        m.d.sync += [a.eq(a + 1), ph.eq(0)]
                        with m.If(a == G - 1):
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
