"""The one stimulus (hw.stimulus), the mapping report, the metric vocabulary and the
settings split, checked against independent oracles (plain Python loops over hw.rng)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.hw import metrics
from neurocosim.hw.errors import NetworkError, TargetError
from neurocosim.hw.ir import (Network, PoissonSource, Population, SpikeArray, SpikeTrains)
from neurocosim.hw.report import MappingReport
from neurocosim.hw.rng import MASK64, poisson_neuron_seeds, splitmix64, uniform
from neurocosim.hw.runner import split_overrides
from neurocosim.hw.stimulus import InputSpikes, Stimulus, poisson_count
from scipy.stats import poisson


def _splitmix_oracle(x: int) -> int:
    """SplitMix64 as published (Steele, Lea, Flood 2014), on Python ints."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


@settings(deadline=None)
@given(st.integers(0, MASK64))
def test_splitmix_matches_python_ints(x):
    assert splitmix64(x) == _splitmix_oracle(x)


def _poisson_net(rate, start, duration, size, seed, src_seed, dt):
    pop = Population("p", size, "SpikeSourcePoisson",
                     dict(rate=rate, start=start, duration=duration))
    return Network([pop], stimuli=[PoissonSource("p", src_seed)], timestep=dt, seed=seed)


@settings(max_examples=25, deadline=None)
@given(rate=st.floats(0.0, 900.0), start=st.floats(0.0, 20.0), duration=st.floats(0.0, 40.0),
       size=st.integers(1, 6), seed=st.integers(0, 2**40), src_seed=st.integers(0, 99),
       dt=st.sampled_from([0.1, 0.5, 1.0]), steps=st.integers(1, 120))
def test_poisson_window_equals_a_loop_over_stamps(rate, start, duration, size, seed,
                                                  src_seed, dt, steps):
    net = _poisson_net(rate, start, duration, size, seed, src_seed, dt)
    got = Stimulus(net, dt).window(0, steps)
    seeds = poisson_neuron_seeds(seed, src_seed, size)
    p = -np.expm1(-rate * dt / 1000.0)
    first = int(np.floor(start / dt + 1e-9)) + 1
    last = int(np.floor((start + duration) / dt + 1e-9))
    lam = rate * dt / 1000.0
    want = [(s, j) for s in range(1, steps + 1) for j in range(size)
            if first <= s <= last
            for _ in range(_count_oracle(uniform(seeds[j], s), lam))]
    assert list(zip(got.stamp.tolist(), got.neuron.tolist())) == want


def _count_oracle(u: float, lam: float) -> int:
    """Inverse CDF of Poisson(lam) on 1 - u (scipy), with the draw's step threshold."""
    if u >= -np.expm1(-lam):
        return 0
    return max(1, int(poisson.ppf(1.0 - max(u, 2.0 ** -53), lam)))


@settings(max_examples=200, deadline=None)
@given(u=st.floats(0.0, 1.0, exclude_max=True), lam=st.floats(1e-4, 20.0))
def test_poisson_count_is_the_inverse_cdf(u, lam):
    p = -np.expm1(-lam)
    k = poisson_count(u, p)
    assert k == _count_oracle(u, lam) or (        # ties at a CDF step, to rounding
        abs(poisson.cdf(min(k, _count_oracle(u, lam)), lam) - (1.0 - u)) < 1e-9)


def test_poisson_counts_have_the_poisson_mean_and_variance():
    """At rate * dt = 0.8 a 1 ms step often holds two spikes: the one stimulus keeps them."""
    net = _poisson_net(800.0, 0.0, 1e9, 50, 1, 2, 1.0)
    w = Stimulus(net, 1.0).window(0, 400)
    counts = np.zeros((400, 50))
    np.add.at(counts, (w.stamp - 1, w.neuron), 1)
    assert abs(counts.mean() - 0.8) < 0.03 and abs(counts.var() - 0.8) < 0.06


@settings(max_examples=25, deadline=None)
@given(trains=st.lists(st.lists(st.floats(0.0, 50.0), max_size=6), min_size=1, max_size=5),
       cuts=st.lists(st.integers(1, 60), max_size=4), rate=st.floats(0.0, 500.0))
def test_windows_concatenate_to_one_run(trains, cuts, rate):
    """run(a); run(b) sees exactly what run(a + b) sees, arrays and Poisson alike."""
    pops = [Population("a", len(trains), "SpikeSourceArray"),
            Population("p", 3, "SpikeSourcePoisson", dict(rate=rate, start=0.0, duration=1e9))]
    net = Network(pops, stimuli=[SpikeArray("a", SpikeTrains.from_lists(trains)),
                                 PoissonSource("p", 5)], timestep=1.0)
    stim = Stimulus(net, 1.0)
    whole = stim.window(0, 60)
    edges = [0] + sorted(set(cuts)) + [60]
    parts = InputSpikes.concat([stim.window(a, b) for a, b in zip(edges, edges[1:]) if b > a])
    np.testing.assert_array_equal(parts.stamp, whole.stamp)
    np.testing.assert_array_equal(parts.neuron, whole.neuron)
    # every array spike is there, with its multiplicity, on stamp round(t / dt)
    arr = whole.neuron < len(trains)
    want = sorted((int(np.rint(t)), i) for i, tr in enumerate(trains) for t in tr
                  if np.rint(t) <= 60)
    assert sorted(zip(whole.stamp[arr].tolist(), whole.neuron[arr].tolist())) == want


def test_multiplicity_is_counted_and_merged():
    net = Network([Population("a", 2, "SpikeSourceArray")],
                  stimuli=[SpikeArray("a", SpikeTrains.from_lists([[1.0, 1.2, 1.4, 3.0],
                                                                   [1.0]]))], timestep=1.0)
    stim = Stimulus(net, 1.0)
    assert stim.multiple() == {"a": 2}
    w = stim.window(0, 5)
    assert len(w) == 5 and len(w.merged()) == 3
    ptr, stamps = w.per_neuron(2)
    assert ptr.tolist() == [0, 4, 5] and stamps.tolist() == [1, 1, 1, 3, 1]


def test_negative_spike_time_is_refused_by_name():
    net = Network([Population("a", 1, "SpikeSourceArray")],
                  stimuli=[SpikeArray("a", SpikeTrains.from_lists([[-1.0]]))], timestep=1.0)
    with pytest.raises(NetworkError, match="-1.0 ms < 0"):
        Stimulus(net, 1.0)


def test_report_records_worst_errors_and_strict_lists_each_approximation():
    rep = MappingReport("chip")
    assert rep.quantized("weight", "projection 'a'", [1.0, 2.0], [1.0, 2.5], "nA") == 0.25
    rep.quantized("weight", "projection 'b'", [4.0], [4.2], "nA")
    assert rep.worst() == {"weight": 0.25}
    rep.check_strict()                                  # no approximation yet
    rep.approximate("delay_rounded", "projection 'a'", "1.5 ms -> 2 ms", 3)
    rep.approximate("delay_rounded", "projection 'a'", "1.5 ms -> 2 ms", 2)
    assert len(rep.approximations) == 1 and rep.approximations[0].amount == 5
    with pytest.raises(TargetError, match=r"strict.*delay_rounded: projection 'a'"):
        rep.check_strict()
    assert rep.to_dict()["approximations"][0]["amount"] == 5


def test_metric_vocabulary_refuses_unknown_names():
    rep = metrics.timing_report("x", {"latency_mean_ns": 3}, {"step_ns": [1, 2]})
    assert rep.metrics == {"latency_mean_ns": 3.0}
    assert metrics.unit("energy_total_pJ") == "pJ"
    with pytest.raises(TargetError, match="'energy_J'"):
        metrics.timing_report("sfq", {"energy_J": 1.0})


def test_settings_split_into_spec_fields_and_runner_options():
    spec = hw.get_target("fpga")
    runner = hw.runner_for(spec)
    spec_part, opts = split_overrides(spec, runner, {"neurons_per_core": 512,
                                                     "device": "cpu"})
    assert spec_part == {"neurons_per_core": 512} and opts == {"device": "cpu"}
    with pytest.raises(TargetError, match="no setting.*'bogus'.*runner options.*spec fields"):
        split_overrides(spec, runner, {"bogus": 1})


def test_docs_metrics_is_the_vocabulary():
    """docs/metrics.md is generated from hw.metrics; regenerate it when a row changes:
    python -c "import neurocosim.hw.metrics as m; open('docs/metrics.md','w').write(m.markdown())" """
    from pathlib import Path
    doc = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
    assert doc.read_text() == metrics.markdown()
