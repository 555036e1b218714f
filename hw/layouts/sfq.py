"""The "sfq" image format: cell kinds and their ports, the cells' transition tables and the
netlist record, each written once here. The compiler (`hw.compile_sfq`), the pulse
simulator (`sim.sfq`) and the Verilog export (`rtl.sfq`) all read them from this module.

An sfq image's `data` holds:
- NETLIST: the `Netlist` (cells, wires, primary inputs, probes);
- INPUT_NEURON: per primary input, the global IR neuron of the spike source driving it,
  or LEAK for a leak clock (a negative i_offset);
- LEAK_PER_MS: per primary input, the leak clock's pulses per ms (0 for a source);
- PROBE_NEURON: per probe, the global IR neuron (an integrating one) whose output it is;
- STEP_FS: one network timestep in the pulse time base, in femtoseconds.
Input spikes are not in the image: the runner delivers the one stimulus (`hw.stimulus`).

Cells are data. A table row says: in state `from`, a pulse on input `on` moves the cell to
state `to`, fires the outputs in `fire` (output -> delay ps), switches `jj` junctions, and
is legal only if the pulse comes at least `after[x]` ps after the last pulse on input x
("*": on any input). A `stochastic` row fires only when the synapse's decision passes
(`jj_blocked` junctions switch when it does not). Every (state, input) pair has exactly one
row, so a cell is a total, deterministic timed automaton. A pulse that breaks an `after`
constraint is a timing violation: an error, or, for a kind whose `policy` is "drop", a lost
pulse (it changes nothing, not even the last-pulse times). `library(spec)` builds every
kind from a spec's numbers; the neuron's table depends on its threshold, so `neuron(spec,
n)` builds it per threshold. The same records drive the event engine and the Verilog.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

import numpy as np

from ..errors import NetworkError
from ..targets.sfq import SfqSpec

#: image.data keys (see the module docstring)
NETLIST, INPUT_NEURON, LEAK_PER_MS, PROBE_NEURON, STEP_FS = (
    "netlist", "input_neuron", "leak_per_ms", "probe_neuron", "step_fs")
#: INPUT_NEURON of a leak clock
LEAK = -1

#: Every cell kind's ports: kind -> (inputs, outputs). The transition tables must declare
#: exactly these (`cell_types` checks it); the netlist builder reads them.
CELL_PORTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "jtl": (("a",), ("q",)),
    "splitter": (("a",), ("l", "r")),
    "merger": (("a", "b"), ("q",)),
    "dro": (("a", "clk"), ("q",)),
    "ndro": (("a", "r", "clk"), ("q",)),
    "tff": (("a",), ("q",)),
    "synapse": (("a",), ("q",)),
    "neuron": (("a", "b"), ("q",)),
}

#: Kinds whose cells carry a bias current (uA) that sets their behaviour.
BIASED_KINDS = ("synapse", "neuron")

ANY = -1  #: constraint on the last pulse on any input


def step_fs(dt_ms: float, spec: SfqSpec) -> float:
    """One timestep of `dt_ms` in the pulse time base (fs): one ms is `window_ps` ps."""
    return dt_ms * spec.window_ps * 1000.0


def fs(ps: float) -> int:
    """Picoseconds to whole femtoseconds, the engine's (and Verilog's) time resolution."""
    return int(round(ps * 1000.0))


# --- the netlist -------------------------------------------------------------------------------

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

    def input_wire(self, name: str) -> int:
        """The wire of the primary input `name`."""
        try:
            return int(self.input_wires[self.input_names.index(name)])
        except ValueError:
            raise NetworkError(f"no primary input named {name!r}") from None

    def counts(self) -> dict[str, int]:
        """Number of cells of each kind."""
        n = np.bincount(self.cell_kind, minlength=len(self.kinds))
        return {k: int(n[i]) for i, k in enumerate(self.kinds)}


# --- cells as transition tables --------------------------------------------------------------

class CellTableError(NetworkError):
    """A transition table that is not a total, deterministic automaton over its ports."""


@dataclass(frozen=True)
class Transition:
    """One row, with ports and states as indices and times in femtoseconds."""

    source: int
    trigger: int
    dest: int
    firing: tuple[tuple[int, int], ...]       # (output index, delay fs)
    after: tuple[tuple[int, int], ...]        # (input index or ANY, min separation fs)
    jj: int
    jj_blocked: int
    stochastic: bool


@dataclass(frozen=True)
class CellType:
    """A validated cell kind: ports, states, rows, and `rows[state][input]` lookup."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    states: tuple[str, ...]
    initial: int
    transitions: tuple[Transition, ...]
    table: tuple[tuple[int, ...], ...]        # table[state][input] -> transition index
    policy: str

    def row(self, state: int, trigger: int) -> Transition:
        return self.transitions[self.table[state][trigger]]


_ROW_KEYS = {"from", "on", "to", "fire", "after", "jj", "jj_blocked", "stochastic"}


def _states(name: str, rows: list, initial: str) -> list[str]:
    """Every state a table names, the initial one first."""
    states: list[str] = [initial]
    for r in rows:
        for key in ("from", "to"):
            if r.get(key) is None:
                raise CellTableError(f"cell {name}: row {dict(r)} has no {key!r} state")
            if r[key] not in states:
                states.append(r[key])
    return states


def _check_row(name: str, i: int, r: Mapping[str, Any], inputs: tuple, outputs: tuple) -> None:
    """One row's keys, ports, delays and separations; errors name the cell and the row."""
    extra = set(r) - _ROW_KEYS
    if extra:
        raise CellTableError(f"cell {name}: row {i} has unknown key(s) {sorted(extra)}")
    if r.get("on") not in inputs:
        raise CellTableError(f"cell {name}: row {i} triggers on {r.get('on')!r}, "
                             f"not an input of {inputs}")
    for o, d in dict(r.get("fire", {})).items():
        if o not in outputs:
            raise CellTableError(f"cell {name}: row {i} fires {o!r}, not an output "
                                 f"of {outputs}")
        if not d > 0:
            raise CellTableError(f"cell {name}: row {i} fires {o!r} after {d} ps; "
                                 "delays must be > 0")
    for x, t in dict(r.get("after", {})).items():
        if x != "*" and x not in inputs:
            raise CellTableError(f"cell {name}: row {i} constrains {x!r}, not an input")
        if t < 0:
            raise CellTableError(f"cell {name}: row {i} separation {t} ps < 0")


def define(name: str, inputs: Iterable[str], outputs: Iterable[str],
           rows: Iterable[Mapping[str, Any]], initial: str, policy: str = "error") -> CellType:
    """Check a table and normalise it into a CellType; errors name the cell and the row."""
    inputs, outputs, rows = tuple(inputs), tuple(outputs), list(rows)
    if policy not in ("error", "drop"):
        raise CellTableError(f"cell {name}: policy {policy!r} must be 'error' or 'drop'")
    if len(set(inputs)) != len(inputs) or len(set(outputs)) != len(outputs):
        raise CellTableError(f"cell {name}: duplicate port names in {inputs} / {outputs}")
    states = _states(name, rows, initial)
    table = [[-1] * len(inputs) for _ in states]
    out: list[Transition] = []
    for i, r in enumerate(rows):
        _check_row(name, i, r, inputs, outputs)
        s, trig = states.index(r["from"]), inputs.index(r["on"])
        if table[s][trig] >= 0:
            raise CellTableError(f"cell {name}: two rows for state {r['from']!r} on "
                                 f"input {r['on']!r}")
        table[s][trig] = len(out)
        out.append(Transition(
            source=s, trigger=trig, dest=states.index(r["to"]),
            firing=tuple((outputs.index(o), fs(d)) for o, d in dict(r.get("fire", {})).items()),
            after=tuple((ANY if x == "*" else inputs.index(x), fs(t))
                        for x, t in dict(r.get("after", {})).items() if t > 0),
            jj=int(r.get("jj", 1)), jj_blocked=int(r.get("jj_blocked", 0)),
            stochastic=bool(r.get("stochastic", False))))
    for s, row in enumerate(table):
        for trig, k in enumerate(row):
            if k < 0:
                raise CellTableError(f"cell {name}: no row for state {states[s]!r} on "
                                     f"input {inputs[trig]!r}")
    return CellType(name, inputs, outputs, tuple(states), 0, tuple(out),
                    tuple(tuple(r) for r in table), policy)


def _tables(d: SfqSpec) -> dict[str, CellType]:
    """The fixed kinds' tables from a spec's delays (ps), windows and collision policy."""
    idle = "idle"
    return {
        "jtl": define("jtl", ("a",), ("q",), [
            {"from": idle, "on": "a", "to": idle, "fire": {"q": d.jtl_delay_ps},
             "after": {"a": d.jtl_window_ps}, "jj": 2},
        ], idle),
        "splitter": define("splitter", ("a",), ("l", "r"), [
            {"from": idle, "on": "a", "to": idle,
             "fire": {"l": d.splitter_delay_ps, "r": d.splitter_delay_ps},
             "after": {"a": d.splitter_window_ps}, "jj": 3},
        ], idle),
        "merger": define("merger", ("a", "b"), ("q",), [
            {"from": idle, "on": x, "to": idle, "fire": {"q": d.merger_delay_ps},
             "after": {"*": d.merger_window_ps}, "jj": 3} for x in ("a", "b")
        ], idle, policy=d.collision),
        "dro": define("dro", ("a", "clk"), ("q",), [
            {"from": "0", "on": "a", "to": "1", "after": {"clk": d.dro_hold_ps}, "jj": 2},
            {"from": "1", "on": "a", "to": "1", "after": {"clk": d.dro_hold_ps}, "jj": 1},
            {"from": "0", "on": "clk", "to": "0", "after": {"a": d.dro_setup_ps}, "jj": 1},
            {"from": "1", "on": "clk", "to": "0", "fire": {"q": d.dro_delay_ps},
             "after": {"a": d.dro_setup_ps}, "jj": 3},
        ], "0"),
        "ndro": define("ndro", ("a", "r", "clk"), ("q",), [
            {"from": "0", "on": "a", "to": "1", "jj": 2},
            {"from": "1", "on": "a", "to": "1", "jj": 1},
            {"from": "0", "on": "r", "to": "0", "jj": 1},
            {"from": "1", "on": "r", "to": "0", "jj": 2},
            {"from": "0", "on": "clk", "to": "0", "jj": 1,
             "after": {"a": d.ndro_setup_ps, "r": d.ndro_setup_ps}},
            {"from": "1", "on": "clk", "to": "1", "fire": {"q": d.ndro_delay_ps}, "jj": 3,
             "after": {"a": d.ndro_setup_ps, "r": d.ndro_setup_ps}},
        ], "0"),
        "tff": define("tff", ("a",), ("q",), [
            {"from": "0", "on": "a", "to": "1", "after": {"a": d.tff_window_ps}, "jj": 2},
            {"from": "1", "on": "a", "to": "0", "fire": {"q": d.tff_delay_ps},
             "after": {"a": d.tff_window_ps}, "jj": 3},
        ], "0"),
        "synapse": define("synapse", ("a",), ("q",), [
            {"from": idle, "on": "a", "to": idle, "fire": {"q": d.synapse_delay_ps},
             "after": {"a": d.synapse_window_ps}, "jj": 3, "jj_blocked": 2,
             "stochastic": True},
        ], idle),
    }


def neuron(spec: SfqSpec, threshold: int) -> CellType:
    """The counting neuron: an up/down flux counter with states c-M .. c(N-1), M =
    spec.neuron_floor; "a" counts up and at N fires and goes back to c0, "b" counts down
    and stays at c-M (the storing loop holds at most M quanta of the other sign)."""
    return _neuron(spec, int(threshold))


@lru_cache(maxsize=256)
def _neuron(spec: SfqSpec, n: int) -> CellType:
    if n < 1:
        raise CellTableError(f"neuron threshold {n} must be >= 1")
    floor = int(spec.neuron_floor)
    w = {"*": spec.neuron_window_ps}
    rows = []
    for k in range(-floor, n):
        up = {"from": f"c{k}", "on": "a", "to": f"c{k + 1 if k < n - 1 else 0}", "after": w,
              "jj": 1}
        if k == n - 1:
            up.update(fire={"q": spec.neuron_delay_ps}, jj=3)
        rows.append(up)
        rows.append({"from": f"c{k}", "on": "b", "to": f"c{max(k - 1, -floor)}", "after": w,
                     "jj": 1})
    return define(f"neuron{n}", ("a", "b"), ("q",), rows, "c0", policy=spec.collision)


@lru_cache(maxsize=64)
def library(spec: SfqSpec) -> dict[str, CellType]:
    """Every fixed cell kind built from the spec's timing numbers (the neuron: `neuron`)."""
    return _tables(spec)


def cell_type(spec: SfqSpec, kind: str, bias: float) -> CellType:
    """The CellType of one netlist cell (neurons: the threshold their bias sets)."""
    if kind == "neuron":
        return neuron(spec, spec.neuron_threshold(bias))
    try:
        return library(spec)[kind]
    except KeyError:
        raise CellTableError(f"no transition table for cell kind {kind!r}; known: "
                             f"{', '.join(CELL_PORTS)}") from None


def cell_types(netlist: Netlist, spec: SfqSpec) -> list[CellType]:
    """The CellType of every cell, checked against the ports the netlist was built with."""
    out = []
    for c in range(netlist.n_cells):
        kind = netlist.kind_of(c)
        ct = cell_type(spec, kind, float(netlist.cell_bias[c]))
        if (ct.inputs, ct.outputs) != CELL_PORTS[kind]:
            raise NetworkError(f"cell kind {kind}: table ports {ct.inputs}/{ct.outputs} differ "
                               f"from the netlist's {CELL_PORTS[kind]}")
        out.append(ct)
    return out


# --- fabrication spread ----------------------------------------------------------------------

def delay_scales(netlist: Netlist, spec: SfqSpec, seed: int) -> np.ndarray:
    """Per-cell delay factors 1 + delay_sigma * N(0, 1), seeded (all 1 when sigma is 0)."""
    if spec.delay_sigma == 0:
        return np.ones(netlist.n_cells)
    z = np.random.default_rng([seed, 0x5F0]).standard_normal(netlist.n_cells)
    scale = 1.0 + spec.delay_sigma * z
    if np.any(scale <= 0):
        raise NetworkError(f"delay_sigma {spec.delay_sigma} drew a non-positive delay factor "
                           f"{scale.min():.3f}; use a smaller spread")
    return scale


def scaled(delay_fs: int, scale: float) -> int:
    """A delay after variability, in whole femtoseconds (at least 1)."""
    return delay_fs if scale == 1.0 else max(1, int(round(delay_fs * scale)))
