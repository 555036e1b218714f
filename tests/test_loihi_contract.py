"""The loihi target on the target contract: one stimulus, one time base, the mapping
report, runner options, reset, and the trace decay width as a spec field."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.emulator.loihi import Engine
from neurocosim.emulator.loihi.oracle import run_oracle
from neurocosim.hw import (Network, Plasticity, PoissonSource, Population, Projection,
                           Recording, SpikeArray, SpikeTrains, TargetError)
from neurocosim.hw.formats import NumberFormat
from neurocosim.hw.layouts import loihi as L
from neurocosim.hw.stimulus import Stimulus

from test_loihi_emulator import small_network

LIF = dict(cm=0.25, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0,
           v_rest=-65.0, v_reset=-70.0, v_thresh=-55.0, i_offset=0.0)


def feed_forward(delay=1.0, weight=0.5, tau_refrac=2.0, plastic=None, trains=None,
                 rate=80.0, model="IF_curr_exp") -> Network:
    """An array source and a Poisson source into one LIF population; every source spike
    and the LIF's v recorded."""
    trains = trains if trains is not None else [[0.0, 3.0, 3.2], [5.0]]
    params = dict(LIF, tau_refrac=tau_refrac)
    if model == "IF_curr_delta":
        params = {k: v for k, v in params.items() if not k.startswith("tau_syn")}
    pops = [Population("arr", 2, "SpikeSourceArray"),
            Population("poi", 4, "SpikeSourcePoisson",
                       dict(rate=rate, start=0.0, duration=1e9)),
            Population("lif", 3, model, params, {"v": np.array([-68.0, -60.0, -57.5])})]
    projs = [Projection("arr_lif", "arr", "lif", [0, 0, 1], [0, 1, 2], [weight] * 3,
                        [delay, 1.0, 1.0], plasticity=plastic),
             Projection("poi_lif", "poi", "lif", [0, 1, 2, 3], [0, 1, 2, 0], [0.3] * 4,
                        [1.0] * 4)]
    recs = [Recording("arr", "spikes", [0, 1]), Recording("poi", "spikes", [1, 3]),
            Recording("lif", "spikes", [0, 1, 2]), Recording("lif", "v", [0, 1, 2])]
    return Network(pops, projs, [SpikeArray("arr", SpikeTrains.from_lists(trains)),
                                 PoissonSource("poi", seed=4)], recs, timestep=1.0, seed=9)


# --- one time base --------------------------------------------------------------------------
def test_v_is_sampled_from_t0_with_the_initial_value():
    net = feed_forward()
    image = hw.compile(net, "loihi")
    eng = Engine(image, timing=False)
    eng.run(4.0)
    eng.run(6.0)
    sig = eng.result().signals["lif"]["v"]
    np.testing.assert_array_equal(sig.times, np.arange(11.0))       # 0, 1, ..., 10 ms
    scale = image.data[L.POPULATIONS][2]["scale"]
    np.testing.assert_allclose(sig.data[0], [-68.0, -60.0, -57.5], atol=0.5 / scale)
    assert not np.allclose(sig.data[1], sig.data[0])


def test_v_sampling_interval_counts_from_t0():
    net = feed_forward()
    net.recordings[-1] = Recording("lif", "v", [1], sampling_interval=3.0)
    res = hw.run(hw.compile(net, "loihi"), 10.0, timing=False)
    sig = res.signals["lif"]["v"]
    np.testing.assert_array_equal(sig.times, [0.0, 3.0, 6.0, 9.0])
    assert sig.data.shape == (4, 1) and sig.data[0, 0] == pytest.approx(-60.0, abs=1e-3)


# --- one stimulus -----------------------------------------------------------------------------
def test_recorded_source_spikes_are_the_one_stimulus():
    """Poisson and array spikes as hw.stimulus makes them (merged: no multiplicity on the
    chip), the array spike at t = 0 at stamp 0, across two runs as in one."""
    net = feed_forward()
    eng = Engine(hw.compile(net, "loihi"), timing=False)
    eng.run(7.0)
    eng.run(33.0)
    res = eng.result()
    win = Stimulus(net, 1.0).window(0, 40).merged()
    off = net.offsets()
    for pop, keep in (("arr", [0, 1]), ("poi", [1, 3])):
        want = win.population(off[pop], net.population(pop).size, 1.0)
        sel = np.isin(want.ids, keep)
        order = np.lexsort((want.ids[sel], want.times[sel]))
        np.testing.assert_array_equal(res.spikes[pop].ids, want.ids[sel][order])
        np.testing.assert_array_equal(res.spikes[pop].times, want.times[sel][order])
    assert res.spikes["arr"].times.tolist() == [0.0, 3.0, 5.0]
    assert len(res.spikes["poi"]) > 5


@pytest.mark.parametrize("model, first_step", [("IF_curr_delta", 0), ("IF_curr_exp", 1)])
def test_a_spike_at_t0_is_sent_before_step_0(model, first_step):
    """Stamp 0 is sent "in step -1": with a 1 ms delay it is in a delta neuron's v after
    step 0 (in an IF_curr_exp's u a step later: the exact-integration lag the compiler
    adds), and the engine equals the oracle fed the same stimulus."""
    net = feed_forward(trains=[[0.0], []], rate=0.0, model=model)
    image = hw.compile(net, "loihi")
    eng = Engine(image, timing=False)
    eng.run(1.0)
    eng.run(2.0)
    assert eng.state()["u0"][net.offsets()["lif"] + 2] == 0        # no input spike
    want = run_oracle(image, 3, Stimulus(net, 1.0).window(0, 3).merged())
    for key in ("u0", "u1", "v"):
        assert eng.state()[key].tolist() == want[key]
    res = eng.result()
    assert res.spikes["arr"].times.tolist() == [0.0]
    ref = hw.run(hw.compile(net, "reference"), 3.0)
    dv_chip = np.diff(res.signals["lif"]["v"].data[:, 0])
    dv_ref = np.diff(ref.signals["lif"]["v"].data[:, 0])
    np.testing.assert_allclose(dv_chip, dv_ref, atol=0.01)
    assert abs(dv_chip[first_step]) > 0.5
    assert np.all(np.abs(dv_chip[:first_step]) < 0.2)


def test_stdp_sees_a_spike_at_t0_as_the_oracle_does():
    """A stamp-0 spike bumps the pre trace before step 0 (the learning engine runs in
    step -1): engine and oracle agree on every weight."""
    rule = Plasticity("stdp_additive", dict(tau_plus=10.0, tau_minus=12.0, A_plus=0.3,
                                            A_minus=0.2, w_min=0.0, w_max=2.0))
    net = feed_forward(plastic=rule, trains=[[0.0, 2.0, 6.0], [0.0, 1.0]], weight=1.5,
                       rate=200.0)
    image = hw.compile(net, "loihi")
    eng = Engine(image, timing=False)
    eng.run(30.0)
    want = run_oracle(image, 30, Stimulus(net, 1.0).window(0, 30).merged())
    assert eng.raw_weights("arr_lif").tolist() == want["weights"]["arr_lif"]
    assert np.any(eng.raw_weights("arr_lif") != Engine(image).raw_weights("arr_lif"))
    for key in ("u0", "v"):
        assert eng.state()[key].tolist() == want[key]


@pytest.mark.parametrize("model", ["IF_curr_exp", "IF_curr_delta"])
def test_v_follows_the_reference_step_for_step(model):
    """The same input on the chip and on the float reference: v agrees at every sample
    up to quantisation (IF_curr_exp's input is not a step early)."""
    net = feed_forward(trains=[[0.0, 4.0, 9.0], [2.0, 11.0]], rate=0.0, model=model,
                       tau_refrac=0.0)
    chip = hw.run(hw.compile(net, "loihi"), 20.0, timing=False).signals["lif"]["v"]
    ref = hw.run(hw.compile(net, "reference"), 20.0).signals["lif"]["v"]
    np.testing.assert_array_equal(chip.times, ref.times)
    assert np.ptp(ref.data) > 1.0
    np.testing.assert_allclose(chip.data, ref.data, atol=0.02)


# --- the mapping report ------------------------------------------------------------------------
def test_a_rounded_delay_is_named_and_refused_in_strict_mode():
    image = hw.compile(feed_forward(delay=1.5), "loihi")
    found = [a for a in image.report.approximations if a.kind == "delay_rounded"]
    assert len(found) == 1 and found[0].where == "projection 'arr_lif'"
    assert found[0].amount == 1 and "1.5 ms -> 2 ms" in found[0].detail
    assert image.cores[-1].memories[L.SYN_DELAY].max() == 2 + 1    # + IF_curr_exp's lag
    q = [q for q in image.report.quantization if q.parameter == "delay"
         and q.where == "projection 'arr_lif'"]
    assert q[0].max_abs == pytest.approx(0.5)
    with pytest.raises(TargetError, match=r"strict.*delay_rounded: projection 'arr_lif'"):
        hw.compile(feed_forward(delay=1.5), "loihi", strict=True)
    whole = hw.compile(feed_forward(delay=2.0), "loihi")
    assert not [a for a in whole.report.approximations if a.kind == "delay_rounded"]


def test_rounded_refractory_and_zeroed_weights_are_named():
    net = feed_forward(tau_refrac=2.4)
    net.projections[1].weight[:] = [0.3, 0.3, 1e-6, 0.3]
    image = hw.compile(net, "loihi")
    kinds = {(a.kind, a.where): a for a in image.report.approximations}
    ref = kinds[("refractory_rounded", "population 'lif'")]
    assert ref.amount == 3 and "2.4 ms -> 2 ms" in ref.detail
    assert kinds[("weights_zeroed", "projection 'poi_lif'")].amount == 1
    params = {(q.parameter, q.where) for q in image.report.quantization}
    for name in ("tau_m", "tau_syn_E", "v_thresh", "bias", "v_init", "tau_refrac"):
        assert (name, "population 'lif'") in params, name
    assert ("weight", "projection 'poi_lif'") in params


def test_stdp_rounding_and_steps_under_the_resolution_are_named():
    rule = Plasticity("stdp_additive", dict(tau_plus=15.0, tau_minus=20.0, A_plus=0.05,
                                            A_minus=1e-6, w_min=0.0, w_max=1.0))
    image = hw.compile(feed_forward(plastic=rule), "loihi")
    kinds = {(a.kind, a.where): a for a in image.report.approximations}
    assert "A_plus 0.05 ->" in kinds[("stdp_rounded", "projection 'arr_lif'")].detail
    assert "A_minus" in kinds[("stdp_below_resolution", "projection 'arr_lif'")].detail
    par = image.data[L.STDP]["arr_lif"]
    assert set(L.STDP_PARAMS) <= set(par)
    worst = image.report.worst()
    for key in ("A_plus", "tau_plus", "tau_minus", "w_max"):
        assert key in worst


# --- runner options, reset --------------------------------------------------------------------
def test_an_unknown_option_is_refused_naming_the_options():
    image = hw.compile(feed_forward(), "loihi")
    with pytest.raises(TargetError, match=r"no runner option\(s\) \['neurons_per_core'\]; "
                                          r"its options are \['device', 'threads', 'timing'\]"):
        Engine(image, neurons_per_core=4)


@pytest.mark.parametrize("timing", [False, True])
def test_reset_then_run_equals_a_fresh_engine(timing):
    image = hw.compile(small_network(4, stdp=False), "loihi", compartments_per_core=9)
    eng = Engine(image, timing=timing)
    eng.run(37.0)
    eng.reset()
    assert eng.t == 0.0 and not eng.spikes()[0].size
    eng.run(60.0)
    again = eng.result()
    fresh = Engine(image, timing=timing)
    fresh.run(60.0)
    first = fresh.result()
    assert sum(len(s) for s in first.spikes.values()) > 20
    for pop, s in first.spikes.items():
        np.testing.assert_array_equal(again.spikes[pop].ids, s.ids)
        np.testing.assert_array_equal(again.spikes[pop].times, s.times)
    np.testing.assert_array_equal(again.signals["exc"]["v"].data,
                                  first.signals["exc"]["v"].data)
    if timing:
        assert again.timing.metrics == first.timing.metrics


def test_reset_keeps_learned_weights():
    image = hw.compile(small_network(3), "loihi")
    eng = Engine(image, timing=False)
    before = eng.raw_weights("src_exc")
    eng.run(150.0)
    learned = eng.raw_weights("src_exc")
    assert np.any(learned != before)
    eng.reset()
    np.testing.assert_array_equal(eng.raw_weights("src_exc"), learned)
    assert eng.result().info["steps"] == 0


def test_timing_names_are_the_metric_vocabulary():
    image = hw.compile(small_network(2), "loihi")
    for timing in (True, "trace"):
        rep = hw.run(image, 20.0, timing=timing).timing
        for name in list(rep.metrics) + list(rep.arrays):
            hw.metrics.unit(name)
        assert rep.metrics["synaptic_events"] > 0 and "synaptic_ops" not in rep.metrics


# --- the trace decay width -----------------------------------------------------------------------
@settings(max_examples=8, deadline=None)
@given(bits=st.sampled_from([5, 8, 12, 16, 24]), seed=st.integers(0, 10_000))
def test_trace_decay_width_is_a_spec_field_bit_exact_with_the_oracle(bits, seed):
    fmt = NumberFormat(bits, frac_bits=bits, signed=False, overflow="saturate")
    net = small_network(seed)
    image = hw.compile(net, "loihi", trace_decay_format=fmt)
    par = image.data[L.STDP]["src_exc"]
    assert par["x_decay"] == min(round(2 ** bits * np.exp(-1.0 / 15.0)), 2 ** bits - 1)
    assert par["y_decay"] == min(round(2 ** bits * np.exp(-1.0 / 20.0)), 2 ** bits - 1)
    eng = Engine(image, timing=False)
    eng.run(50.0)
    want = run_oracle(image, 50, Stimulus(net, 1.0).window(0, 50).merged())
    for name, w in want["weights"].items():
        assert eng.raw_weights(name).tolist() == w, name
    ids, steps = eng.spikes()
    lo = net.offsets()["exc"]
    assert sorted(zip(steps.tolist(), ids.tolist())) == sorted(
        (k, i) for k, i in want["spikes"] if i >= lo)


def test_a_trace_decay_too_wide_for_the_learning_engine_is_refused():
    fmt = NumberFormat(60, frac_bits=60, signed=False, overflow="saturate")
    image = hw.compile(small_network(1), "loihi", trace_decay_format=fmt)
    with pytest.raises(TargetError, match="trace_decay_format \\(60 bits\\)"):
        Engine(image, timing=False)
