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


# --- setup() settings, strict mode, reset and labels on the target contract ---------------

def _small_net():
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[[1.0, 4.0], [2.0], []]))
    cells = sim.Population(2, sim.IF_curr_exp(v_thresh=-64.0))
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0))
    cells.record("spikes")
    return src, cells


def test_setup_settings_reach_the_spec_and_the_compiler():
    sim.setup(timestep=1.0, target="fpga", neurons_per_core=512)
    assert state.spec.neurons_per_core == 512
    _small_net()
    sim.run(5.0)
    assert state.image.target.neurons_per_core == 512


def test_an_unknown_setting_is_an_error_naming_options_and_spec_fields():
    with pytest.raises(TargetError) as info:
        sim.setup(timestep=1.0, target="fpga", neurons_per_cor=512)
    msg = str(info.value)
    assert "neurons_per_cor" in msg and "runner options are" in msg
    assert "spec fields" in msg and "neurons_per_core" in msg and "'device'" in msg


def test_other_backends_keywords_are_ignored():
    sim.setup(timestep=1.0, target="fpga", threads=4, t_flush=10.0, quit_on_end=False,
              filename="va.xml", label="VA")
    assert state.target_options == {}


def test_threads_reaches_the_engines_that_have_it_and_a_bad_value_is_named():
    """NEST's `threads` keyword is the reference and loihi runners' own option."""
    import numba
    most = numba.config.NUMBA_NUM_THREADS
    sim.setup(timestep=1.0, target="loihi", threads=1)
    assert state.target_options == {"threads": 1}
    sim.setup(timestep=1.0, threads=most + 1)
    assert state.target_options == {"threads": most + 1}
    _small_net()
    with pytest.raises(TargetError, match=rf"threads={most + 1}; use a whole number from 1 "
                                          rf"to {most}"):
        sim.run(5.0)


def test_strict_reaches_the_compiler(monkeypatch):
    from neurocosim.hw import compiler
    seen = []
    real = compiler.compile

    def spy(network, target, strict=False, **overrides):
        seen.append(strict)
        return real(network, target, strict=strict, **overrides)

    monkeypatch.setattr(compiler, "compile", spy)
    sim.setup(timestep=1.0, strict=True)
    _small_net()
    sim.run(5.0)
    assert seen == [True]


def test_strict_refuses_an_approximating_target_by_name():
    """Two array spikes of one source in one 1 ms step: loihi merges them (its mapping
    report says so); strict mode makes that an error naming the approximation."""
    sim.setup(timestep=1.0, target="loihi", strict=True)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[[5.0, 5.2]]))
    cells = sim.Population(1, sim.IF_curr_exp())
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5))
    with pytest.raises(TargetError, match="strict.*input_spikes_merged"):
        sim.run(10.0)


@pytest.mark.parametrize("target", ["reference", "loihi"])
def test_reset_does_not_recompile_and_repeats_the_run(monkeypatch, target):
    from neurocosim.hw import compiler
    calls = []
    real = compiler.compile
    monkeypatch.setattr(compiler, "compile", lambda *a, **k: calls.append(1) or real(*a, **k))
    sim.setup(timestep=1.0, target=target)
    _, cells = _small_net()
    sim.run(10.0)
    first = state.result().spikes[cells._ir_name]
    sim.reset()
    sim.run(10.0)
    again = state.result().spikes[cells._ir_name]
    assert len(calls) == 1 and state.t == 10.0
    assert len(first) > 0 and first.times.tolist() == again.times.tolist()


def test_a_changed_network_after_reset_is_handed_to_update(monkeypatch):
    sim.setup(timestep=1.0)
    _, cells = _small_net()
    sim.run(10.0)
    updated = []
    monkeypatch.setattr(type(state.engine), "update",
                        lambda self, net: updated.append(net.population(cells._ir_name)))
    sim.reset()
    cells.initialize(v=-60.0)
    sim.run(10.0)
    assert len(updated) == 1 and updated[0].initial["v"].tolist() == [-60.0, -60.0]


def test_automatic_labels_restart_at_every_setup():
    """The same script gives the same labels each time it is set up (compare runs it once
    per target)."""
    labels = []
    for _ in range(3):
        sim.setup(timestep=1.0)
        src, cells = _small_net()
        labels.append((src.label, cells.label, src._ir_name, cells._ir_name))
    assert labels[0] == labels[1] == labels[2]
    assert labels[0][:2] == ("population0", "population1")


def test_a_forced_target_leaves_out_the_settings_of_the_scripts_own_target():
    """`neurocosim run --target reference` on a script written for fpga: its fpga
    settings are named in a warning and not used; --set settings are used."""
    from neurocosim.pynn_backend.control import forced_setup
    with forced_setup("loihi", {"timing": False}):
        with pytest.warns(UserWarning, match=r"\['neurons_per_core'\] are for target 'fpga'"):
            sim.setup(timestep=1.0, target="fpga", neurons_per_core=512)
    assert state.spec.name == "loihi" and state.target_options == {"timing": False}
