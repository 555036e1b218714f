"""SFQ cells as data: one transition table per cell kind, validated once, made into records.

A table row says: in state `from`, a pulse on input `on` moves the cell to state `to`,
fires the outputs in `fire` (output -> delay ps), switches `jj` junctions, and is legal only
if the pulse comes at least `after[x]` ps after the last pulse on input x ("*": on any
input). A `stochastic` row fires only when the synapse's decision passes (`jj_blocked`
junctions switch when it does not). Every (state, input) pair has exactly one row, so a
cell is a total, deterministic timed automaton. A pulse that breaks an `after` constraint is
a timing violation: an error, or, for a kind whose `policy` is "drop", a lost pulse (it
changes nothing, not even the last-pulse times).

`library(spec)` builds every kind from a spec's numbers; the neuron's table depends on its
threshold, so it is built per threshold by `neuron(spec, n)`. The same records drive the
event engine and the Verilog export.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

from ...hw.errors import NetworkError
from ...hw.targets.sfq import CELL_PORTS, SfqSpec

ANY = -1  #: constraint on the last pulse on any input


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


def fs(ps: float) -> int:
    """Picoseconds to whole femtoseconds, the engine's (and Verilog's) time resolution."""
    return int(round(ps * 1000.0))


def define(name: str, inputs: Iterable[str], outputs: Iterable[str],
           rows: Iterable[Mapping[str, Any]], initial: str, policy: str = "error") -> CellType:
    """Check a table and normalise it into a CellType; errors name the cell and the row."""
    inputs, outputs, rows = tuple(inputs), tuple(outputs), list(rows)
    if policy not in ("error", "drop"):
        raise CellTableError(f"cell {name}: policy {policy!r} must be 'error' or 'drop'")
    if len(set(inputs)) != len(inputs) or len(set(outputs)) != len(outputs):
        raise CellTableError(f"cell {name}: duplicate port names in {inputs} / {outputs}")
    states: list[str] = [initial]
    for r in rows:
        for key in ("from", "to"):
            if r.get(key) is None:
                raise CellTableError(f"cell {name}: row {dict(r)} has no {key!r} state")
            if r[key] not in states:
                states.append(r[key])
    known = {"from", "on", "to", "fire", "after", "jj", "jj_blocked", "stochastic"}
    table = [[-1] * len(inputs) for _ in states]
    out: list[Transition] = []
    for i, r in enumerate(rows):
        extra = set(r) - known
        if extra:
            raise CellTableError(f"cell {name}: row {i} has unknown key(s) {sorted(extra)}")
        if r.get("on") not in inputs:
            raise CellTableError(f"cell {name}: row {i} triggers on {r.get('on')!r}, "
                                 f"not an input of {inputs}")
        fire = dict(r.get("fire", {}))
        for o, d in fire.items():
            if o not in outputs:
                raise CellTableError(f"cell {name}: row {i} fires {o!r}, not an output "
                                     f"of {outputs}")
            if not d > 0:
                raise CellTableError(f"cell {name}: row {i} fires {o!r} after {d} ps; "
                                     "delays must be > 0")
        after = dict(r.get("after", {}))
        for x, t in after.items():
            if x != "*" and x not in inputs:
                raise CellTableError(f"cell {name}: row {i} constrains {x!r}, not an input")
            if t < 0:
                raise CellTableError(f"cell {name}: row {i} separation {t} ps < 0")
        s, trig = states.index(r["from"]), inputs.index(r["on"])
        if table[s][trig] >= 0:
            raise CellTableError(f"cell {name}: two rows for state {r['from']!r} on "
                                 f"input {r['on']!r}")
        table[s][trig] = len(out)
        out.append(Transition(
            source=s, trigger=trig, dest=states.index(r["to"]),
            firing=tuple((outputs.index(o), fs(d)) for o, d in fire.items()),
            after=tuple((ANY if x == "*" else inputs.index(x), fs(t))
                        for x, t in after.items() if t > 0),
            jj=int(r.get("jj", 1)), jj_blocked=int(r.get("jj_blocked", 0)),
            stochastic=bool(r.get("stochastic", False))))
    for s, row in enumerate(table):
        for trig, k in enumerate(row):
            if k < 0:
                raise CellTableError(f"cell {name}: no row for state {states[s]!r} on "
                                     f"input {inputs[trig]!r}")
    return CellType(name, inputs, outputs, tuple(states), 0, tuple(out),
                    tuple(tuple(r) for r in table), policy)


def _tables(spec: SfqSpec) -> dict[str, CellType]:
    d = spec
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
