"""The "sfq" target's compiler: registry, the netlist it builds, its mapping report (every
quantisation and approximation, named), refusals, and the XOR case study."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from neurocosim.hw import compiler
from neurocosim.hw.errors import LimitError, TargetError
from neurocosim.hw.ir import (CurrentSource, Network, Population, Projection, Recording,
                              SpikeArray, SpikeTrains)
from neurocosim.hw.layouts import sfq as L
from neurocosim.hw.targets import get_target

_spec = importlib.util.spec_from_file_location(
    "sfq_xor", Path(__file__).parents[1] / "examples" / "sfq_xor.py")
xor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(xor)


def _if(name, n, thresh=3.0, **over):
    params = {"cm": 1.0, "tau_m": 1e9, "tau_refrac": 0.0, "v_rest": 0.0, "v_reset": 0.0,
              "v_thresh": thresh, "i_offset": 0.0}
    params.update(over)
    return Population(name, n, "IF_curr_delta", params=params)


def chain_network(weight=1.0, **over):
    src = Population("src", 2, "SpikeSourceArray")
    trains = SpikeTrains.from_lists([np.arange(0.01, 3.0, 0.1), np.arange(0.06, 3.0, 0.1)])
    return Network(populations=[src, _if("a", 3, **over)],
                   projections=[Projection("p", "src", "a", [0, 1, 0], [0, 1, 2],
                                           [weight] * 3, [1.0] * 3)],
                   stimuli=[SpikeArray("src", trains)],
                   recordings=[Recording("a", "spikes", np.arange(3))])


def test_registered_with_its_limits():
    spec = get_target("sfq")
    assert spec.runner == "neurocosim.sim.sfq:Engine" and spec.window_ps == 1000.0
    assert spec.timestep is None and spec.recordables == ("spikes",)
    assert get_target("sfq", window_ps=10.0).window_ps == 10.0


def test_compile_builds_synapses_trees_and_neurons():
    image = compiler.compile(chain_network(), "sfq")
    nl, spec = image.data[L.NETLIST], image.target
    # src[0] feeds two synapses through one splitter; 3 synapses; 3 neurons; no mergers
    assert nl.counts() == {"splitter": 1, "synapse": 3, "neuron": 3}
    neurons = [c for c in range(nl.n_cells) if nl.kind_of(c) == "neuron"]
    assert [spec.neuron_threshold(nl.cell_bias[c]) for c in neurons] == [3, 3, 3]
    # only integrating neurons are probed (source spikes are the stimulus)
    assert nl.probe_names == ("a[0]", "a[1]", "a[2]")
    assert image.data[L.PROBE_NEURON].tolist() == [2, 3, 4]
    assert image.data[L.INPUT_NEURON].tolist() == [0, 1]
    assert image.data[L.STEP_FS] == 100_000                  # 0.1 ms x 1000 ps/ms
    assert image.report.worst()["weight"] < 1e-6
    assert not hasattr(image, "quantization")               # the old dict is gone


def _kinds(image):
    return {(a.kind, a.where) for a in image.report.approximations}


def test_the_mapping_report_names_every_change():
    net = chain_network(weight=0.6, v_thresh=3.3, i_offset=-0.5, v_rest=-1.0)
    image = compiler.compile(net, "sfq")
    kinds = _kinds(image)
    a, p = "population 'a'", "projection 'p'"
    assert {("stochastic_weight", p), ("delay_not_modelled", p), ("leak_as_clock", a),
            ("membrane_floor", a), ("initial_v", a), ("no_membrane_leak", a),
            ("pulse_collisions", a), ("spike_times_stepped", a)} <= kinds
    q = {(x.parameter, x.where): x for x in image.report.quantization}
    assert q[("v_thresh", a)].max_abs == pytest.approx(0.3)       # 3.3 mV -> 3 pulses
    assert image.data[L.LEAK_PER_MS].tolist() == [0.0, 0.0, 0.5, 0.5, 0.5]
    with pytest.raises(TargetError, match="strict.*stochastic_weight: projection 'p'"):
        compiler.compile(net, "sfq", strict=True)


def test_weights_the_bias_range_cannot_reach_are_quantised():
    net = chain_network(weight=1e-9)
    err = compiler.compile(net, "sfq").report.worst()["weight"]
    spec = get_target("sfq")
    realised = spec.pass_probability(spec.synapse_bias_min_uA)
    assert err == pytest.approx(abs(realised - 1e-9) / 1e-9) and err > 100


def test_an_unrecorded_population_gets_no_stepping_entry():
    net = chain_network()
    net.recordings = []
    assert not any(k == "spike_times_stepped" for k, _ in _kinds(compiler.compile(net, "sfq")))


@pytest.mark.parametrize("net, error, message", [
    (lambda: chain_network(weight=1.2), LimitError, r"weight \(pass probability\): needs 1.2"),
    (lambda: chain_network(tau_m=20.0), LimitError, "tau_m"),
    (lambda: chain_network(tau_refrac=2.0), LimitError, "tau_refrac"),
    (lambda: chain_network(i_offset=0.5), LimitError, "i_offset"),
    (lambda: chain_network(v_thresh=0.2), LimitError, "threshold"),
    (lambda: chain_network(v_thresh=500.0), LimitError, "neuron threshold"),
])
def test_refusals_name_the_value_and_the_limit(net, error, message):
    with pytest.raises(error, match=message):
        compiler.compile(net(), "sfq")


@pytest.mark.parametrize("dt, message", [
    (0.001, r"timestep \(ps of pulse time\): needs 1.0, the target allows >= 4.0"),
    (0.0100005, r"timestep \(fs of pulse time\): needs 10000.5, the target allows a whole"),
])
def test_a_timestep_the_cells_cannot_separate_is_refused(dt, message):
    net = chain_network()
    net.timestep = dt
    net.projections[0].delay[:] = dt
    with pytest.raises(LimitError, match=message):
        compiler.compile(net, "sfq")


def test_capabilities_are_the_compilers_refusals():
    net = chain_network()
    net.stimuli.append(CurrentSource("dc", "a", [0], {"amplitude": 1.0, "start": 0.0,
                                                      "stop": 1.0}))
    with pytest.raises(TargetError, match="has no current sources"):
        compiler.compile(net, "sfq")
    net = chain_network()
    net.recordings.append(Recording("a", "v", np.arange(3)))
    with pytest.raises(TargetError, match="cannot record 'v' of population 'a'; it records "
                                          "spikes"):
        compiler.compile(net, "sfq")


def test_recurrent_and_other_models_are_refused():
    net = Network(populations=[_if("a", 2)],
                  projections=[Projection("rec", "a", "a", [0], [1], [0.5], [1.0])])
    with pytest.raises(TargetError, match="feed-forward"):
        compiler.compile(net, "sfq")
    lif = Population("b", 1, "IF_curr_exp", params={
        "cm": 1.0, "tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 5.0, "tau_refrac": 0.0,
        "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0, "i_offset": 0.0})
    with pytest.raises(TargetError, match="cannot map population 'b' of model IF_curr_exp"):
        compiler.compile(Network(populations=[lif]), "sfq")


def test_xor_classifies_all_four_inputs_with_a_margin():
    rates = xor.output_rates(0.0, windows=10)
    assert rates[0] == 0 and rates[3] < 1.0
    assert min(rates[1], rates[2]) > 6.0
    assert xor.margin(rates) > 0.15


def test_xor_margin_is_tuned_by_the_global_bias():
    margins = {g: xor.margin(xor.output_rates(g, windows=5)) for g in (-24.0, -8.0, 0.0, 12.0)}
    assert margins[-24.0] <= 0.0 and margins[-8.0] < 0.0      # biased off: misclassifies
    assert margins[12.0] >= margins[0.0] > 0.15


def test_a_pynn_script_runs_unchanged_on_sfq():
    import neurocosim.pynn_backend as sim
    sim.setup(timestep=0.1, target="sfq")
    trains = [list(np.arange(0.05, 5, 0.1)), list(np.arange(0.1, 5, 0.1))]
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=trains))
    n = sim.Population(2, sim.IF_curr_delta(tau_m=1e9, tau_refrac=0.0, v_rest=0.0,
                                            v_reset=0.0, v_thresh=4.0, i_offset=0.0))
    sim.Projection(src, n, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.8, delay=0.1))
    n.record("spikes")
    sim.run(5.0)
    counts = [len(s) for s in n.get_data().segments[0].spiketrains]
    sim.end()
    # ~49 pulses x 0.8 passed / threshold 4 = ~10 spikes each (binomial, 4.5 sd bounds)
    assert all(6 <= c <= 12 for c in counts), counts
