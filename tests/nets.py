"""Random float networks for the agreement tests, and the same networks run in NEST.

`random_network(seed, model)` draws a network like those a user writes in PyNN: a
SpikeSourceArray of Poisson-like trains, one population of `model` with per-neuron
parameters (including `i_offset` and, with `off_grid`, refractory periods and delays that
are not whole steps), a FromList-like input projection, sparse recurrent excitation and
inhibition. `run_nest(net, duration)` builds the same network with NEST's own API in this
process (the PyNN-to-NEST translations: nA -> pA, nF -> pF, uS -> nS, inhibitory weights
negative) and returns one spike train per neuron. `agreement(a, b)` counts the spikes of
two runs that have a partner within one timestep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurocosim.hw import ir

DT = 0.1
NEST_MODEL = {"IF_curr_exp": "iaf_psc_exp", "IF_curr_alpha": "iaf_psc_alpha",
              "IF_curr_delta": "iaf_psc_delta", "IF_cond_exp": "iaf_cond_exp",
              "IF_cond_alpha": "iaf_cond_alpha", "Izhikevich": "izhikevich"}
#: Input and recurrent weight scales (nA, mV for delta, uS for conductances).
WEIGHTS = {"IF_curr_exp": (0.8, 0.25), "IF_curr_alpha": (0.5, 0.15),
           "IF_curr_delta": (4.0, 1.0), "IF_cond_exp": (0.012, 0.004),
           "IF_cond_alpha": (0.008, 0.003), "Izhikevich": (8.0, 2.0)}


def _params(rng: np.random.Generator, model: str, n: int, off_grid: bool) -> dict:
    """Per-neuron parameters; with `off_grid`, refractory periods between grid points."""
    u = lambda lo, hi: rng.uniform(lo, hi, n)   # noqa: E731
    if model == "Izhikevich":
        return dict(a=u(0.02, 0.1), b=u(0.2, 0.25), c=u(-65, -50), d=u(0.05, 8),
                    i_offset=u(0.0, 0.008))
    refrac = ([0.0, 0.04, 0.05, 0.15, 0.25, 1.0, 1.05, 2.35] if off_grid
              else [0.0, 0.1, 1.0, 2.0])
    p = dict(cm=u(0.2, 0.5), tau_m=u(10, 25), tau_refrac=rng.choice(refrac, n),
             v_rest=u(-66, -64), v_reset=u(-70, -66), v_thresh=u(-55, -51),
             i_offset=u(0.0, 0.3 if model.startswith("IF_curr") else 0.5))
    if model != "IF_curr_delta":
        p.update(tau_syn_E=u(2, 6), tau_syn_I=u(4, 9))
    if model.startswith("IF_cond"):
        p.update(e_rev_E=u(-2, 2), e_rev_I=u(-82, -75))
    return p


def random_network(seed: int, model: str, n_in: int = 15, n: int = 40,
                   duration: float = 300.0, off_grid: bool = False) -> ir.Network:
    """A random network of `n` `model` cells driven by `n_in` spike arrays (see module)."""
    rng = np.random.default_rng(seed)
    params = _params(rng, model, n, off_grid)
    w_in, w_rec = WEIGHTS[model]
    w_in, w_rec = w_in * 15 / n_in, w_rec * 40 / n    # the same mean drive at any size
    trains = []
    for r in rng.uniform(10, 40, n_in):
        steps = np.flatnonzero(rng.random(int(duration / DT)) < r * DT / 1000.0) + 1
        trains.append(np.round(steps * DT, 10))
    initial = {"v": rng.uniform(-66, -52, n)}
    if model == "Izhikevich":
        initial = {"v": rng.uniform(-70, -60, n), "u": rng.uniform(-15, -12, n)}
    pops = [ir.Population("inp", n_in, "SpikeSourceArray"),
            ir.Population("cells", n, model, params, initial)]
    prjs = []
    for name, pre, m_pre, receptor, p, w in (("in", "inp", n_in, "excitatory", 0.3, w_in),
                                             ("exc", "cells", n, "excitatory", 0.1, w_rec),
                                             ("inh", "cells", n, "inhibitory", 0.08, 2 * w_rec)):
        a, b = np.nonzero(rng.random((m_pre, n)) < p)
        step = 0.5 if off_grid else 1.0          # delays in half steps: rounding is probed
        delay = np.round(rng.integers(2, 50, len(a)) * step * DT, 10)
        prjs.append(ir.Projection(name, pre, "cells", a, b, rng.uniform(0.2, 1.0, len(a)) * w,
                                  np.maximum(delay, DT), receptor=receptor))
    return ir.Network(pops, prjs, [ir.SpikeArray("inp", ir.SpikeTrains.from_lists(trains))],
                      [ir.Recording("cells", "spikes", np.arange(n))], timestep=DT, seed=seed)


def _nest_status(cells: ir.Population) -> dict:
    """NEST parameters of the cells (PyNN's translations for pyNN.nest)."""
    p = cells.params
    if cells.model == "Izhikevich":
        return dict(a=p["a"], b=p["b"], c=p["c"], d=p["d"], I_e=p["i_offset"] * 1000.0,
                    V_m=cells.initial["v"], U_m=cells.initial["u"])
    status = dict(C_m=p["cm"] * 1000.0, t_ref=p["tau_refrac"], E_L=p["v_rest"],
                  V_reset=p["v_reset"], V_th=p["v_thresh"], I_e=p["i_offset"] * 1000.0,
                  V_m=cells.initial["v"])
    if cells.model.startswith("IF_cond"):
        status.update(g_L=p["cm"] / p["tau_m"] * 1000.0, E_ex=p["e_rev_E"],
                      E_in=p["e_rev_I"])
    else:
        status.update(tau_m=p["tau_m"])
    if "tau_syn_E" in p:
        status.update(tau_syn_ex=p["tau_syn_E"], tau_syn_in=p["tau_syn_I"])
    return status


def run_nest(net: ir.Network, duration: float) -> list[np.ndarray]:
    """Spike trains (ms) of population "cells" of `net` simulated by NEST (in process)."""
    import nest
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.set(resolution=net.timestep, local_num_threads=1, print_time=False)
    cells = net.population("cells")
    status = _nest_status(cells)
    G = nest.Create(NEST_MODEL[cells.model], cells.size)
    G.set([{k: float(v[i]) for k, v in status.items()} for i in range(cells.size)])
    trains = next(s for s in net.stimuli if isinstance(s, ir.SpikeArray)).trains
    src = nest.Create("spike_generator", len(trains))
    src.set([{"spike_times": trains.train(i)} for i in range(len(trains))])
    delta = cells.model in ("IF_curr_delta", "Izhikevich")
    scale = 1.0 if delta else 1000.0                 # mV jumps, or nA -> pA, uS -> nS
    ids = {"inp": np.array(src.tolist()), "cells": np.array(G.tolist())}
    for pr in net.projections:
        sign = 1.0 if pr.receptor == "excitatory" else -1.0
        nest.Connect(ids[pr.pre][pr.pre_idx], ids["cells"][pr.post_idx], "one_to_one",
                     {"synapse_model": "static_synapse", "weight": sign * scale * pr.weight,
                      "delay": pr.delay.copy()})
    rec = nest.Create("spike_recorder")
    nest.Connect(G, rec)
    nest.Simulate(duration)
    ev = rec.events
    senders, times = np.asarray(ev["senders"]) - ids["cells"][0], np.asarray(ev["times"])
    return [np.sort(times[senders == i]) for i in range(cells.size)]


@dataclass
class Agreement:
    """Spikes of two runs with a partner within `tol` ms (each spike used once)."""

    matched: int
    total: int          # the larger of the two spike counts, summed over neurons
    identical: bool     # every train equal to 1e-6 ms

    @property
    def fraction(self) -> float:
        return self.matched / self.total if self.total else 1.0


def agreement(ours: list[np.ndarray], theirs: list[np.ndarray], tol: float = DT) -> Agreement:
    """Greedy in time per neuron: a spike matches the earliest unused partner within tol."""
    matched = total = 0
    identical = len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        total += max(len(a), len(b))
        identical &= len(a) == len(b) and bool(np.all(np.abs(a - b) < 1e-6))
        used = np.zeros(len(b), bool)
        for t in a:
            j = np.flatnonzero(~used & (np.abs(b - t) <= tol + 1e-9))
            if len(j):
                used[j[0]] = True
                matched += 1
    return Agreement(matched, total, identical)
