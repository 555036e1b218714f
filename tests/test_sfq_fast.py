"""The Numba engine against the pure-Python oracle on generated netlists: identical pulses,
stats and violations, with random or pre-drawn synapse decisions and delay variability."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.hw.errors import NetworkError
from neurocosim.hw.targets.sfq import SfqSpec
from neurocosim.sim.sfq import Circuit, Simulator, Stats, TimingViolation
from neurocosim.sim.sfq.fast import FastSimulator
from neurocosim.sim.sfq.generate import random_circuit, random_pulses


def outcome(cls, nl, spec, seed, trains, stops, decisions=None):
    sim = cls(nl, spec, seed=seed, decisions=decisions)
    for name, t in zip(nl.input_names, trains):
        sim.schedule(name, t)
    try:
        for s in stops:
            sim.run(s)
    except (TimingViolation, NetworkError) as e:
        return type(e).__name__, str(e), sim.stats
    return sim.probes(), sim.stats


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), n_cells=st.integers(1, 60),
       spacing=st.floats(8.0, 80.0), sigma=st.sampled_from([0.0, 0.05]),
       collision=st.sampled_from(["drop", "error"]), given_bits=st.booleans(),
       cut=st.floats(10.0, 2000.0))
def test_fast_engine_equals_the_oracle(seed, n_cells, spacing, sigma, collision, given_bits,
                                       cut):
    spec = SfqSpec(delay_sigma=sigma, collision=collision)
    nl = random_circuit(seed, n_cells, 3, spec=spec)
    trains = random_pulses(seed, 3, 25, spacing_ps=spacing, jitter_ps=spacing / 3)
    decisions = None
    if given_bits:
        rng = np.random.default_rng(seed)
        decisions = {c: rng.random(12) < 0.5 for c in range(nl.n_cells)
                     if nl.kind_of(c) == "synapse"}
    stops = sorted([cut, 2500.0])
    slow = outcome(Simulator, nl, spec, seed, trains, stops, decisions)
    fast = outcome(FastSimulator, nl, spec, seed, trains, stops, decisions)
    if isinstance(slow[0], str):
        assert fast[:2] == slow[:2]
        return
    assert fast[1] == slow[1]
    assert slow[0].keys() == fast[0].keys()
    for k in slow[0]:
        assert np.array_equal(slow[0][k], fast[0][k]), k


def test_fast_engine_grows_its_buffers_and_draws_more_uniforms():
    spec = SfqSpec()
    c = Circuit()
    for i in range(6):
        for k, w in enumerate(c.split(c.input(f"x{i}"), 32)):
            (q,) = c.add("synapse", w, bias=96.0 + k / 4)
            c.probe(c.add("jtl", q)[0], f"y{i}_{k}")
    nl = c.netlist()
    trains = random_pulses(7, 6, 400, spacing_ps=60.0, jitter_ps=10.0)
    slow = outcome(Simulator, nl, spec, 7, trains, [30000.0])
    fast = outcome(FastSimulator, nl, spec, 7, trains, [30000.0])
    assert not isinstance(slow[0], str), slow[1]
    assert slow[1].passed + slow[1].blocked > 4096     # more than one block of uniforms
    assert fast[1] == slow[1] and slow[1].events > 20000
    assert all(np.array_equal(slow[0][k], fast[0][k]) for k in slow[0])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 100_000), cut=st.floats(10.0, 2000.0), given_bits=st.booleans())
def test_reset_replays_a_fresh_simulator(seed, cut, given_bits):
    """reset(): time 0, initial states, the same random stream and decisions, no records;
    then the same pulses as a new simulator, on both engines."""
    spec = SfqSpec(collision="drop")
    nl = random_circuit(seed, 40, 3, spec=spec)
    trains = random_pulses(seed, 3, 25, spacing_ps=30.0, jitter_ps=10.0)
    decisions = None
    if given_bits:
        rng = np.random.default_rng(seed)
        decisions = {c: rng.random(64) < 0.5 for c in range(nl.n_cells)
                     if nl.kind_of(c) == "synapse"}
    for cls in (Simulator, FastSimulator):
        fresh = outcome(cls, nl, spec, seed, trains, [2500.0], decisions)
        sim = cls(nl, spec, seed=seed, decisions=decisions)
        for name, t in zip(nl.input_names, trains):
            sim.schedule(name, t)
        try:
            sim.run(cut)          # leaves pulses in flight, states and streams moved on
        except (TimingViolation, NetworkError):
            pass
        sim.reset()
        assert sim.now_fs == 0 and sim.stats == Stats()
        for name, t in zip(nl.input_names, trains):
            sim.schedule(name, t)
        try:
            sim.run(2500.0)
        except (TimingViolation, NetworkError) as e:
            assert fresh[:2] == (type(e).__name__, str(e))
            continue
        assert sim.stats == fresh[1]
        assert all(np.array_equal(sim.probes()[k], fresh[0][k]) for k in fresh[0])
