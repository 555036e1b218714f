"""Numba kernels of the fpga core: the oracle's arithmetic and cycle counts over flat arrays.

Per-core arrays are concatenated. `off[c]` holds the offsets of core c's neurons,
synapses, column pointers, column entries and ring words (OFF_*); `sc[c]` its scalars in
hw.layouts.fpga.CORE_SCALARS order; `prm[P_*]` the neuron parameters, `st[S_*]` the
neuron state, `syn[M_*]` the synapse memories (syn[M_W] is written by STDP), `col[0]`,
`col[1]` the column lists (col_syn, col_pre). `fmt[K_*]` holds the number formats and
`cost` the spec's cycle costs in hw.layouts.fpga.CYCLE_NAMES order (tests check the
kernel against the oracle and against FpgaSpec.core_cycles / step_cycles).
"""

from __future__ import annotations

import numpy as np

from ...hw.jit import njit
from ...hw.layouts.fpga import (A_MINUS, A_PLUS, C_EVENT, C_HEADER_OVERLAP, C_LIST_END,
                                C_NEURON, C_PLASTIC, C_ROUTE_CORE, C_ROUTE_SPIKE, C_SPIKING,
                                C_STEP_FIXED, C_STIMULUS, C_STIMULUS_END, C_SYNAPSE, C_TRACE,
                                C_TRACE_BESIDE_NEURON, DX, DY, N, STDP, W_MAX, W_MIN,
                                W_SHIFT, header_cycles, traces_after_neurons)

#: rows of `off`, `prm`, `st`, `syn` and `fmt`
OFF_N, OFF_S, OFF_CP, OFF_CS, OFF_R = range(5)
P_THETA, P_U_RESET, P_BIAS, P_DM, P_DS, P_REFRAC = range(6)
S_U, S_ISYN, S_REF, S_Y = range(4)
M_POST, M_W, M_DELAY, M_PLASTIC = range(4)
K_F, K_SF, K_IMP, K_VLO, K_VHI, K_ILO, K_IHI, K_THI, K_D, K_NPC = range(10)


@njit
def _sat(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


_header = njit(header_cycles)
_traces_after = njit(traces_after_neurons)


@njit
def _events(c, t_slot, in_list, in_n, sc, off, row_ptr, syn, st, flag, ring, fmt, cost):
    """Core c's event phase: every event's row into the ring buffer (and depression)."""
    n, sb, rb, D = sc[c, N], off[c, OFF_S], off[c, OFF_R], fmt[K_D]
    stdp = sc[c, STDP] != 0
    cyc = 0
    prev = 0
    for e in range(in_n):
        a = in_list[e]
        cyc += _header(cost[C_EVENT], cost[C_HEADER_OVERLAP], prev)
        prev = row_ptr[c, a + 1] - row_ptr[c, a]
        if stdp:
            flag[c, a] = 1
        for k in range(row_ptr[c, a], row_ptr[c, a + 1]):
            cyc += cost[C_SYNAPSE]
            post, w = syn[M_POST, sb + k], syn[M_W, sb + k]
            slot = t_slot + syn[M_DELAY, sb + k]
            if slot >= D:
                slot -= D
            ri = rb + slot * n + post
            ring[ri] = _sat(ring[ri] + (w << sc[c, W_SHIFT]), fmt[K_ILO], fmt[K_IHI])
            if syn[M_PLASTIC, sb + k] != 0:
                dw = (sc[c, A_MINUS] * st[S_Y, off[c, OFF_N] + post]) >> fmt[K_SF]
                syn[M_W, sb + k] = _sat(w - dw, sc[c, W_MIN], sc[c, W_MAX])
    return cyc + cost[C_LIST_END]


@njit
def _neurons(c, t_slot, sc, off, prm, st, ring, fmt, cost, out_list, out_n):
    """Core c's neuron phase: synaptic current, membrane, threshold, post trace."""
    n, nb, rb, F = sc[c, N], off[c, OFF_N], off[c, OFF_R], fmt[K_F]
    stdp = sc[c, STDP] != 0
    out_n[c] = 0
    for j in range(n):
        g = nb + j
        ri = rb + t_slot * n + j
        r = ring[ri]
        ring[ri] = 0
        i_old = st[S_ISYN, g]
        st[S_ISYN, g] = _sat(((i_old * prm[P_DS, g]) >> F) + r, fmt[K_ILO], fmt[K_IHI])
        spike = False
        if st[S_REF, g] > 0:
            st[S_REF, g] -= 1
            st[S_U, g] = prm[P_U_RESET, g]
        else:
            v = _sat(((st[S_U, g] * prm[P_DM, g]) >> F) + i_old + prm[P_BIAS, g],
                     fmt[K_VLO], fmt[K_VHI])
            if v >= prm[P_THETA, g]:
                spike = True
                st[S_U, g] = prm[P_U_RESET, g]
                st[S_REF, g] = prm[P_REFRAC, g]
            else:
                st[S_U, g] = v
        if stdp:
            yy = (st[S_Y, g] * sc[c, DY]) >> F
            st[S_Y, g] = min(yy + fmt[K_IMP], fmt[K_THI]) if spike else yy
        if spike:
            out_list[c, out_n[c]] = j
            out_n[c] += 1
    return n * cost[C_NEURON]


@njit
def _plasticity(c, sc, off, syn, col_ptr, col, x, flag, fmt, cost, out_list, out_n):
    """Core c's STDP phases: pre traces of every axon, then potentiation of the plastic
    inputs of each neuron that spiked."""
    G, F, sf = x.shape[1], fmt[K_F], fmt[K_SF]
    sb, cpo, cso = off[c, OFF_S], off[c, OFF_CP], off[c, OFF_CS]
    for a in range(G):
        xx = (x[c, a] * sc[c, DX]) >> F
        x[c, a] = min(xx + fmt[K_IMP], fmt[K_THI]) if flag[c, a] != 0 else xx
        flag[c, a] = 0
    cyc = (_traces_after(G, sc[c, N], cost[C_TRACE_BESIDE_NEURON]) * cost[C_TRACE]
           + cost[C_LIST_END])
    prev = 0
    for p in range(out_n[c]):
        j = out_list[c, p]
        cyc += _header(cost[C_SPIKING], cost[C_HEADER_OVERLAP], prev)
        prev = col_ptr[cpo + j + 1] - col_ptr[cpo + j]
        for k in range(col_ptr[cpo + j], col_ptr[cpo + j + 1]):
            cyc += cost[C_PLASTIC]
            si = sb + col[0, cso + k]
            dw = (sc[c, A_PLUS] * x[c, col[1, cso + k]]) >> sf
            syn[M_W, si] = _sat(syn[M_W, si] + dw, sc[c, W_MIN], sc[c, W_MAX])
    return cyc


@njit
def _route(t, sp, stim_step, stim_axon, fmt, out_list, out_n, next_list, spk_axon,
           spk_step, n_spk):
    """The router: neuron spikes (cores in order), then the stimulus of step t, into the
    next event list. Returns (events, of them neuron spikes, sp, spikes recorded)."""
    m = 0
    for c in range(out_n.shape[0]):
        for p in range(out_n[c]):
            a = c * fmt[K_NPC] + out_list[c, p]
            next_list[m] = a
            spk_axon[n_spk] = a
            spk_step[n_spk] = t
            m += 1
            n_spk += 1
    n_router = m
    while sp < stim_step.shape[0] and stim_step[sp] == t:
        next_list[m] = stim_axon[sp]
        m += 1
        sp += 1
    return m, n_router, sp, n_spk


@njit
def run_steps(n_steps, t, sp, in_list, in_n, sc, off, row_ptr, syn, col_ptr, col, prm,
              st, x, flag, ring, stim_step, stim_axon, fmt, cost, out_list, out_n,
              spk_axon, spk_step, cycles):
    """Advance `n_steps` steps from step `t`; returns (t, sp, in_n, spikes written)."""
    C = sc.shape[0]
    n_spk = 0
    next_list = np.empty_like(in_list)
    for s in range(n_steps):
        t_slot = t % fmt[K_D]
        k_max = 0
        for c in range(C):
            cyc = _events(c, t_slot, in_list, in_n, sc, off, row_ptr, syn, st, flag, ring,
                          fmt, cost)
            cyc += _neurons(c, t_slot, sc, off, prm, st, ring, fmt, cost, out_list, out_n)
            if sc[c, STDP] != 0:
                cyc += _plasticity(c, sc, off, syn, col_ptr, col, x, flag, fmt, cost,
                                   out_list, out_n)
            k_max = max(k_max, cyc)
        m, n_router, sp, n_spk = _route(t, sp, stim_step, stim_axon, fmt, out_list, out_n,
                                        next_list, spk_axon, spk_step, n_spk)
        cycles[s] = (k_max + cost[C_ROUTE_SPIKE] * n_router + cost[C_ROUTE_CORE] * C
                     + cost[C_STIMULUS] * (m - n_router) + cost[C_STIMULUS_END]
                     + cost[C_STEP_FIXED])
        in_list[:m] = next_list[:m]
        in_n = m
        t += 1
    return t, sp, in_n, n_spk


@njit
def event_timing(ev_step, ev_axon, rows, cost, cycles):
    """Per event of the run, in event-list order (sorted by emission step): the cycle at
    which its entry ends on the core where it ends last, counted from the cores' start of
    the step that delivers it, plus the cycles of the step that emitted it; -1 for events
    delivered after the last step. Also the synaptic events of each delivering step."""
    E, C = ev_step.shape[0], rows.shape[0]
    latency = np.full(E, -1, np.int64)
    synops = np.zeros(cycles.shape[0], np.int64)
    cum = np.zeros(C, np.int64)
    prev = np.zeros(C, np.int64)
    for e in range(E):
        k = ev_step[e]
        if k + 1 >= cycles.shape[0]:
            continue
        if e == 0 or ev_step[e - 1] != k:
            cum[:] = 0
            prev[:] = 0
        end = 0
        for c in range(C):
            r = rows[c, ev_axon[e]]
            cum[c] += (_header(cost[C_EVENT], cost[C_HEADER_OVERLAP], prev[c])
                       + cost[C_SYNAPSE] * r)
            prev[c] = r
            synops[k + 1] += r
            end = max(end, cum[c])
        latency[e] = cycles[k] + end
    return latency, synops
