"""Each SFQ cell's automaton against hand-derived pulse sequences, every timing violation,
the table checks, the tree builders and the engine's invariants."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.hw.errors import NetworkError
from neurocosim.hw.layouts.sfq import CELL_PORTS, CellTableError, define, library, neuron
from neurocosim.hw.targets.sfq import PHI0, SfqSpec
from neurocosim.sim.sfq import Circuit, Simulator, TimingViolation
from neurocosim.sim.sfq.generate import random_circuit, random_pulses

SPEC = SfqSpec()


def one_cell(kind, n_in, bias=None, spec=SPEC, decisions=None, **pulses):
    """Run one cell whose inputs are primary inputs named after its ports."""
    c = Circuit()
    ins = [c.input(p) for p in CELL_PORTS[kind][0][:n_in]]
    outs = c.add(kind, *ins, *([None] * (len(CELL_PORTS[kind][0]) - n_in)), name="dut",
                 bias=bias)
    for p, w in zip(CELL_PORTS[kind][1], outs):
        c.probe(w, p)
    sim = Simulator(c.netlist(), spec, decisions=decisions)
    for port, times in pulses.items():
        sim.schedule(port, times)
    sim.run(1000.0)
    return sim


def out(sim, port="q"):
    return sim.pulses(port).tolist()


def test_jtl_delays_each_pulse():
    assert out(one_cell("jtl", 1, a=[10.0, 30.0])) == [15.7, 35.7]


def test_splitter_fires_both_outputs():
    sim = one_cell("splitter", 1, a=[10.0, 20.0])
    assert out(sim, "l") == out(sim, "r") == [14.3, 24.3]


def test_merger_passes_both_inputs_and_drops_collisions():
    assert out(one_cell("merger", 2, a=[10.0], b=[30.0])) == [18.2, 38.2]
    sim = one_cell("merger", 2, a=[10.0], b=[12.0])
    assert out(sim) == [18.2] and sim.stats.dropped == 1


def test_dro_stores_one_bit_and_reads_destructively():
    sim = one_cell("dro", 2, a=[10.0, 60.0, 70.0], clk=[30.0, 50.0, 90.0, 110.0])
    assert out(sim) == [35.1, 95.1]


def test_ndro_reads_without_destroying_and_resets():
    sim = one_cell("ndro", 3, a=[10.0], clk=[30.0, 50.0, 80.0], r=[60.0])
    assert out(sim) == [36.0, 56.0]


def test_tff_fires_on_every_second_pulse():
    assert out(one_cell("tff", 1, a=[10.0, 30.0, 50.0, 70.0, 90.0])) == [36.0, 76.0]


def test_synapse_follows_given_decisions():
    sim = one_cell("synapse", 1, bias=100.0, decisions={"dut": [1, 0, 1]},
                   a=[10.0, 30.0, 50.0])
    assert out(sim) == [17.0, 57.0]
    assert (sim.stats.passed, sim.stats.blocked) == (2, 1)
    with pytest.raises(NetworkError, match="3 pre-drawn decisions are used up"):
        one_cell("synapse", 1, bias=100.0, decisions={"dut": [1, 0, 1]},
                 a=[10.0, 30.0, 50.0, 70.0])


def test_neuron_counts_up_down_and_fires_at_threshold():
    bias = SPEC.neuron_bias(3)
    assert SPEC.neuron_threshold(bias) == 3
    assert out(one_cell("neuron", 2, bias=bias, a=[10.0, 20.0, 30.0, 40.0])) == [39.0]
    # up 1, down 0, up 1, 2, fires on the third up at 60
    sim = one_cell("neuron", 2, bias=bias, a=[10.0, 30.0, 40.0, 60.0], b=[20.0])
    assert out(sim) == [69.0]
    # ten down pulses stop at the floor (8): eight ups return to 0, three more fire
    downs = list(np.arange(10.0, 110.0, 10.0))
    ups = list(np.arange(200.0, 310.0, 10.0))
    assert out(one_cell("neuron", 2, bias=bias, a=ups, b=downs)) == [309.0]
    sim = one_cell("neuron", 2, bias=bias, a=[10.0, 11.0, 20.0, 30.0])
    assert sim.stats.dropped == 1 and out(sim) == [39.0]


@pytest.mark.parametrize("kind, n_in, bias, pulses, cell_wire, other, needs", [
    ("jtl", 1, None, {"a": [10.0, 11.0]}, "a", "wire 'a' at 10.000 ps", 2.0),
    ("splitter", 1, None, {"a": [10.0, 11.5]}, "a", "wire 'a' at 10.000 ps", 2.0),
    ("tff", 1, None, {"a": [10.0, 13.0]}, "a", "wire 'a' at 10.000 ps", 4.0),
    ("synapse", 1, 100.0, {"a": [10.0, 12.0]}, "a", "wire 'a' at 10.000 ps", 4.0),
    ("dro", 2, None, {"a": [10.0], "clk": [11.0]}, "clk", "wire 'a' at 10.000 ps", 2.3),
    ("ndro", 3, None, {"r": [10.0], "clk": [12.0]}, "clk", "wire 'r' at 10.000 ps", 2.5),
    ("ndro", 3, None, {"a": [10.0], "clk": [11.0]}, "clk", "wire 'a' at 10.000 ps", 2.5),
])
def test_timing_violation_names_cell_wires_and_times(kind, n_in, bias, pulses, cell_wire,
                                                     other, needs):
    with pytest.raises(TimingViolation) as err:
        one_cell(kind, n_in, bias=bias, decisions={"dut": [1, 1]} if bias else None, **pulses)
    e = err.value
    assert (e.cell, e.kind, e.wire) == ("dut", kind, cell_wire)
    assert e.min_ps == needs and e.t_ps - e.t_other_ps < needs
    assert other in str(e) and "'dut'" in str(e)


def test_hold_and_collision_errors_when_asked_for():
    spec = SfqSpec(dro_hold_ps=1.0, collision="error")
    with pytest.raises(TimingViolation, match="hold|needs >= 1.000 ps") as err:
        one_cell("dro", 2, spec=spec, clk=[20.0], a=[20.5])
    assert err.value.wire == "a"
    with pytest.raises(TimingViolation, match="any input of 'dut'"):
        one_cell("merger", 2, spec=spec, a=[10.0], b=[12.0])
    with pytest.raises(TimingViolation):
        one_cell("neuron", 2, bias=SPEC.neuron_bias(2), spec=spec, a=[10.0], b=[11.0])


def test_tables_declare_the_netlist_ports():
    lib = library(SPEC)
    for kind, (ins, outs) in CELL_PORTS.items():
        ct = neuron(SPEC, 4) if kind == "neuron" else lib[kind]
        assert (ct.inputs, ct.outputs) == (ins, outs)


@pytest.mark.parametrize("rows, message", [
    ([{"from": "s", "on": "a", "to": "s"}], "no row for state 's' on input 'b'"),
    ([{"from": "s", "on": "a", "to": "s"}, {"from": "s", "on": "a", "to": "s"},
      {"from": "s", "on": "b", "to": "s"}], "two rows for state 's' on input 'a'"),
    ([{"from": "s", "on": "c", "to": "s"}], "triggers on 'c'"),
    ([{"from": "s", "on": "a", "to": "s", "fire": {"q": 0.0}},
      {"from": "s", "on": "b", "to": "s"}], "delays must be > 0"),
    ([{"from": "s", "on": "a", "to": "s", "fire": {"z": 1.0}},
      {"from": "s", "on": "b", "to": "s"}], "fires 'z'"),
    ([{"from": "s", "on": "a", "to": "s", "after": {"x": 1.0}},
      {"from": "s", "on": "b", "to": "s"}], "constrains 'x'"),
    ([{"from": "s", "on": "a", "to": "s", "wait": 1}], "unknown key"),
])
def test_bad_tables_are_refused(rows, message):
    with pytest.raises(CellTableError, match=message):
        define("bad", ("a", "b"), ("q",), rows, "s")


def test_trees_reach_every_leaf():
    c = Circuit()
    x = c.input("x")
    leaves = c.split(x, 5)
    assert len(leaves) == 5
    for k, w in enumerate(leaves):
        c.probe(w, f"leaf{k}")
    merged = c.merge([c.add("jtl", w)[0] for w in leaves[:3]])
    c.probe(merged, "merged")
    nl = c.netlist()
    assert nl.counts()["splitter"] == 4 and nl.counts()["merger"] == 2
    sim = Simulator(nl)
    sim.schedule("x", [10.0])
    sim.run(200.0)
    assert all(len(sim.pulses(f"leaf{k}")) == 1 for k in range(5))
    # leaves 0-2 sit two splitters deep (18.6 ps), through JTLs at 24.3: the first merger
    # gets two coincident pulses (one lost) and fires at 32.5; the odd leaf goes straight to
    # the second merger (fires 32.5), which then passes the first merger's pulse at 40.7
    assert sim.pulses("merged").tolist() == [32.5, 40.7] and sim.stats.dropped == 1


def test_circuit_refuses_a_wire_read_twice_and_bad_bias():
    c = Circuit()
    x = c.input("x")
    c.add("jtl", x, name="j")
    with pytest.raises(NetworkError, match="already feeds j.a; split it"):
        c.add("jtl", x)
    with pytest.raises(NetworkError, match="bias is required"):
        c.add("synapse", c.input("y"))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.floats(50.0, 900.0))
def test_split_runs_equal_one_run_and_energy_counts_switches(seed, cut):
    nl = random_circuit(seed, 30, 3)
    trains = random_pulses(seed, 3, 15, spacing_ps=60.0)

    def run(stops):
        sim = Simulator(nl, SPEC, seed=seed)
        for name, t in zip(nl.input_names, trains):
            sim.schedule(name, t)
        try:
            for s in stops:
                sim.run(s)
        except TimingViolation as e:
            return str(e)
        return sim.probes(), sim.stats, sim.energy_pJ

    one, two = run([1200.0]), run([cut, 1200.0])
    if isinstance(one, str):
        assert one == two
        return
    assert one[1] == two[1]
    assert all(np.array_equal(one[0][k], two[0][k]) for k in one[0])
    assert one[2] == pytest.approx(one[1].switches * SPEC.ic_uA * 1e-6 * PHI0 * 1e12)
