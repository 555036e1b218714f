"""NIR -> IR -> NIR and IR -> NIR -> IR keep the network and its spikes; what NIR cannot
express is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nir  # noqa: E402  (a main dependency: missing is a failure, not a skip)

from neurocosim import hw  # noqa: E402
from neurocosim.hw.errors import NetworkError  # noqa: E402
from neurocosim.nirio import read, to_graph, write  # noqa: E402

DT = 1.0


def random_graph(rng: np.random.Generator):
    """Input -> Affine -> LIF -> Linear (both signs) -> CubaLIF, LIF -> LI readout."""
    n_in, n1, n2 = 5, 6, 4
    lif = nir.LIF(tau=rng.uniform(0.005, 0.03, n1), r=rng.uniform(0.5, 2, n1),
                  v_leak=rng.uniform(-0.2, 0.2, n1), v_threshold=rng.uniform(0.5, 1, n1),
                  v_reset=np.zeros(n1))
    cuba = nir.CubaLIF(tau_syn=rng.uniform(0.003, 0.01, n2),
                       tau_mem=rng.uniform(0.005, 0.03, n2), r=np.ones(n2),
                       v_leak=np.zeros(n2), v_threshold=rng.uniform(0.2, 0.5, n2),
                       v_reset=np.zeros(n2), w_in=np.ones(n2))
    li = nir.LI(tau=np.full(n2, 0.01), r=np.ones(n2), v_leak=np.zeros(n2))
    nodes = {"in": nir.Input(np.array([n_in])),
             "fc1": nir.Affine(rng.uniform(0, 0.06, (n1, n_in)), rng.uniform(0, 20, n1)),
             "lif": lif, "fc2": nir.Linear(rng.uniform(-1, 1, (n2, n1)) * 2e-4),
             "delay": nir.Delay(np.full(n1, 0.002)),
             "fc3": nir.Linear(rng.uniform(-1, 1, (n2, n1)) * 0.05),
             "cuba": cuba, "li": li, "out": nir.Output(np.array([n2])),
             "out_li": nir.Output(np.array([n2]))}
    edges = [("in", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "cuba"),
             ("lif", "delay"), ("delay", "fc3"), ("fc3", "li"), ("cuba", "out"),
             ("li", "out_li")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def spikes_of(net: hw.Network, trains) -> dict:
    net.stimuli = [hw.SpikeArray("in", hw.SpikeTrains.from_lists(trains))]
    res = hw.run(hw.compile(net, "reference"), 200.0)
    out = {k: sorted(zip(s.ids.tolist(), s.times.tolist())) for k, s in res.spikes.items()}
    out.update({f"{k}.v": s["v"].data for k, s in res.signals.items()})
    return out


def same_results(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if k.endswith(".v"):
            np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-9)
        else:
            assert a[k] == b[k], k


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_nir_ir_nir_keeps_network_and_spikes(seed, tmp_path_factory):
    rng = np.random.default_rng(seed)
    first = read(random_graph(rng), dt=DT)
    path = tmp_path_factory.mktemp("nir") / "net.nir"
    write(first.network, path)
    second = read(path, dt=DT)
    a, b = first.network, second.network
    by_name = lambda n: sorted(n.populations, key=lambda p: p.name)  # noqa: E731
    assert [p.name for p in by_name(a)] == [p.name for p in by_name(b)]   # h5 sorts them
    for pa, pb in zip(by_name(a), by_name(b)):
        assert pa.model == pb.model
        for k in pa.params:
            np.testing.assert_allclose(pa.params[k], pb.params[k], rtol=1e-12, err_msg=k)
    key = lambda p: (p.pre, p.post, p.receptor)  # noqa: E731
    for pa, pb in zip(sorted(a.projections, key=key), sorted(b.projections, key=key)):
        assert key(pa) == key(pb)
        order_a = np.lexsort((pa.post_idx, pa.pre_idx, pa.delay))
        order_b = np.lexsort((pb.post_idx, pb.pre_idx, pb.delay))
        assert np.array_equal(pa.pre_idx[order_a], pb.pre_idx[order_b])
        np.testing.assert_allclose(pa.weight[order_a], pb.weight[order_b], rtol=1e-12)
        assert np.array_equal(pa.delay[order_a], pb.delay[order_b])
    trains = [np.sort(rng.choice(150, 20, replace=False)).astype(float) for _ in range(5)]
    same_results(spikes_of(a, trains), spikes_of(b, trains))


def test_ir_nir_ir_keeps_spikes():
    rng = np.random.default_rng(3)
    pops = [hw.Population("in", 4, "SpikeSourceArray"),
            hw.Population("d", 5, "IF_curr_delta", dict(
                cm=0.5, tau_m=rng.uniform(5, 20, 5), tau_refrac=0.0, v_rest=-1.0,
                v_reset=-2.0, v_thresh=3.0, i_offset=0.1)),
            hw.Population("e", 3, "IF_curr_exp", dict(
                cm=2.0, tau_m=10.0, tau_syn_E=3.0, tau_syn_I=3.0, tau_refrac=0.0,
                v_rest=0.0, v_reset=0.0, v_thresh=1.0, i_offset=0.0))]
    pre, post = np.meshgrid(np.arange(4), np.arange(5), indexing="ij")
    projs = [hw.Projection("a", "in", "d", pre.ravel(), post.ravel(),
                           rng.uniform(0, 2, 20), rng.integers(1, 4, 20).astype(float)),
             hw.Projection("b", "d", "e", [0, 1, 2, 3, 4], [0, 1, 2, 0, 1],
                           [1.0, 2.0, 3.0, 0.5, 0.5], 1.0, "inhibitory"),
             hw.Projection("c", "d", "e", [0, 1, 2], [2, 2, 1], [4.0, 4.0, 4.0], 2.0)]
    recs = [hw.Recording(p.name, "spikes", np.arange(p.size)) for p in pops]
    net = hw.Network(pops, projs, [], recs, timestep=DT)
    for p in net.populations:
        if p.model != "SpikeSourceArray":
            p.initial = {"v": np.zeros(p.size)}
    graph, report = to_graph(net)
    back = read(graph, dt=DT).network
    back.recordings = recs
    trains = [np.sort(rng.choice(150, 30, replace=False)).astype(float) for _ in range(4)]
    want, got = spikes_of(net, trains), spikes_of(back, trains)
    assert sum(len(v) for v in want.values()) > 20
    same_results(want, got)


@pytest.mark.parametrize("change, message", [
    (lambda n: n.populations[1].params.__setitem__("tau_refrac", np.full(2, 2.0)),
     "'x': NIR has no refractory period"),
    (lambda n: setattr(n.projections[0], "plasticity", hw.Plasticity(
        "stdp_additive", dict(tau_plus=20, tau_minus=20, A_plus=0.01, A_minus=0.01,
                              w_min=0, w_max=1))), "projection 'p': NIR has no plasticity"),
    (lambda n: n.populations[1].params.__setitem__("tau_syn_I", np.full(2, 9.0)),
     "'x': NIR's CubaLIF has one synaptic time constant"),
])
def test_refused_by_name(change, message):
    pops = [hw.Population("s", 2, "SpikeSourceArray"),
            hw.Population("x", 2, "IF_curr_exp", dict(
                cm=1.0, tau_m=10.0, tau_syn_E=3.0, tau_syn_I=3.0, tau_refrac=0.0,
                v_rest=0.0, v_reset=0.0, v_thresh=1.0, i_offset=0.0))]
    net = hw.Network(pops, [hw.Projection("p", "s", "x", [0], [1], [1.0], [1.0])])
    change(net)
    with pytest.raises(NetworkError, match=message):
        to_graph(net)
    cond = hw.Population("c", 1, "IF_cond_exp", dict(
        cm=1.0, tau_m=10.0, tau_syn_E=3.0, tau_syn_I=3.0, tau_refrac=0.0, v_rest=0.0,
        v_reset=0.0, v_thresh=1.0, i_offset=0.0, e_rev_E=0.0, e_rev_I=-70.0))
    with pytest.raises(NetworkError, match="'c': NIR has no node for model IF_cond_exp"):
        to_graph(hw.Network([cond]))
