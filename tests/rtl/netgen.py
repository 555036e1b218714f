"""Seeded random networks for the fpga core's equivalence tests and benchmarks."""

from __future__ import annotations

import numpy as np

from neurocosim.hw.ir import (Network, Plasticity, Population, Projection, SpikeArray,
                              SpikeTrains)


def lif(n: int, rng: np.random.Generator, homogeneous: bool = False) -> dict:
    """IF_curr_exp parameters; `homogeneous` gives one tau_m/cm (what STDP targets need)."""
    tau_syn = float(rng.choice([2.0, 5.0, 8.0]))
    k = 1 if homogeneous else n
    return dict(cm=rng.uniform(0.5, 1.5, k).repeat(n // k),
                tau_m=rng.uniform(8.0, 30.0, k).repeat(n // k),
                tau_syn_E=tau_syn, tau_syn_I=tau_syn,
                tau_refrac=rng.integers(0, 4, n).astype(float), v_rest=-65.0,
                v_reset=rng.uniform(-70.0, -60.0, n), v_thresh=-50.0,
                i_offset=rng.uniform(0.0, 0.6, n) * (rng.random(n) < 0.5))


def random_network(seed: int, n_exc: int = 12, n_inh: int = 4, n_src: int = 8,
                   stdp: bool = False, p: float = 0.3, t_max: float = 60.0,
                   max_delay: float = 4.0, rate_hz: float = 150.0,
                   multapses: bool = False) -> Network:
    """Sources -> exc (plastic if `stdp`), exc <-> inh recurrence, random delays.
    `multapses` doubles every synapse of sources -> exc (same target and delay, next to
    it in the row): back-to-back accumulates into one ring word, the core's read-after-
    write hazard."""
    rng = np.random.default_rng(seed)
    src = Population("src", n_src, "SpikeSourceArray")
    exc = Population("exc", n_exc, "IF_curr_exp", lif(n_exc, rng, homogeneous=stdp))
    inh = Population("inh", n_inh, "IF_curr_exp", lif(n_inh, rng))
    trains = [np.sort(rng.uniform(0.0, t_max, rng.poisson(rate_hz * t_max / 1000.0)))
              for _ in range(n_src)]

    def proj(name, pre, post, n_pre, n_post, wmax, receptor="excitatory", plast=None):
        mask = rng.random((n_pre, n_post)) < p
        i, j = np.nonzero(mask)
        w = rng.uniform(0.0, wmax, i.size)
        delay = rng.integers(1, int(max_delay) + 1, i.size).astype(float)
        if multapses and name == "in":
            i, j, w, delay = (np.repeat(v, 2) for v in (i, j, w, delay))
        return Projection(name, pre, post, i, j, w, delay, receptor, plast)

    plast = (Plasticity("stdp_additive", dict(tau_plus=15.0, tau_minus=20.0, A_plus=0.05,
                                              A_minus=0.06, w_min=0.0, w_max=2.0))
             if stdp else None)
    projections = [proj("in", "src", "exc", n_src, n_exc, 2.0, plast=plast),
                   proj("ee", "exc", "exc", n_exc, n_exc, 0.8),
                   proj("ei", "exc", "inh", n_exc, n_inh, 1.5),
                   proj("ie", "inh", "exc", n_inh, n_exc, 1.5, "inhibitory")]
    net = Network(populations=[src, exc, inh], projections=projections,
                  stimuli=[SpikeArray("src", SpikeTrains.from_lists(trains))],
                  timestep=1.0, seed=seed)
    net.validate()
    return net
