"""Reference engine behaviour: continuing runs, update, reset, conventions, bad input."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.hw import ir
from neurocosim.hw.errors import NetworkError, TargetError
from neurocosim.sim.reference import Engine
from neurocosim.sim.reference.build import propagators

sys.path.insert(0, str(Path(__file__).parent))
from test_reference_oracle import assert_same, random_network  # noqa: E402

IF_PARAMS = dict(cm=0.25, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0,
                 v_rest=-65.0, v_reset=-70.0, v_thresh=-50.0, i_offset=0.0)


def results_equal(a, b):
    assert_same(a, b, atol=0.0)
    assert set(a.spikes) == set(b.spikes)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), cut=st.integers(1, 399),
       rule=st.sampled_from([None, "stdp_additive", "tsodyks_markram"]),
       model=st.sampled_from(["IF_curr_exp", "IF_cond_alpha", "EIF_cond_exp_isfa_ista"]))
def test_split_runs_equal_one_run(seed, cut, rule, model):
    net = random_network(seed, model, plasticity=rule, currents=True)
    one = Engine(net)
    one.run(40.0)
    two = Engine(net)
    two.run(cut * 0.1)
    two.run(40.0 - cut * 0.1)
    assert two.t == pytest.approx(40.0)
    results_equal(two.result(), one.result())


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), rule=st.sampled_from([None, "stdp_multiplicative"]))
def test_reset_repeats_a_run(seed, rule):
    """After reset the run repeats exactly, from the weights reached (kept, as in NEST)."""
    net = random_network(seed, "IF_curr_alpha", plasticity=rule, currents=True)
    eng = Engine(net)
    eng.run(40.0)
    first = eng.result()
    eng.reset()
    assert eng.t == 0.0
    for name, w in first.weights.items():
        np.testing.assert_array_equal(eng.weights(name), w)
    eng.run(40.0)
    learned = random_network(seed, "IF_curr_alpha", plasticity=rule, currents=True)
    for pr in learned.projections:
        pr.weight = first.weights[pr.name].copy()
    fresh = Engine(learned)
    fresh.run(40.0)
    results_equal(eng.result(), fresh.result())
    if rule is None:
        results_equal(eng.result(), first)


def test_reset_clears_recordings_and_state():
    net = random_network(5, "IF_curr_exp")
    eng = Engine(net)
    eng.run(20.0)
    eng.reset()
    res = eng.result()
    assert all(len(s) == 0 for s in res.spikes.values())
    assert res.signals["cells"]["v"].data.shape[0] == 0
    np.testing.assert_array_equal(eng.get_state("cells", "v"),
                                  net.population("cells").initial["v"])
    eng.run(20.0)
    fresh = Engine(net)
    fresh.run(20.0)
    results_equal(eng.result(), fresh.result())


@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), cut=st.integers(1, 399),
       rule=st.sampled_from([None, "stdp_additive", "tsodyks_markram"]))
def test_update_with_the_same_network_changes_nothing(seed, cut, rule):
    net = random_network(seed, "IF_curr_exp", plasticity=rule, currents=True)
    ref = Engine(net)
    ref.run(40.0)
    eng = Engine(net)
    eng.run(cut * 0.1)
    eng.update(random_network(seed, "IF_curr_exp", plasticity=rule, currents=True))
    eng.run(40.0 - cut * 0.1)
    results_equal(eng.result(), ref.result())


def _chain(delay=5.0, extra=False, i_offset=0.0, weight=0.5):
    """A spike source driving two IF_curr_exp cells through a delayed projection."""
    p = dict(IF_PARAMS, i_offset=i_offset)
    pops = [ir.Population("src", 1, "SpikeSourceArray"),
            ir.Population("cells", 2, "IF_curr_exp", p)]
    prjs = [ir.Projection("c", "src", "cells", [0, 0], [0, 1], [weight, weight], [delay, delay])]
    stim = [ir.SpikeArray("src", ir.SpikeTrains.from_lists([[1.0]]))]
    recs = [ir.Recording("cells", "v", np.arange(2)), ir.Recording("cells", "spikes", np.arange(2))]
    if extra:
        pops.append(ir.Population("late", 1, "IF_curr_exp", dict(IF_PARAMS, i_offset=1.0)))
        prjs.append(ir.Projection("late_c", "late", "cells", [0], [1], [1.0], [0.1]))
        recs.append(ir.Recording("late", "spikes", np.arange(1)))
        recs.append(ir.Recording("cells", "isyn_exc", np.arange(2)))
    return ir.Network(pops, prjs, stim, recs, timestep=0.1)


def test_spikes_in_flight_survive_update_and_new_parts_start_fresh():
    ref = Engine(_chain())
    ref.run(30.0)
    eng = Engine(_chain())
    eng.run(3.0)                 # the source spike (t = 1) is in flight until t = 6
    v_before = eng.get_state("cells", "v")
    eng.update(_chain(extra=True))
    np.testing.assert_array_equal(eng.get_state("cells", "v"), v_before)
    np.testing.assert_array_equal(eng.get_state("late", "v"), [-65.0])
    eng.run(27.0)
    a, b = eng.result(), ref.result()
    va, vb = a.signals["cells"]["v"], b.signals["cells"]["v"]
    np.testing.assert_array_equal(va.times, vb.times)
    # neuron 0 gets nothing from the new population: identical trace, delayed input included
    np.testing.assert_array_equal(va.data[:, 0], vb.data[:, 0])
    assert va.data[61, 0] > va.data[60, 0]          # the input arrives at 6.0 ms, v rises after
    # the new recording starts at the update time, the new population fires from there
    isyn = a.signals["cells"]["isyn_exc"]
    assert isyn.times[0] == pytest.approx(3.0) and isyn.times[-1] == pytest.approx(30.0)
    assert np.all(a.spikes["late"].times > 3.0)
    assert len(a.spikes["late"]) > 0


def test_update_adopts_parameters_and_changed_weights_only():
    eng = Engine(_chain())
    eng.run(10.0)
    eng.update(_chain(i_offset=1.0))
    eng.run(20.0)
    assert len(eng.result().spikes["cells"]) > 0     # the new i_offset drives them
    res = eng.result()
    assert np.all(res.spikes["cells"].times > 10.0)


def test_update_keeps_plastic_weights_but_takes_weights_the_user_changed():
    net = random_network(11, "IF_curr_exp", plasticity="stdp_additive")
    eng = Engine(net)
    eng.run(20.0)
    learned = {pr.name: eng.weights(pr.name) for pr in net.projections}
    new = random_network(11, "IF_curr_exp", plasticity="stdp_additive")
    name = next(pr.name for pr in new.projections if pr.plasticity is not None)
    new_pr = next(pr for pr in new.projections if pr.name == name)
    new_pr.weight[0] = 0.123
    eng.update(new)
    got = eng.weights(name)
    assert got[0] == 0.123
    np.testing.assert_array_equal(got[1:], learned[name][1:])


def test_sampling_times_and_intervals():
    net = _chain()
    net.recordings[0] = ir.Recording("cells", "v", np.array([1]), sampling_interval=0.5)
    eng = Engine(net)
    eng.run(2.0)
    eng.run(1.3)
    eng.run(0.7)
    sig = eng.result().signals["cells"]["v"]
    np.testing.assert_allclose(sig.times, np.arange(0, 4.01, 0.5))
    assert sig.data.shape == (9, 1) and sig.indices.tolist() == [1] and sig.units == "mV"


def test_spike_stamps_and_delivery_time():
    """A source spike at 1.0 ms with delay 1.0 ms moves v at 2.0 ms, not before (delta
    synapse: the jump shows in the sample at 2.0)."""
    p = dict(cm=1.0, tau_m=1e6, tau_refrac=0.0, v_rest=-65.0, v_reset=-70.0, v_thresh=-50.0,
             i_offset=0.0)
    net = ir.Network([ir.Population("s", 1, "SpikeSourceArray"),
                      ir.Population("d", 1, "IF_curr_delta", p)],
                     [ir.Projection("c", "s", "d", [0], [0], [2.0], [1.0])],
                     [ir.SpikeArray("s", ir.SpikeTrains.from_lists([[1.0]]))],
                     [ir.Recording("d", "v", np.array([0])),
                      ir.Recording("s", "spikes", np.array([0]))], timestep=0.1)
    eng = Engine(net)
    eng.run(3.0)
    res = eng.result()
    v = res.signals["d"]["v"].data[:, 0]
    assert res.spikes["s"].times.tolist() == [1.0]
    assert v[19] == pytest.approx(-65.0) and v[20] == pytest.approx(-63.0)


def test_default_initial_values():
    net = ir.Network([
        ir.Population("iz", 2, "Izhikevich", dict(a=0.02, b=0.2, c=-65.0, d=8.0, i_offset=0.0)),
        ir.Population("hh", 1, "HH_cond_exp", dict(
            gbar_Na=20.0, gbar_K=6.0, g_leak=0.01, cm=0.2, v_offset=-63.0, e_rev_Na=50.0,
            e_rev_K=-90.0, e_rev_leak=-65.0, e_rev_E=0.0, e_rev_I=-80.0, tau_syn_E=0.2,
            tau_syn_I=2.0, i_offset=0.0)),
        ir.Population("lif", 1, "IF_cond_exp", dict(IF_PARAMS, e_rev_E=0.0, e_rev_I=-80.0))])
    eng = Engine(net)
    assert eng.get_state("iz", "v").tolist() == [-70.0, -70.0]
    assert eng.get_state("iz", "u").tolist() == [-14.0, -14.0]
    assert eng.get_state("lif", "v").tolist() == [-65.0]
    u = -65.0 + 63.0
    am = 0.32 * (13 - u) / math.expm1((13 - u) / 4)
    bm = 0.28 * (u - 40) / math.expm1((u - 40) / 5)
    assert eng.get_state("hh", "m")[0] == pytest.approx(am / (am + bm))


@pytest.mark.parametrize("tau_m,tau_syn", [(20.0, 5.0), (10.0, 10.0), (10.0, 10.0 + 1e-9),
                                           (3.0, 40.0)])
def test_propagators_match_matrix_exponential(tau_m, tau_syn):
    """v' = -v/tau_m + I/cm, I' = (e*y - I)/tau_syn, y' = -y/tau_syn, v' += const/cm."""
    cm, dt = 0.3, 0.1
    Amat = np.array([[-1 / tau_m, 1 / cm, 0.0, 1 / cm],
                     [0.0, -1 / tau_syn, math.e / tau_syn, 0.0],
                     [0.0, 0.0, -1 / tau_syn, 0.0],
                     [0.0, 0.0, 0.0, 0.0]])
    P = scipy.linalg.expm(Amat * dt)
    p22, p20, psyn, p21, p31 = (float(x) for x in propagators(cm, tau_m, tau_syn, dt))
    np.testing.assert_allclose([p22, p21, p31, p20, psyn],
                               [P[0, 0], P[0, 1], P[0, 2], P[0, 3], P[1, 1]], rtol=1e-10)


def test_delay_shorter_than_a_step_is_an_error():
    net = _chain(delay=0.05)
    with pytest.raises(NetworkError, match="0.05"):
        Engine(net)


def test_run_duration_must_be_whole_steps():
    eng = Engine(_chain())
    with pytest.raises(TargetError, match="0.25"):
        eng.run(0.25)
    with pytest.raises(TargetError, match="-1.0"):
        eng.run(-1.0)
    eng.run(0.3)
    assert eng.t == pytest.approx(0.3)


def test_bad_recordings_and_updates_are_errors():
    net = _chain()
    net.recordings.append(ir.Recording("cells", "gsyn_exc", np.array([0])))
    with pytest.raises(NetworkError, match="gsyn_exc"):
        Engine(net)
    net = _chain()
    net.recordings[0] = ir.Recording("cells", "v", np.array([0]), sampling_interval=0.25)
    with pytest.raises(NetworkError, match="0.25"):
        Engine(net)
    eng = Engine(_chain())
    bigger = _chain()
    bigger.populations[1] = ir.Population("cells", 3, "IF_curr_exp", IF_PARAMS)
    bigger.projections = []
    bigger.recordings = []
    with pytest.raises(NetworkError, match="changed size"):
        eng.update(bigger)


def test_poisson_source_rate_and_reproducibility():
    pops = [ir.Population("p", 50, "SpikeSourcePoisson",
                          dict(rate=100.0, start=100.0, duration=500.0))]
    net = ir.Network(pops, [], [ir.PoissonSource("p", seed=3)],
                     [ir.Recording("p", "spikes", np.arange(50))], timestep=0.1, seed=1)
    a = Engine(net)
    a.run(1000.0)
    sp = a.result().spikes["p"]
    assert sp.times.min() > 100.0 and sp.times.max() <= 600.0
    assert abs(len(sp) - 2500) < 5 * math.sqrt(2500)
    b = Engine(net)
    b.run(1000.0)
    np.testing.assert_array_equal(b.result().spikes["p"].times, sp.times)
    net.stimuli[0] = ir.PoissonSource("p", seed=4)
    c = Engine(net)
    c.run(1000.0)
    assert not np.array_equal(c.result().spikes["p"].times, sp.times)


def test_runs_through_the_target_registry():
    from neurocosim.hw import compiler
    res = compiler.run(compiler.compile(_chain(i_offset=1.0), "reference"), 50.0)
    assert res.target == "reference" and res.t_stop == pytest.approx(50.0)
    assert len(res.spikes["cells"]) > 0 and res.weights["c"].tolist() == [0.5, 0.5]


def test_update_adopts_new_spike_times_and_delays():
    """Spike-array times added mid-run act from then on; a changed delay applies to spikes
    sent after the update."""
    first = _chain(delay=1.0)
    first.recordings.append(ir.Recording("cells", "isyn_exc", np.array([0])))
    eng = Engine(first)
    eng.run(5.0)                                   # the spike at 1.0 arrived at 2.0
    later = _chain(delay=3.0)
    later.recordings.append(ir.Recording("cells", "isyn_exc", np.array([0])))
    later.stimuli[0] = ir.SpikeArray("src", ir.SpikeTrains.from_lists([[1.0, 4.0, 7.0]]))
    eng.update(later)                              # 4.0 is in the past: not sent again
    eng.run(15.0)
    isyn = eng.result().signals["cells"]["isyn_exc"]
    jumps = isyn.times[1:][np.diff(isyn.data[:, 0]) > 0]
    np.testing.assert_allclose(jumps, [2.0, 10.0])   # 1.0 + 1 ms, then 7.0 + 3 ms


def test_update_adds_a_current_source():
    eng = Engine(_chain())
    eng.run(10.0)
    net = _chain()
    net.stimuli.append(ir.CurrentSource("dc", "cells", np.array([1]),
                                        dict(amplitude=2.0, start=0.0, stop=1e9)))
    eng.update(net)
    eng.run(20.0)
    sp = eng.result().spikes["cells"]
    assert len(sp) > 0 and set(sp.ids.tolist()) == {1} and sp.times.min() > 10.0


def test_spike_array_stamps_per_neuron_with_empty_trains():
    trains = [[], [0.3, 0.1], [], [2.0]]
    net = ir.Network([ir.Population("s", 4, "SpikeSourceArray")], [],
                     [ir.SpikeArray("s", ir.SpikeTrains.from_lists(trains))],
                     [ir.Recording("s", "spikes", np.arange(4))])
    eng = Engine(net)
    eng.run(1.0)
    eng.run(2.0)
    sp = eng.result().spikes["s"]
    assert sorted(zip(sp.ids.tolist(), np.round(sp.times, 6).tolist())) == [
        (1, 0.1), (1, 0.3), (3, 2.0)]


def test_update_with_a_population_inserted_before_keeps_recorded_spikes():
    eng = Engine(_chain(i_offset=1.0))
    eng.run(20.0)
    before = eng.result().spikes["cells"]
    assert len(before) > 0
    net = _chain(i_offset=1.0)
    net.populations.insert(0, ir.Population("first", 3, "IF_curr_exp", IF_PARAMS))
    eng.update(net)
    after = eng.result().spikes["cells"]
    np.testing.assert_array_equal(after.ids, before.ids)
    np.testing.assert_array_equal(after.times, before.times)
    assert "first" not in eng.result().spikes
    eng.run(5.0)
    assert eng.result().spikes["cells"].times.tolist()[:len(before)] == before.times.tolist()


@pytest.mark.parametrize("cut", [0.1, 3.7, 12.5, 50.0])
def test_homogeneous_population_update_and_reset_mid_refractoriness(cut):
    """The fast IF_curr_exp path lists refractory neurons; update() and reset() rebuild
    that list, so splitting a run anywhere (neurons mid-refractory) changes nothing."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from networks import build_cuba
    net = build_cuba(n=300, seed=3, p_connect=0.1, record_v=True)
    ref = Engine(net)
    ref.run(100.0)
    eng = Engine(net)
    eng.run(cut)
    moved = build_cuba(n=300, seed=3, p_connect=0.1, record_v=True)
    moved.populations.insert(0, ir.Population("pad", 5, "SpikeSourceArray"))  # shifts ids
    eng.update(moved)
    eng.run(100.0 - cut)
    results_equal(eng.result(), ref.result())
    assert len(ref.result().spikes["cuba"]) > 100
    eng.reset()
    eng.run(100.0)
    results_equal(eng.result(), ref.result())
