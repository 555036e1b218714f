"""hw.mapping: partition under per-core limits, placement, XY routing and routing tables."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.hw import LimitError
from neurocosim.hw.mapping import (core_traffic, hop_matrix, link_id, partition, place,
                                   placement_cost, routing_table, sequential_xy,
                                   split_mantissa_exponent, xy_route)
from neurocosim.hw.formats import NumberFormat


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=4),
       per_core=st.integers(2, 16), axons=st.integers(8, 60), mem=st.integers(40, 200),
       seed=st.integers(0, 1000), split=st.booleans())
def test_partition_respects_every_limit(sizes, per_core, axons, mem, seed, split):
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    m = 4 * n
    pre, post = rng.integers(0, n, m), rng.integers(0, n, m)
    units = rng.integers(1, 3, n)
    try:
        core_of, slot_of = partition(sizes, per_core, pre=pre, post=post, axons_per_core=axons,
                                     synapse_bytes_per_core=mem, bytes_per_synapse=3,
                                     bytes_per_axon=1, units=units, split_populations=split)
    except LimitError as exc:
        assert exc.value > exc.maximum        # only when one neuron alone cannot fit
        return
    assert np.all(np.diff(core_of) >= 0)      # in-order fill
    for c in range(core_of.max() + 1):
        ids = np.flatnonzero(core_of == c)
        assert sorted(slot_of[ids]) == list(range(len(ids)))
        assert units[ids].sum() <= per_core
        here = np.isin(post, ids)
        n_axons = len(np.unique(pre[here]))
        assert n_axons <= axons
        assert 3 * here.sum() + n_axons <= mem
    if split:
        starts = np.cumsum([0] + sizes[:-1])
        for a, b in zip(starts[:-1], starts[1:]):
            assert core_of[b] > core_of[b - 1]


def test_partition_errors_name_limit_and_excess():
    pre = np.arange(10)
    post = np.zeros(10, np.int64)
    with pytest.raises(LimitError, match=r"input axons per core: needs 10, .* allows 8.*2 too"):
        partition([10], 4, pre=pre, post=post, axons_per_core=8)
    with pytest.raises(LimitError, match=r"synapse memory per core \(bytes\): needs 30"):
        partition([10], 4, pre=pre, post=post, synapse_bytes_per_core=20,
                  bytes_per_synapse=3)
    with pytest.raises(LimitError, match=r"cores: needs 3, the target allows 2"):
        partition([10], 4, cores=2)
    with pytest.raises(LimitError, match="neurons per core"):
        partition([2], 1, units=np.array([1, 2]))


def test_xy_route_by_hand():
    hops, links = xy_route((0, 0), (2, 1))
    assert hops == 3
    assert links == [((0, 0), (1, 0)), ((1, 0), (2, 0)), ((2, 0), (2, 1))]
    hops, links = xy_route((3, 2), (1, 0))
    assert links == [((3, 2), (2, 2)), ((2, 2), (1, 2)), ((1, 2), (1, 1)), ((1, 1), (1, 0))]
    assert xy_route((1, 1), (1, 1)) == (0, [])


def test_routing_table_for_known_traffic():
    # 3 cores on a 4x1 mesh at x = 0, 1, 3; neuron 0 (core 0) feeds cores 1 and 2
    core_of = np.array([0, 1, 2, 2])
    pre = np.array([0, 0, 0, 1])
    post = np.array([1, 2, 3, 3])
    xy = np.array([[0, 0], [1, 0], [3, 0]])
    rt = routing_table(core_of, pre, post, xy, (4, 1))
    assert rt.dest_core[rt.dest_ptr[0]:rt.dest_ptr[1]].tolist() == [1, 2]
    assert rt.dest_core[rt.dest_ptr[1]:rt.dest_ptr[2]].tolist() == [2]
    pairs = list(zip(rt.pair_src.tolist(), rt.pair_dst.tolist()))
    assert pairs == [(0, 1), (0, 2), (1, 2)]
    assert rt.hops_ew.tolist() == [1, 3, 2] and rt.hops_ns.tolist() == [0, 0, 0]
    p = pairs.index((1, 2))
    assert rt.pair_links[rt.pair_ptr[p]:rt.pair_ptr[p + 1]].tolist() == [
        link_id(1, 0, 0, (4, 1)), link_id(2, 0, 0, (4, 1))]
    traffic = core_traffic(core_of, pre, post, 3)
    assert traffic.tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert placement_cost(traffic, xy) == 1 + 3 + 2


def clustered_traffic(seed: int, groups: int = 8, size: int = 4) -> np.ndarray:
    """Heavy traffic inside randomly numbered groups of cores, light noise elsewhere."""
    rng = np.random.default_rng(seed)
    n = groups * size
    perm = rng.permutation(n)
    t = rng.random((n, n)) * 0.2
    for g in range(groups):
        m = perm[g * size:(g + 1) * size]
        t[np.ix_(m, m)] += 10.0
    np.fill_diagonal(t, 0)
    return t


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("mesh,per_router", [((8, 4), 1), ((4, 2), 4)])
def test_graph_placement_beats_sequential_on_clustered_traffic(seed, mesh, per_router):
    t = clustered_traffic(seed)
    seq = placement_cost(t, sequential_xy(len(t), mesh, per_router))
    xy = place(t, mesh, strategy="graph", seed=seed, cores_per_router=per_router)
    assert placement_cost(t, xy) < 0.7 * seq
    # a valid placement: positions inside the mesh, no router over-full
    assert xy[:, 0].max() < mesh[0] and xy[:, 1].max() < mesh[1]
    _, counts = np.unique(xy[:, 1] * mesh[0] + xy[:, 0], return_counts=True)
    assert counts.max() <= per_router


def test_place_refuses_too_many_cores_and_unknown_strategy():
    with pytest.raises(LimitError, match="cores on the mesh: needs 9"):
        place(np.zeros((9, 9)), (2, 2), cores_per_router=2)
    with pytest.raises(ValueError, match="strategy 'magic'"):
        place(np.zeros((3, 3)), (2, 2), strategy="magic")


def test_hop_matrix_is_manhattan():
    xy = np.array([[0, 0], [2, 3], [1, 1]])
    assert hop_matrix(xy).tolist() == [[0, 5, 2], [5, 0, 3], [2, 3, 0]]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=20))
def test_split_mantissa_exponent_is_nearest_with_finest_exponent(vals):
    fmt = NumberFormat(8, signed=False)
    v = np.array(vals)
    m, e = split_mantissa_exponent(v, fmt, -8, 15)
    assert m.min() >= 0 and m.max() <= 255
    np.testing.assert_allclose(m * 2.0**e, v, atol=2.0**e / 2 + 1e-9)
    if e > -8:   # one exponent finer would overflow the mantissa
        assert np.rint(v.max() / 2.0 ** (e - 1)) > 255
