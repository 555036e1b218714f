"""The "sfq" target end to end: registry, compiling the IR into a netlist, the image round
trip, the runner API (split runs, sources, Result), refusals, and the XOR case study."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from neurocosim.hw import compiler
from neurocosim.hw.errors import LimitError, TargetError
from neurocosim.hw.image import HardwareImage
from neurocosim.hw.ir import (CurrentSource, Network, PoissonSource, Population, Projection,
                              SpikeArray, SpikeTrains)
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
                   stimuli=[SpikeArray("src", SpikeTrains(trains.times, trains.offsets))])


def test_registered_with_its_limits():
    spec = get_target("sfq")
    assert spec.runner == "neurocosim.sim.sfq:Engine" and spec.window_ps == 1000.0
    assert get_target("sfq", clock_ps=10.0).clock_ps == 10.0


def test_compile_builds_synapses_trees_and_neurons():
    image = compiler.compile(chain_network(), "sfq")
    nl = image.data["netlist"]
    counts = nl.counts()
    # src[0] feeds two synapses through one splitter; 3 synapses; 3 neurons; no mergers
    assert counts == {"splitter": 1, "synapse": 3, "neuron": 3}
    assert image.cores[0].params["threshold"].tolist() == [3, 3, 3]
    assert set(nl.probe_names) == {"src[0]", "src[1]", "a[0]", "a[1]", "a[2]"}
    assert image.quantization["max_weight_error"] < 1e-6


def test_runner_counts_pulses_into_threshold_spikes():
    image = compiler.compile(chain_network(), "sfq")
    res = compiler.run(image, 3.0)
    # 30 input pulses each, weight ~1, threshold 3: 10 output spikes per neuron
    assert res.spikes["a"].counts(3).tolist() == [10, 10, 10]
    assert res.info["rates"]["src"].sum(axis=0).tolist() == [30, 30]
    t = res.spikes["a"].trains(3)[0]
    # every third input pulse (ms * 1000 ps) plus splitter, synapse and neuron delays
    want = (np.arange(0.01, 3.0, 0.1)[2::3] * 1000 + 4.3 + 7.0 + 9.0) / 1000
    assert np.allclose(t, want, atol=1e-9)
    assert res.timing.metrics["energy_J"] > 0


def test_split_runs_and_save_load_give_the_same_result(tmp_path):
    net = chain_network(weight=0.6)
    image = compiler.compile(net, "sfq")
    whole = compiler.run(image, 3.0)
    image.save(tmp_path / "img.npz")
    loaded = HardwareImage.load(tmp_path / "img.npz")
    engine = compiler.runner_for(loaded)(loaded)
    for d in (0.7, 1.3, 1.0):
        engine.run(d)
    assert engine.t == pytest.approx(3.0)
    parts = engine.result()
    for pop in ("src", "a"):
        assert np.array_equal(whole.spikes[pop].times, parts.spikes[pop].times)
    assert whole.timing.metrics == parts.timing.metrics


def test_numba_and_python_engines_give_the_same_result():
    image = compiler.compile(xor.xor_network(1, 1, windows=4), "sfq")
    fast, slow = (compiler.run(image, 4.0, engine=e) for e in ("numba", "python"))
    for pop in ("x", "h", "out"):
        assert np.array_equal(fast.spikes[pop].times, slow.spikes[pop].times)
    assert fast.timing.metrics == slow.timing.metrics
    with pytest.raises(TargetError, match="engine='cuda'"):
        compiler.run(image, 1.0, engine="cuda")


def test_poisson_sources_fire_on_the_clock_at_their_rate():
    src = Population("p", 4, "SpikeSourcePoisson",
                     params={"rate": 10000.0, "start": 0.0, "duration": 1e9})
    net = Network(populations=[src, _if("a", 1, thresh=5.0)],
                  projections=[Projection("pa", "p", "a", [0, 1, 2, 3], [0] * 4, [1.0] * 4,
                                          [1.0] * 4)],
                  stimuli=[PoissonSource("p")], seed=3)
    res = compiler.run(compiler.compile(net, "sfq"), 20.0)
    t_ps = res.spikes["p"].times * 1000.0
    assert np.allclose(t_ps / 20.0, np.rint(t_ps / 20.0))            # on the 20 ps clock
    n = len(res.spikes["p"])
    assert abs(n - 4 * 20 * 10) < 4.5 * np.sqrt(4 * 20 * 10 * 0.8)  # 10 pulses per window


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


def test_current_sources_are_refused():
    net = chain_network()
    net.stimuli.append(CurrentSource("dc", "a", [0], {"amplitude": 1.0, "start": 0.0,
                                                      "stop": 1.0}))
    with pytest.raises(TargetError, match="no current sources"):
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


def test_poisson_rate_above_one_pulse_per_clock_slot_is_refused():
    src = Population("p", 1, "SpikeSourcePoisson",
                     params={"rate": 60000.0, "start": 0.0, "duration": 1e9})
    net = Network(populations=[src], stimuli=[PoissonSource("p")])
    with pytest.raises(LimitError, match="needs 60000.0, the target allows 50000.0"):
        compiler.compile(net, "sfq")
