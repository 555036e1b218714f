"""Loihi timing model: hop counts, latencies, step durations and energy computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.hw import Network, Population, Projection, Recording, SpikeArray, SpikeTrains

from test_loihi_emulator import small_network

LIF = dict(cm=0.25, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=0.0,
           v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, i_offset=0.0)
# a 2 x 2 mesh of single-core routers, cores placed in order: 0 (0,0), 1 (1,0), 2 (0,1), 3 (1,1)
SMALL_CHIP = dict(tiles_x=2, tiles_y=2, cores_per_tile=1, cores_per_chip=4,
                  compartments_per_core=2, placement="sequential")


def chip_network(spike_steps_a, spike_steps_b=(), targets=("t",)):
    """Sources a, b (core 0, slots 0 and 1), filler f (core 1), targets t on core 2/3."""
    trains = SpikeTrains.from_lists([[s + 1.0 for s in spike_steps_a],
                                     [s + 1.0 for s in spike_steps_b]])
    pops = [Population("src", 2, "SpikeSourceArray", {}),
            Population("f", 2, "IF_curr_exp", dict(LIF)),
            Population("g", 2, "IF_curr_exp", dict(LIF)),
            Population("t", 1, "IF_curr_exp", dict(LIF))]
    projs = [Projection(f"src_{t}", "src", t, [0, 1], [0, 0], [0.01, 0.01], [1.0, 1.0])
             for t in targets]
    return Network(pops, projs, [SpikeArray("src", trains)],
                   [Recording("t", "spikes", [0])], timestep=1.0)


def run_timing(net, steps=3):
    """The per-packet report (timing='trace', through emulator.interconnect), after
    checking that the in-loop model (timing=True) agrees with it."""
    image = hw.compile(net, "loihi", **SMALL_CHIP)
    fused = hw.run(image, float(steps)).timing
    trace = hw.run(image, float(steps), timing="trace").timing
    np.testing.assert_array_equal(fused.arrays["step_ns"], trace.arrays["step_ns"])
    np.testing.assert_array_equal(fused.arrays["link_packets"], trace.arrays["link_packets"])
    for key in ("packets", "latency_mean_ns", "latency_max_ns", "isi_distortion_max_ns",
                "disorder", "energy_total_pJ"):
        assert fused.metrics[key] == pytest.approx(trace.metrics[key]), key
    return image, trace


def test_single_packet_by_hand():
    image, timing = run_timing(chip_network([0]))
    xy = image.routing["core_xy"]
    assert xy.tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]
    spec = image.target
    m, a = timing.metrics, timing.arrays
    assert m["packets"] == 1 and m["synaptic_events"] == 1
    # core 0 -> core 3: one hop east, one hop north
    assert a["packet_hops_ew"].tolist() == [1] and a["packet_hops_ns"].tolist() == [1]
    latency = spec.spike_out_latency_ns + spec.hop_ew_latency_ns + spec.hop_ns_latency_ns
    assert m["latency_mean_ns"] == pytest.approx(latency)                  # 40.6 ns
    barrier = spec.barrier_latency_max_ns             # the used routers span the whole mesh
    assert m["barrier_ns"] == pytest.approx(barrier)
    done = spec.neuron_latency_ns                     # slot 0 of core 0
    step0 = done + latency + spec.synop_latency_ns + barrier
    quiet = 2 * spec.neuron_latency_ns + barrier      # two compartments per full core
    np.testing.assert_allclose(a["step_ns"], [step0, quiet, quiet])
    links = np.flatnonzero(a["link_packets"])
    from neurocosim.hw.mapping import link_id
    assert links.tolist() == sorted([link_id(0, 0, 0, (2, 2)), link_id(1, 0, 2, (2, 2))])
    e = m
    assert e["energy_mesh_ew_pJ"] == pytest.approx(spec.hop_ew_energy_pj)
    assert e["energy_mesh_ns_pJ"] == pytest.approx(spec.hop_ns_energy_pj)
    assert e["energy_synop_pJ"] == pytest.approx(spec.synop_energy_pj)
    assert e["energy_spike_out_pJ"] == pytest.approx(spec.spike_out_energy_pj)
    assert e["energy_neuron_pJ"] == pytest.approx(7 * 3 * spec.neuron_energy_pj)


def test_two_packets_from_one_core_leave_one_after_the_other():
    _, timing = run_timing(chip_network([0], [0]))
    spec = hw.get_target("loihi")
    lat = np.sort(timing.arrays["latency_ns"])
    hops = spec.hop_ew_latency_ns + spec.hop_ns_latency_ns
    out = spec.spike_out_latency_ns
    # a (done 3.7 ns) leaves at 3.7 + 30; b (done 7.4 ns) waits for it, leaves 30 later
    first = out + hops
    second = (spec.neuron_latency_ns + 2 * out) - 2 * spec.neuron_latency_ns + hops
    np.testing.assert_allclose(lat, sorted([first, second]))
    # the receiving core sees them in generation order: no disorder; ISI distortion is
    # the difference between their send gap (30 ns) and their generation gap (3.7 ns)
    assert timing.metrics["disorder"] == 0
    assert timing.metrics["isi_distortion_max_ns"] == pytest.approx(out - spec.neuron_latency_ns)


def test_fan_out_to_two_cores_costs_two_packets_and_shares_no_link():
    _, timing = run_timing(chip_network([0, 1], targets=("t", "g")))
    m, a = timing.metrics, timing.arrays
    assert m["packets"] == 4                           # 2 spikes x 2 destination cores
    step = a["packet_step"]
    assert step.tolist() == [0, 0, 1, 1]
    # core 0 -> core 2 (g): one hop north; core 0 -> core 3 (t): east then north
    hops = sorted(zip(a["packet_hops_ew"][:2].tolist(), a["packet_hops_ns"][:2].tolist()))
    assert hops == [(0, 1), (1, 1)]
    assert m["energy_spike_out_pJ"] == pytest.approx(4 * 69.3)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), per_core=st.integers(3, 12),
       mesh=st.sampled_from([(2, 2, 2), (4, 2, 1), (3, 3, 1)]))
def test_in_loop_timing_equals_interconnect_on_generated_networks(seed, per_core, mesh):
    net = small_network(seed)
    tx, ty, per_tile = mesh
    image = hw.compile(net, "loihi", compartments_per_core=per_core, tiles_x=tx, tiles_y=ty,
                       cores_per_tile=per_tile, cores_per_chip=tx * ty * per_tile,
                       n_chips=4)
    fused = hw.run(image, 40.0).timing
    trace = hw.run(image, 40.0, timing="trace").timing
    np.testing.assert_allclose(fused.arrays["step_ns"], trace.arrays["step_ns"], rtol=1e-12)
    np.testing.assert_array_equal(fused.arrays["link_packets"], trace.arrays["link_packets"])
    for key in ("packets", "synaptic_events", "hops_mean", "latency_mean_ns", "latency_max_ns",
                "isi_distortion_max_ns", "energy_total_pJ", "chip_time_ns"):
        assert fused.metrics[key] == pytest.approx(trace.metrics[key], rel=1e-9), key
    # ties in arrival time are decided on absolute float times by the interconnect: the
    # order-dependent metrics agree up to that rounding
    for key in ("isi_distortion_mean_ns", "disorder"):
        assert fused.metrics[key] == pytest.approx(trace.metrics[key], rel=1e-2, abs=2), key


def test_timing_off_gives_no_report():
    image = hw.compile(chip_network([0]), "loihi", **SMALL_CHIP)
    assert hw.run(image, 2.0, timing=False).timing is None


def test_timing_thread_chunks_equal_the_per_packet_report():
    """Runs longer than one chunk of the timing thread (up to 128 steps), split across
    run() calls: the same step durations and traffic as the per-packet report of one run."""
    from neurocosim.emulator.loihi import Engine
    net = small_network(7)
    image = hw.compile(net, "loihi", compartments_per_core=4, tiles_x=3, tiles_y=2,
                       cores_per_tile=1, cores_per_chip=6, n_chips=4)
    eng = Engine(image, timing=True)
    for part in (70.0, 1.0, 129.0):
        eng.run(part)
    fused = eng.result().timing
    trace = hw.run(image, 200.0, timing="trace").timing
    assert fused.metrics["packets"] > 100
    np.testing.assert_allclose(fused.arrays["step_ns"], trace.arrays["step_ns"], rtol=1e-12)
    np.testing.assert_array_equal(fused.arrays["link_packets"], trace.arrays["link_packets"])
    assert fused.metrics["synaptic_events"] == trace.metrics["synaptic_events"]


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(1, 59), max_size=6),
       order_seed=st.integers(0, 1000))
def test_chunks_timed_apart_and_merged_in_order_equal_one_chunk(seed, cuts, order_seed):
    """Each chunk is timed on its own clock (any thread, any order: the engine's main
    thread helps with the backlog); merged in step order they give the report of timing
    all steps at once, ISI distortion and disorder across the chunk boundaries included."""
    from neurocosim.emulator.loihi import Engine
    from neurocosim.emulator.loihi.timing import (merge, new_scratch, new_state, report,
                                                  time_chunk)
    image = hw.compile(small_network(seed), "loihi", compartments_per_core=4, tiles_x=3,
                       tiles_y=2, cores_per_tile=1, cores_per_chip=6, n_chips=4)
    eng = Engine(image, timing=False)
    eng.rec_flag[:] = True                       # every spike: the timing model's input
    eng.run(60.0)
    ids, steps = eng.spikes()
    counts = np.bincount(steps, minlength=60)
    first = np.concatenate([[0], np.cumsum(counts)])
    xy = image.routing["core_xy"]
    whole = new_state(eng.spec, xy, eng.comps)
    merge(whole, time_chunk(whole, ids, counts, eng, new_scratch(whole)))
    bounds = sorted({0, 60, *cuts})
    split = new_state(eng.spec, xy, eng.comps)
    scratch = new_scratch(split, 1)              # grows on the way
    parts = {}
    for j in np.random.default_rng(order_seed).permutation(len(bounds) - 1):
        a, b = bounds[j], bounds[j + 1]
        parts[j] = time_chunk(split, ids[first[a]:first[b]], counts[a:b], eng, scratch)
    for j in range(len(bounds) - 1):
        merge(split, parts[j])
    one, apart = report(whole, eng.spec, 60), report(split, eng.spec, 60)
    assert one.metrics["packets"] > 50
    for key, value in one.metrics.items():
        assert apart.metrics[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key
    for key, value in one.arrays.items():
        np.testing.assert_allclose(apart.arrays[key], value, rtol=1e-12, atol=1e-9)


def test_blocks_the_timing_thread_has_not_reached_are_timed_by_the_caller():
    """With the timing thread held up, run() times every block of steps itself after the
    dynamics, merges them in step order and does not wait for the thread: the same
    report as the per-packet one."""
    import threading
    from neurocosim.emulator.loihi import Engine
    from neurocosim.emulator.loihi.engine import _timer
    image = hw.compile(small_network(11), "loihi", compartments_per_core=4, tiles_x=3,
                       tiles_y=2, cores_per_tile=1, cores_per_chip=6, n_chips=4)
    trace = hw.run(image, 300.0, timing="trace").timing
    release = threading.Event()
    blocker = _timer().submit(release.wait, 60)  # occupies the one timing thread
    try:
        eng = Engine(image, timing=True)
        eng.run(300.0)
        assert not release.is_set()              # run() did not wait for the held thread
        fused = eng.timing_report()
    finally:
        release.set()
        blocker.result()
    np.testing.assert_allclose(fused.arrays["step_ns"], trace.arrays["step_ns"], rtol=1e-12)
    np.testing.assert_array_equal(fused.arrays["link_packets"], trace.arrays["link_packets"])
    for key in ("packets", "synaptic_events", "latency_mean_ns", "isi_distortion_max_ns"):
        assert fused.metrics[key] == pytest.approx(trace.metrics[key], rel=1e-9), key



@pytest.mark.parametrize("stream_steps, stream_spikes", [(20, 1 << 22), (4096, 0),
                                                          (4096, 1 << 22)])
def test_streams_cut_anywhere_give_the_per_packet_report(monkeypatch, stream_steps,
                                                         stream_spikes):
    """Streams of 20 steps (blocks cut short at each end), streams that end whenever the
    next step's spikes might not fit, and whole runs, over run() calls of 150, 1 and 149
    steps: each step timed once, in step order, as the per-packet model times it, and
    every metric as one run in one stream."""
    from neurocosim.emulator.loihi import Engine
    from neurocosim.emulator.loihi import engine as loihi_engine
    image = hw.compile(small_network(5), "loihi", compartments_per_core=4, tiles_x=3,
                       tiles_y=2, cores_per_tile=1, cores_per_chip=6, n_chips=4)
    trace = hw.run(image, 300.0, timing="trace").timing
    one = hw.run(image, 300.0).timing
    monkeypatch.setattr(loihi_engine, "STREAM_STEPS", stream_steps)
    monkeypatch.setattr(loihi_engine, "STREAM_SPIKES", stream_spikes)
    eng = Engine(image, timing=True)
    for part in (150.0, 1.0, 149.0):
        eng.run(part)
    fused = eng.timing_report()
    assert fused.metrics["packets"] > 100
    np.testing.assert_allclose(fused.arrays["step_ns"], trace.arrays["step_ns"], rtol=1e-12)
    np.testing.assert_array_equal(fused.arrays["link_packets"], trace.arrays["link_packets"])
    for key in ("packets", "synaptic_events", "latency_mean_ns", "isi_distortion_mean_ns",
                "isi_distortion_max_ns", "disorder"):
        assert fused.metrics[key] == pytest.approx(trace.metrics[key], rel=1e-9), key
    for key, value in one.metrics.items():
        assert fused.metrics[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key
    for key, value in one.arrays.items():
        np.testing.assert_allclose(fused.arrays[key], value, rtol=1e-12, atol=1e-9)

def _packets_of_a_run(image) -> float:
    return hw.run(image, 100.0).timing.metrics["packets"]


def test_timing_thread_works_in_a_forked_child():
    """A sweep worker forked after the parent timed a run gets a timing thread of its own
    (the parent's does not exist in the child: it used to wait for it forever)."""
    import multiprocessing as mp
    image = hw.compile(small_network(3), "loihi")
    parent = _packets_of_a_run(image)
    pool = mp.get_context("fork").Pool(1)
    try:
        child = pool.apply_async(_packets_of_a_run, (image,)).get(timeout=60)
    finally:
        pool.terminate()
    assert child == parent > 0
