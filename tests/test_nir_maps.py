"""Linear NIR nodes as sparse maps: convolutions and pooling unrolled, checked against a
naive loop over PyTorch's definition; Delay, Flatten and chains composed into one
projection with the right delays; errors that name the node."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nir  # noqa: E402  (a main dependency: missing is a failure, not a skip)

from neurocosim.hw.errors import NetworkError  # noqa: E402
from neurocosim.nirio import maps, read  # noqa: E402


def naive_conv2d(x, w, stride, pad, dil, groups, bias):
    """out[co, y, x] = b[co] + sum w[co, c, ky, kx] * xpad[g*cg + c, y*s + ky*d, ...]."""
    c_out, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    ho = (xp.shape[1] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (xp.shape[2] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((c_out, ho, wo))
    for co in range(c_out):
        g = co // (c_out // groups)
        for yy in range(ho):
            for xx in range(wo):
                acc = bias[co]
                for c in range(cg):
                    for ky in range(kh):
                        for kx in range(kw):
                            acc += w[co, c, ky, kx] * xp[g * cg + c, yy * stride[0] + ky * dil[0],
                                                          xx * stride[1] + kx * dil[1]]
                out[co, yy, xx] = acc
    return out


def apply(m: maps.SparseMap, x: np.ndarray) -> np.ndarray:
    y = m.bias.copy()
    np.add.at(y, m.post, m.weight * x.ravel()[m.pre])
    return y


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), groups=st.sampled_from([1, 2]),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       pad=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       dil=st.tuples(st.integers(1, 2), st.integers(1, 2)))
def test_conv2d_unrolled_equals_naive_loop(seed, groups, k, stride, pad, dil):
    rng = np.random.default_rng(seed)
    c_in, c_out, h, w = 2 * groups, 2 * groups, 6, 7
    weight = rng.normal(size=(c_out, c_in // groups, *k))
    bias = rng.normal(size=c_out)
    x = rng.normal(size=(c_in, h, w))
    m = maps.conv2d("c", weight, (c_in, h, w), stride, pad, dil, groups, bias)
    want = naive_conv2d(x, weight, stride, pad, dil, groups, bias)
    assert m.n_out == want.size
    np.testing.assert_allclose(apply(m, x), want.ravel(), rtol=1e-12, atol=1e-12)


def test_same_padding_and_pooling():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 5, 6))
    w = rng.normal(size=(4, 3, 3, 3))
    m = maps.conv2d("c", w, x.shape, 1, "same", 1, 1, None)
    np.testing.assert_allclose(apply(m, x), naive_conv2d(x, w, (1, 1), (1, 1), (1, 1), 1,
                                                         np.zeros(4)).ravel(), atol=1e-12)
    s = maps.pool2d("p", x.shape, (2, 2), (2, 2), (0, 0), average=False)
    a = maps.pool2d("p", x.shape, (2, 2), (2, 2), (0, 0), average=True)
    want = x[:, :4, :6].reshape(3, 2, 2, 3, 2).sum(axis=(2, 4))
    np.testing.assert_allclose(apply(s, x), want.ravel())
    np.testing.assert_allclose(apply(a, x), want.ravel() / 4)


def lif(n):
    return nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n),
                   v_threshold=np.ones(n))


def test_conv_graph_imports_with_origin_and_shapes():
    w = np.ones((2, 1, 3, 3))
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([1, 5, 5])),
               "conv": nir.Conv2d((5, 5), w, 1, 1, 1, 1, np.zeros(2)),
               "pool": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
               "flat": nir.Flatten(np.array([2, 2, 2]), 0),
               "lif": lif(8), "out": nir.Output(np.array([8]))},
        edges=[("in", "conv"), ("conv", "pool"), ("pool", "flat"), ("flat", "lif"),
               ("lif", "out")])
    imp = read(graph, dt=1.0)
    (proj,) = imp.network.projections
    assert proj.pre == "in" and proj.post == "lif"
    unrolled = {u.node: u for u in imp.unrolled}
    assert {k: u.kernel_weights for k, u in unrolled.items()} == {"conv": 18, "pool": 4}
    assert unrolled["conv"].synapses == 2 * 13 * 13   # per axis 5 * 3 taps, 2 in padding
    assert imp.outputs == {"out": "lif"} and imp.shapes["in"] == (1, 5, 5)


def test_delay_node_adds_to_the_edge_step():
    graph = nir.NIRGraph.from_list(nir.Delay(np.array([0.002, 0.0])),
                                   nir.Linear(np.eye(2)), lif(2))
    imp = read(graph, dt=0.5)
    (proj,) = imp.network.projections
    assert dict(zip(proj.pre_idx.tolist(), proj.delay.tolist())) == {0: 2.5, 1: 0.5}
    graph = nir.NIRGraph.from_list(nir.Delay(np.array([0.0007])), nir.Linear(np.eye(1)),
                                   lif(1))
    assert read(graph, dt=0.5).report.approximations[0].kind == "delay_rounded"


def test_errors_name_the_node():
    graph = nir.NIRGraph.from_list(nir.Linear(np.ones((3, 2))), lif(3))
    graph.nodes["lif"] = lif(4)
    with pytest.raises(NetworkError, match="'lif'"):
        read(graph)
    li = nir.LI(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2))
    g = nir.NIRGraph(nodes={"in": nir.Input(np.array([2])), "li": li,
                            "lin": nir.Linear(np.eye(2)), "lif": lif(2),
                            "out": nir.Output(np.array([2]))},
                     edges=[("in", "li"), ("li", "lin"), ("lin", "lif"), ("lif", "out")])
    with pytest.raises(NetworkError, match="'li' is a non-spiking readout"):
        read(g)
    with pytest.raises(NetworkError, match="not found"):
        read("no/such/file.nir")
