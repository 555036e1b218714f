"""The PyNN backend builds the IR a script describes, and refuses bad input by name."""

import numpy as np
import pytest
from pyNN import errors

import pyNN.neurocosim as sim
from neurocosim.hw.errors import TargetError
from neurocosim.pynn_backend.ir_builder import build_network
from neurocosim.pynn_backend.simulator import state


@pytest.fixture(autouse=True)
def fresh():
    sim.setup(timestep=0.1)
    yield
    sim.end()


def test_ir_mirrors_the_script():
    rng = sim.NumpyRNG(seed=1)
    a = sim.Population(7, sim.IF_cond_exp(tau_m=15.0), label="a")
    b = sim.Population(5, sim.IF_curr_exp(), label="b")
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[[1.0, 2.0], [3.0], []]))
    prj = sim.Projection(src, a, sim.FixedProbabilityConnector(0.6, rng=rng),
                         sim.StaticSynapse(weight=0.01, delay=0.5))
    inh = sim.Projection(a[2:5], b, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=-0.2, delay=1.0), receptor_type="inhibitory")
    b.record(["spikes", "v"], sampling_interval=0.5)
    dc = sim.DCSource(amplitude=0.4, start=5.0, stop=20.0)
    b[1:3].inject(dc)
    net = build_network(state)
    assert [p.name for p in net.populations] == ["a", "b", src.label]
    assert net.population("a").params["tau_m"].tolist() == [15.0] * 7
    ir_prj = {p.name: p for p in net.projections}
    conns = prj.get(["weight", "delay"], format="list", with_address=True)
    assert ir_prj[prj._ir_name].size == len(conns) == len(prj)
    assert sorted(zip(ir_prj[prj._ir_name].pre_idx, ir_prj[prj._ir_name].post_idx)) == \
        sorted((int(i), int(j)) for i, j, *_ in conns)
    # a view's indices map into the parent population; inhibitory weights are magnitudes
    p = ir_prj[inh._ir_name]
    assert set(p.pre_idx.tolist()) == {2, 3, 4} and p.receptor == "inhibitory"
    assert np.allclose(p.weight, 0.2)
    stim = [s for s in net.stimuli if getattr(s, "kind", None) == "dc"][0]
    assert stim.population == "b" and stim.indices.tolist() == [1, 2]
    trains = [s for s in net.stimuli if hasattr(s, "trains")][0].trains
    assert [t.tolist() for t in map(trains.train, range(3))] == [[1.0, 2.0], [3.0], []]
    recs = {(r.variable, r.sampling_interval) for r in net.recordings}
    assert recs == {("spikes", 0.5), ("v", 0.5)}


def test_assembly_projection_splits_per_population():
    a = sim.Population(3, sim.IF_curr_exp(), label="a")
    b = sim.Population(4, sim.IF_curr_exp(), label="b")
    prj = sim.Projection(a + b, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    net = build_network(state)
    pieces = [p for p in net.projections if p.name.startswith(prj._ir_name)]
    assert sorted(p.pre for p in pieces) == ["a", "b"]
    assert sum(p.size for p in pieces) == 7 * 4


def test_bad_parameter_name_is_refused():
    with pytest.raises(errors.NonExistentParameterError):
        sim.IF_curr_exp(tau_mm=10.0)


def test_negative_tau_is_refused_naming_value():
    sim.Population(2, sim.IF_curr_exp(tau_m=-3.0), label="neg")
    with pytest.raises(ValueError, match="tau_m = -3.0 must be > 0"):
        build_network(state)


def test_nan_weight_is_refused():
    a = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError, match="weight is NaN"):
        sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(weight=float("nan")))


def test_delay_below_timestep_is_refused():
    a = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError, match="delay 0.05 ms is below the minimum"):
        sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.05))


def test_negative_excitatory_weight_is_refused():
    a = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError, match="Weights must be positive"):
        sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.1),
                       receptor_type="excitatory")


def test_unknown_target_is_refused():
    with pytest.raises(TargetError, match="unknown target 'nope'"):
        sim.setup(target="nope")
