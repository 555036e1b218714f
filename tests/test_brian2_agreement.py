"""The reference engine agrees with Brian2 2.9 on random float networks, spike by spike.

Each network: Poisson-like input given as spike-array times (so both simulators see the
same input), IF_curr_exp or IF_cond_exp cells (a few IF_*_alpha too) with random
parameters, an input projection (static or STDP), sparse excitatory and inhibitory
recurrence; a few more from tests/nets.py with refractory periods and delays between grid
points. The same IR is written as Brian2 equations here (from the PyNN model definitions)
and run with the numpy target. Every spike must have a partner within one timestep.

The reference follows NEST's conventions (docs/conventions.md). Those that separate Brian2
from NEST, and how the network is translated for Brian2 so that it means the same:
- spike stamp: Brian2 stamps a spike with the start of the step whose update crossed the
  threshold, NEST the end; Brian2 spike times + dt are compared;
- spike-array times: Brian2's SpikeGeneratorGroup emits a time in the step that contains
  it (at its start), NEST at the end of that step; Brian2 gets the input times - dt;
- delivery: Brian2 applies on_pre at spike + delay after that step's state update, i.e.
  at the same instant as NEST and the reference (nothing to translate);
- refractory period: Brian2 counts it from the start of the spiking step and clamps
  floor(tau_refrac / dt) - 1 further steps; NEST clamps ceil(tau_refrac / dt) steps after
  the stamp; Brian2 is given (ceil(tau_refrac / dt) + 1) * dt;
- delays: both round to the nearest step, but Brian2 divides seconds by seconds, so a
  delay of exactly half a step goes either way by float noise (0.15 ms at 0.1 ms is one
  step, 0.25 ms three); NEST (and the reference) round halves up; Brian2 is given the
  rounded delay;
- threshold: Brian2 uses the expression it is given (`v >= v_thresh` here, as NEST).
"""

from __future__ import annotations

import numpy as np
import pytest

from neurocosim.hw import ir
from neurocosim.hw.compile_reference import delay_steps, refractory_steps
from neurocosim.sim.reference import Engine

from nets import random_network

b2 = pytest.importorskip("brian2")

DT = 0.1
DURATION = 300.0


def make_network(seed: int, model: str, rule: str | None) -> ir.Network:
    rng = np.random.default_rng(seed)
    n_in, n = 20, 30
    u = lambda lo, hi, m=n: rng.uniform(lo, hi, m)   # noqa: E731
    params = dict(cm=u(0.2, 0.5), tau_m=u(10, 25), tau_syn_E=u(2, 6), tau_syn_I=u(4, 10),
                  tau_refrac=rng.choice([0.0, 1.0, 2.0], n), v_rest=u(-66, -64),
                  v_reset=u(-70, -66), v_thresh=u(-55, -51), i_offset=u(0.0, 0.3))
    cond = model.startswith("IF_cond")
    if cond:
        params.update(e_rev_E=u(-2, 2), e_rev_I=u(-82, -75))
    w_in, w_rec = (0.012, 0.004) if cond else (0.8, 0.25)
    initial = {"v": u(-66, -55)}
    rates = rng.uniform(10, 40, n_in)
    trains = []
    for r in rates:   # Poisson times on the grid, from dt (Brian2 gets them one dt earlier)
        steps = np.flatnonzero(rng.random(int(DURATION / DT)) < r * DT / 1000.0) + 1
        trains.append(np.round(steps * DT, 10))
    pops = [ir.Population("inp", n_in, "SpikeSourceArray"),
            ir.Population("cells", n, model, params, initial)]

    def pairs(m_pre, m_post, p):
        mask = rng.random((m_pre, m_post)) < p
        return np.nonzero(mask)

    pi, qi = pairs(n_in, n, 0.3)
    plastic = None
    if rule is not None:
        plastic = ir.Plasticity(rule, dict(tau_plus=rng.uniform(10, 25),
                                           tau_minus=rng.uniform(10, 30),
                                           A_plus=rng.uniform(0.005, 0.05),
                                           A_minus=rng.uniform(0.005, 0.05),
                                           w_min=0.0, w_max=2.0 * w_in))
    prjs = [ir.Projection("in", "inp", "cells", pi, qi, rng.uniform(0.2, 1.0, len(pi)) * w_in,
                          rng.integers(1, 30, len(pi)) * DT, plasticity=plastic)]
    for name, receptor, p in (("exc", "excitatory", 0.1), ("inh", "inhibitory", 0.08)):
        a, b = pairs(n, n, p)
        prjs.append(ir.Projection(name, "cells", "cells", a, b,
                                  rng.uniform(0.2, 1.0, len(a)) * w_rec * (2 if receptor ==
                                                                           "inhibitory" else 1),
                                  rng.integers(1, 20, len(a)) * DT, receptor=receptor))
    recs = [ir.Recording("cells", "spikes", np.arange(n))]
    return ir.Network(pops, prjs, [ir.SpikeArray("inp", ir.SpikeTrains.from_lists(trains))],
                      recs, timestep=DT, seed=seed)


def run_brian2(net: ir.Network, duration: float):
    """The same network in Brian2 (runtime numpy target): spike trains and final weights."""
    from brian2 import mV, ms, nA, nF, uS
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = net.timestep * ms
    cells = net.population("cells")
    p = cells.params
    cond = cells.model.startswith("IF_cond")
    alpha = cells.model.endswith("alpha")
    if cond:
        eqs = """
        dv/dt = (v_rest - v)/tau_m + (ge*(e_rev_E - v) + gi*(e_rev_I - v) + i_offset)/c_m
                : volt (unless refractory)
        e_rev_E : volt
        e_rev_I : volt
        """
        syn_e, syn_i, wunit, method, unit = "ge", "gi", uS, "rk4", "siemens"
    else:
        eqs = """
        dv/dt = (v_rest - v)/tau_m + (ge - gi + i_offset)/c_m : volt (unless refractory)
        """
        syn_e, syn_i, wunit, method, unit = "ge", "gi", nA, "exact", "amp"
    if alpha:   # PyNN's alpha synapse: y jumps by w, g peaks at w one tau later
        eqs += f"""
        dge/dt = (2.718281828459045*ye - ge)/tau_syn_E : {unit}
        dye/dt = -ye/tau_syn_E : {unit}
        dgi/dt = (2.718281828459045*yi - gi)/tau_syn_I : {unit}
        dyi/dt = -yi/tau_syn_I : {unit}
        """
        syn_e, syn_i = "ye", "yi"
    else:
        eqs += f"""
        dge/dt = -ge/tau_syn_E : {unit}
        dgi/dt = -gi/tau_syn_I : {unit}
        """
    eqs += """
    c_m : farad
    tau_m : second
    tau_syn_E : second
    tau_syn_I : second
    tau_refrac : second
    v_rest : volt
    v_reset : volt
    v_thresh : volt
    i_offset : amp
    """
    G = b2.NeuronGroup(cells.size, eqs, threshold="v >= v_thresh", reset="v = v_reset",
                       refractory="tau_refrac", method=method, name="cells")
    G.c_m, G.tau_m = p["cm"] * nF, p["tau_m"] * ms
    # Brian2 counts the refractory period from the start of the spiking step and rounds
    # down, NEST and the reference from its end (the spike stamp) and round up: the
    # reference's whole steps plus one give the same clamp.
    dt = net.timestep
    G.tau_syn_E, G.tau_syn_I = p["tau_syn_E"] * ms, p["tau_syn_I"] * ms
    G.tau_refrac = (refractory_steps(p["tau_refrac"], dt) + 1) * dt * ms
    G.v_rest, G.v_reset, G.v_thresh = p["v_rest"] * mV, p["v_reset"] * mV, p["v_thresh"] * mV
    G.i_offset = p["i_offset"] * nA
    if cond:
        G.e_rev_E, G.e_rev_I = p["e_rev_E"] * mV, p["e_rev_I"] * mV
    G.v = cells.initial["v"] * mV
    trains = next(s for s in net.stimuli if isinstance(s, ir.SpikeArray)).trains
    ids = np.repeat(np.arange(len(trains)), np.diff(trains.offsets))
    inp = b2.SpikeGeneratorGroup(len(trains), ids, (trains.times - net.timestep) * ms,
                                 name="inp")
    objects = [G, inp]
    synapses = {}
    for pr in net.projections:
        src = inp if pr.pre == "inp" else G
        var = syn_e if pr.receptor == "excitatory" else syn_i
        if pr.plasticity is None:
            S = b2.Synapses(src, G, "w : 1", on_pre=f"{var}_post += w * wunit",
                            namespace={"wunit": wunit}, name=f"syn_{pr.name}")
        else:
            q = {k: float(v) for k, v in pr.plasticity.params.items()}
            add = pr.plasticity.rule == "stdp_additive"
            dep = "A_minus * w_max" if add else "A_minus * (w - w_min)"
            pot = "A_plus * w_max" if add else "A_plus * (w_max - w)"
            S = b2.Synapses(
                src, G, """w : 1
                dapre/dt = -apre/tau_plus : 1 (event-driven)
                dapost/dt = -apost/tau_minus : 1 (event-driven)""",
                on_pre=f"""w = clip(w - {dep} * apost, w_min, w_max)
                {var}_post += w * wunit
                apre += 1""",
                on_post=f"""w = clip(w + {pot} * apre, w_min, w_max)
                apost += 1""",
                namespace=dict(wunit=wunit, tau_plus=q["tau_plus"] * ms,
                               tau_minus=q["tau_minus"] * ms, A_plus=q["A_plus"],
                               A_minus=q["A_minus"], w_min=q["w_min"], w_max=q["w_max"]),
                name=f"syn_{pr.name}")
        S.connect(i=pr.pre_idx, j=pr.post_idx)
        S.w = pr.weight
        S.delay = delay_steps(pr.name, pr.delay, dt) * dt * ms   # halves up, as NEST
        synapses[pr.name] = S
        objects.append(S)
    mon = b2.SpikeMonitor(G, name="spikes")
    network = b2.Network(objects + [mon])
    network.run(duration * ms)
    trains_out = [np.asarray(t / ms) + net.timestep for t in mon.spike_trains().values()]
    return trains_out, {name: np.asarray(S.w[:]) for name, S in synapses.items()}


CASES = [(seed, model, rule) for seed in range(4) for model in ("IF_curr_exp", "IF_cond_exp")
         for rule in (None, "stdp_additive", "stdp_multiplicative")]
CASES += [(seed, model, None) for seed in range(2) for model in ("IF_curr_alpha",
                                                                 "IF_cond_alpha")]


CASES += [(seed, model, "off_grid") for seed in range(2) for model in ("IF_curr_exp",
                                                                       "IF_cond_exp")]


@pytest.mark.parametrize("seed,model,rule", CASES)
def test_reference_agrees_with_brian2(seed, model, rule):
    """rule "off_grid": a tests/nets.py network with off-grid refractory periods, delays."""
    net = (random_network(seed, model, n_in=20, n=30, off_grid=True) if rule == "off_grid"
           else make_network(seed, model, rule))
    eng = Engine(net)
    eng.run(DURATION)
    res = eng.result()
    ours = res.spikes["cells"].trains(net.population("cells").size)
    theirs, weights = run_brian2(net, DURATION)
    total = sum(len(t) for t in ours)
    assert total > 50, "the network should be active enough to mean something"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert len(a) == len(b), f"neuron {i}: {len(a)} spikes vs Brian2's {len(b)}"
        if len(a):
            assert np.max(np.abs(a - b)) <= DT + 1e-9, f"neuron {i}: spike times differ"
    for name, w in weights.items():
        np.testing.assert_allclose(res.weights[name], w, rtol=1e-6, atol=1e-9)
