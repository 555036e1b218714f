"""SFQ netlists: the `Circuit` builder, the frozen `Netlist` record, and the "sfq" compiler.

An SFQ wire is point to point: one driver (a cell output or a primary input) and at most
one sink (a cell input). Fan-out goes through splitter trees and fan-in through merger
trees, which `Circuit.split` and `Circuit.merge` build. The netlist is plain numpy arrays
so that it travels inside a HardwareImage and through save/load.

Compiling a network (`compile_sfq`), conventions documented once, here:
- IF_curr_delta neurons become counting neurons; threshold in pulses
  N = round((v_thresh - v_reset) / pulse_mV), the count starts at 0 (v = v_reset), each
  passed excitatory pulse adds one, each inhibitory one removes one (never below 0);
- a weight w (must be in [0, 1]) is the pass probability of the synapse: an expected jump
  of w * pulse_mV, as IF_curr_delta jumps by w mV; probabilities outside what the bias range
  reaches are clipped and reported in `image.quantization["max_weight_error"]`;
- a negative i_offset is a leak: a clock of -i_offset / cm / pulse_mV pulses per ms into the
  inhibitory input; tau_m must be >= spec.min_tau_m and tau_refrac 0 (the counting neuron
  has no exponential leak and no refractory period); a positive i_offset is refused;
- projection delays are not modelled: a pulse's delay is its path through the cells (tens
  of ps, ~1e-5 ms), so `image.quantization["max_delay_error_ms"]` is the largest IR delay;
- spike sources become primary inputs; current sources are refused (a leak is i_offset);
- every neuron's and source's output wire is probed (spikes); other recorded variables
  have no SFQ counterpart and are listed in the result's info["not_recorded"].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import LimitError, NetworkError, TargetError
from .image import Core, HardwareImage
from .ir import CurrentSource, Network, PoissonSource, SpikeArray, is_source
from .targets.sfq import BIASED_KINDS, CELL_PORTS, SfqSpec

#: Input kinds of `Netlist` primary inputs as the runner drives them.
INPUT_GIVEN, INPUT_POISSON, INPUT_PERIODIC = 0, 1, 2


@dataclass(frozen=True)
class Netlist:
    """Cells, wires, primary inputs and probes of one SFQ circuit, as arrays.

    cell c: kind `kinds[cell_kind[c]]`, name `cell_names[c]`, bias `cell_bias[c]` (uA, NaN
    where the kind has none). wire w: driven by output port `wire_src_port[w]` of cell
    `wire_src[w]` (-1: primary input), read by input port `wire_dst_port[w]` of cell
    `wire_dst[w]` (-1: unconnected). `input_wires[i]` is primary input `input_names[i]`;
    `probe_wires[j]` is recorded under `probe_names[j]`.
    """

    kinds: tuple[str, ...]
    cell_kind: np.ndarray
    cell_names: tuple[str, ...]
    cell_bias: np.ndarray
    wire_src: np.ndarray
    wire_src_port: np.ndarray
    wire_dst: np.ndarray
    wire_dst_port: np.ndarray
    input_names: tuple[str, ...]
    input_wires: np.ndarray
    probe_names: tuple[str, ...]
    probe_wires: np.ndarray

    @property
    def n_cells(self) -> int:
        return len(self.cell_kind)

    @property
    def n_wires(self) -> int:
        return len(self.wire_src)

    def kind_of(self, cell: int) -> str:
        return self.kinds[int(self.cell_kind[cell])]

    def wire_name(self, w: int) -> str:
        """The driver's name: "cell.port", or the primary input's name."""
        c = int(self.wire_src[w])
        if c < 0:
            i = int(np.flatnonzero(self.input_wires == w)[0])
            return self.input_names[i]
        return f"{self.cell_names[c]}.{CELL_PORTS[self.kind_of(c)][1][self.wire_src_port[w]]}"

    def cell_index(self, name: str) -> int:
        try:
            return self.cell_names.index(name)
        except ValueError:
            raise NetworkError(f"netlist has no cell named {name!r}") from None

    def counts(self) -> dict[str, int]:
        """Number of cells of each kind."""
        n = np.bincount(self.cell_kind, minlength=len(self.kinds))
        return {k: int(n[i]) for i, k in enumerate(self.kinds)}


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

def _check_neurons(pop, spec: SfqSpec) -> tuple[np.ndarray, np.ndarray, float]:
    """Thresholds (pulses) and leak rates (pulses per ms) of one IF_curr_delta population."""
    p = pop.params
    bad = np.flatnonzero(p["tau_m"] < spec.min_tau_m)
    if bad.size:
        raise LimitError(f"population {pop.name!r} tau_m (ms)", float(p["tau_m"][bad[0]]),
                         f">= {spec.min_tau_m}", "the SFQ counting neuron has no exponential "
                         "leak; use a negative i_offset for a constant leak")
    bad = np.flatnonzero(p["tau_refrac"] != 0)
    if bad.size:
        raise LimitError(f"population {pop.name!r} tau_refrac (ms)",
                         float(p["tau_refrac"][bad[0]]), 0,
                         "the SFQ counting neuron has no refractory period")
    bad = np.flatnonzero(p["i_offset"] > 0)
    if bad.size:
        raise LimitError(f"population {pop.name!r} i_offset (nA)", float(p["i_offset"][bad[0]]),
                         "<= 0", "only a leak (negative offset) is modelled")
    span = (p["v_thresh"] - p["v_reset"]) / spec.pulse_mV
    thresholds = np.rint(span).astype(np.int64)
    bad = np.flatnonzero(thresholds < 1)
    if bad.size:
        raise LimitError(f"population {pop.name!r} threshold (pulses)", int(thresholds[bad[0]]),
                         ">= 1", "v_thresh - v_reset must be at least one pulse_mV")
    leak = -p["i_offset"] / p["cm"] / spec.pulse_mV
    err = float(np.max(np.abs(span - thresholds))) * spec.pulse_mV if span.size else 0.0
    return thresholds, leak, err


def compile_sfq(network: Network, spec: SfqSpec) -> HardwareImage:
    """Map a rate-coded network onto SFQ cells; the netlist is `image.data["netlist"]`."""
    circ = Circuit()
    offsets = np.cumsum([0] + [p.size for p in network.populations])
    pop_index = {p.name: i for i, p in enumerate(network.populations)}
    n_total = int(offsets[-1])
    neuron_out: list[int | None] = [None] * n_total       # wire each neuron drives
    neuron_cell = np.full(n_total, -1, dtype=np.int64)
    thresholds = np.zeros(n_total, dtype=np.int64)
    bias = np.full(n_total, np.nan)
    input_kind, input_rate, input_phase = [], [], []
    given_trains: list[np.ndarray] = []
    for st in network.stimuli:
        if isinstance(st, CurrentSource):
            raise TargetError(f"target 'sfq' has no current sources ({st.kind} source into "
                              f"{st.population!r}); a constant leak is a negative i_offset")
    stim = {st.population: st for st in network.stimuli if isinstance(st, (SpikeArray,
                                                                          PoissonSource))}
    max_thr_err = 0.0
    leaks = np.zeros(n_total)
    clock_ms = spec.clock_ps / spec.window_ps

    # sources first: their wires exist before any cell reads them
    for pi, pop in enumerate(network.populations):
        if not is_source(pop.model):
            continue
        st = stim.get(pop.name)
        for i in range(pop.size):
            g = offsets[pi] + i
            neuron_out[g] = circ.input(f"{pop.name}[{i}]")
            if pop.model == "SpikeSourceArray":
                train = st.trains.train(i) if isinstance(st, SpikeArray) else np.zeros(0)
                input_kind.append(INPUT_GIVEN)
                input_rate.append(0.0)
                input_phase.append((0.0, np.inf))
                given_trains.append(train)
                continue
            rate = float(pop.params["rate"][i]) / 1000.0              # pulses per ms
            if rate * clock_ms > 1.0:
                raise LimitError(f"Poisson rate of {pop.name}[{i}] (Hz)", rate * 1000.0,
                                 1000.0 / clock_ms,
                                 f"at most one pulse per {spec.clock_ps} ps clock slot")
            start = float(pop.params["start"][i])
            input_kind.append(INPUT_POISSON)
            input_rate.append(rate)
            input_phase.append((start, start + float(pop.params["duration"][i])))
            given_trains.append(np.zeros(0))

    # fan-in lists per neuron, fan-out counts per pre neuron
    exc: list[list] = [[] for _ in range(n_total)]
    inh: list[list] = [[] for _ in range(n_total)]
    fanout = np.zeros(n_total, dtype=np.int64)
    weight_err, delay_err = 0.0, 0.0
    for pr in network.projections:
        pre0 = offsets[pop_index[pr.pre]]
        np.add.at(fanout, pre0 + pr.pre_idx, 1)
        if pr.plasticity is not None:
            raise TargetError(f"target 'sfq' has no plasticity; projection {pr.name!r} has "
                              f"{pr.plasticity.rule}")
        if pr.size and pr.weight.max() > 1.0:
            raise LimitError(f"projection {pr.name!r} weight (pass probability)",
                             float(pr.weight.max()), 1.0)

    # neurons: counting cells; their outputs feed splitter trees built below
    for pi, pop in enumerate(network.populations):
        if is_source(pop.model):
            continue
        thr, leak, err = _check_neurons(pop, spec)
        max_thr_err = max(max_thr_err, err)
        for i in range(pop.size):
            g = offsets[pi] + i
            thresholds[g], leaks[g] = thr[i], leak[i]
            bias[g] = spec.neuron_bias(int(thr[i]))
    # wires are immutable, so a neuron's input trees are built from its synapses once
    # every pre neuron exists: populations go in feed-forward order (recurrence is refused)
    order = _topological_populations(network)
    split_of: dict[int, list[int]] = {}

    def pre_copies(g: int) -> list[int]:
        if g not in split_of:
            if neuron_out[g] is None:
                raise TargetError("internal: neuron output used before it exists")
            split_of[g] = circ.split(neuron_out[g], int(fanout[g]), name=_gname(network,
                                                                             offsets, g))
        return split_of[g]

    used = np.zeros(n_total, dtype=np.int64)
    syn_count = 0
    for pi in order:
        pop = network.populations[pi]
        if is_source(pop.model):
            continue
        for pr in network.projections:
            if pr.post != pop.name:
                continue
            pre0, post0 = offsets[pop_index[pr.pre]], offsets[pi]
            for k in range(pr.size):
                gpre, gpost = pre0 + pr.pre_idx[k], post0 + pr.post_idx[k]
                copies = pre_copies(int(gpre))
                w_in = copies[used[gpre]]
                used[gpre] += 1
                b = spec.synapse_bias(float(pr.weight[k]))
                weight_err = max(weight_err, abs(float(spec.pass_probability(b, 0.0))
                                                 - float(pr.weight[k])))
                (q,) = circ.add("synapse", w_in, name=f"{pr.name}.syn{k}", bias=b)
                syn_count += 1
                (exc if pr.receptor == "excitatory" else inh)[gpost].append(q)
        for i in range(pop.size):
            g = offsets[pi] + i
            leak_wire = None
            if leaks[g] > 0:
                leak_wire = circ.input(f"leak:{pop.name}[{i}]")
                input_kind.append(INPUT_PERIODIC)
                input_rate.append(float(leaks[g]))
                input_phase.append((0.0, np.inf))
                given_trains.append(np.zeros(0))
            a = circ.merge(exc[g], name=f"{pop.name}[{i}].exc")
            b_ = circ.merge(inh[g] + ([leak_wire] if leak_wire is not None else []),
                            name=f"{pop.name}[{i}].inh")
            neuron_cell[g] = len(circ._kind)
            (q,) = circ.add("neuron", a, b_, name=f"{pop.name}[{i}]", bias=float(bias[g]))
            neuron_out[g] = q
    for pr in network.projections:
        if pr.size:
            delay_err = max(delay_err, float(np.max(pr.delay)))  # path delays are ps: ~0 ms

    # probes: every neuron and source output
    for pi, pop in enumerate(network.populations):
        for i in range(pop.size):
            circ.probe(neuron_out[offsets[pi] + i], f"{pop.name}[{i}]")
    netlist = circ.netlist()

    trains = [np.asarray(t, dtype=np.float64) for t in given_trains]
    toff = np.zeros(len(trains) + 1, dtype=np.int64)
    toff[1:] = np.cumsum([len(t) for t in trains])
    core = Core(index=0, neurons=np.flatnonzero(neuron_cell >= 0),
                params={"threshold": thresholds[neuron_cell >= 0],
                        "bias_uA": bias[neuron_cell >= 0],
                        "cell": neuron_cell[neuron_cell >= 0]})
    phase = np.array(input_phase, dtype=np.float64).reshape(-1, 2)
    data = {
        "netlist": netlist,
        "input_kind": np.array(input_kind, dtype=np.int64),
        "input_rate": np.array(input_rate, dtype=np.float64),      # pulses per ms window
        "input_start": phase[:, 0].copy(), "input_stop": phase[:, 1].copy(),
        "input_times": np.concatenate(trains) if trains else np.zeros(0),  # ms
        "input_offsets": toff,
        "pop_names": tuple(p.name for p in network.populations),
        "pop_offsets": offsets.astype(np.int64),
        "n_synapses": syn_count,
    }
    return HardwareImage(target=spec, network=network, cores=[core], data=data,
                         quantization={"max_weight_error": weight_err,
                                       "max_threshold_error_mV": max_thr_err,
                                       "max_delay_error_ms": delay_err})


def _gname(network: Network, offsets: np.ndarray, g: int) -> str:
    pi = int(np.searchsorted(offsets, g, side="right") - 1)
    return f"{network.populations[pi].name}[{g - offsets[pi]}].fan"


def _topological_populations(network: Network) -> list[int]:
    """Populations in an order where every projection's pre comes before its post."""
    names = [p.name for p in network.populations]
    deps = {n: set() for n in names}
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
    return [names.index(n) for n in order]
