"""Compiling for the chip targets scales: the mapping's memory grows with the synapses
(and cores), not with cores x cores, and the sparse placement path of large chips beats
sequential placement. A dense core x core matrix (traffic, hops, the swap search's
tables) makes the peak grow 16x when cores grow 4x; these tests fail on that."""

from __future__ import annotations

import tracemalloc

import numpy as np

from neurocosim.hw.mapping import (StageTimes, partition, place, placement_cost,
                                   routing_table, sequential_xy, traffic_matrix)
from neurocosim.hw.mapping import placement as placement_module

MESH = (8 * 40, 4)          # 40 Loihi chips side by side: 5120 slots of 4 per router


def local_synapses(n: int, fanout: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each neuron feeds `fanout` neurons within +-200 of it (a ring): sparse core traffic
    whose good placement keeps neighbouring cores close."""
    rng = np.random.default_rng(seed)
    pre = np.repeat(np.arange(n), fanout)
    post = (pre + rng.integers(-200, 201, pre.size)) % n
    return pre, post


def map_network(n: int) -> tuple[int, float, float, int]:
    """Partition (2 neurons per core), traffic, placement, routing: (cores, placement cost,
    sequential cost, peak bytes traced)."""
    pre, post = local_synapses(n, 6, seed=n)
    tracemalloc.start()
    core_of, _ = partition([n], 2, pre=pre, post=post)
    n_cores = int(core_of.max()) + 1
    traffic = traffic_matrix(core_of, pre, post, n_cores)
    xy = place(traffic, MESH, cores_per_router=4, swap_rounds=1)
    routing_table(core_of, pre, post, xy, MESH)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    seq = placement_cost(traffic, sequential_xy(n_cores, MESH, 4))
    return n_cores, placement_cost(traffic, xy), seq, peak


def test_mapping_memory_grows_linearly_with_cores():
    assert MESH[0] * MESH[1] * 4 > placement_module._DENSE_SLOTS    # the large-chip path
    map_network(200)                        # imports and caches out of the measurement
    small, big = map_network(300), map_network(1200)
    assert big[0] == 4 * small[0]
    # linear: 4x; dense cores x cores tables: 16x
    assert big[3] < 7 * small[3], (small[3], big[3])
    # and no cores x slots or slots x slots table (5120**2 doubles: 210 MB): < 2 kB/synapse
    assert big[3] < 2000 * 1200 * 6, big[3]
    for cores, cost, seq, _ in (small, big):
        assert cost < 0.8 * seq, (cores, cost, seq)


def test_sparse_placement_matches_dense_on_a_mid_size_chip():
    """Both paths on one 300-core chip: the sparse one within 10% of the dense search."""
    pre, post = local_synapses(600, 6, seed=3)
    core_of, _ = partition([600], 2, pre=pre, post=post)
    traffic = traffic_matrix(core_of, pre, post)
    mesh = (8 * 10, 4)
    dense = placement_cost(traffic, place(traffic, mesh, cores_per_router=4))
    saved = placement_module._DENSE_CORES
    try:
        placement_module._DENSE_CORES = 0
        sparse = placement_cost(traffic, place(traffic, mesh, cores_per_router=4))
    finally:
        placement_module._DENSE_CORES = saved
    assert sparse < 1.1 * dense, (sparse, dense)


def test_stage_times_add_rounds_and_forward_every_call():
    ticks = iter([0.0, 1.0, 3.0, 4.0, 4.5, 10.0])
    seen = []
    times = StageTimes(lambda s, d: seen.append((s, d)), clock=lambda: next(ticks))
    for stage, done in (("a", 0.0), ("a", 1.0), ("b", 0.0), ("b", 1.0), ("a", 0.0),
                        ("a", 1.0)):
        times(stage, done)
    assert times.seconds == {"a": 1.0 + 5.5, "b": 1.0}
    assert len(seen) == 6
