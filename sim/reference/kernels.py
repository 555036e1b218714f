"""Numba kernels of the reference engine: one fused time loop over flat arrays.

Private functions over arrays and scalars only; `engine.py` validates, allocates and wraps.
A step k runs from k*dt to (k+1)*dt; a spike in it is stamped (k+1)*dt (the NEST
convention) and, with a delay of d steps, changes the synaptic state at the end of step
k+d, i.e. at its stamp + delay. The oracle (`oracle.py`) is the readable twin of this file.
"""

from __future__ import annotations

import math

import numpy as np

from ...hw.jit import SYNC_OWN, barrier, into_ring, njit, prefetch_row
from ...hw.stimulus import poisson_draw
from .layout import (A, AE, AI, DHE, DHI, A_MINUS, A_PLUS, B, C, CM, COND_ALPHA, COND_EXP,
                     CURR_ALPHA, CURR_DELTA, CURR_EXP, D, DELTA_T, E_E, E_I, E_K, E_LEAK,
                     E_NA, EIF_ALPHA, EIF_EXP, G_K, G_L, G_NA, GH, GM, GN, HH, I_OFFSET,
                     IZHIKEVICH, IZHIKEVICH_THRESHOLD, NSUB, P20, P21E, P21I, P22, P31E,
                     P31I, PSE, PSI, SE, SI, SOURCE_POISSON, STDP_ADD, T_POST, T_PRE, TAU_FACIL, TAU_M,
                     TAU_MINUS, TAU_PLUS, TAU_REC, TAU_SE, TAU_SI, TAU_W, TSODYKS, U_USE, V,
                     V_OFFSET, V_REST, V_RESET, V_SPIKE, V_THRESH, W, W_MAX, W_MIN, X_PRE,
                     Y_POST, YE, YI)

_E = math.e
#: spikes ahead whose synapse rows `_deliver` prefetches
AHEAD = 2


@njit
def _xexp(x, s):
    """x / (exp(x/s) - 1), continuous at x = 0."""
    if abs(x / s) < 1e-6:
        return s * (1.0 - x / (2.0 * s))
    return x / math.expm1(x / s)


@njit
def _deriv(model, Q, i, v, w, m, h, n, ge, gi, I, refractory):
    """Right-hand side (dv, dw, dm, dh, dn) of the numerically integrated models (per ms)."""
    dv = 0.0
    dw = 0.0
    dm = 0.0
    dh = 0.0
    dn = 0.0
    if model == COND_EXP or model == COND_ALPHA:
        if not refractory:
            dv = (Q[V_REST, i] - v) / Q[TAU_M, i] + (ge * (Q[E_E, i] - v)
                                                     + gi * (Q[E_I, i] - v) + I) / Q[CM, i]
    elif model == EIF_EXP or model == EIF_ALPHA:
        if refractory:
            v = Q[V_RESET, i]
        else:
            dT = Q[DELTA_T, i]
            spike_term = dT * math.exp((min(v, Q[V_SPIKE, i]) - Q[V_THRESH, i]) / dT)
            dv = (Q[V_REST, i] - v + spike_term) / Q[TAU_M, i] + (
                -w + ge * (Q[E_E, i] - v) + gi * (Q[E_I, i] - v) + I) / Q[CM, i]
        dw = (1e-3 * Q[A, i] * (v - Q[V_REST, i]) - w) / Q[TAU_W, i]
    else:  # HH_cond_exp (Traub-Miles, PyNN's definition)
        u = v - Q[V_OFFSET, i]
        am = 0.32 * _xexp(13.0 - u, 4.0)
        bm = 0.28 * _xexp(u - 40.0, 5.0)
        ah = 0.128 * math.exp((17.0 - u) / 18.0)
        bh = 4.0 / (1.0 + math.exp((40.0 - u) / 5.0))
        an = 0.032 * _xexp(15.0 - u, 5.0)
        bn = 0.5 * math.exp((10.0 - u) / 40.0)
        dv = (Q[G_L, i] * (Q[E_LEAK, i] - v) - Q[G_NA, i] * m * m * m * h * (v - Q[E_NA, i])
              - Q[G_K, i] * n * n * n * n * (v - Q[E_K, i]) + ge * (Q[E_E, i] - v)
              + gi * (Q[E_I, i] - v) + I) / Q[CM, i]
        dm = am * (1.0 - m) - bm * m
        dh = ah * (1.0 - h) - bh * h
        dn = an * (1.0 - n) - bn * n
    return dv, dw, dm, dh, dn


@njit
def _substep_conductances(alpha, fe, fi, dhe, dhi, ge0, gi0, ae, ai, s0, h):
    """Exact conductances at the start, middle and end of one RK4 substep (exponential or
    alpha synapses), and the decay factors at its end; fe, fi are the factors at its start."""
    fe2, fi2 = fe * dhe, fi * dhi
    fe3, fi3 = fe2 * dhe, fi2 * dhi
    if alpha:
        ge1, gi1 = fe * (ge0 + ae * s0), fi * (gi0 + ai * s0)
        ge2, gi2 = fe2 * (ge0 + ae * (s0 + 0.5 * h)), fi2 * (gi0 + ai * (s0 + 0.5 * h))
        ge3, gi3 = fe3 * (ge0 + ae * (s0 + h)), fi3 * (gi0 + ai * (s0 + h))
    else:
        ge1, gi1 = fe * ge0, fi * gi0
        ge2, gi2 = fe2 * ge0, fi2 * gi0
        ge3, gi3 = fe3 * ge0, fi3 * gi0
    return ge1, gi1, ge2, gi2, ge3, gi3, fe3, fi3


@njit
def _rk4_step(model, Q, S, i, dt, I, refractory):
    """Advance v (and w or m, h, n) of neuron i over one step with RK4 substeps, the
    conductances following their exact exp/alpha course within the step (decay factors
    per half substep are precomputed: no exp here)."""
    alpha = model == COND_ALPHA or model == EIF_ALPHA
    nsub = int(Q[NSUB, i])
    h = dt / nsub
    ge0, gi0, ye0, yi0 = S[SE, i], S[SI, i], S[YE, i], S[YI, i]
    ae = _E * ye0 / Q[TAU_SE, i]    # alpha: g(s) = exp(-s/tau) * (g0 + e*y0*s/tau)
    ai = _E * yi0 / Q[TAU_SI, i]
    dhe, dhi = Q[DHE, i], Q[DHI, i]
    fe = 1.0                          # exp(-s/tau_syn_E) at the substep start s
    fi = 1.0
    v, w, m, hh, n = S[V, i], S[W, i], S[GM, i], S[GH, i], S[GN, i]
    for j in range(nsub):
        s0 = j * h
        ge1, gi1, ge2, gi2, ge3, gi3, fe, fi = _substep_conductances(
            alpha, fe, fi, dhe, dhi, ge0, gi0, ae, ai, s0, h)
        k1 = _deriv(model, Q, i, v, w, m, hh, n, ge1, gi1, I, refractory)
        k2 = _deriv(model, Q, i, v + 0.5 * h * k1[0], w + 0.5 * h * k1[1],
                    m + 0.5 * h * k1[2], hh + 0.5 * h * k1[3], n + 0.5 * h * k1[4],
                    ge2, gi2, I, refractory)
        k3 = _deriv(model, Q, i, v + 0.5 * h * k2[0], w + 0.5 * h * k2[1],
                    m + 0.5 * h * k2[2], hh + 0.5 * h * k2[3], n + 0.5 * h * k2[4],
                    ge2, gi2, I, refractory)
        k4 = _deriv(model, Q, i, v + h * k3[0], w + h * k3[1], m + h * k3[2],
                    hh + h * k3[3], n + h * k3[4], ge3, gi3, I, refractory)
        v += h / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0])
        w += h / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1])
        m += h / 6.0 * (k1[2] + 2.0 * k2[2] + 2.0 * k3[2] + k4[2])
        hh += h / 6.0 * (k1[3] + 2.0 * k2[3] + 2.0 * k3[3] + k4[3])
        n += h / 6.0 * (k1[4] + 2.0 * k2[4] + 2.0 * k3[4] + k4[4])
    S[V, i], S[W, i], S[GM, i], S[GH, i], S[GN, i] = v, w, m, hh, n


@njit
def _rk4_cond(alpha, Q, S, i, dt, I):
    """`_rk4_step` for IF_cond_exp/alpha (v only), with the parameters loaded once."""
    nsub = int(Q[NSUB, i])
    h = dt / nsub
    ge0, gi0 = S[SE, i], S[SI, i]
    ae = _E * S[YE, i] / Q[TAU_SE, i]
    ai = _E * S[YI, i] / Q[TAU_SI, i]
    dhe, dhi = Q[DHE, i], Q[DHI, i]
    vr, ee, ei = Q[V_REST, i], Q[E_E, i], Q[E_I, i]
    inv_tau = 1.0 / Q[TAU_M, i]
    inv_cm = 1.0 / Q[CM, i]
    fe = 1.0
    fi = 1.0
    v = S[V, i]
    for j in range(nsub):
        s0 = j * h
        ge1, gi1, ge2, gi2, ge3, gi3, fe, fi = _substep_conductances(
            alpha, fe, fi, dhe, dhi, ge0, gi0, ae, ai, s0, h)
        k1 = (vr - v) * inv_tau + (ge1 * (ee - v) + gi1 * (ei - v) + I) * inv_cm
        x = v + 0.5 * h * k1
        k2 = (vr - x) * inv_tau + (ge2 * (ee - x) + gi2 * (ei - x) + I) * inv_cm
        x = v + 0.5 * h * k2
        k3 = (vr - x) * inv_tau + (ge2 * (ee - x) + gi2 * (ei - x) + I) * inv_cm
        x = v + h * k3
        k4 = (vr - x) * inv_tau + (ge3 * (ee - x) + gi3 * (ei - x) + I) * inv_cm
        v += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    S[V, i] = v


@njit
def _decay_conductances(alpha, Q, S, i, in_e, in_i):
    """Exact end-of-step conductances, then this step's arriving input added."""
    if alpha:
        S[SE, i] = Q[PSE, i] * (S[SE, i] + Q[AE, i] * S[YE, i])
        S[SI, i] = Q[PSI, i] * (S[SI, i] + Q[AI, i] * S[YI, i])
        S[YE, i] = Q[PSE, i] * S[YE, i] + in_e
        S[YI, i] = Q[PSI, i] * S[YI, i] + in_i
    else:
        S[SE, i] = Q[PSE, i] * S[SE, i] + in_e
        S[SI, i] = Q[PSI, i] * S[SI, i] + in_i


@njit
def _clip(w, lo, hi):
    return min(max(w, lo), hi)


@njit
def _first_at_least(x, lo, hi, key):
    """The first s in lo..hi-1 with x[s] >= key, hi if none (x ascending there)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if x[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit
def _arrivals(k, dt, base, buf, hist, hist_n, n_hist, pl_ptr, pl_tgt, pl_delay, pl_w,
              pl_rule, pl_par, pl_state, n, t_lo, t_hi):
    """Plastic synapses onto targets t_lo..t_hi-1 whose pre spike arrives at the end of
    step k: update, then deliver. A row (CSR by pre) is sorted by delay, then pl_tgt =
    receptor * n + target, so the part's synapses of one delay are a run per receptor,
    found by binary search and taken in row order (each synapse's state is its own, and
    multapses keep their order: any split by target gives the serial result)."""
    a = k + 1
    for d in range(1, n_hist):
        e = k - d
        if e < -1:
            break
        hs = (e + n_hist) % n_hist
        for q in range(hist_n[hs]):
            j = hist[hs, q]
            lo = _first_at_least(pl_delay, pl_ptr[j], pl_ptr[j + 1], d)
            hi = _first_at_least(pl_delay, lo, pl_ptr[j + 1], d + 1)
            for r in range(2):
                s0 = _first_at_least(pl_tgt, lo, hi, r * n + t_lo)
                s1 = _first_at_least(pl_tgt, s0, hi, r * n + t_hi)
                for s in range(s0, s1):
                    _arrive(s, a, dt, base, buf, pl_tgt, pl_w, pl_rule, pl_par, pl_state)


@njit
def _arrive(s, a, dt, base, buf, pl_tgt, pl_w, pl_rule, pl_par, pl_state):
    """Plastic synapse s's pre spike arrives at step stamp a: its rule's update, then its
    weight (TM: its efficacy) into the input slot at `base`."""
    w = pl_w[s]
    rule = pl_rule[s]
    if rule == TSODYKS:
        h = (a - pl_state[T_PRE, s]) * dt
        x = pl_state[X_PRE, s]
        u = pl_state[Y_POST, s]
        tr = pl_par[TAU_REC, s]
        tf = pl_par[TAU_FACIL, s]
        U = pl_par[U_USE, s]
        x = 1.0 + (x - x * u - 1.0) * (math.exp(-h / tr) if tr > 0 else 0.0)
        u = U + u * (1.0 - U) * (math.exp(-h / tf) if tf > 0 else 0.0)
        pl_state[X_PRE, s] = x
        pl_state[Y_POST, s] = u
        pl_state[T_PRE, s] = a
        buf[base + pl_tgt[s]] += w * u * x
    else:
        y = pl_state[Y_POST, s] * math.exp(
            -(a - pl_state[T_POST, s]) * dt / pl_par[TAU_MINUS, s])
        x = pl_state[X_PRE, s] * math.exp(
            -(a - pl_state[T_PRE, s]) * dt / pl_par[TAU_PLUS, s])
        if rule == STDP_ADD:
            w -= pl_par[A_MINUS, s] * pl_par[W_MAX, s] * y
        else:
            w -= pl_par[A_MINUS, s] * (w - pl_par[W_MIN, s]) * y
        w = _clip(w, pl_par[W_MIN, s], pl_par[W_MAX, s])
        pl_w[s] = w
        buf[base + pl_tgt[s]] += w
        pl_state[X_PRE, s] = x + 1.0
        pl_state[T_PRE, s] = a


@njit
def _post_spike(j, a, dt, pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par, pl_state):
    """STDP potentiation of j's incoming synapses by its spike stamped a (in steps)."""
    for q in range(pl_in_ptr[j], pl_in_ptr[j + 1]):
        s = pl_in_syn[q]
        x = pl_state[X_PRE, s] * math.exp(-(a - pl_state[T_PRE, s]) * dt / pl_par[TAU_PLUS, s])
        w = pl_w[s]
        if pl_rule[s] == STDP_ADD:
            w += pl_par[A_PLUS, s] * pl_par[W_MAX, s] * x
        else:
            w += pl_par[A_PLUS, s] * (pl_par[W_MAX, s] - w) * x
        pl_w[s] = _clip(w, pl_par[W_MIN, s], pl_par[W_MAX, s])
        pl_state[Y_POST, s] = pl_state[Y_POST, s] * math.exp(
            -(a - pl_state[T_POST, s]) * dt / pl_par[TAU_MINUS, s]) + 1.0
        pl_state[T_POST, s] = a


@njit
def _note(spikes, q0, q1, e, hist, hist_n, n_hist, plastic_out, rec_spk, spk_id, spk_stamp,
          spk_n):
    """Record the spikes spikes[q0:q1] of step e (stamp e+1) and list them for plastic
    arrivals. One call per list, not per spike: a call Numba does not inline passes
    every array as a struct, which cost some 30 ns a spike."""
    c = spk_n[0]
    hs = (e + n_hist) % n_hist
    for q in range(q0, q1):
        j = spikes[q]
        if rec_spk[j]:
            spk_id[c] = j
            spk_stamp[c] = e + 1
            c += 1
        if plastic_out[j]:
            hist[hs, hist_n[hs]] = j
            hist_n[hs] += 1
    spk_n[0] = c


@njit
def _target(off, n, inv_n):
    """off modulo n (the target of a ring offset), by a float quotient corrected once:
    cheaper than an integer division."""
    r = off - int(off * inv_n) * n
    if r < 0:
        r += n
    elif r >= n:
        r -= n
    return r


@njit
def _first_onto(st_off, lo, hi, t, n, inv_n):
    """The first s in lo..hi-1 whose target (st_off[s] modulo n) is t or more, hi if none:
    a binary search in a row sorted by target (`build._sort_rows`)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if _target(st_off[mid], n, inv_n) < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit
def row_parts(st_ptr, st_off, n, own_lo):
    """Where each row's synapses onto each thread's neurons start: seg[j, t] for thread t
    (own_lo[t] on), seg[j, len(own_lo)] = the row's end. A row is sorted by target
    (`build._sort_rows`), so a thread's synapses of a spike are seg[j, t]..seg[j, t+1]-1,
    looked up once here instead of searched for at every spike."""
    parts = len(own_lo)
    seg = np.empty((len(st_ptr) - 1, parts + 1), dtype=np.int64)
    inv_n = 1.0 / n
    for j in range(len(st_ptr) - 1):
        seg[j, 0] = st_ptr[j]
        seg[j, parts] = st_ptr[j + 1]
        for t in range(1, parts):
            seg[j, t] = _first_onto(st_off, seg[j, t - 1], st_ptr[j + 1], own_lo[t], n,
                                    inv_n)
    return seg


@njit
def _deliver(spikes, n_sp, e, dt, n, st_seg, c0, c1, st_off, st_w, buf, n_slots, t_lo,
             t_hi, pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par, pl_state):
    """What the spikes[:n_sp] of step e do to targets t_lo..t_hi-1, whose synapses in row j
    are st_seg[j, c0]..st_seg[j, c1]-1 (`row_parts`): static input into the delay ring
    and STDP potentiation of the spiking targets' incoming synapses. Each ring entry gets
    its additions in spike order, and a spike's additions to one entry (multapses) in
    row order, whatever the split, so a split by target (one part per thread) sums
    exactly as one core does. Returns the synapses walked (the work `KernelChoice` weighs)."""
    total = n_slots * 2 * n
    walked = 0
    at = ((e % n_slots) if e >= 0 else n_slots - 1) * 2 * n
    for c in range(min(AHEAD, n_sp)):
        j = spikes[c]
        prefetch_row(st_off, st_w, st_seg[j, c0], st_seg[j, c1])
    for c in range(n_sp):
        if c + AHEAD < n_sp:
            j = spikes[c + AHEAD]
            prefetch_row(st_off, st_w, st_seg[j, c0], st_seg[j, c1])
        j = spikes[c]
        walked += st_seg[j, c1] - st_seg[j, c0]
        for s in range(st_seg[j, c0], st_seg[j, c1]):
            into_ring(s, at, total, st_off, st_w, buf)
        if t_lo <= j < t_hi and pl_in_ptr[j + 1] > pl_in_ptr[j]:
            _post_spike(j, e + 1, dt, pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par, pl_state)
    return walked


@njit
def _sample(m, S, rec_row, rec_every, rec_next, rec_ptr, rec_idx, rec_out, rec_off,
            rec_count):
    """Write the state at time m*dt into every recording due at m."""
    for r in range(len(rec_row)):
        if rec_next[r] == m:
            lo = rec_ptr[r]
            width = rec_ptr[r + 1] - lo
            at = rec_off[r] + rec_count[r] * width
            row = rec_row[r]
            for c in range(width):
                rec_out[at + c] = S[row, rec_idx[lo + c]]
            rec_count[r] += 1
            rec_next[r] += rec_every[r]


@njit
def _collect(v, th, r, kf, lo, count, spiked, n_sp):
    """Append neurons lo + i with v[i] >= th that are not refractory (kf >= r[i]) to
    `spiked`, scanning blocks of 64 only while some of the `count` threshold crossings
    (refractory ones included) are left. Returns the new spike count. The blocks are
    fixed-size slices counted in int32, a loop LLVM vectorises (with a running `start`
    and `min` it stayed scalar: 2.2 against 0.3 us for 4000 neurons)."""
    m = len(v)
    nb = m // 64
    for blk in range(nb + 1):
        if count <= 0:
            break
        b0 = blk * 64
        if blk < nb:
            vb = v[b0:b0 + 64]
            c = np.int32(0)
            for i in range(64):
                c += np.int32(vb[i] >= th)
            if c == 0:
                continue
            count -= c
        for i in range(b0, min(b0 + 64, m)):
            if v[i] >= th and kf >= r[i]:
                spiked[n_sp] = lo + i
                n_sp += 1
    return n_sp


@njit
def _curr_exp_homogeneous(k, lo, hi, base, n, S, Q, until, istim, has_cs, buf, spiked,
                          n_sp, refr, refr_val, refr_n, p):
    """IF_curr_exp over a homogeneous population: scalar parameters, every v advanced
    without a gate, then the few refractory neurons (listed in refr[lo:lo + refr_n[p]])
    put back to their held value. Returns the new spike count; consumes this step's input."""
    v = S[V, lo:hi]
    ie = S[SE, lo:hi]
    ii = S[SI, lo:hi]
    be = buf[base + lo:base + hi]
    bi = buf[base + n + lo:base + n + hi]
    cur = istim[lo:hi]
    kf = float(k)
    p22, p20, p21e, p21i = Q[P22, lo], Q[P20, lo], Q[P21E, lo], Q[P21I, lo]
    pse, psi = Q[PSE, lo], Q[PSI, lo]
    vr = Q[V_REST, lo]
    c0 = vr - vr * p22 + Q[I_OFFSET, lo] * p20
    th = Q[V_THRESH, lo]
    count = 0   # threshold crossings (refractory ones included)
    for i in range(hi - lo):
        a, b = ie[i], ii[i]
        x = v[i] * p22 + c0 + a * p21e - b * p21i
        if has_cs:
            x += cur[i] * p20
        v[i] = x
        count += x >= th
        ie[i] = a * pse + be[i]
        ii[i] = b * psi + bi[i]
        be[i] = 0.0
        bi[i] = 0.0
    n_sp = _collect(v, th, until[lo:hi], kf, lo, count, spiked, n_sp)
    # refractory neurons: back to the value they hold; drop those whose time is over
    q = 0
    while q < refr_n[p]:
        j = refr[lo + q]
        if kf < until[j]:
            S[V, j] = refr_val[lo + q]
            q += 1
        else:
            last = refr_n[p] - 1
            refr[lo + q] = refr[lo + last]
            refr_val[lo + q] = refr_val[lo + last]
            refr_n[p] = last
    return n_sp


@njit
def _curr_exp(k, lo, hi, base, n, S, Q, until, istim, buf, spiked, n_sp):
    """IF_curr_exp over neurons lo..hi-1 with per-neuron parameters, in loops simple
    enough to be vectorised. Returns the new spike count; consumes this step's input."""
    v = S[V, lo:hi]
    ie = S[SE, lo:hi]
    ii = S[SI, lo:hi]
    r = until[lo:hi]
    be = buf[base + lo:base + hi]
    bi = buf[base + n + lo:base + n + hi]
    cur = istim[lo:hi]
    m = hi - lo
    kf = float(k)
    p22, p20 = Q[P22, lo:hi], Q[P20, lo:hi]
    p21e, p21i = Q[P21E, lo:hi], Q[P21I, lo:hi]
    vr, io = Q[V_REST, lo:hi], Q[I_OFFSET, lo:hi]
    for i in range(m):
        vn = (vr[i] + (v[i] - vr[i]) * p22[i] + ie[i] * p21e[i] - ii[i] * p21i[i]
              + (io[i] + cur[i]) * p20[i])
        v[i] = vn if kf >= r[i] else v[i]
    pse, psi = Q[PSE, lo:hi], Q[PSI, lo:hi]
    for i in range(m):
        ie[i] = ie[i] * pse[i] + be[i]
    for i in range(m):
        ii[i] = ii[i] * psi[i] + bi[i]
    th = Q[V_THRESH, lo:hi]
    for i in range(m):
        if v[i] >= th[i] and kf >= r[i]:
            spiked[n_sp] = lo + i
            n_sp += 1
    be[:] = 0.0
    bi[:] = 0.0
    return n_sp


@njit
def _cond_homogeneous(k, lo, hi, base, n, dt, alpha, S, Q, until, istim, has_cs, buf,
                      spiked, n_sp):
    """IF_cond_exp/alpha over a homogeneous population: the same RK4 substeps as
    `_rk4_cond`, but substep by substep over all neurons (vectorisable loops; the
    conductance at each substep time is a linear combination of g and y at the step start
    with scalar coefficients). Returns the new spike count; consumes this step's input."""
    v = S[V, lo:hi]
    ge = S[SE, lo:hi]
    gi = S[SI, lo:hi]
    ye = S[YE, lo:hi]
    yi = S[YI, lo:hi]
    r = until[lo:hi]
    cur = istim[lo:hi]
    m = hi - lo
    kf = float(k)
    nsub = int(Q[NSUB, lo])
    h = dt / nsub
    vr, ee, ei = Q[V_REST, lo], Q[E_E, lo], Q[E_I, lo]
    inv_tau = 1.0 / Q[TAU_M, lo]
    inv_cm = 1.0 / Q[CM, lo]
    io = Q[I_OFFSET, lo]
    te, ti = Q[TAU_SE, lo], Q[TAU_SI, lo]
    dhe, dhi = Q[DHE, lo], Q[DHI, lo]
    fe = 1.0
    fi = 1.0
    for j in range(nsub):
        s0 = j * h
        # g(s) = f(s) * (g0 + [alpha] e*y0*s/tau) at s0, s0 + h/2, s0 + h
        fe2, fi2 = fe * dhe, fi * dhi
        fe3, fi3 = fe2 * dhe, fi2 * dhi
        ce1 = ce2 = ce3 = ci1 = ci2 = ci3 = 0.0
        if alpha:
            ce1, ci1 = fe * _E * s0 / te, fi * _E * s0 / ti
            ce2, ci2 = fe2 * _E * (s0 + 0.5 * h) / te, fi2 * _E * (s0 + 0.5 * h) / ti
            ce3, ci3 = fe3 * _E * (s0 + h) / te, fi3 * _E * (s0 + h) / ti
        for i in range(m):
            I = io + cur[i] if has_cs else io
            x = v[i]
            g1e = fe * ge[i] + ce1 * ye[i]
            g1i = fi * gi[i] + ci1 * yi[i]
            g2e = fe2 * ge[i] + ce2 * ye[i]
            g2i = fi2 * gi[i] + ci2 * yi[i]
            g3e = fe3 * ge[i] + ce3 * ye[i]
            g3i = fi3 * gi[i] + ci3 * yi[i]
            k1 = (vr - x) * inv_tau + (g1e * (ee - x) + g1i * (ei - x) + I) * inv_cm
            y = x + 0.5 * h * k1
            k2 = (vr - y) * inv_tau + (g2e * (ee - y) + g2i * (ei - y) + I) * inv_cm
            y = x + 0.5 * h * k2
            k3 = (vr - y) * inv_tau + (g2e * (ee - y) + g2i * (ei - y) + I) * inv_cm
            y = x + h * k3
            k4 = (vr - y) * inv_tau + (g3e * (ee - y) + g3i * (ei - y) + I) * inv_cm
            xn = x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            v[i] = xn if kf >= r[i] else x
        fe, fi = fe3, fi3
    _cond_input(alpha, Q[PSE, lo], Q[PSI, lo], Q[AE, lo], Q[AI, lo], ge, gi, ye, yi,
                buf[base + lo:base + hi], buf[base + n + lo:base + n + hi])
    th = Q[V_THRESH, lo]
    count = 0
    for i in range(m):
        count += v[i] >= th
    return _collect(v, th, r, kf, lo, count, spiked, n_sp)


@njit
def _cond_input(alpha, pse, psi, ae, ai, ge, gi, ye, yi, be, bi):
    """End-of-step conductances of a homogeneous population with this step's input
    added; the input slot is consumed (zeroed)."""
    if alpha:
        for i in range(len(ge)):
            ge[i] = pse * (ge[i] + ae * ye[i])
            gi[i] = psi * (gi[i] + ai * yi[i])
            ye[i] = pse * ye[i] + be[i]
            yi[i] = psi * yi[i] + bi[i]
    else:
        for i in range(len(ge)):
            ge[i] = pse * ge[i] + be[i]
            gi[i] = psi * gi[i] + bi[i]
    be[:] = 0.0
    bi[:] = 0.0


@njit
def _curr_alpha(k, lo, hi, base, n, S, Q, ref_steps, until, istim, buf, spiked, n_sp):
    """IF_curr_alpha, neuron by neuron (exact propagators). Returns the new spike count."""
    for i in range(lo, hi):
        in_e = buf[base + i]
        in_i = buf[base + n + i]
        if k >= until[i]:   # else refractory: v held
            vr = Q[V_REST, i]
            v = (vr + (S[V, i] - vr) * Q[P22, i]
                 + S[SE, i] * Q[P21E, i] - S[SI, i] * Q[P21I, i]
                 + (Q[I_OFFSET, i] + istim[i]) * Q[P20, i])
            v += S[YE, i] * Q[P31E, i] - S[YI, i] * Q[P31I, i]
            S[V, i] = v
            if v >= Q[V_THRESH, i]:
                S[V, i] = Q[V_RESET, i]
                until[i] = k + 1 + ref_steps[i]
                spiked[n_sp] = i
                n_sp += 1
        _decay_conductances(True, Q, S, i, in_e, in_i)
    return n_sp


@njit
def _curr_delta(k, lo, hi, base, n, S, Q, ref_steps, until, istim, buf, spiked, n_sp):
    """IF_curr_delta: input jumps v, and is dropped while refractory (as NEST)."""
    for i in range(lo, hi):
        if k >= until[i]:   # else refractory: v held, input discarded
            vr = Q[V_REST, i]
            v = (vr + (S[V, i] - vr) * Q[P22, i]
                 + (Q[I_OFFSET, i] + istim[i]) * Q[P20, i]
                 + buf[base + i] - buf[base + n + i])
            S[V, i] = v
            if v >= Q[V_THRESH, i]:
                S[V, i] = Q[V_RESET, i]
                until[i] = k + 1 + ref_steps[i]
                spiked[n_sp] = i
                n_sp += 1
    return n_sp


@njit
def _cond_eif(model, k, lo, hi, base, n, dt, S, Q, ref_steps, until, istim, buf, spiked,
              n_sp):
    """IF_cond_exp/alpha (per-neuron parameters) and the AdEx models, neuron by neuron
    with RK4 substeps. Returns the new spike count."""
    alpha = model == COND_ALPHA or model == EIF_ALPHA
    eif = model == EIF_EXP or model == EIF_ALPHA
    for i in range(lo, hi):
        I = Q[I_OFFSET, i] + istim[i]
        if k < until[i]:    # refractory
            if eif:
                _rk4_step(model, Q, S, i, dt, I, True)
            S[V, i] = Q[V_RESET, i]
        else:
            if eif:
                _rk4_step(model, Q, S, i, dt, I, False)
            else:
                _rk4_cond(alpha, Q, S, i, dt, I)
            thr = Q[V_SPIKE, i] if eif else Q[V_THRESH, i]
            if S[V, i] >= thr:
                S[V, i] = Q[V_RESET, i]
                if eif:
                    S[W, i] += Q[B, i]
                until[i] = k + 1 + ref_steps[i]
                spiked[n_sp] = i
                n_sp += 1
        _decay_conductances(alpha, Q, S, i, buf[base + i], buf[base + n + i])
    return n_sp


@njit
def _hh(k, lo, hi, base, n, dt, S, Q, ref_steps, until, istim, buf, spiked, n_sp):
    """HH_cond_exp: a spike when v is over v_offset + 30 mV and falling, then a
    pseudo-refractory time without spikes; no reset."""
    for i in range(lo, hi):
        v_before = S[V, i]
        _rk4_step(HH, Q, S, i, dt, Q[I_OFFSET, i] + istim[i], False)
        v = S[V, i]
        if k >= until[i] and v > Q[V_OFFSET, i] + 30.0 and v_before > v:
            until[i] = k + 1 + ref_steps[i]
            spiked[n_sp] = i
            n_sp += 1
        _decay_conductances(False, Q, S, i, buf[base + i], buf[base + n + i])
    return n_sp


@njit
def _izhikevich(lo, hi, base, n, dt, S, Q, istim, buf, spiked, n_sp):
    """Izhikevich, forward Euler at dt (NEST's izhikevich), input as a jump of v."""
    for i in range(lo, hi):
        v = S[V, i]
        u = S[W, i]
        I = 1000.0 * (Q[I_OFFSET, i] + istim[i])
        vn = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + I) \
            + buf[base + i] - buf[base + n + i]
        un = u + dt * Q[A, i] * (Q[B, i] * v - u)
        if vn >= IZHIKEVICH_THRESHOLD:
            vn = Q[C, i]
            un += Q[D, i]
            spiked[n_sp] = i
            n_sp += 1
        S[V, i] = vn
        S[W, i] = un
    return n_sp


@njit
def _sources(lo, hi, stamp, in_ptr, in_stamp, in_pos, spiked, n_sp):
    """Source neurons lo..hi-1 fire their input spikes of `stamp`, each as often as it
    repeats (the cursors in_pos move past them). Returns the new spike count."""
    for i in range(lo, hi):
        q = in_pos[i]
        while q < in_ptr[i + 1] and in_stamp[q] == stamp:
            q += 1
            spiked[n_sp] = i
            n_sp += 1
        in_pos[i] = q
    return n_sp


@njit
def _poisson_sources(lo, hi, stamp, po_seed, po_p, po_lam, po_first, po_last, spiked,
                     n_sp):
    """Poisson neurons lo..hi-1 draw their spikes of `stamp` (`hw.stimulus.poisson_draw`,
    the stimulus's own rule), each listed as often as it spikes. Returns the new count."""
    for i in range(lo, hi):
        if po_first[i] <= stamp <= po_last[i]:
            for _ in range(poisson_draw(po_seed[i], stamp, po_p[i], po_lam[i])):
                spiked[n_sp] = i
                n_sp += 1
    return n_sp


@njit
def _currents(k, cs_ptr, cs_idx, cs_uniq, cs_wave, cs_k0, istim):
    """The current-source input of step k, summed per neuron."""
    for q in range(len(cs_uniq)):
        istim[cs_uniq[q]] = 0.0
    for c in range(len(cs_ptr) - 1):
        val = cs_wave[c, k - cs_k0]
        for q in range(cs_ptr[c], cs_ptr[c + 1]):
            istim[cs_idx[q]] += val


@njit
def _step_populations(k, base, dt, p0, p1, pop_lo, pop_hi, pop_model, pop_homogeneous, S,
                      Q, ref_steps, until, refr, refr_val, refr_n, in_ptr, in_stamp, in_pos,
                      po, has_cs, istim, buf, spiked):
    """Advance populations (or pieces of them: the parallel kernel's chunks) p0..p1-1 over
    step k, each by its model's loop, and consume their input slot. Returns how many
    spikes (listed in `spiked`) the step made."""
    n = S.shape[1]
    n_sp = 0
    for p in range(p0, p1):
        model, lo, hi = pop_model[p], pop_lo[p], pop_hi[p]
        fast = pop_homogeneous[p] and (model == CURR_EXP or model == COND_EXP
                                       or model == COND_ALPHA)
        first = n_sp
        if model == CURR_EXP and fast:
            n_sp = _curr_exp_homogeneous(k, lo, hi, base, n, S, Q, until, istim, has_cs,
                                         buf, spiked, n_sp, refr, refr_val, refr_n, p)
        elif model == CURR_EXP:
            n_sp = _curr_exp(k, lo, hi, base, n, S, Q, until, istim, buf, spiked, n_sp)
        elif fast:
            n_sp = _cond_homogeneous(k, lo, hi, base, n, dt, model == COND_ALPHA, S, Q,
                                     until, istim, has_cs, buf, spiked, n_sp)
        elif model == CURR_ALPHA:
            n_sp = _curr_alpha(k, lo, hi, base, n, S, Q, ref_steps, until, istim, buf,
                               spiked, n_sp)
        elif model == CURR_DELTA:
            n_sp = _curr_delta(k, lo, hi, base, n, S, Q, ref_steps, until, istim, buf,
                               spiked, n_sp)
        elif model == COND_EXP or model == COND_ALPHA or model == EIF_EXP \
                or model == EIF_ALPHA:
            n_sp = _cond_eif(model, k, lo, hi, base, n, dt, S, Q, ref_steps, until, istim,
                             buf, spiked, n_sp)
        elif model == HH:
            n_sp = _hh(k, lo, hi, base, n, dt, S, Q, ref_steps, until, istim, buf, spiked,
                       n_sp)
        elif model == IZHIKEVICH:
            n_sp = _izhikevich(lo, hi, base, n, dt, S, Q, istim, buf, spiked, n_sp)
        elif model == SOURCE_POISSON and len(po[0]):   # drawn here (po: the table)
            n_sp = _poisson_sources(lo, hi, k + 1, po[0], po[1], po[2], po[3], po[4],
                                    spiked, n_sp)
        else:   # SOURCE_ARRAY (SOURCE_POISSON with no table): the input spikes handed in
            n_sp = _sources(lo, hi, k + 1, in_ptr, in_stamp, in_pos, spiked, n_sp)
        if model == CURR_EXP or fast:
            for q in range(first, n_sp):     # the fast paths leave the reset to here
                i = spiked[q]
                S[V, i] = Q[V_RESET, i]
                until[i] = k + 1 + ref_steps[i]
                if model == CURR_EXP and fast:     # listed while refractory
                    refr[lo + refr_n[p]] = i
                    refr_val[lo + refr_n[p]] = Q[V_RESET, i]
                    refr_n[p] += 1
        else:   # the fast paths consumed their input slot; the others do it here
            for q in range(lo, hi):
                buf[base + q] = 0.0
                buf[base + n + q] = 0.0
    return n_sp


@njit
def _emit_zero(n, in_ptr, in_stamp, in_pos, spiked):
    """The input spikes stamped 0 (emitted "in step -1") into `spiked`, each as often as it
    repeats; moves the cursors past them. Returns their count."""
    n_sp = 0
    for j in range(n):
        q = in_pos[j]
        while q < in_ptr[j + 1] and in_stamp[q] == 0:
            q += 1
            spiked[n_sp] = j
            n_sp += 1
        in_pos[j] = q
    return n_sp


@njit
def run_steps(k0, k1, dt, emit_zero,
              pop_lo, pop_hi, pop_model, pop_homogeneous, S, Q, ref_steps, until,
              refr, refr_val, refr_n,
              in_ptr, in_stamp, in_pos, po,
              cs_ptr, cs_idx, cs_uniq, cs_wave, cs_k0, istim,
              st_seg, st_off, st_w, buf, n_slots,
              pl_ptr, pl_tgt, pl_delay, pl_w, pl_rule, pl_par, pl_state,
              pl_in_ptr, pl_in_syn, plastic_out, hist, hist_n, n_hist,
              rec_row, rec_every, rec_next, rec_ptr, rec_idx, rec_out, rec_off, rec_count,
              rec_spk, n_rec_spk, spk_id, spk_stamp, spk_n, spiked, work):
    """Advance steps k0 .. k1-1 on one core. Input spikes (the one stimulus) are a CSR by
    source neuron (in_ptr, in_stamp ascending) read from the cursors in_pos; a stamp that
    repeats is delivered as often as it repeats. Returns the step reached: k1, or earlier
    when the spike record is full (the caller grows it and calls again from there); adds
    the synapses walked to work[0]."""
    n = S.shape[1]
    last = st_seg.shape[1] - 1      # a row's synapses: st_seg[j, 0]..st_seg[j, last]-1
    if emit_zero:
        _open(n, dt, in_ptr, in_stamp, in_pos, spiked, hist, hist_n, n_hist, plastic_out,
              rec_spk, spk_id, spk_stamp, spk_n, st_seg, last, st_off, st_w, buf, n_slots,
              pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par, pl_state)
    has_cs = len(cs_ptr) > 1
    for k in range(k0, k1):
        if spk_n[0] + n_rec_spk > len(spk_id):
            return k
        _sample(k, S, rec_row, rec_every, rec_next, rec_ptr, rec_idx, rec_out, rec_off,
                rec_count)
        base = (k % n_slots) * 2 * n
        hist_n[k % n_hist] = 0
        if n_hist > 1:
            _arrivals(k, dt, base, buf, hist, hist_n, n_hist, pl_ptr, pl_tgt, pl_delay,
                      pl_w, pl_rule, pl_par, pl_state, n, 0, n)
        if has_cs:
            _currents(k, cs_ptr, cs_idx, cs_uniq, cs_wave, cs_k0, istim)
        n_sp = _step_populations(k, base, dt, 0, len(pop_lo), pop_lo, pop_hi, pop_model,
                                 pop_homogeneous, S, Q, ref_steps, until, refr, refr_val,
                                 refr_n, in_ptr, in_stamp, in_pos, po, has_cs, istim, buf,
                                 spiked)
        _note(spiked, 0, n_sp, k, hist, hist_n, n_hist, plastic_out, rec_spk, spk_id,
              spk_stamp, spk_n)
        work[0] += _deliver(spiked, n_sp, k, dt, n, st_seg, 0, last, st_off, st_w, buf,
                            n_slots, 0, n, pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par,
                            pl_state)
    _sample(k1, S, rec_row, rec_every, rec_next, rec_ptr, rec_idx, rec_out, rec_off,
            rec_count)
    return k1


@njit
def run_steps_parallel(w, workers, sync, k0, k1, dt, emit_zero, own_lo, own_hi, own_p,
                       pop_lo, pop_hi, pop_model, pop_homogeneous, S, Q, ref_steps, until,
                       refr, refr_val, refr_n,
                       in_ptr, in_stamp, in_pos, po,
                       cs_ptr, cs_idx, cs_uniq, cs_wave, cs_k0, istim,
                       st_seg, st_off, st_w, buf, n_slots,
                       pl_ptr, pl_tgt, pl_delay, pl_w, pl_rule, pl_par, pl_state,
                       pl_in_ptr, pl_in_syn, plastic_out, hist, hist_n, n_hist,
                       rec_row, rec_every, rec_next, rec_ptr, rec_idx, rec_out, rec_off,
                       rec_count, rec_spk, n_rec_spk, spk_id, spk_stamp, spk_n, spiked,
                       part, part_n, work):
    """Worker w of `workers` (`hw.jit.run_workers`, all at once) of `run_steps`, with the
    same result bit for bit. Part t owns neurons own_lo[t]..own_hi[t]-1, made of the
    chunks (pop_* rows: populations cut at the owners' bounds) own_p[t]..own_p[t+1]-1,
    and everything that lands on them; worker w runs parts w, w + workers, ... Each step,
    after a `barrier` (all of the step before done), a worker delivers the previous
    step's spikes to its parts' neurons (`_deliver`: every part's list of them in part
    order, the serial spike order; each spike's synapses onto part t are st_seg[j, t] ..
    st_seg[j, t+1]-1, `row_parts`), runs their plastic arrivals and advances them,
    listing part t's spikes in part[k % 2, t] (two buffers: the lists of step k - 1 are
    read while those of step k are written). Worker 0 records the previous step's spikes
    (`_note`) beside the others' work, and alone samples, draws current waveforms and,
    with plastic synapses, records before a second barrier (arrivals read the list it
    makes). So every float sum has the terms and the order of one core, and no two
    workers write one location. Returns the step reached, the same on every worker; adds
    the synapses the worker walked to work[w]."""
    n = S.shape[1]
    n_th = len(own_lo)
    has_cs = len(cs_ptr) > 1
    plastic = n_hist > 1
    prelude = plastic or has_cs or len(rec_row) > 0     # worker 0 alone, then a barrier
    if w == 0:
        if emit_zero:
            _open(n, dt, in_ptr, in_stamp, in_pos, spiked, hist, hist_n, n_hist,
                  plastic_out, rec_spk, spk_id, spk_stamp, spk_n, st_seg, n_th, st_off,
                  st_w, buf, n_slots, pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par, pl_state)
        sync[SNAP + k0 % 2] = spk_n[0]
    walked = 0           # synapses walked by this worker, into work[w]
    passed = 0           # barriers passed (the same sequence on every worker)
    e = k0 - 1           # the step whose lists part[e % 2] are still to be delivered
    for k in range(k0, k1):
        was = (k + 1) % 2    # the buffer of step e = k - 1 (empty at k0)
        barrier(sync, workers, passed)
        passed += 1
        # spikes recorded up to step k - 2 (worker 0's count, kept for this step)
        if sync[SNAP + k % 2] + part_n[was].sum() + n_rec_spk > len(spk_id):
            break
        if w == 0:
            if plastic:
                _note_parts(part[was], part_n[was], e, hist, hist_n, n_hist, plastic_out,
                            rec_spk, spk_id, spk_stamp, spk_n)
            _sample(k, S, rec_row, rec_every, rec_next, rec_ptr, rec_idx, rec_out, rec_off,
                    rec_count)
            hist_n[k % n_hist] = 0
            if has_cs:
                _currents(k, cs_ptr, cs_idx, cs_uniq, cs_wave, cs_k0, istim)
        if prelude:
            barrier(sync, workers, passed)
            passed += 1
        base = (k % n_slots) * 2 * n
        for t in range(w, n_th, workers):
            lo, hi = own_lo[t], own_hi[t]
            if t == 0 and not plastic:
                _note_parts(part[was], part_n[was], e, hist, hist_n, n_hist, plastic_out,
                            rec_spk, spk_id, spk_stamp, spk_n)
            walked += _deliver_parts(part[was], part_n[was], e, dt, n, st_seg, t, t + 1,
                                     st_off, st_w, buf, n_slots, lo, hi, pl_in_ptr,
                                     pl_in_syn, pl_w, pl_rule, pl_par, pl_state)
            if plastic:
                _arrivals(k, dt, base, buf, hist, hist_n, n_hist, pl_ptr, pl_tgt,
                          pl_delay, pl_w, pl_rule, pl_par, pl_state, n, lo, hi)
            part_n[k % 2, t] = _step_populations(
                k, base, dt, own_p[t], own_p[t + 1], pop_lo, pop_hi, pop_model,
                pop_homogeneous, S, Q, ref_steps, until, refr, refr_val, refr_n, in_ptr,
                in_stamp, in_pos, po, has_cs, istim, buf, part[k % 2, t])
        if w == 0:       # step k - 1 is recorded (in the prelude or with part 0)
            sync[SNAP + (k + 1) % 2] = spk_n[0]
        e = k
    work[w] += walked
    barrier(sync, workers, passed)      # every part's last step done
    if w == 0:
        _close(e, k0, k1, n, dt, part, part_n, hist, hist_n, n_hist, plastic_out, rec_spk,
               spk_id, spk_stamp, spk_n, st_seg, st_off, st_w, buf, n_slots, pl_in_ptr,
               pl_in_syn, pl_w, pl_rule, pl_par, pl_state, S, rec_row, rec_every, rec_next,
               rec_ptr, rec_idx, rec_out, rec_off, rec_count)
    return e + 1


#: sync[SNAP + k % 2]: the spikes recorded when step k starts (`run_steps_parallel`)
SNAP = SYNC_OWN


@njit
def _open(n, dt, in_ptr, in_stamp, in_pos, spiked, hist, hist_n, n_hist, plastic_out,
          rec_spk, spk_id, spk_stamp, spk_n, st_seg, last, st_off, st_w, buf, n_slots,
          pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par, pl_state):
    """A run's first call: the input spikes stamped 0 (emitted "in step -1") recorded and
    delivered to every neuron (row j's synapses st_seg[j, 0]..st_seg[j, last]-1)."""
    n_sp = _emit_zero(n, in_ptr, in_stamp, in_pos, spiked)
    _note(spiked, 0, n_sp, -1, hist, hist_n, n_hist, plastic_out, rec_spk, spk_id,
          spk_stamp, spk_n)
    _deliver(spiked, n_sp, -1, dt, n, st_seg, 0, last, st_off, st_w, buf, n_slots, 0, n,
             pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par, pl_state)


@njit
def _close(e, k0, k1, n, dt, part, part_n, hist, hist_n, n_hist, plastic_out, rec_spk,
           spk_id, spk_stamp, spk_n, st_seg, st_off, st_w, buf, n_slots, pl_in_ptr,
           pl_in_syn, pl_w, pl_rule, pl_par, pl_state, S, rec_row, rec_every, rec_next,
           rec_ptr, rec_idx, rec_out, rec_off, rec_count):
    """The end of `run_steps_parallel`: the last step's spikes (step e) recorded and
    delivered to every neuron, and the state sampled at k1 when the call reached it
    (else it stopped early, and the next call samples step e + 1 first)."""
    if e >= k0:
        now = e % 2
        _note_parts(part[now], part_n[now], e, hist, hist_n, n_hist, plastic_out, rec_spk,
                    spk_id, spk_stamp, spk_n)
        _deliver_parts(part[now], part_n[now], e, dt, n, st_seg, 0, len(part_n[now]),
                       st_off, st_w, buf, n_slots, 0, n, pl_in_ptr, pl_in_syn, pl_w,
                       pl_rule, pl_par, pl_state)
    if e + 1 == k1:
        _sample(k1, S, rec_row, rec_every, rec_next, rec_ptr, rec_idx, rec_out, rec_off,
                rec_count)


@njit
def _note_parts(lists, counts, e, hist, hist_n, n_hist, plastic_out, rec_spk, spk_id,
                spk_stamp, spk_n):
    """`_note` for the threads' spike lists of step e, in thread order."""
    for u in range(len(counts)):
        _note(lists[u], 0, counts[u], e, hist, hist_n, n_hist, plastic_out, rec_spk,
              spk_id, spk_stamp, spk_n)


@njit
def _deliver_parts(lists, counts, e, dt, n, st_seg, c0, c1, st_off, st_w, buf, n_slots,
                   t_lo, t_hi, pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par, pl_state):
    """`_deliver` of the threads' spike lists of step e, in thread order (the serial
    spike order); returns the synapses walked."""
    walked = 0
    for u in range(len(counts)):
        walked += _deliver(lists[u], counts[u], e, dt, n, st_seg, c0, c1, st_off, st_w, buf,
                           n_slots, t_lo, t_hi, pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par,
                           pl_state)
    return walked
