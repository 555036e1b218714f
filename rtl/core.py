"""One time-multiplexed LIF/STDP core with writable memories, built for a capacity
(rtl.capacity.ChipCapacity) with one `Core` of an fpga image as initial contents.

A state machine over EV, ROW (one event of the list, its row bounds) -> SYN (one synapse
of its row) ... -> NEU (one neuron) -> [TR (one pre trace per axon) -> PHDR, COL (one
spiking neuron, its column bounds) -> POT (one plastic input)] -> DONE. Every memory has
synchronous read ports (block RAM on an FPGA). The walks' counters (e, k, j, a, pidx, ck)
address their memories with their next value, so the words of the current item are on the
read ports in the cycle it is current: one cycle per item (NEU, TR, SYN, POT), two per
header (EV + ROW, PHDR + COL: a list entry, then the pointers it selects). A walk reads
the next entry's header while it runs (`chain`): the entry is on its port from the
walk's first cycle and its bounds from its second, so the walk's last item opens the
next range itself, and a header after a walk of two or more items costs no cycle (after
one item, one: its second cycle). The pre-trace walk (axon a) runs beside the neuron
walk, an axon in each NEU cycle (x and the flags are memories NEU does not touch); TR
walks only the axons beyond the core's neurons. SYN and POT
read a second level (the ring word and y; the weight and x; SYN's weight word comes with
its target) for one more cycle, the accumulate stage, which writes while the next item
runs: the ring's read port is transparent to its write port, so a synapse that hits the
ring word the previous synapse writes in the same cycle reads the new value (no stall),
and the neuron phase's first read sees the last synapse's write. A weight update
(depression, potentiation) registers the word, its change and address in the accumulate
stage and is written one cycle later: consecutive weight writes hit distinct synapses, and
no walk reads a synapse twice in a step. The neuron update is two stages with no extra
cycle: the walk jr reads a neuron's parameters, v and isyn one cycle ahead of NEU (the
neuron memories are idle in the event phase), and registers the multiplies; NEU adds the
ring word, saturates, compares and writes (nextpnr-ecp5 on the OrangeCrab: 65.7 MHz, the
longest path a trace's read, its decay multiply and saturation into its write). The costs
are hw.layouts.fpga.RTL_CYCLES. The arithmetic is emulator.fpga.oracle's, statement by
statement.

Block RAM (benchmarks/fpga_memory.py counts it per memory): every memory has one read port
where it can, as a block RAM serves one write and one read port and yosys copies a memory
for each further read port. The host reads a weight through the walks' weight port while
the core is DONE; a row's or column's bounds p[i], p[i + 1] are one address of two
memories (lo[i] = p[i], hi[i] = p[i + 1]), not two ports of one. The host regions read
together are one word at their exact widths (rtl.packed: weight and plastic flag, target
and delay, a column entry's synapse and axon, the neuron parameters NEU reads), cut into
the elaborating platform's block RAM shapes, and written by the host by read-modify-write
(the weight port is transparent to its write port; the walks never read a weight in the
cycle it is written). On ECP5 a memory of at most LUT_RAM_BITS is LUT RAM.

The per-core scalars (n, w_shift, stdp, a_plus, a_minus, w_min, w_max, dx, dy) and the
copies of the chip's n_axons and ring_depth are one-word memories read combinationally:
registers that a state reset (the chip's ResetInserter) leaves alone, like every other
memory. The host writes any memory through `link.cfg_*` while the core is DONE; `link.clr`
walks the addresses to clear the state (and with `clr_all` every memory).
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Module, Mux, Shape, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out

from .capacity import REGION_ID, ChipCapacity
from .packed import PackedMemory, memory_attrs
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
        self.sc = {k: int(core.params[k][0]) if core is not None else 0 for k in
                   ("w_shift", "stdp", "a_plus", "a_minus", "w_min", "w_max", "dx", "dy")}
        if self.sc["stdp"] and not cap.stdp:
            raise ValueError(f"core {core.index} uses STDP; the capacity has no STDP hardware")
        self.slot_bits = ubits(self.DC - 1)
        self.axon_bits = ubits(self.GC - 1)
        self.neuron_bits = ubits(self.NPC - 1)
        self.syn_bits = ubits(self.S - 1)
        super().__init__({"link": Out(CoreLinkSignature(
            self.slot_bits, self.axon_bits, self.neuron_bits, self.syn_bits,
            spec.weight_bits, ubits(cap.max_depth - 1), ubits(cap.clear_cycles - 1)))})

    def elaborate(self, platform) -> Module:
        """The memories, the datapath and the state machine, one named step each."""
        b = _CoreBuild(self, getattr(platform, "family", None))
        b.host_registers()
        b.memories()
        if self.cap.stdp:
            b.stdp_memories()
        b.counters()
        b.synapse_datapath()
        b.neuron_datapath()
        if self.cap.stdp:
            b.trace_datapath()
        # a later comb assignment wins: the default addresses, then the clears and the
        # host's writes (only while DONE), then the state machine's reads and writes
        b.default_addresses()
        b.clears()
        b.state_machine()
        b.accumulate_stage()
        for packed in b.packed:      # last: a host write's read-modify-write wins
            packed.host_writes(self.link, b.host_we, REGION_ID)
        return b.m


class _CoreBuild:
    """One elaboration of a LifCore: its module, memory ports and datapath signals, built
    by steps that `LifCore.elaborate` calls in order (the order sets comb priority)."""

    def __init__(self, lif: LifCore, family: "str | None" = None):
        self.lif, self.spec, self.link, self.family = lif, lif.spec, lif.link, family
        self.packed: list[PackedMemory] = []    # the memories of several host regions
        self.m = m = Module()
        self.sshape = signed(self.spec.state_bits)
        self.wshape = signed(self.spec.weight_bits)
        self.tshape = unsigned(self.spec.trace_bits)
        self.ptr = unsigned(ubits(lif.S))
        self.stdp_hw = lif.cap.stdp
        self.idle = Signal()     # the core is DONE: the host may write
        self.host_we = Signal()
        m.d.comb += self.host_we.eq(self.link.cfg_we & self.idle)
        self.cleared = []        # the state memories' write ports: zero at a clear

    # --- building blocks --------------------------------------------------------------

    def memory(self, name: str, shape, depth: int, init) -> Memory:
        """A memory named `name`, its initial contents padded with zeros to `depth`."""
        init = [int(v) for v in init]
        if len(init) > depth:
            raise ValueError(f"{name}: {len(init)} initial values, depth {depth}")
        attrs = memory_attrs(self.family, Shape.cast(shape).width * depth, depth)
        mem = Memory(shape=shape, depth=depth, init=init + [0] * (depth - len(init)),
                     attrs=attrs)
        self.m.submodules[name] = mem
        return mem

    def config(self, name: str, shape, depth: int, init):
        """A memory the host writes (region `name`; a clear of everything zeroes it)
        and its write port (which the datapath may drive outside DONE)."""
        m, link = self.m, self.link
        mem = self.memory(name, shape, depth, init)
        wr = mem.write_port()
        with m.If(link.clr):
            m.d.comb += [wr.addr.eq(link.clr_addr), wr.data.eq(0), wr.en.eq(link.clr_all)]
        with m.Elif(self.host_we & (link.cfg_region == REGION_ID[name])):
            self.write(wr, link.cfg_addr, link.cfg_data)
        return mem, wr

    def pointers(self, name: str, n: int):
        """The n + 1 pointers of region `name` (a row or column list's bounds) as two
        memories of n words, lo[i] = p[i] and hi[i] = p[i + 1], each with one read port,
        so item i's bounds are one address of each (a block RAM each, no copy for a
        second read port, no word n); the host's write of p[i] goes to both. Returns
        the (lo, hi) read ports."""
        m, link = self.m, self.link
        p = self.initial("memories", name)
        p += [0] * (n + 1 - len(p))
        lo = self.memory(f"{name}_lo", self.ptr, n, p[:n])
        hi = self.memory(f"{name}_hi", self.ptr, n, p[1:])
        lo_wr, hi_wr = lo.write_port(), hi.write_port()
        with m.If(link.clr):
            for wr in (lo_wr, hi_wr):
                m.d.comb += [wr.addr.eq(link.clr_addr), wr.data.eq(0),
                             wr.en.eq(link.clr_all)]
        with m.Elif(self.host_we & (link.cfg_region == REGION_ID[name])):
            m.d.comb += [lo_wr.addr.eq(link.cfg_addr), lo_wr.data.eq(link.cfg_data),
                         lo_wr.en.eq(link.cfg_addr < n),
                         hi_wr.addr.eq(link.cfg_addr - 1), hi_wr.data.eq(link.cfg_data),
                         hi_wr.en.eq((link.cfg_addr != 0) & (link.cfg_addr <= n))]
        return lo.read_port(), hi.read_port()

    def pack(self, name: str, fields: list, depth: int,
             table: str = "memories") -> PackedMemory:
        """A memory named `name` whose word holds the host regions `fields` ((name,
        shape) pairs) at their exact widths (rtl.packed), with their initial contents
        (the image's `table` entries)."""
        mem = PackedMemory(self.m, name, fields, depth,
                           {f: self.initial(table, f) for f, _ in fields}, self.family)
        self.packed.append(mem)
        return mem

    def register(self, name: str, shape, init: int):
        """A one-word config memory read combinationally: the register's value."""
        return self.config(name, shape, 1, [init])[0].read_port(domain="comb").data

    def state(self, name: str, shape, depth: int):
        """A state memory (zero at a clear) and its write port."""
        mem = self.memory(name, shape, depth, [])
        wr = mem.write_port()
        self.cleared.append(wr)
        return mem, wr

    def sat(self, name: str, expr, lo, hi, shape) -> Signal:
        """`expr` saturated to lo..hi, as the oracle's clip."""
        m = self.m
        out = Signal(shape, name=name)
        with m.If(expr < lo):
            m.d.comb += out.eq(lo)
        with m.Elif(expr > hi):
            m.d.comb += out.eq(hi)
        with m.Else():
            m.d.comb += out.eq(expr)
        return out

    def write(self, port, addr, data) -> None:
        """Write `data` at `addr` through write port `port` in this cycle."""
        self.m.d.comb += [port.addr.eq(addr), port.data.eq(data), port.en.eq(1)]

    def initial(self, table: str, name: str) -> list[int]:
        """The image's initial contents of `table` ("memories" or "params") entry `name`;
        none for an empty core."""
        if self.lif.core is None:
            return []
        return [int(v) for v in getattr(self.lif.core, table)[name]]

    # --- memories ---------------------------------------------------------------------

    def host_registers(self) -> None:
        """The per-core scalars every core has: n, n_axons, ring_depth, w_shift."""
        lif, sb = self.lif, self.spec.state_bits
        self.n = self.register("n", unsigned(ubits(lif.NPC)), lif.n)
        self.G = self.register("n_axons", unsigned(ubits(lif.GC)), lif.G)
        self.D = self.register("ring_depth", unsigned(ubits(lif.DC)), lif.D)
        self.w_shift = self.register("w_shift", unsigned(ubits(sb - 1)), lif.sc["w_shift"])
        self.m.d.comb += self.link.active.eq(self.n != 0)

    def memories(self) -> None:
        """The synapse rows, neuron parameters and state, the event and spike lists; a
        state clear copies u0 into u (u0 read at clr_addr, written one cycle later)."""
        m, link, lif, spec, sshape = self.m, self.link, self.lif, self.spec, self.sshape
        NPC, GC, DC, S = lif.NPC, lif.GC, lif.DC, lif.S
        self.row_a, self.row_b = self.pointers("row_ptr", GC)
        # a synapse's weight (and plastic flag), read by the walks and, while DONE, the
        # host; its target and delay, read in SYN
        self.wmem = self.pack("syn_wp", [("syn_w", self.wshape)] + (
            [("syn_plastic", unsigned(1))] if self.stdp_hw else []), S)
        self.w_wr = SimpleNamespace(addr=self.wmem.wr_addr, data=self.wmem.wr_data,
                                    en=self.wmem.wr_en)
        self.w = self.wmem.view(self.wmem.rd_data, "syn_w")
        self.fwd = self.pack("syn_fwd", [("syn_post", unsigned(lif.neuron_bits)),
                                         ("syn_delay", unsigned(lif.slot_bits))], S)
        self.post = self.fwd.view(self.fwd.rd_data, "syn_post")
        # the neuron parameters NEU reads (u0 apart: a clear reads it at clr_addr)
        self.prm_mem = self.pack("prm", [
            ("theta", sshape), ("u_reset", sshape), ("bias", sshape),
            ("dm", unsigned(spec.decay_bits)), ("ds", unsigned(spec.decay_bits)),
            ("refrac", unsigned(spec.refrac_bits))], NPC, "params")
        self.prm = {name: self.prm_mem.view(self.prm_mem.rd_data, name)
                    for name in self.prm_mem.layout}
        u0, _ = self.config("u0", sshape, NPC, self.initial("params", "u0"))
        self.u0_rd = u0.read_port()
        u_mem = self.memory("u", sshape, NPC, self.initial("params", "u0"))
        self.u_rd = u_mem.read_port()
        self.u_wr = u_mem.write_port()
        isyn_mem, self.i_wr = self.state("isyn", sshape, NPC)
        ref_mem, self.r_wr = self.state("ref", unsigned(spec.refrac_bits), NPC)
        ring, self.ring_wr = self.state("ring", sshape, DC * NPC)
        self.i_rd = isyn_mem.read_port()
        self.r_rd = ref_mem.read_port()
        self.ring_rd = ring.read_port(transparent_for=(self.ring_wr,))
        # the event list in block RAM slices (13 bits: 9 + 4, not 18 wide); the router
        # writes it while the core is DONE, so the slices' transparent read changes nothing
        events = PackedMemory(m, "in_list", [("in_list", unsigned(lif.axon_bits))], GC, {},
                              self.family)
        self.in_rd = SimpleNamespace(addr=events.rd_addr, data=events.rd_data)
        self.in_wr = SimpleNamespace(addr=events.wr_addr, data=events.wr_data,
                                     en=events.wr_en)
        out_list = self.memory("out_list", unsigned(lif.neuron_bits), NPC, [])
        self.out_wr = out_list.write_port()
        # PHDR may read the spike that the last neuron lists in the same cycle
        self.out_rd = out_list.read_port(transparent_for=(self.out_wr,))
        self.clr_d = Signal()
        self.clr_all_d = Signal()
        self.clr_addr_d = Signal.like(link.clr_addr)
        m.d.sync += [self.clr_d.eq(link.clr), self.clr_all_d.eq(link.clr_all),
                     self.clr_addr_d.eq(link.clr_addr)]
        m.d.comb += self.u0_rd.addr.eq(link.clr_addr)

    def stdp_memories(self) -> None:
        """STDP hardware: its scalars, the plastic flags, traces, spike flags and the
        column index (col_ptr, col_syn, col_pre) that potentiation walks."""
        lif, spec, sc = self.lif, self.spec, self.lif.sc
        F, S, ab = spec.decay_bits, lif.S, unsigned(spec.weight_bits + spec.stdp_frac_bits)
        self.stdp_on = self.register("stdp", 1, sc["stdp"])
        self.a_plus = self.register("a_plus", ab, sc["a_plus"])
        self.a_minus = self.register("a_minus", ab, sc["a_minus"])
        self.w_min = self.register("w_min", self.wshape, sc["w_min"])
        self.w_max = self.register("w_max", self.wshape, sc["w_max"])
        self.dx = self.register("dx", unsigned(F), sc["dx"])
        self.dy = self.register("dy", unsigned(F), sc["dy"])
        y_mem, self.y_wr = self.state("y", self.tshape, lif.NPC)
        x_mem, self.x_wr = self.state("x", self.tshape, lif.GC)
        flag, self.f_wr = self.state("flag", 1, lif.GC)
        self.y_rd = y_mem.read_port()
        self.x_rd = x_mem.read_port()
        self.f_rd = flag.read_port()
        self.col_a, self.col_b = self.pointers("col_ptr", lif.NPC)
        self.col = self.pack("col", [("col_syn", unsigned(lif.syn_bits)),
                                     ("col_pre", unsigned(lif.axon_bits))], S)

    # --- datapath ---------------------------------------------------------------------

    def walk(self, name: str, shape) -> tuple[Signal, Signal]:
        """A walk's counter and its next value (by default the counter itself; the state
        machine assigns it), which addresses the memories the walk reads, so their words
        of the current item are on the read ports in the cycle it is current."""
        cur, nxt = Signal(shape, name=name), Signal(shape, name=f"{name}_next")
        self.m.d.comb += nxt.eq(cur)
        self.m.d.sync += cur.eq(nxt)
        return cur, nxt

    def counters(self) -> None:
        """The walks' counters (event e, synapse k..kend, neuron j, spikes out_n), the
        accumulate stage's registers and the router's ports: event list writes, spike list
        and weight reads."""
        m, link, lif = self.m, self.link, self.lif
        self.e, self.e_n = self.walk("e", unsigned(lif.axon_bits + 1))
        self.k, self.k_n = self.walk("k", self.ptr)
        self.kend = Signal(self.ptr)
        self.j, self.j_n = self.walk("j", unsigned(lif.neuron_bits))
        self.out_n = Signal(unsigned(lif.neuron_bits + 1))
        # the accumulate stage: a synapse's ring write (c_syn, c_ring) and its depression
        # (when the weight word read for it is plastic), a plastic input's potentiation
        # (c_pot), of weight c_w
        self.c_syn, self.c_pot = Signal(), Signal()
        # the walk has run a cycle: the next list entry's bounds are on their ports
        self.warm = Signal()
        self.c_ring = Signal(range(lif.DC * lif.NPC))
        self.c_w = Signal(unsigned(lif.syn_bits))
        m.d.sync += [self.c_syn.eq(0), self.c_pot.eq(0)]
        m.d.comb += [link.out_n.eq(self.out_n), self.out_rd.addr.eq(link.out_addr),
                     link.out_data.eq(self.out_rd.data), link.w_data.eq(self.w)]
        m.d.comb += [self.in_wr.en.eq(link.in_we), self.in_wr.addr.eq(link.in_addr),
                     self.in_wr.data.eq(link.in_data), self.in_rd.addr.eq(self.e_n)]

    def synapse_datapath(self) -> None:
        """Event e's row bounds, synapse k's ring slot and the saturated accumulation."""
        m, link, spec = self.m, self.link, self.spec
        a_in = self.in_rd.data
        m.d.comb += [self.row_a.addr.eq(a_in), self.row_b.addr.eq(a_in)]
        m.d.comb += self.fwd.rd_addr.eq(self.k_n)
        slot_sum = Signal(unsigned(self.lif.slot_bits + 1))
        self.slot = Signal(unsigned(self.lif.slot_bits + 1))
        m.d.comb += slot_sum.eq(link.t_slot + self.fwd.view(self.fwd.rd_data, "syn_delay"))
        m.d.comb += self.slot.eq(Mux(slot_sum >= self.D, slot_sum - self.D, slot_sum))
        # synapse k's weight word is on its port in SYN k (read with k's next value, as
        # its target): the accumulate stage takes it, and the shifted weight, registered
        self.syn_word = self.stage("syn_word", self.wmem.rd_data)
        w_shifted = self.stage("w_shifted", self.w << self.w_shift)
        self.acc = self.sat("acc", self.ring_rd.data + w_shifted,
                            spec.isyn_format.min_int, spec.isyn_format.max_int, self.sshape)

    def stage(self, name: str, expr) -> Signal:
        """A register holding `expr` of the cycle before (a pipeline stage)."""
        reg = Signal(Value.cast(expr).shape(), name=name)
        self.m.d.sync += reg.eq(expr)
        return reg

    def neuron_datapath(self) -> None:
        """Neuron j's update in two stages: the cycle before NEU j reads its parameters,
        v and isyn (the walk jr runs one neuron ahead of j) and registers the products,
        the sum i + bias and the words NEU uses; NEU j adds the ring word (read in NEU j,
        after the event phase's last accumulate), saturates and compares with theta."""
        m, spec, F = self.m, self.spec, self.spec.decay_bits
        self.jr, self.jr_n = self.walk("jr", unsigned(self.lif.neuron_bits))
        for port in (self.u_rd, self.i_rd, self.r_rd):
            m.d.comb += port.addr.eq(self.jr_n)
        m.d.comb += self.prm_mem.rd_addr.eq(self.jr_n)
        m.d.comb += [self.u_wr.addr.eq(self.j), self.i_wr.addr.eq(self.j),
                     self.r_wr.addr.eq(self.j)]
        u, i, rd = self.u_rd.data, self.i_rd.data, self.prm
        i_dec = self.stage("n_i_dec", (i * rd["ds"]) >> F)
        u_dec = self.stage("n_u_dec", (u * rd["dm"]) >> F)
        i_bias = self.stage("n_i_bias", i + rd["bias"])
        self.r_old = self.stage("n_ref", self.r_rd.data)
        self.held = {name: self.stage(f"n_{name}", rd[name])
                     for name in ("theta", "u_reset", "refrac")}
        self.isyn_new = self.sat("isyn_new", i_dec + self.ring_rd.data,
                                 spec.isyn_format.min_int, spec.isyn_format.max_int,
                                 self.sshape)
        self.v_new = self.sat("v_new", u_dec + i_bias, spec.v_format.min_int,
                              spec.v_format.max_int, self.sshape)
        self.refractory = self.r_old != 0
        self.spike = Signal()
        m.d.comb += self.spike.eq(~self.refractory & (self.v_new >= self.held["theta"]))

    def trace_datapath(self) -> None:
        """STDP: the trace decays and impulses, depression and potentiation of a weight,
        the counters of the trace walk (axon a) and the column walk (pidx, ck..ckend)."""
        m, spec, F, sf = self.m, self.spec, self.spec.decay_bits, self.spec.stdp_frac_bits
        thi, tshape, imp = spec.trace_format.max_int, self.tshape, spec.trace_impulse
        # one bit wider than an axon id: the walk beside the neurons stops at a == G
        self.a, self.a_n = self.walk("a", unsigned(self.lif.axon_bits + 1))
        self.pidx, self.pidx_n = self.walk("pidx", unsigned(self.lif.neuron_bits + 1))
        self.ck, self.ck_n = self.walk("ck", self.ptr)
        self.ckend = Signal(self.ptr)
        y_dec = Signal(unsigned(spec.trace_bits))
        m.d.comb += y_dec.eq((self.y_rd.data * self.dy) >> F)
        # both sums ready before the spike (the last result of NEU) picks one
        self.y_new = Mux(self.spike, self.sat("y_imp", y_dec + imp, 0, thi, tshape),
                         self.sat("y_dec_sat", y_dec, 0, thi, tshape))
        x_dec = Signal(unsigned(spec.trace_bits))
        m.d.comb += x_dec.eq((self.x_rd.data * self.dx) >> F)
        self.x_new = self.sat("x_new", x_dec + Mux(self.f_rd.data, imp, 0), 0, thi, tshape)
        # a weight update in two stages: the accumulate stage registers the weight word,
        # its change (potentiation's +a_plus x, depression's -a_minus y) and address; the
        # cycle after adds, saturates and writes (no walk reads that synapse meanwhile)
        delta = Mux(self.c_pot, (self.a_plus * self.x_rd.data) >> sf,
                    -((self.a_minus * self.y_rd.data) >> sf))
        word = Mux(self.c_pot, self.wmem.rd_data, self.syn_word)
        self.wq = SimpleNamespace(
            en=self.stage("wq_en", self.c_pot | (self.c_syn & self.wmem.view(
                self.syn_word, "syn_plastic"))),
            addr=self.stage("wq_addr", self.c_w), word=self.stage("wq_word", word),
            delta=self.stage("wq_delta", delta))
        self.w_new = self.sat("w_new", self.wmem.view(self.wq.word, "syn_w") + self.wq.delta,
                              self.w_min, self.w_max, self.wshape)
        m.d.comb += [self.y_wr.addr.eq(self.j), self.f_wr.addr.eq(self.a)]
        m.d.comb += [self.col_a.addr.eq(self.out_rd.data),
                     self.col_b.addr.eq(self.out_rd.data),
                     self.col.rd_addr.eq(self.ck_n),
                     self.x_wr.addr.eq(self.a), self.out_rd.addr.eq(self.pidx_n)]

    def default_addresses(self) -> None:
        """Read addresses outside SYN and POT: this step's ring slot of the next neuron,
        weight k_n (on its port in SYN k), trace y of the next neuron, x and flag of the
        next axon."""
        m, link = self.m, self.link
        m.d.comb += [self.ring_rd.addr.eq(link.t_slot * self.lif.NPC + self.j_n),
                     self.wmem.rd_addr.eq(self.k_n)]
        if self.stdp_hw:
            m.d.comb += [self.y_rd.addr.eq(self.j_n), self.x_rd.addr.eq(self.a_n),
                         self.f_rd.addr.eq(self.a_n)]

    def clears(self) -> None:
        """A clear zeroes the state memories and copies u0 into u (or zeroes u with
        clr_all); the host writes u through region u0 while DONE."""
        m, link, u_wr = self.m, self.link, self.u_wr
        for wr in self.cleared:
            with m.If(link.clr):
                self.write(wr, link.clr_addr, 0)
        with m.If(self.clr_d):
            self.write(u_wr, self.clr_addr_d, Mux(self.clr_all_d, 0, self.u0_rd.data))
        with m.Elif(self.host_we & (link.cfg_region == REGION_ID["u0"])):
            self.write(u_wr, link.cfg_addr, link.cfg_data)

    # --- state machine ----------------------------------------------------------------

    def state_machine(self) -> None:
        """DONE -> EV -> ROW <-> SYN -> NEU -> [TR -> PHDR -> COL <-> POT] -> DONE, a
        walk's last item going on to the next row or column itself, or to its ROW or COL,
        when the next entry's header is on the ports (`chain`); one cycle per state visit
        (hw.layouts.fpga.RTL_CYCLES)."""
        m = self.m
        states = {"DONE": self.done, "EV": self.event, "ROW": self.row,
                  "SYN": self.synapse, "NEU": self.neuron}
        if self.stdp_hw:
            states |= {"TR": self.trace, "PHDR": self.post_header, "COL": self.column,
                       "POT": self.potentiate}
        with m.FSM(init="DONE"):
            for name, build in states.items():
                with m.State(name):
                    build()

    def accumulate_stage(self) -> None:
        """The cycle after a SYN or POT item (during the next item): the ring word and y,
        or the weight and x, are on the read ports; write the sum (the weight update's
        registers take the rest); and write the weight update of the cycle before."""
        m = self.m
        with m.If(self.c_syn):
            self.write(self.ring_wr, self.c_ring, self.acc)
        if self.stdp_hw:
            with m.If(self.wq.en):
                self.write(self.w_wr, self.wq.addr,
                           self.wmem.replace(self.wq.word, "syn_w", self.w_new))

    def after_neurons(self, next_axon=0) -> None:
        """From the last neuron (or from an empty neuron list) on: the pre traces the
        neuron walk left (from axon `next_axon`), potentiation, or DONE."""
        m = self.m
        if self.stdp_hw:
            with m.If(self.stdp_on & (next_axon < self.G)):
                m.d.comb += self.a_n.eq(next_axon)
                m.next = "TR"
            with m.Elif(self.stdp_on):
                m.d.comb += self.pidx_n.eq(0)
                m.next = "PHDR"
            with m.Else():
                m.next = "DONE"
        else:
            m.next = "DONE"

    def next_item(self, counter: Signal, nxt: Signal, end):
        """An item's cycle: on to item `counter` + 1; the returned condition (a `with`
        block) holds after the last item."""
        self.m.d.comb += nxt.eq(counter + 1)
        return self.m.If(counter + 1 == end)

    def open_range(self, index: Signal, index_n: Signal, start_n: Signal, end: Signal,
                   lo, hi, walk: str, header: str):
        """A header's second cycle: on to header `index` + 1, and walk the range the
        pointer reads `lo`..`hi` give in state `walk` unless it is empty (then the next
        header)."""
        m = self.m
        m.d.comb += [index_n.eq(index + 1), start_n.eq(lo.data)]
        m.d.sync += [end.eq(hi.data), self.warm.eq(0)]
        with m.If(lo.data != hi.data):
            m.next = walk
        with m.Else():
            m.next = header

    def chain(self, index: Signal, count, first: str, second: str, opens,
              on_entry=None) -> None:
        """A walk's last item also reads the next list entry's header: the entry has been
        on its port since the walk's first cycle (the header's first cycle, `first`) and
        its bounds since the second (its second cycle, `second`), so from a walk of two
        items on the header costs no cycle (`opens` opens its range now), after one item
        one; at the list's end (index == count) on to `first`, which ends the list."""
        m = self.m
        with m.If(index == count):
            m.next = first
        with m.Else():
            if on_entry is not None:
                on_entry()
            with m.If(self.warm):
                opens()
            with m.Else():
                m.next = second

    def flag_event(self) -> None:
        """The STDP flag of the event whose list entry is on its port."""
        if self.stdp_hw:
            with self.m.If(self.stdp_on):
                self.write(self.f_wr, self.in_rd.data, 1)

    def done(self) -> None:
        """DONE: the host may write, and read a weight (w_addr; w_data shows it in the
        next cycle); `go` starts a timestep at event 0 and neuron 0."""
        m, link = self.m, self.link
        m.d.comb += [link.done.eq(1), self.idle.eq(1), self.wmem.rd_addr.eq(link.w_addr)]
        if self.stdp_hw:  # the router reads the spike list
            m.d.comb += self.out_rd.addr.eq(link.out_addr)
        with m.If(link.go):
            m.d.comb += [self.e_n.eq(0), self.j_n.eq(0), self.jr_n.eq(0)]
            m.d.sync += self.out_n.eq(0)
            m.next = "EV"

    def event(self) -> None:
        """EV: in_list[e] is on its port; ask its row bounds (and set the axon's STDP
        flag), or end the list."""
        m, link = self.m, self.link
        with m.If(self.e == link.in_n):
            with m.If(self.n == 0):
                self.after_neurons()
            with m.Else():   # neuron 0's words are on their ports: ask neuron 1's
                m.d.comb += self.jr_n.eq(self.jr + 1)
                if self.stdp_hw:   # and axon 0's trace, walked beside the neurons
                    m.d.comb += self.a_n.eq(0)
                m.next = "NEU"
        with m.Else():
            m.next = "ROW"
            self.flag_event()

    def row(self) -> None:
        """ROW: the row bounds are on their ports: walk the row from its first synapse."""
        self.open_range(self.e, self.e_n, self.k_n, self.kend, self.row_a, self.row_b,
                        "SYN", "EV")

    def synapse(self) -> None:
        """SYN: synapse k's words (target, delay, weight) are on their ports; ask its
        ring word and y for the accumulate stage; the last one reads the next event's
        header (`chain`)."""
        m, k = self.m, self.k
        ring_addr = self.slot * self.lif.NPC + self.post
        m.d.comb += self.ring_rd.addr.eq(ring_addr)
        m.d.sync += [self.c_syn.eq(1), self.c_ring.eq(ring_addr), self.c_w.eq(k),
                     self.warm.eq(1)]
        if self.stdp_hw:
            m.d.comb += self.y_rd.addr.eq(self.post)
        with self.next_item(k, self.k_n, self.kend):
            self.chain(self.e, self.link.in_n, "EV", "ROW", self.row, self.flag_event)

    def neuron(self) -> None:
        """NEU: neuron j's ring word is on its port, its stage registers hold the rest:
        update, write, list a spike."""
        m, link, j, prm = self.m, self.link, self.j, self.held
        r_wr, u_wr, u_reset = self.r_wr, self.u_wr, prm["u_reset"]
        m.d.comb += self.jr_n.eq(self.jr + 1)    # the words of neuron j + 1 are on the ports
        self.write(self.ring_wr, link.t_slot * self.lif.NPC + j, 0)
        m.d.comb += [self.i_wr.data.eq(self.isyn_new), self.i_wr.en.eq(1), u_wr.en.eq(1),
                     r_wr.en.eq(1)]
        with m.If(self.refractory):
            m.d.comb += [r_wr.data.eq(self.r_old - 1), u_wr.data.eq(u_reset)]
        with m.Elif(self.spike):
            m.d.comb += [r_wr.data.eq(prm["refrac"]), u_wr.data.eq(u_reset)]
        with m.Else():
            m.d.comb += [r_wr.data.eq(0), u_wr.data.eq(self.v_new)]
        with m.If(self.spike):
            self.write(self.out_wr, self.out_n, j)
            m.d.sync += self.out_n.eq(self.out_n + 1)
        next_axon = 0
        if self.stdp_hw:
            with m.If(self.stdp_on):
                m.d.comb += [self.y_wr.data.eq(self.y_new), self.y_wr.en.eq(1)]
            beside = self.stdp_on & (self.a < self.G)
            with m.If(beside):      # axon a's pre trace, beside neuron j
                self.trace_item()
            next_axon = Mux(beside, self.a + 1, self.a)
        with self.next_item(j, self.j_n, self.n):
            self.after_neurons(next_axon)

    def trace_item(self) -> None:
        """x[a] and flag[a] are on their ports: write the decayed trace, clear the flag,
        on to axon a + 1."""
        m, a = self.m, self.a
        m.d.comb += [self.x_wr.data.eq(self.x_new), self.x_wr.en.eq(1), self.a_n.eq(a + 1)]
        self.write(self.f_wr, a, 0)

    def trace(self) -> None:
        """TR: the pre traces the neuron walk left, one axon a cycle."""
        m, a = self.m, self.a
        self.trace_item()
        with self.next_item(a, self.a_n, self.G):
            m.d.comb += self.pidx_n.eq(0)
            m.next = "PHDR"

    def post_header(self) -> None:
        """PHDR: out_list[pidx] is on its port: ask its column bounds, or end the list."""
        m = self.m
        with m.If(self.pidx == self.out_n):
            m.next = "DONE"
        with m.Else():
            m.next = "COL"

    def column(self) -> None:
        """COL: the column bounds are on their ports: walk the spiking neuron's plastic
        inputs."""
        self.open_range(self.pidx, self.pidx_n, self.ck_n, self.ckend, self.col_a,
                        self.col_b, "POT", "PHDR")

    def potentiate(self) -> None:
        """POT: column entry ck is on its ports; ask its weight and x for the accumulate
        stage."""
        m, syn = self.m, self.col.view(self.col.rd_data, "col_syn")
        m.d.comb += [self.x_rd.addr.eq(self.col.view(self.col.rd_data, "col_pre")),
                     self.wmem.rd_addr.eq(syn)]
        m.d.sync += [self.c_pot.eq(1), self.c_w.eq(syn), self.warm.eq(1)]
        with self.next_item(self.ck, self.ck_n, self.ckend):
            self.chain(self.pidx, self.out_n, "PHDR", "COL", self.column)
