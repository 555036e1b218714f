"""The TrueNorth-style neuron: one tick of one core over integer arrays (Numba kernels).

Per tick, for the core's neurons j (REFERENCE.md; Cassidy et al. 2013, as NeMo and RANC):

1. integrate, active axons a in ascending order, their connected neurons j ascending:
   G = axon_type[a], s = weights[j, G]; deterministic: V += s; stochastic (syn_stoch[j, G]):
   draw rho, V += sgn(s) if |s| >= rho;
2. leak, neurons ascending: omega = sgn(V) if leak_rev[j] else 1; deterministic:
   V += omega * lambda; stochastic (leak_stoch[j]): draw rho, V += omega * sgn(lambda) if
   |lambda| >= rho;
3. threshold: eta = draw & (2**tm[j] - 1) (no draw when tm[j] = 0);
   V >= alpha + eta: spike, then reset by gamma: 0 -> V = R, 1 -> V -= alpha + eta (linear),
   2 -> V unchanged;
   else V < -(beta if kappa else beta + eta): kappa = 1 saturates V = -beta; kappa = 0 resets
   by gamma: 0 -> V = -R, 1 -> V += beta + eta, 2 -> unchanged.
Every addition saturates V to [vmin, vmax] (the spec's v_format).

Pseudo-random numbers: each core has one 32-bit Galois LFSR (taps 32, 22, 2, 1: the
layout's LFSR_TAPS); a draw advances it `prng_bits` (8 on the chip) steps and takes its low
`prng_bits` bits. Draws happen only where a mode needs one, in the order above, so a seed
reproduces a run exactly. Parameter names and mode codes are `hw.layouts.truenorth`'s.
"""

from __future__ import annotations

import numpy as np

from ...hw.jit import njit
from ...hw.layouts.truenorth import (KAPPA_SATURATE, LFSR_TAPS, NEURON_PARAMS, RESET_LINEAR,
                                     RESET_NORMAL)


@njit
def _draw(lfsr, c, rbits):
    """Advance core c's LFSR `rbits` steps and return its low `rbits` bits."""
    s = lfsr[c]
    for _ in range(rbits):
        lsb = s & 1
        s >>= 1
        if lsb:
            s ^= LFSR_TAPS
    lfsr[c] = s
    return s & ((1 << rbits) - 1)


@njit
def _sat(v, vmin, vmax):
    return vmin if v < vmin else (vmax if v > vmax else v)


@njit
def _sgn(x):
    return 1 if x > 0 else (-1 if x < 0 else 0)


@njit
def _core_tick(c, active, a_ptr, a_nrn, axon_type, weights, syn_stoch, leak, leak_rev,
               leak_stoch, alpha, beta, tm, gamma, kappa, reset, v, lfsr, vmin, vmax,
               rbits, n0, n1, fired):
    """One tick of core c: neurons n0..n1-1 (global rows of the parameter arrays), axons by
    CSR a_ptr/a_nrn (row a lists its neurons as global rows, ascending); active: the
    core's active axon indices, ascending. Writes fired[n0:n1]."""
    for q in range(len(active)):
        a = active[q]
        g = axon_type[a]
        for e in range(a_ptr[a], a_ptr[a + 1]):
            j = a_nrn[e]
            s = weights[j, g]
            if syn_stoch[j, g]:
                rho = _draw(lfsr, c, rbits)
                if abs(s) >= rho:
                    v[j] = _sat(v[j] + _sgn(s), vmin, vmax)
            else:
                v[j] = _sat(v[j] + s, vmin, vmax)
    for j in range(n0, n1):
        omega = _sgn(v[j]) if leak_rev[j] else 1
        lam = leak[j]
        if leak_stoch[j]:
            rho = _draw(lfsr, c, rbits)
            if abs(lam) >= rho:
                v[j] = _sat(v[j] + omega * _sgn(lam), vmin, vmax)
        else:
            v[j] = _sat(v[j] + omega * lam, vmin, vmax)
        eta = 0
        if tm[j] > 0:
            eta = _draw(lfsr, c, rbits) & ((1 << tm[j]) - 1)
        fired[j] = False
        if v[j] >= alpha[j] + eta:
            fired[j] = True
            if gamma[j] == RESET_NORMAL:
                v[j] = reset[j]
            elif gamma[j] == RESET_LINEAR:
                v[j] = _sat(v[j] - (alpha[j] + eta), vmin, vmax)
        elif v[j] < -(beta[j] if kappa[j] == KAPPA_SATURATE else beta[j] + eta):
            if kappa[j] == KAPPA_SATURATE:
                v[j] = -beta[j]
            elif gamma[j] == RESET_NORMAL:
                v[j] = -reset[j]
            elif gamma[j] == RESET_LINEAR:
                v[j] = _sat(v[j] + beta[j] + eta, vmin, vmax)


def crossbar_csr(crossbar: np.ndarray, row0: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, neuron rows) of a dense (axons x neurons) crossbar, rows offset by `row0`."""
    a, j = np.nonzero(np.asarray(crossbar, bool))
    ptr = np.zeros(crossbar.shape[0] + 1, np.int64)
    ptr[1:] = np.cumsum(np.bincount(a, minlength=crossbar.shape[0]))
    return ptr, (j + row0).astype(np.int64)


def core_tick(active: np.ndarray, crossbar: np.ndarray, axon_type: np.ndarray,
              params: dict[str, np.ndarray], v: np.ndarray, lfsr: int,
              vmin: int = -(1 << 19), vmax: int = (1 << 19) - 1,
              prng_bits: int = 8) -> tuple[np.ndarray, int]:
    """One tick of one core (see the module docstring): `active` (bool per axon),
    dense `crossbar` (axons x neurons, 0/1), `axon_type` (0..3 per axon), the neuron
    parameters named in the layout's NEURON_PARAMS (weights and syn_stoch are (neurons,
    4)), `v` (int64, updated in place), the LFSR state, V's range and the width of a random
    draw (the spec's v_format and prng_bits). Returns (fired bool per neuron, new LFSR state)."""
    if not 1 <= prng_bits <= 31:
        raise ValueError(f"prng_bits {prng_bits} must be in 1..31")
    tm = np.asarray(params["tm"])
    if tm.size and (tm.min() < 0 or tm.max() > prng_bits):
        raise ValueError(f"threshold mask bits tm {int(tm.max())} outside 0..{prng_bits}")
    crossbar = np.asarray(crossbar)
    n = crossbar.shape[1]
    ptr, nrn = crossbar_csr(crossbar)
    p = {k: np.ascontiguousarray(params[k], np.int64) for k in NEURON_PARAMS}
    if v.dtype != np.int64 or v.shape != (n,):
        raise ValueError(f"v must be an int64 array of {n} values, got {v.dtype} {v.shape}")
    state = np.array([lfsr], np.int64)
    fired = np.zeros(n, np.bool_)
    _core_tick(0, np.flatnonzero(active).astype(np.int64), ptr, nrn,
               np.asarray(axon_type, np.int64), p["weights"], p["syn_stoch"], p["leak"],
               p["leak_rev"], p["leak_stoch"], p["alpha"], p["beta"], p["tm"], p["gamma"],
               p["kappa"], p["reset"], v, state, int(vmin), int(vmax), int(prng_bits), 0, n,
               fired)
    return fired, int(state[0])
