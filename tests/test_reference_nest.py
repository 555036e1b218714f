"""The reference engine agrees with NEST 3.10 on random current-based networks.

IF_curr_exp, IF_curr_alpha and IF_curr_delta are integrated exactly by both (NEST's
iaf_psc_exp, iaf_psc_alpha, iaf_psc_delta) with the same conventions (spike stamped at the
end of its step, delivered at stamp + delay, refractory clamp, delta input dropped while
refractory); Izhikevich is the same forward-Euler step as NEST's izhikevich. So every
spike must have a partner within one timestep. (Izhikevich runs 150 ms: the two simulators
sum the inputs of one step in a different order, and its recurrent networks amplify that
last-bit difference into different spikes after some 250 ms.)
"""

from __future__ import annotations

import numpy as np
import pytest

from neurocosim.hw import ir
from neurocosim.sim.reference import Engine

nest = pytest.importorskip("nest")

DT = 0.1
DURATION = 300.0
NEST_MODEL = {"IF_curr_exp": "iaf_psc_exp", "IF_curr_alpha": "iaf_psc_alpha",
              "IF_curr_delta": "iaf_psc_delta", "Izhikevich": "izhikevich"}


def make_network(seed: int, model: str) -> ir.Network:
    rng = np.random.default_rng(seed)
    n_in, n = 15, 40
    u = lambda lo, hi, m=n: rng.uniform(lo, hi, m)   # noqa: E731
    params = dict(cm=u(0.2, 0.5), tau_m=u(10, 25), tau_refrac=rng.choice([0.0, 1.0, 2.0], n),
                  v_rest=u(-66, -64), v_reset=u(-70, -66), v_thresh=u(-55, -51),
                  i_offset=u(0.0, 0.3))
    if model in ("IF_curr_exp", "IF_curr_alpha"):
        params.update(tau_syn_E=u(2, 6), tau_syn_I=u(4, 9))
    initial = {"v": u(-66, -55)}
    if model == "Izhikevich":
        params = dict(a=u(0.02, 0.1), b=u(0.2, 0.25), c=u(-65, -50), d=u(0.05, 8),
                      i_offset=u(0.0, 0.008))
        initial = {"v": u(-70, -60), "u": u(-15, -12)}
    w_in, w_rec = {"IF_curr_exp": (0.8, 0.25), "IF_curr_alpha": (0.5, 0.15),
                   "IF_curr_delta": (4.0, 1.0), "Izhikevich": (8.0, 2.0)}[model]
    trains = []
    for r in rng.uniform(10, 40, n_in):
        steps = np.flatnonzero(rng.random(int(DURATION / DT)) < r * DT / 1000.0) + 1
        trains.append(np.round(steps * DT, 10))
    pops = [ir.Population("inp", n_in, "SpikeSourceArray"),
            ir.Population("cells", n, model, params, initial)]
    prjs = []
    for name, pre, m_pre, receptor, p, w in (("in", "inp", n_in, "excitatory", 0.3, w_in),
                                             ("exc", "cells", n, "excitatory", 0.1, w_rec),
                                             ("inh", "cells", n, "inhibitory", 0.08, 2 * w_rec)):
        a, b = np.nonzero(rng.random((m_pre, n)) < p)
        prjs.append(ir.Projection(name, pre, "cells", a, b, rng.uniform(0.2, 1.0, len(a)) * w,
                                  rng.integers(1, 25, len(a)) * DT, receptor=receptor))
    return ir.Network(pops, prjs, [ir.SpikeArray("inp", ir.SpikeTrains.from_lists(trains))],
                      [ir.Recording("cells", "spikes", np.arange(n))], timestep=DT, seed=seed)


def run_nest(net: ir.Network, duration: float) -> list[np.ndarray]:
    nest.ResetKernel()
    nest.set(resolution=net.timestep, local_num_threads=1, print_time=False)
    cells = net.population("cells")
    p = cells.params
    if cells.model == "Izhikevich":
        status = dict(a=p["a"], b=p["b"], c=p["c"], d=p["d"], I_e=p["i_offset"] * 1000.0,
                      V_m=cells.initial["v"], U_m=cells.initial["u"])
    else:
        status = dict(C_m=p["cm"] * 1000.0, tau_m=p["tau_m"], t_ref=p["tau_refrac"],
                      E_L=p["v_rest"], V_reset=p["v_reset"], V_th=p["v_thresh"],
                      I_e=p["i_offset"] * 1000.0, V_m=cells.initial["v"])
    if "tau_syn_E" in p:
        status.update(tau_syn_ex=p["tau_syn_E"], tau_syn_in=p["tau_syn_I"])
    G = nest.Create(NEST_MODEL[cells.model], cells.size)
    G.set([{k: float(v[i]) for k, v in status.items()} for i in range(cells.size)])
    trains = next(s for s in net.stimuli if isinstance(s, ir.SpikeArray)).trains
    src = nest.Create("spike_generator", len(trains))
    src.set([{"spike_times": trains.train(i)} for i in range(len(trains))])
    scale = 1000.0 if "tau_syn_E" in p else 1.0     # nA -> pA, or mV jumps
    for pr in net.projections:
        pre = (src if pr.pre == "inp" else G)
        sign = 1.0 if pr.receptor == "excitatory" else -1.0
        pre_ids = np.array(pre.tolist())[pr.pre_idx]
        post_ids = np.array(G.tolist())[pr.post_idx]
        nest.Connect(pre_ids, post_ids, "one_to_one",
                     {"synapse_model": "static_synapse", "weight": sign * scale * pr.weight,
                      "delay": pr.delay.copy()})
    rec = nest.Create("spike_recorder")
    nest.Connect(G, rec)
    nest.Simulate(duration)
    ev = rec.events
    first = G.tolist()[0]
    ids, times = np.asarray(ev["senders"]) - first, np.asarray(ev["times"])
    return [np.sort(times[ids == i]) for i in range(cells.size)]


@pytest.mark.parametrize("model", list(NEST_MODEL))
@pytest.mark.parametrize("seed", range(3))
def test_reference_agrees_with_nest(seed, model):
    net = make_network(seed, model)
    duration = 150.0 if model == "Izhikevich" else DURATION
    eng = Engine(net)
    eng.run(duration)
    ours = eng.result().spikes["cells"].trains(net.population("cells").size)
    theirs = run_nest(net, duration)
    assert sum(len(t) for t in ours) > 50
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert len(a) == len(b), f"neuron {i}: {len(a)} spikes vs NEST's {len(b)}"
        if len(a):
            assert np.max(np.abs(a - b)) <= DT + 1e-9, f"neuron {i}: spike times differ"


def test_cuba_network_spike_for_spike_with_nest():
    """The benchmark's CUBA network (homogeneous populations: the vectorised path) at a
    reduced size: every spike identical to NEST's iaf_psc_exp."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from networks import build_cuba

    net = build_cuba(n=1500, seed=7)
    eng = Engine(net)
    eng.run(400.0)
    sp = eng.result().spikes["cuba"]
    nest.ResetKernel()
    nest.set(resolution=net.timestep, local_num_threads=1, print_time=False)
    G = nest.Create("iaf_psc_exp", 1500, params={
        "C_m": 200.0, "tau_m": 20.0, "tau_syn_ex": 5.0, "tau_syn_in": 10.0, "t_ref": 5.0,
        "E_L": -49.0, "V_reset": -60.0, "V_th": -50.0, "I_e": 0.0})
    G.V_m = net.populations[0].initial["v"]
    ids = np.array(G.tolist())
    for pr in net.projections:
        sign = 1.0 if pr.receptor == "excitatory" else -1.0
        nest.Connect(ids[pr.pre_idx], ids[pr.post_idx], "one_to_one",
                     {"synapse_model": "static_synapse", "weight": sign * 1000.0 * pr.weight,
                      "delay": pr.delay.copy()})
    rec = nest.Create("spike_recorder")
    nest.Connect(G, rec)
    nest.Simulate(400.0)
    ev = rec.events
    theirs = sorted(zip((np.asarray(ev["senders"]) - ids[0]).tolist(),
                        np.round(ev["times"], 6).tolist()))
    ours = sorted(zip(sp.ids.tolist(), np.round(sp.times, 6).tolist()))
    assert len(ours) > 1000
    assert ours == theirs
