"""TrueNorth-style target end to end: compile limits, delays and the scheduler, fan-out
copies, save/load, and tick slipping on a slow mesh."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.emulator.truenorth import Engine
from neurocosim.emulator.truenorth.oracle import run_oracle, scheduler_oracle
from neurocosim.hw import (Network, Population, PoissonSource, Projection, Recording,
                           SpikeArray, SpikeTrains)
from neurocosim.hw.errors import LimitError, TargetError

LIF = dict(cm=1.0, tau_m=20.0, tau_refrac=0.0, v_rest=-65.0, v_reset=-65.0,
           v_thresh=-50.0, i_offset=0.0)
SMALL = dict(cores_x=4, cores_y=4, placement="sequential")


def chain(delays=(1.0,), src_times=(1.0,), weight=20.0, extra=()):
    """Source -> a (delay delays[0]) -> b (delays[1]) ...; each spike makes the next fire."""
    names = ["a", "b", "c", "d"][:len(delays)]
    pops = [Population("src", 1, "SpikeSourceArray", {})]
    pops += [Population(n, 1, "IF_curr_delta", dict(LIF)) for n in names]
    projs, prev = [], "src"
    for n, d in zip(names, delays):
        projs.append(Projection(f"{prev}_{n}", prev, n, [0], [0], weight, d))
        prev = n
    projs += list(extra)
    recs = [Recording(n, "spikes", [0]) for n in names]
    return Network(pops, projs, [SpikeArray("src", SpikeTrains.from_lists([src_times]))],
                   recs, timestep=1.0)


def spike_times(res, name):
    return res.spikes[name].times.tolist()


@pytest.mark.parametrize("d", [1, 2, 7, 15])
def test_delay_through_the_scheduler(d):
    res = hw.run(hw.compile(chain((float(d), 3.0)), "truenorth", **SMALL), 30.0)
    # source stamp 1 ms leaves at tick 0; a integrates at tick d, spike stamped d + 1 ms
    assert spike_times(res, "a") == [d + 1.0]
    assert spike_times(res, "b") == [d + 1.0 + 3.0]


def test_scheduler_wraps_over_many_ticks():
    times = [1.0, 3.0, 16.0, 17.0, 40.0]
    res = hw.run(hw.compile(chain((15.0,), src_times=times), "truenorth", **SMALL), 60.0)
    assert spike_times(res, "a") == [t + 15.0 for t in times]


def test_delay_over_15_ticks_is_a_limit_error():
    with pytest.raises(LimitError, match=r"delay \(ticks\): needs 16, the target allows 15"):
        hw.compile(chain((16.0,)), "truenorth", **SMALL)


def fan_net(n_targets=6, per_pop=1, delays=None):
    """One source -> neuron a -> n_targets target populations (each its own core)."""
    pops = [Population("src", 1, "SpikeSourceArray", {}),
            Population("a", 1, "IF_curr_delta", dict(LIF))]
    projs = [Projection("src_a", "src", "a", [0], [0], 20.0, 1.0)]
    for k in range(n_targets):
        pops.append(Population(f"t{k}", per_pop, "IF_curr_delta", dict(LIF)))
        d = 1.0 if delays is None else delays[k]
        projs.append(Projection(f"a_t{k}", "a", f"t{k}", [0] * per_pop, list(range(per_pop)),
                                20.0, d))
    trains = SpikeTrains.from_lists([[1.0, 5.0, 9.0]])
    return Network(pops, projs, [SpikeArray("src", trains)],
                   [Recording(p.name, "spikes", np.arange(p.size)) for p in pops[1:]],
                   timestep=1.0)


def test_fanout_copies_spike_identically_to_the_original():
    img = hw.compile(fan_net(6), "truenorth", **SMALL)
    assert img.data["mapping"]["fanout_copies"] == 5
    eng = Engine(img)
    eng.run(20.0)
    rows, nid, ticks = eng.copy_spikes()
    a = img.network.offsets()["a"]
    mine = nid == a
    by_row = {int(r): ticks[mine & (rows == r)].tolist() for r in np.unique(rows[mine])}
    assert len(by_row) == 6
    assert all(t == [0 + 1, 4 + 1, 8 + 1] for t in by_row.values())
    res = eng.result()
    assert spike_times(res, "a") == [2.0, 6.0, 10.0]          # copies not reported
    for k in range(6):
        assert spike_times(res, f"t{k}") == [3.0, 7.0, 11.0]


def test_limit_errors_name_the_limit():
    # one neuron reaching 5 axons (delays 1..5 on one core) needs 5 slots > 4
    with pytest.raises(LimitError, match="neurons per core: needs 5, the target allows 4"):
        hw.compile(fan_net(1, delays=[1.0]).__class__(
            [Population("src", 1, "SpikeSourceArray", {}),
             Population("a", 1, "IF_curr_delta", dict(LIF)),
             Population("t", 1, "IF_curr_delta", dict(LIF))],
            [Projection(f"a_t{d}", "a", "t", [0], [0], 1.0, float(d)) for d in range(1, 6)],
            [], [], timestep=1.0), "truenorth", neurons_per_core=4, **SMALL)
    # a neuron with 5 distinct (source, delay) inputs on a 4-axon core
    srcs = Network([Population("src", 5, "SpikeSourceArray", {}),
                    Population("a", 1, "IF_curr_delta", dict(LIF))],
                   [Projection("s", "src", "a", list(range(5)), [0] * 5, 1.0, 1.0)],
                   timestep=1.0)
    with pytest.raises(LimitError, match="axons per core: needs 5, the target allows 4"):
        hw.compile(srcs, "truenorth", axons_per_core=4, **SMALL)
    # five distinct weights on one core with exact axon types
    w5 = Network([Population("src", 5, "SpikeSourceArray", {}),
                  Population("a", 1, "IF_curr_delta", dict(LIF))],
                 [Projection("s", "src", "a", list(range(5)), [0] * 5,
                             [1.0, 2.0, 3.0, 4.0, 5.0], 1.0)], timestep=1.0)
    with pytest.raises(LimitError, match="axon types per core: needs 5, the target allows 4"):
        hw.compile(w5, "truenorth", exact_axon_types=True, **SMALL)
    img = hw.compile(w5, "truenorth", **SMALL)          # clustered instead, error reported
    assert 0 < img.report.worst()["weight"] < 0.5
    assert [a.where for a in img.report.approximations if a.kind == "weights_clustered"] \
        == ["projection 's'"]
    with pytest.raises(LimitError, match="cores per chip: needs 7, the target allows 4"):
        hw.compile(fan_net(6), "truenorth", cores_x=2, cores_y=2)


def test_refuses_what_the_chip_has_not():
    net = chain((1.0,))
    net.projections[0].plasticity = hw.ir.Plasticity(
        "stdp_additive", dict(tau_plus=20.0, tau_minus=20.0, A_plus=0.01, A_minus=0.01,
                              w_min=0.0, w_max=1.0))
    with pytest.raises(TargetError, match="projection 'src_a' with plasticity stdp_additive; "
                                          "it has no plasticity"):
        hw.compile(net, "truenorth", **SMALL)
    net = chain((1.0,))
    net.recordings.append(Recording("a", "gsyn_exc", [0]))
    with pytest.raises(TargetError, match="cannot record 'gsyn_exc' of population 'a'; it "
                                          "records spikes, v"):
        hw.compile(net, "truenorth", **SMALL)
    net = chain((1.0,))
    net.stimuli.append(hw.ir.CurrentSource("dc", "a", [0], dict(amplitude=0.1, start=0.0,
                                                                 stop=5.0)))
    with pytest.raises(TargetError, match="cannot inject a dc current into population 'a'"):
        hw.compile(net, "truenorth", **SMALL)
    with pytest.raises(TargetError, match="whole, non-negative"):
        Engine(hw.compile(chain((1.0,)), "truenorth", **SMALL)).run(0.5)


def random_net(seed=0, n_src=20, n_a=40, n_b=30):
    rng = np.random.default_rng(seed)
    trains = SpikeTrains.from_lists([sorted(rng.choice(np.arange(1, 60), 12, replace=False))
                                     for _ in range(n_src)])
    pops = [Population("src", n_src, "SpikeSourceArray", {}),
            Population("noise", 5, "SpikeSourcePoisson",
                       dict(rate=50.0, start=0.0, duration=1e9)),
            Population("a", n_a, "IF_curr_exp", dict(LIF, tau_syn_E=5.0, tau_syn_I=5.0)),
            Population("b", n_b, "IF_curr_delta", dict(LIF))]
    p1, q1 = rng.integers(0, n_src, 200), rng.integers(0, n_a, 200)
    p2, q2 = rng.integers(0, n_a, 250), rng.integers(0, n_b, 250)
    projs = [Projection("src_a", "src", "a", p1, q1, 1.0, 1.0),
             Projection("noise_a", "noise", "a", rng.integers(0, 5, 40),
                        rng.integers(0, n_a, 40), 0.5, 2.0),
             Projection("a_b", "a", "b", p2, q2, 6.0, rng.integers(1, 6, 250).astype(float)),
             Projection("b_a", "b", "a", q2[:80], p2[:80], 0.4, 2.0,
                        receptor="inhibitory")]
    recs = [Recording("a", "spikes", np.arange(n_a)), Recording("b", "spikes", np.arange(n_b)),
            Recording("a", "v", [0, 3])]
    return Network(pops, projs, [SpikeArray("src", trains), PoissonSource("noise", seed=3)],
                   recs, timestep=1.0, seed=seed)


def same_spikes(r1, r2):
    return all(np.array_equal(r1.spikes[k].ids, r2.spikes[k].ids)
               and np.array_equal(r1.spikes[k].times, r2.spikes[k].times) for k in r1.spikes)


def test_save_load_runs_identically_and_runs_continue(tmp_path):
    img = hw.compile(random_net(), "truenorth", neurons_per_core=16, axons_per_core=64,
                     cores_x=8, cores_y=8)
    path = tmp_path / "tn.img"
    img.save(path)
    back = hw.HardwareImage.load(path)
    r1, r2 = hw.run(img, 80.0), hw.run(back, 80.0)
    assert len(r1.spikes["a"]) > 0 and len(r1.spikes["b"]) > 0
    assert same_spikes(r1, r2)
    assert r1.timing.metrics == r2.timing.metrics
    np.testing.assert_array_equal(r1.signals["a"]["v"].data, r2.signals["a"]["v"].data)
    eng = Engine(back)
    eng.run(30.0)
    eng.run(50.0)
    assert eng.t == 80.0 and same_spikes(r1, eng.result())
    # with normal mesh costs nothing is late: timing does not change the spikes
    assert r1.timing.metrics["packets_late"] == 0
    r3 = hw.run(img, 80.0, timing=False)               # the fused no-timing path
    assert same_spikes(r1, r3)
    np.testing.assert_array_equal(r1.signals["a"]["v"].data, r3.signals["a"]["v"].data)
    assert r1.signals["a"]["v"].data.shape == (81, 2)          # t = 0, 1, ..., 80 ms


def test_tick_slipping_changes_dynamics_on_a_slow_mesh():
    # a, b, c on cores 0, 1, 2 at (0,0), (1,0), (2,0): one hop each, 2 ms per hop (absurd)
    slow = hw.compile(chain((1.0, 1.0, 1.0)), "truenorth", hop_ew_latency_ns=2e6, **SMALL)
    r = hw.run(slow, 20.0)
    assert spike_times(hw.run(slow, 20.0, timing=False), "c") == [4.0]
    # a fires at tick 1; its packet leaves at 1 ms + sweep + spike-out, arrives just after
    # 3 ms: due at tick 2, integrated at tick 4 (stamp 5); b's packet likewise: c at tick 7
    assert [spike_times(r, n) for n in "abc"] == [[2.0], [5.0], [8.0]]
    a = r.timing.arrays
    assert a["packet_deliver_tick"].tolist() == [2, 5]
    assert a["packet_used_tick"].tolist() == [4, 7]
    assert r.timing.metrics["packets_late"] == 2 and r.timing.metrics["slip_ticks_max"] == 2
    # one slot per core: the sweep takes one neuron update; latency = spike out + one hop
    assert r.timing.metrics["core_sweep_max_ns"] == slow.target.neuron_latency_ns
    np.testing.assert_allclose(r.timing.arrays["latency_ns"], [10.0 + 2e6] * 2)


def test_far_destination_slips_a_tick():
    # a on core 1, b on core 6 (sequential on 4x4: (1,0) -> (2,1): two hops at 0.6 ms)
    net = chain((1.0, 1.0))
    fill = [Population(f"f{k}", 1, "IF_curr_delta", dict(LIF)) for k in range(4)]
    net = Network(net.populations[:2] + fill + net.populations[2:], net.projections,
                  net.stimuli, net.recordings, timestep=1.0)
    kw = dict(SMALL, hop_ew_latency_ns=0.6e6, hop_ns_latency_ns=0.6e6)
    slow = hw.compile(net, "truenorth", **kw)
    assert slow.placement.tolist()[0] == [0, 0] and slow.placement.tolist()[5] == [1, 1]
    r = hw.run(slow, 20.0)
    assert spike_times(r, "a") == [2.0]
    assert spike_times(r, "b") == [4.0]          # due at tick 2 (stamp 3), slipped to tick 3
    assert r.timing.metrics["packets_late"] == 1
    assert spike_times(hw.run(slow, 20.0, timing=False), "b") == [3.0]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(1, 40), max_size=6), st.integers(1, 15)),
                min_size=1, max_size=5))
def test_scheduler_matches_oracle_on_generated_trains(rows):
    """Neuron i fires whenever source i's spike (stamp s, sent at tick s - 1) reaches it
    after delay d: the active ticks of the scheduler oracle."""
    n = len(rows)
    trains = SpikeTrains.from_lists([[float(s) for s in r[0]] for r in rows])
    net = Network([Population("src", n, "SpikeSourceArray", {}),
                   Population("a", n, "IF_curr_delta", dict(LIF))],
                  [Projection(f"p{i}", "src", "a", [i], [i], 20.0, float(d))
                   for i, (_, d) in enumerate(rows)],
                  [SpikeArray("src", trains)], [Recording("a", "spikes", np.arange(n))],
                  timestep=1.0)
    res = hw.run(hw.compile(net, "truenorth", **SMALL), 60.0)
    trains_out = res.spikes["a"].trains(n)
    for i, (stamps, d) in enumerate(rows):
        want = scheduler_oracle([(s - 1, d, i) for s in stamps], n)
        assert trains_out[i].tolist() == [k + 1.0 for k in sorted(want)]


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**16), st.booleans())
def test_engine_matches_chip_oracle(seed, stochastic):
    """Engine (no mesh timing) vs the slow whole-chip oracle on a random network, with the
    stochastic modes switched on in the image to exercise every core's LFSR."""
    net = random_net(seed)
    net.populations[1] = Population("noise", 5, "SpikeSourceArray", {})   # arrays only
    net.stimuli = [net.stimuli[0], SpikeArray("noise", SpikeTrains.from_lists(
        [[float(t) for t in range(1 + i, 40, 7)] for i in range(5)]))]
    img = hw.compile(net, "truenorth", neurons_per_core=24, axons_per_core=64, cores_x=8,
                     cores_y=8)
    if stochastic:
        rng = np.random.default_rng(seed)
        for core in img.cores:
            p = core.params
            p["syn_stoch"] = rng.integers(0, 2, p["syn_stoch"].shape)
            p["leak_stoch"] = rng.integers(0, 2, len(p["leak"]))
            p["tm"] = rng.integers(0, 4, len(p["leak"]))
            p["weights"] = np.clip(p["weights"], -255, 255)
    eng = Engine(img, timing=False)
    eng.run(40.0)
    rows, _, ticks = eng.copy_spikes()
    got = sorted(zip(ticks.tolist(), eng.row_core[rows].tolist(), eng.row_slot[rows].tolist()))
    assert got == sorted(run_oracle(img, 40))
    assert len(got) > 0


def test_stochastic_leak_below_one_unit():
    """Large weights make the V unit coarse: the leak rounds to 0 deterministically, the
    stochastic mapping keeps it on average; a run decays V towards v_rest."""
    pops = [Population("src", 1, "SpikeSourceArray", {}),
            Population("a", 1, "IF_curr_delta", dict(LIF, tau_m=1000.0))]
    net = Network(pops, [Projection("s", "src", "a", [0], [0], 14.0, 1.0)],
                  [SpikeArray("src", SpikeTrains.from_lists([[1.0]]))],
                  [Recording("a", "v", [0])], timestep=1.0)
    det = hw.compile(net, "truenorth", **SMALL)
    sto = hw.compile(net, "truenorth", stochastic_leak=True, **SMALL)
    assert det.cores[0].params["leak"][0] == 0 and det.cores[0].params["leak_stoch"][0] == 0
    assert sto.cores[0].params["leak_stoch"][0] == 1 and sto.cores[0].params["leak"][0] < 0
    want = 15.0 / 2 / 1000.0                              # mV per tick, theta / 2 / tau_m
    leak_error = (lambda img: next(q.max_abs for q in img.report.quantization
                                   if q.parameter == "leak" and "'a'" in q.where))
    assert leak_error(sto) < 0.05 * want
    assert leak_error(det) == pytest.approx(want)
    assert [a.kind for a in sto.report.approximations].count("leak_stochastic") == 1
    v = hw.run(sto, 402.0, timing=False).signals["a"]["v"].data[:, 0]
    v_det = hw.run(det, 402.0, timing=False).signals["a"]["v"].data[:, 0]
    assert v_det[-1] == v_det[2]                          # no leak at all
    # 400 ticks of 0.0075 mV on average: 3 mV of decay (binomial sd about 0.4 mV)
    assert abs(v[2] - v[-1] - 400 * want) < 1.5
