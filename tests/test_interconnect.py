"""Interconnect model: hop counts, latencies and contention by hand; kernels vs oracles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.emulator.interconnect import (MeshCosts, MeshRouter, barrier_timing, route,
                                              route_oracle, slip_ticks, sort_by_keys,
                                              spike_metrics, spike_metrics_oracle,
                                              sweep_route, tick_timing)
from neurocosim.hw.errors import TargetError
from neurocosim.hw.mapping import link_id

COSTS = MeshCosts(hop_ew_latency_ns=4.0, hop_ns_latency_ns=6.0, hop_ew_energy_pj=3.0,
                  hop_ns_energy_pj=4.0)


def test_one_packet_xy_by_hand():
    xy = [[0, 0], [2, 1]]
    r = route([0], [1], [10.0], xy, (3, 2), COSTS)
    assert r.hops_ew.tolist() == [2] and r.hops_ns.tolist() == [1]
    assert r.arrival_ns.tolist() == [10.0 + 4 + 4 + 6]
    used = np.flatnonzero(r.link_packets).tolist()
    # x first: E from (0,0), E from (1,0), then N from (2,0)
    assert used == sorted([link_id(0, 0, 0, (3, 2)), link_id(1, 0, 0, (3, 2)),
                           link_id(2, 0, 2, (3, 2))])
    back = route([1], [0], [0.0], xy, (3, 2), COSTS)
    assert np.flatnonzero(back.link_packets).tolist() == sorted(
        [link_id(2, 1, 1, (3, 2)), link_id(1, 1, 1, (3, 2)), link_id(0, 1, 3, (3, 2))])


def test_shared_router_is_zero_hops():
    r = route([0], [1], [5.0], [[1, 1], [1, 1]], (2, 2), COSTS)
    assert r.hops.tolist() == [0] and r.arrival_ns.tolist() == [5.0]


def test_link_contention_by_hand():
    costs = MeshCosts(hop_ew_latency_ns=4.0, hop_ns_latency_ns=6.0, link_occupancy_ns=10.0)
    # cores 0 and 1 share router (0,0); both send to core 2 at (1,0) at t = 0
    r = route([0, 1], [2, 2], [0.0, 0.0], [[0, 0], [0, 0], [1, 0]], (2, 1), costs)
    assert r.arrival_ns.tolist() == [4.0, 14.0]
    assert r.wait_ns.tolist() == [0.0, 10.0]
    lid = link_id(0, 0, 0, (2, 1))
    assert r.link_packets[lid] == 2 and r.link_busy_ns[lid] == 20.0


def test_fifo_by_arrival_at_the_link():
    costs = MeshCosts(hop_ew_latency_ns=4.0, hop_ns_latency_ns=6.0, link_occupancy_ns=10.0)
    # A (index 0) leaves (0,0) at 0 and reaches link (1,0)E at 4; B (index 1) is generated
    # at (1,0) at 2, takes that link first; A waits until 12
    r = route([0, 1], [2, 2], [0.0, 2.0], [[0, 0], [1, 0], [2, 0]], (3, 1), costs)
    assert r.arrival_ns.tolist() == [16.0, 6.0]
    assert r.wait_ns.tolist() == [8.0, 0.0]


def test_serial_injection_by_hand():
    costs = MeshCosts(hop_ew_latency_ns=4.0, hop_ns_latency_ns=6.0, inject_latency_ns=30.0,
                      link_occupancy_ns=0.0)
    r = route([0, 0], [1, 1], [0.0, 0.0], [[0, 0], [1, 0]], (2, 1), costs)
    assert r.arrival_ns.tolist() == [34.0, 64.0]
    par = route([0, 0], [1, 1], [0.0, 0.0], [[0, 0], [1, 0]], (2, 1),
                MeshCosts(4.0, 6.0, inject_latency_ns=30.0, serial_inject=False,
                          link_occupancy_ns=0.0))
    assert par.arrival_ns.tolist() == [34.0, 34.0]


def test_metrics_on_hand_trace():
    # core 0 receives gen 0, 10, 5 at 3, 20, 30; core 1 receives one packet
    m, a = spike_metrics([0, 0, 0, 1], [0.0, 10.0, 5.0, 0.0], [3.0, 20.0, 30.0, 1.0])
    assert m["latency_mean_ns"] == pytest.approx((3 + 10 + 25 + 1) / 4)
    assert m["latency_max_ns"] == 25 and m["latency_min_ns"] == 1
    # deltas: (20-3)-(10-0) = 7, (30-20)-(5-10) = 15
    assert m["isi_distortion_max_ns"] == 15 and m["isi_distortion_min_ns"] == 7
    assert m["isi_distortion_mean_ns"] == 11 and m["disorder"] == 1
    assert a["core_disorder"].tolist() == [1, 0]
    assert a["core_isi_distortion_max_ns"].tolist() == [15.0, 0.0]


def test_barrier_steps_by_hand():
    costs = MeshCosts(hop_ew_latency_ns=4.0, hop_ns_latency_ns=6.0, hop_ew_energy_pj=3.0,
                      hop_ns_energy_pj=4.0, barrier_ns=100.0)
    xy = [[0, 0], [1, 1]]
    busy = np.array([[5.0, 2.0], [7.0, 50.0], [1.0, 1.0]])
    rep = barrier_timing([0, 0, 2], [0, 0, 1], [1, 1, 0], [5.0, 5.0, 1.0], xy, (2, 2), costs,
                         n_steps=3, core_busy_ns=busy, rx_ns=[3.0, 3.0, 0.0])
    a, m = rep.arrays, rep.metrics
    # step 0: packet 0 holds E 5..9 and N 9..15, arrives 15 (rx until 18); packet 1 waits
    # for E until 9 (holds it 9..13), for N until 15, arrives 21, rx until 24;
    # step 1: core 1 busy 50; step 2 (starts at 124 + 150): one packet, 1 + 4 + 6 = 11
    np.testing.assert_allclose(a["step_ns"], [124.0, 150.0, 111.0])
    np.testing.assert_allclose(a["packet_arrival_ns"], [15.0, 21.0, 274.0 + 11.0])
    np.testing.assert_allclose(a["latency_ns"], [10.0, 16.0, 10.0])
    assert m["energy_mesh_pJ"] == pytest.approx(3 * (3.0 + 4.0))
    assert m["chip_time_ns"] == pytest.approx(385.0)
    assert m["wait_max_ns"] == 6.0 and m["isi_distortion_max_ns"] == 6.0


def test_tick_slips():
    costs = MeshCosts(hop_ew_latency_ns=0.6e6, hop_ns_latency_ns=0.6e6, tick_ns=1e6)
    # generated in tick 0, due at tick 1; one hop arrives at 0.6 ms (on time), two at 1.2 ms
    rep = tick_timing([1, 1], [0, 0], [1, 2], [0.0, 0.0], [[0, 0], [1, 0], [2, 0]], (3, 1),
                      costs, n_ticks=3)
    assert rep.arrays["packet_used_tick"].tolist() == [1, 2]
    assert rep.metrics["packets_late"] == 1 and rep.metrics["slip_ticks_max"] == 1
    assert slip_ticks([3, 1], [1e6, 1e6], 1e6).tolist() == [3, 1]    # on the edge: in time
    assert rep.metrics["steps"] == 3 and "ticks" not in rep.metrics


def test_reports_speak_the_metric_vocabulary():
    """Both disciplines name every metric and array from hw.metrics (the runners pass
    them through hw.metrics.timing_report, which refuses any other name)."""
    from neurocosim.hw import metrics
    costs = MeshCosts(hop_ew_latency_ns=4.0, hop_ns_latency_ns=6.0, barrier_ns=10.0)
    xy = [[0, 0], [1, 1]]
    reports = [barrier_timing([0, 1], [0, 1], [1, 0], [1.0, 2.0], xy, (2, 2), costs, 2),
               tick_timing([1, 2], [0, 1], [1, 0], [1.0, 2.0], xy, (2, 2), costs, 3)]
    for rep in reports:
        metrics.timing_report("test", rep.metrics, rep.arrays)


def test_bad_input_is_named():
    with pytest.raises(TargetError, match="outside the 2 x 2 mesh"):
        route([0], [0], [0.0], [[2, 0]], (2, 2), COSTS)
    with pytest.raises(TargetError, match="destination core 5"):
        route([0], [5], [0.0], [[0, 0]], (2, 2), COSTS)
    with pytest.raises(TargetError, match="tick_ns"):
        MeshCosts(1.0, 1.0, tick_ns=0.0)
    router = MeshRouter([[0, 0]], (1, 1), COSTS)
    router.advance(10.0)
    with pytest.raises(TargetError, match="before the router's time"):
        router.inject([0], [0], [5.0])


# --- generated inputs: kernels vs oracles -----------------------------------------------------
@st.composite
def traffic(draw, max_packets=40):
    nx, ny = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    n_cores = draw(st.integers(1, 6))
    xy = [[draw(st.integers(0, nx - 1)), draw(st.integers(0, ny - 1))] for _ in range(n_cores)]
    m = draw(st.integers(0, max_packets))
    src = [draw(st.integers(0, n_cores - 1)) for _ in range(m)]
    dst = [draw(st.integers(0, n_cores - 1)) for _ in range(m)]
    gen = [float(draw(st.integers(0, 30))) for _ in range(m)]   # integers: many ties
    costs = MeshCosts(hop_ew_latency_ns=float(draw(st.integers(1, 5))),
                      hop_ns_latency_ns=float(draw(st.integers(1, 5))),
                      link_occupancy_ns=draw(st.sampled_from([None, 0.0, 3.0, 7.0])),
                      inject_latency_ns=float(draw(st.integers(0, 3))),
                      serial_inject=draw(st.booleans()))
    return (np.array(src, np.int64), np.array(dst, np.int64), np.array(gen), np.array(xy),
            (nx, ny), costs)


@settings(max_examples=150, deadline=None)
@given(traffic())
def test_route_matches_oracle(case):
    src, dst, gen, xy, shape, costs = case
    fast, slow = route(src, dst, gen, xy, shape, costs), route_oracle(src, dst, gen, xy,
                                                                      shape, costs)
    for k in ("arrival_ns", "wait_ns", "hops_ew", "hops_ns", "link_packets", "link_busy_ns"):
        np.testing.assert_allclose(getattr(fast, k), getattr(slow, k), err_msg=k)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 150), st.integers(1, 8), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.integers(1, 8))
def test_sort_by_keys_equals_stable_lexsort(n, n_k1, n_k2, seed, n_runs):
    """Both of its algorithms (insertion sort up to 32 ids, natural merge sort above) give
    numpy's stable lexicographic order, ties kept in input order; inputs are a few
    ascending runs, as packet lists are, or shuffled. Few key values: many ties."""
    rng = np.random.default_rng(seed)
    k1 = rng.integers(0, n_k1, n).astype(np.float64)
    k2 = rng.integers(0, n_k2, n).astype(np.float64)
    ids = rng.permutation(n).astype(np.int64)
    if n_runs < 8:                       # n_runs ascending runs of the key order
        cut = np.sort(rng.integers(0, len(ids) + 1, n_runs - 1))
        ids = np.concatenate([part[np.lexsort((k2[part], k1[part]))]
                              for part in np.split(ids, cut)]).astype(np.int64)
    expect = ids[np.lexsort((k2[ids], k1[ids]))]
    got = ids.copy()
    sort_by_keys(got, k1, k2, np.empty(len(ids), np.int64), np.empty(len(ids) + 1, np.int64))
    np.testing.assert_array_equal(got, expect)


@settings(max_examples=200, deadline=None)
@given(traffic(max_packets=80))
def test_sweep_router_equals_event_oracle(case):
    """The barrier step's link-ordered sweep serves every link in the event-driven order:
    identical arrival times (ties included), link counts and hops (no injection stage)."""
    src, dst, gen, xy, shape, costs = case
    costs = MeshCosts(hop_ew_latency_ns=costs.hop_ew_latency_ns,
                      hop_ns_latency_ns=costs.hop_ns_latency_ns,
                      link_occupancy_ns=costs.link_occupancy_ns, serial_inject=False)
    slow = route_oracle(src, dst, gen, xy, shape, costs)
    links = np.zeros(shape[0] * shape[1] * 4, np.int64)
    arr, h_ew, h_ns = sweep_route(gen, xy[src, 0], xy[src, 1], xy[dst, 0], xy[dst, 1],
                                  shape[0], shape[1], costs.hop_ew_latency_ns,
                                  costs.hop_ns_latency_ns, costs.occupancy_ew_ns,
                                  costs.occupancy_ns_ns, links)
    np.testing.assert_array_equal(arr, slow.arrival_ns)
    np.testing.assert_array_equal(links, slow.link_packets)
    assert (h_ew, h_ns) == (slow.hops_ew.sum(), slow.hops_ns.sum())


@settings(max_examples=100, deadline=None)
@given(traffic(), st.integers(1, 10))
def test_incremental_router_equals_one_shot(case, window):
    src, dst, gen, xy, shape, costs = case
    order = np.argsort(gen, kind="stable")        # the order the windows inject packets in
    whole = route(src[order], dst[order], gen[order], xy, shape, costs)
    router = MeshRouter(xy, shape, costs)
    t, delivered = 0.0, []
    while t <= gen.max(initial=0.0):
        # inject everything generated in [t, t + window), then advance just before it ends
        sel = order[(gen[order] >= t) & (gen[order] < t + window)]
        router.inject(src[sel], dst[sel], gen[sel])
        t += window
        ids, arr = router.advance(np.nextafter(t, -np.inf))
        assert (arr < t).all() and (np.diff(arr) >= 0).all()
        delivered.extend(ids.tolist())
    ids, _ = router.advance(np.inf)
    delivered.extend(ids.tolist())
    assert sorted(delivered) == list(range(len(src))) and router.in_flight == 0
    pk = router.packets()
    np.testing.assert_allclose(pk["arrival"], whole.arrival_ns)
    np.testing.assert_allclose(pk["wait"], whole.wait_ns)
    np.testing.assert_array_equal(router.link_packets, whole.link_packets)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 20), st.integers(0, 40)),
                max_size=40))
def test_metrics_match_oracle(rows):
    dst = np.array([r[0] for r in rows], np.int64)
    gen = np.array([float(r[1]) for r in rows])
    recv = gen + np.array([float(r[2]) for r in rows])
    fast, _ = spike_metrics(dst, gen, recv)
    slow = spike_metrics_oracle(dst, gen, recv)
    for k, v in slow.items():
        assert fast[k] == pytest.approx(v), k


@settings(max_examples=60, deadline=None)
@given(traffic(), st.integers(1, 3))
def test_barrier_steps_match_oracle_per_step(case, n_steps):
    src, dst, gen, xy, shape, costs = case
    step = (np.arange(len(src)) * 7) % n_steps
    rep = barrier_timing(step, src, dst, gen, xy, shape, costs, n_steps)
    start = np.concatenate([[0.0], np.cumsum(rep.arrays["step_ns"])])
    for k in range(n_steps):
        sel = np.flatnonzero(step == k)
        slow = route_oracle(src[sel], dst[sel], gen[sel], xy, shape, costs)
        np.testing.assert_allclose(rep.arrays["packet_arrival_ns"][sel],
                                   slow.arrival_ns + start[k])
        if sel.size:    # the step lasts at least until its last arrival (no core work here)
            assert rep.arrays["step_ns"][k] >= slow.arrival_ns.max()


def test_costs_from_target_specs():
    from neurocosim.hw.targets import get_target
    tn = MeshCosts.from_spec(get_target("truenorth"))
    assert tn.tick_ns == 1e6 and tn.hop_ew_latency_ns == 10.0 and tn.inject_latency_ns == 10.0
    lo = get_target("loihi")
    c = MeshCosts.from_spec(lo, serial_inject=False)
    assert (c.hop_ns_latency_ns, c.hop_ns_energy_pj) == (6.5, 4.2)
    assert c.barrier_ns == lo.barrier_latency_max_ns and not c.serial_inject
    with pytest.raises(TargetError, match="no hop latencies"):
        MeshCosts.from_spec(get_target("reference"))
