"""Numba kernels of the fpga core: the oracle's arithmetic and cycle counts over flat arrays.

Per-core arrays are concatenated; `no[c]`, `so[c]`, `cpo[c]`, `cso[c]`, `ro[c]` are the
offsets of core c's neurons, synapses, column pointers, column entries and ring words. `sc[c]` holds the core's scalars
in the order of hw.compile_fpga.CORE_SCALARS. Cycle costs are hw.targets.fpga.CYCLES
(numbers inlined; tests check the kernel against the oracle and the formula).
"""

from __future__ import annotations

import numpy as np

from ...hw.jit import njit

# indices into sc[c]
N, W_SHIFT, STDP, A_PLUS, A_MINUS, W_MIN, W_MAX, DX, DY = range(9)


@njit
def _sat(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


@njit
def run_steps(n_steps, t, sp, in_list, in_n, sc, no, so, cpo_, cso_, ro, row_ptr,
              syn_post, syn_w, syn_delay, syn_plastic, col_ptr, col_syn, col_pre,
              theta, u_reset, bias, dm, ds, refrac,
              u, isyn, ref, y, x, flag, ring,
              stim_step, stim_axon, D, npc, F, sf, imp, vlo, vhi, ilo, ihi, thi,
              out_list, out_n, spk_axon, spk_step, cycles):
    """Advance `n_steps` steps from step `t`; returns (t, sp, in_n, spikes written)."""
    C = sc.shape[0]
    G = row_ptr.shape[1] - 1
    n_spk = 0
    next_list = np.empty_like(in_list)
    for s in range(n_steps):
        t_slot = t % D
        k_max = 0
        for c in range(C):
            n = sc[c, N]
            nb, sb, cpo, cso, rb = no[c], so[c], cpo_[c], cso_[c], ro[c]
            stdp = sc[c, STDP] != 0
            shift = sc[c, W_SHIFT]
            wlo, whi = sc[c, W_MIN], sc[c, W_MAX]
            cyc = 0
            for e in range(in_n):
                a = in_list[e]
                cyc += 3
                if stdp:
                    flag[c, a] = 1
                for k in range(row_ptr[c, a], row_ptr[c, a + 1]):
                    cyc += 3
                    post = syn_post[sb + k]
                    w = syn_w[sb + k]
                    slot = t_slot + syn_delay[sb + k]
                    if slot >= D:
                        slot -= D
                    ri = rb + slot * n + post
                    ring[ri] = _sat(ring[ri] + (w << shift), ilo, ihi)
                    if syn_plastic[sb + k] != 0:
                        syn_w[sb + k] = _sat(w - ((sc[c, A_MINUS] * y[nb + post]) >> sf),
                                             wlo, whi)
            cyc += 1
            out_n[c] = 0
            for j in range(n):
                cyc += 2
                g = nb + j
                ri = rb + t_slot * n + j
                r = ring[ri]
                ring[ri] = 0
                i_old = isyn[g]
                isyn[g] = _sat(((i_old * ds[g]) >> F) + r, ilo, ihi)
                spike = False
                if ref[g] > 0:
                    ref[g] -= 1
                    u[g] = u_reset[g]
                else:
                    v = _sat(((u[g] * dm[g]) >> F) + i_old + bias[g], vlo, vhi)
                    if v >= theta[g]:
                        spike = True
                        u[g] = u_reset[g]
                        ref[g] = refrac[g]
                    else:
                        u[g] = v
                if stdp:
                    yy = (y[g] * sc[c, DY]) >> F
                    y[g] = min(yy + imp, thi) if spike else yy
                if spike:
                    out_list[c, out_n[c]] = j
                    out_n[c] += 1
            if stdp:
                for a in range(G):
                    cyc += 2
                    xx = (x[c, a] * sc[c, DX]) >> F
                    x[c, a] = min(xx + imp, thi) if flag[c, a] != 0 else xx
                    flag[c, a] = 0
                for p in range(out_n[c]):
                    j = out_list[c, p]
                    cyc += 3
                    for k in range(col_ptr[cpo + j], col_ptr[cpo + j + 1]):
                        cyc += 3
                        si = sb + col_syn[cso + k]
                        pre = col_pre[cso + k]
                        syn_w[si] = _sat(syn_w[si] + ((sc[c, A_PLUS] * x[c, pre]) >> sf),
                                         wlo, whi)
                cyc += 1
            if cyc > k_max:
                k_max = cyc
        # router
        m = 0
        for c in range(C):
            for p in range(out_n[c]):
                a = c * npc + out_list[c, p]
                next_list[m] = a
                m += 1
                spk_axon[n_spk] = a
                spk_step[n_spk] = t
                n_spk += 1
        n_router = m
        while sp < stim_step.shape[0] and stim_step[sp] == t:
            next_list[m] = stim_axon[sp]
            m += 1
            sp += 1
        cycles[s] = k_max + 2 * n_router + C + 2 * (m - n_router) + 2 + 3
        for i in range(m):
            in_list[i] = next_list[i]
        in_n = m
        t += 1
    return t, sp, in_n, n_spk
