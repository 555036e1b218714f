"""Numba kernels of the Loihi-style emulator: integer arrays in, integer arrays out.

Arithmetic (lava-nc PyLifModelBitAcc, see REFERENCE.md): decays truncate toward zero,
u wraps to 24 bits as lava does it (the engine's sweep: modulo 2**24, the same wherever
lava's single wrap lands in range), v saturates at +-(2**23 - 1), spike on v > vth << 6.
Widths arrive as arguments (from the spec's NumberFormats); nothing here hard-codes one.
Input spikes arrive as the one stimulus (`hw.stimulus`): per window, the source neurons'
ids sorted by stamp then id, with a pointer per stamp.
"""

from __future__ import annotations

import numpy as np

from ...hw.jit import SYNC_OWN, atomic_add, barrier, into_ring, njit, sar32, shl32, shr32
from ...hw.layouts.loihi import FIRST_SOURCE_CODE

#: words of a timing stream's sync array (timing.TimingStream) that the dynamics use: the
#: steps published so far (a cache line of its own, which the timing thread reads), the
#: step whose count is all_cnt[0], and the spikes in all_id before a kernel call
PUB_STEPS, PUB_K0, PUB_N0 = SYNC_OWN, SYNC_OWN + 1, SYNC_OWN + 2


@njit
def _decay(x, d, unity_bits):
    """x * d / 2**unity_bits truncated toward zero, as lava: sign(x) * (|x * d| >> bits).
    Written with selects and a logical shift, which AVX2 has for 64-bit lanes (the
    arithmetic one it lacks), so the compartment sweep vectorises."""
    y = x * d
    neg = y < 0
    r = np.int64(np.uint64(-y if neg else y) >> np.uint64(unity_bits))
    return -r if neg else r


@njit
def _wrap_u(u, half):
    """lava's 24-bit wrap of u: above 2**23 subtract 2**24; at or below -2**23 add 2**24."""
    if u > half:
        return u - 2 * half
    if u <= -half:
        return u + 2 * half
    return u


@njit
def _clip_v(v, vmax):
    if v > vmax:
        return vmax
    if v < -vmax:
        return -vmax
    return v


@njit
def lif_step_kernel(du, dv, vth, bias, u, v, a_in, unity_bits, du_offset, shift, half, vmax,
                    spikes):
    """One lava bit-accurate LIF step over arrays, in place (u, v, spikes)."""
    one = 1 << unity_bits
    for i in range(len(u)):
        ui = _decay(u[i], one - (du[i] + du_offset), unity_bits) + (a_in[i] << shift)
        ui = _wrap_u(ui, half)
        vi = _decay(v[i], one - dv[i], unity_bits) + ui + bias[i]
        vi = _clip_v(vi, vmax)
        s = vi > (vth[i] << shift)
        if s:
            vi = 0
        u[i] = ui
        v[i] = vi
        spikes[i] = s


#: rows of the packed per-compartment state and constants (`_compartments`)
ST_U0, ST_U1, ST_V, ST_REFC = range(4)
C_KU0, C_KU1, C_KV, C_VTH, C_BIAS, C_REFRACT = range(6)
N_CONSTS = 6
I32, U32 = np.int32, np.uint32


@njit
def _decay32(x, d, bits, mask):
    """trunc(x * d / 2**bits) in int32 for any int32 x and 0 <= d <= 2**bits <= 2**15: with
    x = xh * 2**bits + xl (0 <= xl < 2**bits) no product leaves 32 bits; the floor is
    corrected up by one where x * d is negative and not a multiple of 2**bits."""
    xh = sar32(x, bits)
    lo = I32(I32(x & mask) * d)
    floor = I32(I32(xh * d) + I32(shr32(lo, bits)))
    return I32(floor + I32(I32(x < 0) & I32(I32(lo & mask) != 0)))


@njit
def _wrap24(x, half):
    """x modulo 2 * half into (-half, half], as the 24-bit u register keeps it: lava's
    single wrap (above half subtract 2 * half, at or below -half add it) wherever that
    lands in range, which is everywhere |x| < 3 * half."""
    return I32(I32(I32(x + I32(half - 1)) & I32(2 * half - 1)) - I32(half - 1))


@njit
def _compartments(lo, hi, a0, a1, st, cs, fl, unity_bits, half, vmax, rsh0, lsh0, rsh1,
                  lsh1):
    """Branch-free update of compartments lo..hi-1 from their channel inputs a0, a1; spike
    flags go to `fl`. State (st: u0, u1, v, refractory count) and constants (cs: ku0, ku1,
    kv, vth_s, bias, refract) are rows of two int32 arrays; the input shifts (a >> rsh) <<
    lsh are scalars (one weight exponent per population and channel). Every value is cast
    back to int32 after each operation (Numba widens to int64) and the shifts are 32-bit
    (`hw.jit.sar32`, `shr32`, `shl32`), so LLVM keeps eight lanes per AVX2 vector. Exact
    under the engine's checks: unity_bits <= 15, 0 <= k <= 2**bits, shifts < 32,
    vmax + 2 * half + |bias| < 2**31. u is taken modulo 2 * half (`_wrap24`),
    so the input may wrap int32 in the shift: only its residue modulo 2 * half counts."""
    u0, u1, v, refc = st[ST_U0], st[ST_U1], st[ST_V], st[ST_REFC]
    ku0, ku1, kv, vth_s = cs[C_KU0], cs[C_KU1], cs[C_KV], cs[C_VTH]
    bias, refract = cs[C_BIAS], cs[C_REFRACT]
    # shift counts as uint32 masked to 0..31 (the engine checks they are), so LLVM keeps
    # every shift 32-bit
    bits, mask = U32(unity_bits & 31), I32((1 << unity_bits) - 1)
    h, vm = I32(half), I32(vmax)
    r0, l0, r1, l1 = U32(rsh0 & 31), U32(lsh0 & 31), U32(rsh1 & 31), U32(lsh1 & 31)
    for i in range(np.uint64(lo), np.uint64(hi)):   # unsigned: no wraparound test, SIMD
        x0 = _wrap24(I32(_decay32(u0[i], ku0[i], bits, mask)
                         + shl32(sar32(a0[i], r0), l0)), h)
        x1 = _wrap24(I32(_decay32(u1[i], ku1[i], bits, mask)
                         + shl32(sar32(a1[i], r1), l1)), h)
        u0[i] = x0
        u1[i] = x1
        vi = I32(I32(I32(_decay32(v[i], kv[i], bits, mask) + x0) + x1) + bias[i])
        vi = I32(min(max(vi, I32(-vm)), vm))
        r = refc[i]
        idle = I32(r == 0)
        fire = I32(idle & I32(vi > vth_s[i]))
        v[i] = I32(vi * I32(idle - fire))
        refc[i] = I32(I32(fire * refract[i]) + I32(I32(1 - idle) * I32(r - 1)))
        fl[i] = fire


@njit
def _collect(fl, fl_words, lo, hi, spiked, n_sp):
    """Append the ids i in lo..hi-1 with fl[i] set to spiked[n_sp:]; returns the new count.
    Reads eight flags at a time: few compartments fire in a step."""
    i = lo
    while i < hi:
        if i % 8 == 0 and i + 8 <= hi and fl_words[i // 8] == 0:
            i += 8
            continue
        if fl[i]:
            spiked[n_sp] = i
            n_sp += 1
        i += 1
    return n_sp


@njit
def run_steps(k0, k1, seg_lo, seg_hi, seg_model, seg_shift, cs, st, buf, n_slots,
              s_ptr, s_tgt, s_off, s_w, s_pl, in_ptr, in_syn, s_pre,
              inp_id, inp_ptr, inp_s0, pl_par, x_tr, y_tr, fired,
              rec_flag, n_flagged, spk_id, spk_step, spk_n, rec_v_idx, rec_v, rec_k0,
              unity_bits, half, vmax, trace_max, frac_bits, trace_bits, all_id, all_cnt,
              pub):
    """Steps k0 .. k1-1 of the whole chip; returns the first step not run (the spike
    record could not hold another step of `n_flagged` recorded neurons, or `all_id` another
    step of every neuron).

    State, constants and the dendritic accumulators are int32 (u and v are 24-bit, the
    accumulators sum 8-bit mantissas); the compartment sweep computes in int32 too
    (`_compartments`). Per-neuron constants come precomputed: ku = 2**unity_bits - (du +
    du_offset), kv = 2**unity_bits - dv, vth_s = vth << shift; the compartments run in
    segments (seg_lo..seg_hi, model seg_model) of one input scaling (a >> rsh) << lsh per
    channel, seg_shift rows rsh0, lsh0, rsh1, lsh1 with lsh = max(wexp, 0) + shift,
    rsh = max(-wexp, 0). A source segment emits the input spikes of the step's stamp:
    inp_id[inp_ptr[s - inp_s0]:inp_ptr[s - inp_s0 + 1]] for stamp s = k + 1.
    Per step: every compartment updates (input that arrived for this step, decay, bias,
    threshold, refractory hold of v at 0), then spikes are delivered into the dendritic
    delay ring (`_deliver`), then the learning engine (`_learn`).
    With a non-empty `all_cnt`, every spike (by increasing id) is appended to `all_id` (from
    pub[PUB_N0]), all_cnt[k - pub[PUB_K0]] counts the step's and pub[PUB_STEPS] counts the
    step published: the input of the timing model (timing.TimingStream), which runs on
    another thread meanwhile.
    """
    n = st.shape[1]
    v = st[ST_V]
    spiked = np.empty(n, np.int64)
    fl = np.zeros((n + 7) // 8 * 8, np.int8)
    fl_words = fl.view(np.uint64)
    record_all = len(all_cnt) > 0
    ring = n_slots * 2 * n
    n_all = pub[PUB_N0] if record_all else 0
    for k in range(k0, k1):
        if spk_n[0] + n_flagged > len(spk_id) or (record_all and n_all + n > len(all_id)):
            return k
        base = (k % n_slots) * 2 * n
        s = k + 1 - inp_s0
        n_sp = _update(0, len(seg_lo), seg_lo, seg_hi, seg_model, seg_shift, buf, base, n,
                       st, cs, fl, fl_words, unity_bits, half, vmax, spiked, inp_id,
                       inp_ptr[s], inp_ptr[s + 1])
        buf[base:base + 2 * n] = 0              # this slot's input is consumed
        n_all = _record(k, n_sp, spiked, rec_flag, spk_id, spk_step, spk_n, rec_v_idx, rec_v,
                        rec_k0, v, all_id, all_cnt, pub, n_all)
        _deliver(n_sp, spiked, base, ring, s_ptr, s_off, s_w, buf)
        if pl_par.shape[0] > 0:
            _learn(n_sp, spiked, s_ptr, s_tgt, s_w, s_pl, in_ptr, in_syn, s_pre, pl_par,
                   x_tr, y_tr, fired, trace_max, frac_bits, trace_bits)
    return k1


@njit
def run_steps_parallel(w, workers, sync, k0, k1, own_lo, own_hi, own_p, seg_lo, seg_hi,
                       seg_model, seg_shift, cs, st, buf, n_slots, s_ptr, s_tgt, s_off, s_w,
                       s_pl, in_ptr, in_syn, s_pre, inp_id, inp_ptr, inp_s0, pl_par, x_tr,
                       y_tr, fired, rec_flag, n_flagged, spk_id, spk_step, spk_n, rec_v_idx,
                       rec_v, rec_k0, unity_bits, half, vmax, trace_max, frac_bits,
                       trace_bits, all_id, all_cnt, pub, part, part_n, own_cut):
    """Worker w of `workers` (`hw.jit.run_workers`, all at once) of `run_steps`, with the
    same result bit for bit. Part t owns compartments own_lo[t]..own_hi[t]-1 (the segments
    own_p[t]..own_p[t+1]-1, cut at the owners' bounds) and the ring entries of those
    targets; worker w runs parts w, w + workers, ... Each step, after a `barrier` (all of
    the step before done), a worker delivers the previous step's spikes to its parts (its
    synapses of neuron i, rows sorted by target: own_cut[t, i]..own_cut[t + 1, i] - 1;
    integer sums, so the ring is the same in any order), advances them, consumes their
    slot and lists part t's spikes in part[k % 2, t] (two buffers: the lists of step k - 1
    are read while those of step k are written); the lists in part order are the serial
    spike order. Worker 0 records the previous step's spikes beside the others' work, or,
    with v recorded or learning, before a second barrier: v is sampled before any
    compartment moves on, and with learning the delivery of whole rows and `_learn` run
    there, as the weights change. Returns the first step not run, the same on every
    worker."""
    n = st.shape[1]
    n_th = len(own_lo)
    v = st[ST_V]
    spiked = np.empty(n, np.int64)      # worker 0: the previous step's lists joined
    fl = np.zeros((n + 7) // 8 * 8, np.int8)
    fl_words = fl.view(np.uint64)
    record_all = len(all_cnt) > 0
    learn = pl_par.shape[0] > 0
    prelude = learn or len(rec_v_idx) > 0       # worker 0 alone, then a barrier
    ring = n_slots * 2 * n
    n_all = pub[PUB_N0] if record_all else 0    # worker 0's count of spikes in all_id
    if w == 0:
        sync[SNAP + k0 % 2] = spk_n[0]
        sync[SNAP + 2 + k0 % 2] = n_all
    passed = 0           # barriers passed (the same sequence on every worker)
    e = k0 - 1           # the step whose lists part[e % 2] are still to be recorded
    sent = ((k0 - 1) % n_slots) * 2 * n
    k_end = k1
    for k in range(k0, k1):
        was = (k + 1) % 2
        barrier(sync, workers, passed)
        passed += 1
        # run_steps' test after step k - 1 was recorded: the counts up to step k - 2
        # (worker 0's, kept for this step) and the lists of step k - 1
        flagged = 0
        for t in range(n_th):
            for q in range(part_n[was, t]):
                flagged += rec_flag[part[was, t, q]]
        if (sync[SNAP + k % 2] + flagged + n_flagged > len(spk_id)
                or (record_all and sync[SNAP + 2 + k % 2] + part_n[was].sum() + n
                    > len(all_id))):
            k_end = k
            break
        if w == 0 and prelude:
            n_all = _handover(e, k0, was, part, part_n, spiked, learn, sent, ring, rec_flag,
                              spk_id, spk_step, spk_n, rec_v_idx, rec_v, rec_k0, v, all_id,
                              all_cnt, pub, n_all, s_ptr, s_tgt, s_off, s_w, s_pl, in_ptr,
                              in_syn, s_pre, pl_par, x_tr, y_tr, fired, trace_max,
                              frac_bits, trace_bits, buf)
        if prelude:
            barrier(sync, workers, passed)
            passed += 1
        base = (k % n_slots) * 2 * n
        s = k + 1 - inp_s0
        for t in range(w, n_th, workers):
            if t == 0 and not prelude:      # (no learning here: nothing to deliver)
                n_all = _handover(e, k0, was, part, part_n, spiked, learn, sent, ring,
                                  rec_flag, spk_id, spk_step, spk_n, rec_v_idx, rec_v,
                                  rec_k0, v, all_id, all_cnt, pub, n_all, s_ptr, s_tgt, s_off,
                                  s_w, s_pl, in_ptr, in_syn, s_pre, pl_par, x_tr, y_tr,
                                  fired, trace_max, frac_bits, trace_bits, buf)
            lo, hi = own_lo[t], own_hi[t]
            if not learn:
                for u in range(n_th):
                    _deliver_part(part_n[was, u], part[was, u], sent, ring, own_cut[t],
                                  own_cut[t + 1], s_off, s_w, buf)
            part_n[k % 2, t] = _update(own_p[t], own_p[t + 1], seg_lo, seg_hi, seg_model,
                                       seg_shift, buf, base, n, st, cs, fl, fl_words,
                                       unity_bits, half, vmax, part[k % 2, t], inp_id,
                                       inp_ptr[s], inp_ptr[s + 1])
            buf[base + lo:base + hi] = 0            # this slot's input is consumed
            buf[base + n + lo:base + n + hi] = 0
        if w == 0:       # step k - 1 is recorded (in the prelude or with part 0)
            sync[SNAP + (k + 1) % 2] = spk_n[0]
            sync[SNAP + 2 + (k + 1) % 2] = n_all
        sent = base
        e = k
    barrier(sync, workers, passed)      # every part's last step done
    if w == 0 and e >= k0:              # the last step's spikes, delivered to every target
        _handover(e, k0, e % 2, part, part_n, spiked, True, sent, ring, rec_flag, spk_id,
                  spk_step, spk_n, rec_v_idx, rec_v, rec_k0, v, all_id, all_cnt, pub, n_all,
                  s_ptr, s_tgt, s_off, s_w, s_pl, in_ptr, in_syn, s_pre, pl_par, x_tr,
                  y_tr, fired, trace_max, frac_bits, trace_bits, buf)
    return k_end


#: sync[SNAP + k % 2], sync[SNAP + 2 + k % 2]: the spikes recorded and listed in all_id
#: when step k starts (`run_steps_parallel`)
SNAP = SYNC_OWN


@njit
def _handover(e, k0, was, part, part_n, spiked, deliver, sent, ring, rec_flag, spk_id,
              spk_step, spk_n, rec_v_idx, rec_v, rec_k0, v, all_id, all_cnt, pub, n_all,
              s_ptr, s_tgt, s_off, s_w, s_pl, in_ptr, in_syn, s_pre, pl_par, x_tr, y_tr,
              fired, trace_max, frac_bits, trace_bits, buf):
    """Step e's spikes (the parts' lists part[was], joined in part order into `spiked`)
    recorded, and, if `deliver`, delivered along whole rows and given to the learning
    engine, as `run_steps` does after a step; nothing before the call's first step.
    Returns the new n_all."""
    if e < k0:
        return n_all
    n_sp = 0
    for t in range(part_n.shape[1]):
        c = part_n[was, t]
        spiked[n_sp:n_sp + c] = part[was, t, :c]
        n_sp += c
    n_all = _record(e, n_sp, spiked, rec_flag, spk_id, spk_step, spk_n, rec_v_idx, rec_v,
                    rec_k0, v, all_id, all_cnt, pub, n_all)
    if deliver:
        _deliver(n_sp, spiked, sent, ring, s_ptr, s_off, s_w, buf)
        if pl_par.shape[0] > 0:
            _learn(n_sp, spiked, s_ptr, s_tgt, s_w, s_pl, in_ptr, in_syn, s_pre, pl_par,
                   x_tr, y_tr, fired, trace_max, frac_bits, trace_bits)
    return n_all


@njit
def _record(k, n_sp, spiked, rec_flag, spk_id, spk_step, spk_n, rec_v_idx, rec_v, rec_k0, v,
            all_id, all_cnt, pub, n_all):
    """Step k's spikes of the recorded neurons and the recorded v after it; with a
    non-empty all_cnt, every spike appended to all_id from n_all and the step published to
    the timing thread (pub[PUB_STEPS]). Returns the new n_all."""
    c = spk_n[0]
    for q in range(n_sp):
        i = spiked[q]
        if rec_flag[i]:
            spk_id[c] = i
            spk_step[c] = k
            c += 1
    spk_n[0] = c
    for j in range(len(rec_v_idx)):
        rec_v[k - rec_k0, j] = v[rec_v_idx[j]]
    if len(all_cnt) > 0:
        all_id[n_all:n_all + n_sp] = spiked[:n_sp]
        all_cnt[k - pub[PUB_K0]] = n_sp
        n_all += n_sp
        atomic_add(pub, PUB_STEPS, 1)    # after its spikes: the timing thread may read them
    return n_all


@njit
def before_start(ids, n, n_slots, buf, s_ptr, s_tgt, s_off, s_w, s_pl, in_ptr, in_syn,
                 s_pre, pl_par, x_tr, y_tr, fired, trace_max, frac_bits, trace_bits):
    """The input spikes of stamp 0 (time under dt / 2), sent "in step -1": delivered into
    the ring `delay` steps later (step delay - 1) and seen by the learning engine, with no
    compartment update."""
    ring = n_slots * 2 * n
    _deliver(len(ids), ids, (n_slots - 1) * 2 * n, ring, s_ptr, s_off, s_w, buf)
    if pl_par.shape[0] > 0:
        _learn(len(ids), ids, s_ptr, s_tgt, s_w, s_pl, in_ptr, in_syn, s_pre, pl_par,
               x_tr, y_tr, fired, trace_max, frac_bits, trace_bits)


@njit
def _update(p0, p1, seg_lo, seg_hi, seg_model, seg_shift, buf, base, n, st, cs, fl,
            fl_words, unity_bits, half, vmax, spiked, inp_id, q, q_end):
    """One step's spikes of segments p0..p1-1, by increasing id: compartments updated from
    the slot at `base`, sources emitting their input spikes among inp_id[q:q_end] (sorted
    by id); returns their count."""
    n_sp = 0
    if p0 < p1:          # the input spikes of these segments' sources start here
        while q < q_end and inp_id[q] < seg_lo[p0]:
            q += 1
    for p in range(p0, p1):
        lo, hi = seg_lo[p], seg_hi[p]
        if seg_model[p] < FIRST_SOURCE_CODE:
            _compartments(lo, hi, buf[base:base + n], buf[base + n:base + 2 * n], st, cs,
                          fl, unity_bits, half, vmax, seg_shift[0, p], seg_shift[1, p],
                          seg_shift[2, p], seg_shift[3, p])
            n_sp = _collect(fl, fl_words, lo, hi, spiked, n_sp)
            continue
        while q < q_end and inp_id[q] < hi:
            spiked[n_sp] = inp_id[q]
            n_sp += 1
            q += 1
    return n_sp


@njit
def _deliver(n_sp, spiked, base, ring, s_ptr, s_off, s_w, buf):
    """Spikes into the dendritic delay ring: offset s_off = delay * 2n + channel * n +
    target from the sending step's slot at `base`, modulo the ring."""
    for q in range(n_sp):
        i = spiked[q]
        for s in range(np.uint64(s_ptr[i]), np.uint64(s_ptr[i + 1])):
            into_ring(s, base, ring, s_off, s_w, buf)


@njit
def _deliver_part(n_sp, spiked, base, ring, cut_lo, cut_hi, s_off, s_w, buf):
    """`_deliver` for one thread's part: the synapses cut_lo[i]..cut_hi[i] - 1 of each
    spiking neuron i (its row's run onto the part's targets). Integer sums: any split
    gives the same ring."""
    for q in range(n_sp):
        i = spiked[q]
        for s in range(np.uint64(cut_lo[i]), np.uint64(cut_hi[i])):
            into_ring(s, base, ring, s_off, s_w, buf)


@njit
def _learn(n_sp, spiked, s_ptr, s_tgt, s_w, s_pl, in_ptr, in_syn, s_pre, pl_par, x_tr, y_tr,
           fired, trace_max, frac_bits, trace_bits):
    """The learning engine after a step's spikes: traces decay, x <- (x * decay +
    2**(trace_bits - 1)) >> trace_bits; pair-STDP updates from the decayed traces and the
    step's spikes (dw rounded half up from `frac_bits` fractional bits); then trace
    impulses, saturating at trace_max. pl_par rows per plastic projection: a_plus,
    a_minus, x_decay, y_decay, w_lo, w_hi, impulse, sign, pre_lo, pre_hi, post_lo, post_hi."""
    n_pl = pl_par.shape[0]
    half_f = (1 << frac_bits) >> 1
    half_t = (1 << trace_bits) >> 1
    for l in range(n_pl):
        xd, yd = pl_par[l, 2], pl_par[l, 3]
        for i in range(pl_par[l, 8], pl_par[l, 9]):
            x_tr[l, i] = (x_tr[l, i] * xd + half_t) >> trace_bits
        for i in range(pl_par[l, 10], pl_par[l, 11]):
            y_tr[l, i] = (y_tr[l, i] * yd + half_t) >> trace_bits
    for q in range(n_sp):
        fired[spiked[q]] = True
    for q in range(n_sp):
        post = spiked[q]
        for r in range(in_ptr[post], in_ptr[post + 1]):
            s = in_syn[r]
            l = s_pl[s]
            pre = s_pre[s]
            dw = pl_par[l, 0] * x_tr[l, pre]
            if fired[pre]:
                dw -= pl_par[l, 1] * y_tr[l, post]
            _apply(s, l, dw, s_w, pl_par, frac_bits, half_f)
    for q in range(n_sp):
        pre = spiked[q]
        for s in range(s_ptr[pre], s_ptr[pre + 1]):
            l = s_pl[s]
            if l < 0 or fired[s_tgt[s]]:
                continue
            _apply(s, l, -pl_par[l, 1] * y_tr[l, s_tgt[s]], s_w, pl_par, frac_bits, half_f)
    for q in range(n_sp):
        i = spiked[q]
        fired[i] = False
        for l in range(n_pl):
            imp = pl_par[l, 6]
            if pl_par[l, 8] <= i < pl_par[l, 9]:
                x_tr[l, i] = min(x_tr[l, i] + imp, trace_max)
            if pl_par[l, 10] <= i < pl_par[l, 11]:
                y_tr[l, i] = min(y_tr[l, i] + imp, trace_max)


@njit
def _apply(s, l, dw, s_w, pl_par, frac_bits, half_f):
    """Magnitude += round-half-up(dw / 2**frac_bits), clipped to [w_lo, w_hi]; sign kept."""
    sign = pl_par[l, 7]
    mag = sign * s_w[s] + ((dw + half_f) >> frac_bits)
    if mag < pl_par[l, 4]:
        mag = pl_par[l, 4]
    if mag > pl_par[l, 5]:
        mag = pl_par[l, 5]
    s_w[s] = sign * mag
