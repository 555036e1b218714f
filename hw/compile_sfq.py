"""SFQ netlists: the `Circuit` builder and the "sfq" compiler (the format is
`hw.layouts.sfq`).

An SFQ wire is point to point: one driver (a cell output or a primary input) and at most
one sink (a cell input). Fan-out goes through splitter trees and fan-in through merger
trees, which `Circuit.split` and `Circuit.merge` build.

Compiling a network (`compile_sfq`), conventions documented once, here; every change to
the network is in the image's mapping report, naming the population or projection:
- IF_curr_delta neurons become counting neurons; threshold in pulses
  N = round((v_thresh - v_reset) / pulse_mV) (quantised: "v_thresh"); the count starts at
  0 (v = v_reset; "initial_v" where the IR starts elsewhere), each passed excitatory pulse
  adds one, each inhibitory one removes one, down to -neuron_floor ("membrane_floor");
  tau_m must be >= spec.min_tau_m and is treated as infinite ("no_membrane_leak"),
  tau_refrac must be 0, a positive i_offset is refused;
- a weight w in [0, 1] is the pass probability of a synapse, set by its bias current
  (quantised where the bias range clips it: "weight"); a pulse passes whole or not, so
  the jump is w * pulse_mV on average only ("stochastic_weight");
- a negative i_offset is a leak: a periodic clock of -i_offset / cm / pulse_mV pulses per
  ms into the inhibitory input ("leak_as_clock");
- projection delays are not modelled: a pulse's delay is its path through the cells (tens
  of ps), so every layer of a feed-forward chain fires in the input's step (per-layer
  latency 0 steps, docs/timing.md; "delay_not_modelled");
- pulses that meet in a merger tree or neuron closer than its window are lost when
  spec.collision is "drop" ("pulse_collisions": the spikes of one timestep enter together);
- spike sources become primary inputs, driven at run time by the one stimulus: a spike of
  stamp s is a pulse at s * STEP_FS fs; the step must be a whole number of fs and at
  least spec.min_step_ps;
- every integrating neuron's output wire is probed; the runner reports a pulse at T fs
  with the stamp of the step it falls in, T // STEP_FS + 1 ("spike_times_stepped" for
  each recorded population). Only spikes are recordable (SfqSpec.recordables).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import LimitError, NetworkError, TargetError
from .image import HardwareImage
from .ir import Network, Population, Projection, is_source
from .layouts import sfq as L
from .layouts.sfq import BIASED_KINDS, CELL_PORTS, Netlist
from .report import MappingReport
from .targets.sfq import SfqSpec

@dataclass
class Circuit:
    """A netlist under construction: add cells wired to existing wires, then `netlist()`.

    Wires are ints. Every wire feeds at most one cell input; reuse is an error that names
    the wire and its sink (split it first). Names are optional and made unique.
    """

    _kind: list[str] = field(default_factory=list)
    _names: list[str] = field(default_factory=list)
    _bias: list[float] = field(default_factory=list)
    _src: list[tuple[int, int]] = field(default_factory=list)
    _dst: list[tuple[int, int]] = field(default_factory=list)
    _inputs: dict[str, int] = field(default_factory=dict)
    _probes: dict[str, int] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def _unique(self, name: str) -> str:
        if name in self._seen:
            raise NetworkError(f"name {name!r} is already used in this circuit")
        self._seen.add(name)
        return name

    def _wire(self, src: tuple[int, int]) -> int:
        self._src.append(src)
        self._dst.append((-1, -1))
        return len(self._src) - 1

    def input(self, name: str) -> int:
        """A new primary input wire."""
        w = self._wire((-1, len(self._inputs)))
        self._inputs[self._unique(name)] = w
        return w

    def add(self, kind: str, *inputs: "int | None", name: str | None = None,
            bias: float | None = None) -> tuple[int, ...]:
        """Add one cell reading `inputs` (None: unconnected); returns its output wires."""
        if kind not in CELL_PORTS:
            raise NetworkError(f"unknown SFQ cell kind {kind!r}; known: {', '.join(CELL_PORTS)}")
        ins, outs = CELL_PORTS[kind]
        if len(inputs) != len(ins):
            raise NetworkError(f"cell {kind} takes {len(ins)} input(s) {ins}, got {len(inputs)}")
        if (bias is None) == (kind in BIASED_KINDS):
            raise NetworkError(f"cell {kind}: bias is required for {BIASED_KINDS} and only "
                               f"for them, got bias={bias}")
        c = len(self._kind)
        name = self._unique(name if name is not None else f"{kind}{c}")
        for port, w in enumerate(inputs):
            if w is None:
                continue
            if not isinstance(w, (int, np.integer)) or not 0 <= w < len(self._src):
                raise NetworkError(f"cell {name}: input {ins[port]} = {w!r} is not a wire")
            if self._dst[w][0] >= 0:
                d, p = self._dst[w]
                raise NetworkError(f"cell {name}: wire {w} already feeds "
                                   f"{self._names[d]}.{CELL_PORTS[self._kind[d]][0][p]}; "
                                   "split it to feed two cells")
        for port, w in enumerate(inputs):
            if w is not None:
                self._dst[w] = (c, port)
        self._kind.append(kind)
        self._names.append(name)
        self._bias.append(np.nan if bias is None else float(bias))
        return tuple(self._wire((c, k)) for k in range(len(outs)))

    def probe(self, wire: int, name: str) -> None:
        """Record the pulses on `wire` under `name` (probing does not load the wire)."""
        if not 0 <= wire < len(self._src):
            raise NetworkError(f"probe {name!r}: {wire!r} is not a wire")
        if name in self._probes:
            raise NetworkError(f"probe name {name!r} is already used")
        self._probes[name] = int(wire)

    def split(self, wire: "int | None", n: int, name: str = "") -> list[int]:
        """`n` copies of `wire` through a balanced tree of n - 1 splitters."""
        if n < 1:
            raise NetworkError(f"split into {n} wires: need at least 1")
        if n == 1 or wire is None:
            return [wire] * n if wire is None else [wire]
        left, right = self.add("splitter", wire, name=self._auto(name, "split"))
        return self.split(left, n // 2, name) + self.split(right, n - n // 2, name)

    def merge(self, wires: list, name: str = "") -> "int | None":
        """One wire carrying the pulses of all `wires`, through a balanced merger tree."""
        wires = [w for w in wires if w is not None]
        if not wires:
            return None
        while len(wires) > 1:
            nxt = [self.add("merger", wires[i], wires[i + 1], name=self._auto(name, "merge"))[0]
                   for i in range(0, len(wires) - 1, 2)]
            if len(wires) % 2:
                nxt.append(wires[-1])
            wires = nxt
        return wires[0]

    def _auto(self, stem: str, what: str) -> str | None:
        return f"{stem}.{what}{len(self._kind)}" if stem else None

    def netlist(self) -> Netlist:
        """Freeze into arrays."""
        kinds = tuple(dict.fromkeys(self._kind))
        src = np.array(self._src, dtype=np.int64).reshape(-1, 2)
        dst = np.array(self._dst, dtype=np.int64).reshape(-1, 2)
        return Netlist(
            kinds=kinds,
            cell_kind=np.array([kinds.index(k) for k in self._kind], dtype=np.int32),
            cell_names=tuple(self._names),
            cell_bias=np.array(self._bias, dtype=np.float64),
            wire_src=src[:, 0].copy(), wire_src_port=src[:, 1].copy(),
            wire_dst=dst[:, 0].copy(), wire_dst_port=dst[:, 1].copy(),
            input_names=tuple(self._inputs), input_wires=np.array(list(self._inputs.values()),
                                                                  dtype=np.int64),
            probe_names=tuple(self._probes),
            probe_wires=np.array(list(self._probes.values()), dtype=np.int64))


# --- the compiler ------------------------------------------------------------------------------

@dataclass
class _Build:
    """A compile in progress: the circuit, the wire each global neuron drives, and the
    per-input and per-probe records the image carries."""

    network: Network
    spec: SfqSpec
    report: MappingReport
    circ: Circuit = field(default_factory=Circuit)
    out: dict[int, int] = field(default_factory=dict)            # neuron -> output wire
    copies: dict[int, list[int]] = field(default_factory=dict)   # neuron -> unused copies
    input_neuron: list[int] = field(default_factory=list)
    leak_per_ms: list[float] = field(default_factory=list)
    probe_neuron: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.offsets = self.network.offsets()
        n = self.network.size
        self.fanout = np.zeros(n, dtype=np.int64)
        for pr in self.network.projections:
            np.add.at(self.fanout, self.offsets[pr.pre] + pr.pre_idx, 1)

    def copy_of(self, g: int) -> int:
        """The next unused copy of neuron g's output (its splitter tree is built once)."""
        if g not in self.copies:
            pop = self.network.populations[self._pop_of(g)]
            name = f"{pop.name}[{g - self.offsets[pop.name]}].fan"
            self.copies[g] = self.circ.split(self.out[g], int(self.fanout[g]), name=name)
        return self.copies[g].pop(0)

    def _pop_of(self, g: int) -> int:
        starts = [self.offsets[p.name] for p in self.network.populations]
        return int(np.searchsorted(starts, g, side="right") - 1)


def compile_sfq(network: Network, spec: SfqSpec) -> HardwareImage:
    """Map a feed-forward IF_curr_delta network onto SFQ cells (see the module docstring);
    the netlist and its input and probe tables are `image.data` (hw.layouts.sfq)."""
    step = _step_fs(network, spec)
    order = _feed_forward_order(network)
    for pr in network.projections:
        _check_weights(pr)
    image = HardwareImage(target=spec, network=network)
    b = _Build(network, spec, image.report)
    for pop in network.populations:
        if is_source(pop.model):
            _add_source(b, pop)
    for pop in order:
        if not is_source(pop.model):
            _add_population(b, pop)
    _report_network(b)
    image.data = {L.NETLIST: b.circ.netlist(),
                  L.INPUT_NEURON: np.array(b.input_neuron, dtype=np.int64),
                  L.LEAK_PER_MS: np.array(b.leak_per_ms, dtype=np.float64),
                  L.PROBE_NEURON: np.array(b.probe_neuron, dtype=np.int64),
                  L.STEP_FS: step}
    return image


def _step_fs(network: Network, spec: SfqSpec) -> int:
    """The network timestep in whole femtoseconds of pulse time (refused otherwise)."""
    exact = L.step_fs(network.timestep, spec)
    step = int(round(exact))
    if abs(step - exact) > 1e-6 * max(1.0, exact):
        raise LimitError("timestep (fs of pulse time)", round(exact, 6), "a whole number of fs",
                         f"timestep {network.timestep} ms at window_ps {spec.window_ps}")
    if step < spec.min_step_ps * 1000.0:
        raise LimitError("timestep (ps of pulse time)", step / 1000.0,
                         f">= {spec.min_step_ps}", f"timestep {network.timestep} ms: one "
                         "source's successive pulses must clear the splitter and synapse "
                         "windows")
    return step


def _feed_forward_order(network: Network) -> list[Population]:
    """Populations in an order where every projection's pre comes before its post (wires
    are immutable, so a neuron's input trees need every pre neuron's output first)."""
    names = [p.name for p in network.populations]
    deps: dict[str, set[str]] = {n: set() for n in names}
    for pr in network.projections:
        if pr.pre == pr.post:
            raise TargetError(f"target 'sfq' maps feed-forward networks only; projection "
                              f"{pr.name!r} connects {pr.pre!r} to itself")
        deps[pr.post].add(pr.pre)
    order: list[str] = []
    while len(order) < len(names):
        ready = [n for n in names if n not in order and deps[n] <= set(order)]
        if not ready:
            cyc = sorted(n for n in names if n not in order)
            raise TargetError(f"target 'sfq' maps feed-forward networks only; populations "
                              f"{cyc} form a cycle")
        order.extend(ready)
    return [network.population(n) for n in order]


def _check_weights(pr: Projection) -> None:
    """A weight is a pass probability: at most 1 (the IR keeps weights >= 0)."""
    if pr.size and pr.weight.max() > 1.0:
        raise LimitError(f"projection {pr.name!r} weight (pass probability)",
                         float(pr.weight.max()), 1.0)


def _add_source(b: _Build, pop: Population) -> None:
    """One primary input per source neuron, driven by the stimulus at run time."""
    lo = b.offsets[pop.name]
    for i in range(pop.size):
        b.out[lo + i] = b.circ.input(f"{pop.name}[{i}]")
        b.input_neuron.append(lo + i)
        b.leak_per_ms.append(0.0)


def _neuron_params(pop: Population, spec: SfqSpec, report: MappingReport
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds (pulses) and leak clocks (pulses per ms) of one IF_curr_delta
    population; refuses what the counting neuron lacks, reports the threshold error."""
    p, where = pop.params, f"population {pop.name!r}"
    for name, bad, limit, why in (
            ("tau_m (ms)", p["tau_m"] < spec.min_tau_m, f">= {spec.min_tau_m}",
             "the SFQ counting neuron has no exponential leak; use a negative i_offset for "
             "a constant leak"),
            ("tau_refrac (ms)", p["tau_refrac"] != 0, 0,
             "the SFQ counting neuron has no refractory period"),
            ("i_offset (nA)", p["i_offset"] > 0, "<= 0",
             "only a leak (negative offset) is modelled")):
        if bad.any():
            raise LimitError(f"{where} {name}", float(p[name.split()[0]][bad][0]), limit, why)
    thresholds = np.rint((p["v_thresh"] - p["v_reset"]) / spec.pulse_mV).astype(np.int64)
    bad = np.flatnonzero(thresholds < 1)
    if bad.size:
        raise LimitError(f"{where} threshold (pulses)", int(thresholds[bad[0]]), ">= 1",
                         "v_thresh - v_reset must be at least one pulse_mV")
    report.quantized("v_thresh", where, p["v_thresh"],
                     p["v_reset"] + thresholds * spec.pulse_mV, "mV")
    return thresholds, -p["i_offset"] / p["cm"] / spec.pulse_mV


def _add_synapses(b: _Build, pop: Population) -> tuple[list[list[int]], list[list[int]]]:
    """One stochastic synapse per IR synapse into `pop`, fed by a copy of its pre neuron's
    output; returns the excitatory and inhibitory synapse outputs of each neuron."""
    spec = b.spec
    exc: list[list[int]] = [[] for _ in range(pop.size)]
    inh: list[list[int]] = [[] for _ in range(pop.size)]
    for pr in b.network.projections:
        if pr.post != pop.name or not pr.size:
            continue
        pre0 = b.offsets[pr.pre]
        biases = np.array([spec.synapse_bias(float(w)) for w in pr.weight])
        b.report.quantized("weight", f"projection {pr.name!r}", pr.weight,
                           spec.pass_probability(biases))
        side = exc if pr.receptor == "excitatory" else inh
        for k in range(pr.size):
            w_in = b.copy_of(int(pre0 + pr.pre_idx[k]))
            (q,) = b.circ.add("synapse", w_in, name=f"{pr.name}.syn{k}", bias=biases[k])
            side[int(pr.post_idx[k])].append(q)
    return exc, inh


def _add_population(b: _Build, pop: Population) -> None:
    """A population's synapses, leak clocks, merger trees and counting neurons, probed."""
    thresholds, leaks = _neuron_params(pop, b.spec, b.report)
    exc, inh = _add_synapses(b, pop)
    lo = b.offsets[pop.name]
    for i in range(pop.size):
        if leaks[i] > 0:
            inh[i].append(b.circ.input(f"leak:{pop.name}[{i}]"))
            b.input_neuron.append(L.LEAK)
            b.leak_per_ms.append(float(leaks[i]))
        a = b.circ.merge(exc[i], name=f"{pop.name}[{i}].exc")
        inhibit = b.circ.merge(inh[i], name=f"{pop.name}[{i}].inh")
        (q,) = b.circ.add("neuron", a, inhibit, name=f"{pop.name}[{i}]",
                          bias=b.spec.neuron_bias(int(thresholds[i])))
        b.out[lo + i] = q
        b.circ.probe(q, f"{pop.name}[{i}]")
        b.probe_neuron.append(lo + i)
    _report_population(b, pop, leaks, [len(e) + len(h) for e, h in zip(exc, inh)],
                       any(inh))


def _report_population(b: _Build, pop: Population, leaks: np.ndarray, fan_in: list[int],
                       inhibited: bool) -> None:
    """The approximations a population of counting neurons makes (module docstring)."""
    spec, p, where, r = b.spec, pop.params, f"population {pop.name!r}", b.report
    r.approximate("no_membrane_leak", where, f"tau_m >= {float(p['tau_m'].min()):g} ms is "
                  "treated as infinite: the count does not decay toward v_rest", pop.size)
    v0 = pop.initial.get("v", p["v_rest"])
    off = np.abs(v0 - p["v_reset"])
    if off.max() > 0:
        r.approximate("initial_v", where, f"the count starts at v_reset, up to "
                      f"{off.max():g} mV from the initial v", int(np.count_nonzero(off)))
    if leaks.max() > 0:
        r.approximate("leak_as_clock", where, f"the constant leak (up to {leaks.max():g} "
                      "pulses per ms) is a periodic clock into the inhibitory input",
                      int(np.count_nonzero(leaks)))
    if inhibited:
        r.approximate("membrane_floor", where, f"v stops at {spec.neuron_floor} pulses "
                      f"({spec.neuron_floor * spec.pulse_mV:g} mV) below v_reset", pop.size)
    crowded = sum(1 for n in fan_in if n > 1)
    if crowded and spec.collision == "drop":
        r.approximate("pulse_collisions", where, f"{crowded} neuron(s) merge several inputs: "
                      f"pulses closer than the merger window ({spec.merger_window_ps} ps), "
                      "as one timestep's spikes on equal paths are, are lost (run timing: "
                      "dropped_pulses)", crowded)


def _report_network(b: _Build) -> None:
    """The projections' approximations and the stepping of recorded spike times."""
    r, dt = b.report, b.network.timestep
    for pr in b.network.projections:
        if not pr.size:
            continue
        where = f"projection {pr.name!r}"
        partial = int(np.count_nonzero((pr.weight > 0) & (pr.weight < 1)))
        if partial:
            r.approximate("stochastic_weight", where, f"{partial} of {pr.size} weights are "
                          "pass probabilities in (0, 1): a pulse passes whole or not, so the "
                          "jump is w * pulse_mV on average only", partial)
        lo, hi = float(pr.delay.min()), float(pr.delay.max())
        span = f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"
        r.approximate("delay_not_modelled", where, f"delays of {span} ms become the cells' "
                      "path delay (tens of ps): a spike reaches its target in the step it "
                      "was sent, so a feed-forward chain fires within one step "
                      "(docs/timing.md)", hi)
    step_ps = L.step_fs(dt, b.spec) / 1000.0
    recorded = {rec.population for rec in b.network.recordings if rec.variable == "spikes"}
    for pop in b.network.populations:
        if pop.name in recorded and not is_source(pop.model):
            r.approximate("spike_times_stepped", f"population {pop.name!r}", "a pulse is "
                          f"reported at the end of its {dt:g} ms ({step_ps:g} ps) step, up "
                          "to one step after it fired", dt)
