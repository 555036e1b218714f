"""Benchmark networks built directly as IR, shared by the benchmark scripts."""

from __future__ import annotations

import numpy as np

from neurocosim.hw import ir

#: Vogels-Abbott CUBA weights (PyNN's VAbenchmarks): G * (E_rev - v_mean), in nA
CUBA_W_EXC = 0.27e-3 * (0.0 - -60.0)      # 0.0162 nA
CUBA_W_INH = 4.5e-3 * (-80.0 - -60.0)     # -0.09 nA (inhibitory receptor, magnitude 0.09)


def build_cuba(n: int = 4000, timestep: float = 0.1, seed: int = 2026,
               p_connect: float = 0.02, record_v: bool = False) -> ir.Network:
    """The CUBA network of Vogels & Abbott (2005) as Brian2's example runs it.

    80 % excitatory / 20 % inhibitory IF_curr_exp cells, fixed connection probability,
    v_rest = -49 mV above threshold (-50 mV) so it fires without input, v uniform in
    [v_reset, v_thresh) at start, delays 0.1 ms. One population "cuba" (exc first).
    """
    rng = np.random.default_rng(seed)
    n_exc = int(round(n * 0.8))
    params = dict(cm=0.2, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, tau_refrac=5.0,
                  v_rest=-49.0, v_reset=-60.0, v_thresh=-50.0, i_offset=0.0)
    pop = ir.Population("cuba", n, "IF_curr_exp", params,
                        {"v": rng.uniform(-60.0, -50.0, n)})
    prjs = []
    for name, lo, hi, w, receptor in (("exc", 0, n_exc, CUBA_W_EXC, "excitatory"),
                                      ("inh", n_exc, n, -CUBA_W_INH, "inhibitory")):
        pre_parts, post_parts = [], []
        for start in range(lo, hi, 500):     # row blocks keep the random matrix small
            stop = min(start + 500, hi)
            pre, post = np.nonzero(rng.random((stop - start, n)) < p_connect)
            pre_parts.append(pre + start)
            post_parts.append(post)
        pre, post = np.concatenate(pre_parts), np.concatenate(post_parts)
        prjs.append(ir.Projection(name, "cuba", "cuba", pre, post, np.full(len(pre), w),
                                  np.full(len(pre), timestep), receptor=receptor))
    recs = [ir.Recording("cuba", "spikes", np.arange(n))]
    if record_v:
        recs.append(ir.Recording("cuba", "v", np.arange(min(n, 10))))
    return ir.Network([pop], prjs, [], recs, timestep=timestep, seed=seed)
