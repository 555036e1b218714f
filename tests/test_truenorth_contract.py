"""The truenorth target on the target contract (DESIGN.md, "The target contract"): it
consumes the one stimulus (recorded source spikes equal `hw.stimulus` and the reference's,
across split runs), relays exactly those spikes, samples v from t = 0 on the reference's
time base, reports what the chip changes (refractory period, linear leak, rounded delays,
quantised weights) and refuses them in strict mode, and resets without recompiling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.emulator.truenorth import Engine
from neurocosim.emulator.truenorth.oracle import run_oracle
from neurocosim.hw import (Network, Population, PoissonSource, Projection, Recording,
                           SpikeArray, SpikeTrains, metrics)
from neurocosim.hw.errors import TargetError
from neurocosim.hw.stimulus import Stimulus

LIF = dict(cm=1.0, tau_m=20.0, tau_refrac=0.0, v_rest=-65.0, v_reset=-65.0,
           v_thresh=-50.0, i_offset=0.0)
SMALL = dict(cores_x=4, cores_y=4, placement="sequential")


def relay_net(seed: int, rate: float, n: int, delay: float = 1.0, times=None) -> Network:
    """Poisson and array sources, each one-to-one onto a relay neuron that fires on every
    input (20 mV over a 15 mV gap, no refractory period), all recorded."""
    times = times if times is not None else [[0.0, 3.0, 4.0]] + [[2.0]] * (n - 1)
    pops = [Population("poi", n, "SpikeSourcePoisson",
                       dict(rate=rate, start=0.0, duration=1e9)),
            Population("arr", n, "SpikeSourceArray"),
            Population("relay_poi", n, "IF_curr_delta", dict(LIF)),
            Population("relay_arr", n, "IF_curr_delta", dict(LIF))]
    ids = np.arange(n)
    projs = [Projection("pr", "poi", "relay_poi", ids, ids, 20.0, delay),
             Projection("ar", "arr", "relay_arr", ids, ids, 20.0, delay)]
    recs = [Recording(p.name, "spikes", ids) for p in pops]
    return Network(pops, projs, [PoissonSource("poi", seed=seed % 97),
                                 SpikeArray("arr", SpikeTrains.from_lists(times))],
                   recs, timestep=1.0, seed=seed)


def stamps(spikes: hw.Spikes) -> list[tuple[int, int]]:
    """(stamp, neuron) pairs of a population's spikes, sorted."""
    return sorted(zip(np.rint(spikes.times).astype(int).tolist(), spikes.ids.tolist()))


def run_split(image, steps_a: int, steps_b: int, **options) -> hw.Result:
    eng = Engine(image, **options)
    eng.run(float(steps_a))
    eng.run(float(steps_b))
    return eng.result()


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), rate=st.floats(20.0, 400.0), n=st.integers(1, 6),
       split=st.integers(0, 40), delay=st.integers(1, 15), timing=st.booleans())
def test_source_spikes_are_the_one_stimulus_and_relay_exactly(seed, rate, n, split, delay,
                                                              timing):
    """Recorded Poisson spikes equal hw.stimulus and the reference's, over run(a); run(b);
    each relay neuron fires exactly `delay` ticks after each of its source's spikes."""
    T = 40
    net = relay_net(seed, rate, n, float(delay))
    res = run_split(hw.compile(net, "truenorth", **SMALL), split, T - split, timing=timing)
    want = Stimulus(net, 1.0).window(0, T).merged()
    off = net.offsets()
    ref = hw.run(hw.compile(net, "reference"), float(T))
    for src in ("poi", "arr"):
        expected = stamps(want.population(off[src], n, 1.0))
        assert stamps(res.spikes[src]) == expected
        relay = [(s + delay, i) for s, i in expected if s + delay <= T]
        assert stamps(res.spikes[f"relay_{src}"]) == relay
    # the reference delivers a Poisson neuron's 2+ spikes in one step; truenorth merges them
    assert stamps(res.spikes["poi"]) == sorted(set(stamps(ref.spikes["poi"])))
    assert stamps(res.spikes["relay_poi"]) == stamps(ref.spikes["relay_poi"])


def test_engine_matches_chip_oracle_with_poisson_input():
    """The whole-chip oracle reads the same stimulus (Poisson included): same slot spikes."""
    net = relay_net(5, 150.0, 4, 3.0)
    net.projections.append(Projection("back", "relay_poi", "relay_arr", [0, 1, 2], [3, 2, 1],
                                      [6.0, 9.0, 12.0], 2.0, receptor="inhibitory"))
    img = hw.compile(net, "truenorth", **SMALL)
    eng = Engine(img, timing=False)
    eng.run(50.0)
    rows, _, ticks = eng.copy_spikes()
    got = sorted(zip(ticks.tolist(), eng.row_core[rows].tolist(), eng.row_slot[rows].tolist()))
    assert got == sorted(run_oracle(img, 50)) and len(got) > 20


def cuba_like(tau_refrac: float = 5.0) -> Network:
    """Two populations, one with a refractory period, one without; delays of 1.5 ms."""
    rng = np.random.default_rng(1)
    pops = [Population("src", 10, "SpikeSourcePoisson", dict(rate=50.0, start=0.0,
                                                            duration=1e9)),
            Population("exc", 8, "IF_curr_exp", dict(LIF, tau_refrac=tau_refrac,
                                                     tau_syn_E=5.0, tau_syn_I=10.0)),
            Population("inh", 4, "IF_curr_delta", dict(LIF, tau_m=10.0))]
    pre, post = rng.integers(0, 10, 30), rng.integers(0, 8, 30)
    projs = [Projection("in", "src", "exc", pre, post, rng.uniform(0.5, 2.0, 30), 1.0),
             Projection("ei", "exc", "inh", [0, 1, 2, 3], [0, 1, 2, 3], 3.0, 1.5),
             Projection("ie", "inh", "exc", [0, 1], [4, 5], 0.5, 2.0, receptor="inhibitory")]
    pops[1].params["tau_refrac"][:3] = 0.0
    recs = [Recording("exc", "spikes", np.arange(8)), Recording("exc", "v", [0, 5])]
    return Network(pops, projs, [PoissonSource("src", seed=1)], recs, timestep=1.0, seed=4)


def test_mapping_report_names_what_the_chip_changes():
    img = hw.compile(cuba_like(), "truenorth", **SMALL)
    by_kind = {}
    for a in img.report.approximations:
        by_kind.setdefault(a.kind, {})[a.where] = a
    refr = by_kind["refractory_dropped"]
    assert list(refr) == ["population 'exc'"]                 # 'inh' has tau_refrac 0
    assert refr["population 'exc'"].amount == 5 and "5 ms" in refr["population 'exc'"].detail
    leak = by_kind["leak_linearised"]
    assert set(leak) == {"population 'exc'", "population 'inh'"}
    assert "20 ms" in leak["population 'exc'"].detail and "10 ms" in leak["population 'inh'"].detail
    assert list(by_kind["synaptic_current_dropped"]) == ["population 'exc'"]
    rounded = by_kind["delay_rounded"]
    assert list(rounded) == ["projection 'ei'"] and rounded["projection 'ei'"].amount == 4
    quant = {(q.parameter, q.where): q for q in img.report.quantization}
    assert quant[("delay", "projection 'ei'")].max_abs == pytest.approx(0.5)
    for pr in img.network.projections:
        q = quant[("weight", f"projection {pr.name!r}")]
        realised = img.data["weights"][pr.name]
        assert q.max_abs == pytest.approx(np.abs(realised - pr.weight).max())
    assert quant[("weight", "projection 'in'")].unit == "nA"
    assert quant[("weight", "projection 'ei'")].unit == "mV"
    assert ("v_thresh", "population 'inh'") in quant
    assert not hasattr(img, "quantization")
    with pytest.raises(TargetError, match="strict.*refractory_dropped: population 'exc'"):
        hw.compile(cuba_like(), "truenorth", strict=True, **SMALL)


def test_realised_weights_are_the_crossbar_weights():
    """A one-weight-per-projection network: each realised weight is s[G] * lsb of its
    neuron, within half an lsb of the IR's, and the Result carries them."""
    net = relay_net(3, 100.0, 3)
    net.projections[0].weight[:] = [20.0, 20.3, 20.7]
    img = hw.compile(net, "truenorth", **SMALL)
    lsb = img.data["lsb_mV"]
    post = net.offsets()["relay_poi"] + np.arange(3)
    got = img.data["weights"]["pr"]
    assert np.all(np.abs(got - net.projections[0].weight) <= lsb[post] / 2 + 1e-12)
    assert np.allclose(got / lsb[post], np.rint(got / lsb[post]))
    res = hw.run(img, 5.0)
    np.testing.assert_array_equal(res.weights["pr"], got)


def test_v_is_sampled_from_t0_on_the_reference_time_base():
    net = cuba_like()
    net.populations[1].initial["v"] = np.full(8, -60.0)
    img = hw.compile(net, "truenorth", **SMALL)
    ref = hw.run(hw.compile(net, "reference"), 30.0).signals["exc"]["v"]
    for timing in (True, False):
        v = run_split(img, 12, 18, timing=timing).signals["exc"]["v"]
        np.testing.assert_allclose(v.times, np.arange(31.0))
        np.testing.assert_array_equal(v.times, ref.times)
        np.testing.assert_array_equal(v.indices, ref.indices)
        lsb = img.data["lsb_mV"][net.offsets()["exc"] + v.indices]
        assert np.all(np.abs(v.data[0] - (-60.0)) <= lsb / 2)       # the initial state


def test_result_shape_reset_and_options():
    img = hw.compile(cuba_like(), "truenorth", **SMALL)
    eng = Engine(img)
    eng.run(25.0)
    first = eng.result()
    assert first.info["steps"] == 25 and "ticks" not in first.info
    assert first.timing.metrics["steps"] == 25 and "ticks" not in first.timing.metrics
    for name in list(first.timing.metrics) + list(first.timing.arrays):
        metrics.unit(name)
    assert set(first.spikes) == {"exc"} and first.mapping is img.report
    eng.reset()
    assert eng.t == 0.0 and eng.result().signals["exc"]["v"].data.shape[0] == 0
    eng.run(10.0)
    eng.run(15.0)
    again = eng.result()
    assert stamps(again.spikes["exc"]) == stamps(first.spikes["exc"])
    np.testing.assert_array_equal(again.signals["exc"]["v"].data,
                                  first.signals["exc"]["v"].data)
    assert again.timing.metrics == first.timing.metrics
    with pytest.raises(TargetError, match=r"no runner option\(s\) \['ticks'\].*"
                                          r"\['device', 'timing'\]"):
        Engine(img, ticks=3)
    with pytest.raises(TargetError, match="compile it for target 'truenorth'"):
        Engine(hw.compile(cuba_like(), "reference"))


def test_axons_of_equal_mean_but_different_weights_are_named_clustered():
    """[[0.3, -0.1], [-0.1, 0.3]] (mV, delta synapses): both axons carry mean 0.1, so they
    share one axon type and each neuron gets 0.1 from both; the report says so (it
    counted distinct means, 1 <= 4, and named nothing but a 200% weight error)."""
    src = Population("src", 2, "SpikeSourceArray")
    cells = Population("cells", 2, "IF_curr_delta",
                       dict(cm=1.0, tau_m=20.0, tau_refrac=0.0, v_rest=-65.0, v_reset=-65.0,
                            v_thresh=-64.85, i_offset=0.0))
    exc = Projection("exc", "src", "cells", [0, 1], [0, 1], [0.3, 0.3], [1.0, 1.0])
    inh = Projection("inh", "src", "cells", [0, 1], [1, 0], [0.1, 0.1], [1.0, 1.0],
                     receptor="inhibitory")
    net = Network([src, cells], [exc, inh],
                  [SpikeArray("src", SpikeTrains.from_lists([[5.0], [5.0]]))],
                  [Recording("cells", "spikes", np.arange(2))], timestep=1.0)
    image = hw.compile(net, "truenorth")
    named = {a.where for a in image.report.approximations if a.kind == "weights_clustered"}
    assert named == {"projection 'exc'", "projection 'inh'"}
    with pytest.raises(TargetError, match="weights_clustered"):
        hw.compile(net, "truenorth", strict=True)
