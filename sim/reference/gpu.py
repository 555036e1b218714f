"""The reference engine's IF_curr_exp and IF_cond_exp with static and plastic projections
(stdp_additive, stdp_multiplicative, tsodyks_markram) as CUDA kernels (device="gpu"), in
float64 like the CPU engine.

`Engine(net, device="gpu")` builds the same tables as on the CPU and hands each run window
here: one persistent kernel per chunk of steps (`hw.gpu.launch_cooperative`), each step in
phases separated by grid-wide barriers:

0. (with plastic projections) the plastic synapses whose pre spike arrives this step are
   updated (depression, short-term state) and deliver into this step's input slot, a warp
   per pre spike of the spike history, its lanes over the spike's synapses of that delay
   (`kernels._arrivals`); a spike repeated in one step (a source's multiplicity) is
   handled by its first entry, once per repeat, so no two lanes touch one synapse;
1. every neuron advances over the step with the CPU kernels' formulas, term by term in the
   same order (products through `_mul`, which the GPU compiler never fuses into an FMA,
   so each operation rounds as on the CPU), consumes its input slot and appends its spike
   to the step's list; the sources append the step's input spikes (the one stimulus, a
   repeated spike as often as it repeats);
2. spikes are recorded, state sampled, and the spikes delivered into the delay ring, a
   warp per spike, by atomic float64 additions; a spike of a neuron with plastic inputs potentiates them
   (`kernels._post_spike`), and one with plastic outputs enters the spike history.

Summation order: the CPU adds a step's input in spike order; atomic additions on the GPU
add the same terms in another order, so an input sum may differ in its last bit. It is
measured, not made deterministic: `benchmarks/gpu.py` counts the CPU spikes the GPU
reproduces within one step (the issue asks for >= 99%). On an H200 all 26,332 spikes of
the agreement networks (tests/nets.py, IF_curr_exp and IF_cond_exp) and CUBA-4000 came
out identical; on the CUDA simulator's small networks (tests/test_gpu_cudasim.py) too.

Plasticity: each operation as on the CPU (products through `_mul`), but `math.exp` is
CUDA's, which may differ from the CPU's libm in the last bit, so plastic weights agree to
about 1e-15 rather than bit for bit (under the simulator, which uses Python's exp, they
are equal).

Not on the GPU (refused by name): other neuron models, current sources. Spike-array and Poisson inputs, spike and state recordings are as on the CPU.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from ...hw.errors import TargetError
from ...hw.gpu import (SpikeRecord, deliver, launch_cooperative, require_cuda,
                       simulated)
from ...hw.stimulus import InputSpikes
from . import layout as L

#: models the GPU engine runs (sources: their spikes are the stimulus)
GPU_MODELS = ("IF_curr_exp", "IF_cond_exp", "SpikeSourceArray", "SpikeSourcePoisson")
#: spikes one kernel call may record (a call stops early, and the next goes on, when a
#: step might not fit)
RECORD_CAP = 1 << 26

if simulated():
    @cuda.jit(device=True)
    def _mul(a, b):
        """a * b (the simulator computes in Python floats: nothing is fused)."""
        return a * b
else:
    from numba.cuda import libdevice
    _mul = libdevice.dmul_rn       # a product rounded on its own, never fused into an FMA


@cuda.jit(device=True)
def _curr_exp(i, q, k, base, n, homog, c0, S, Q, until, buf):
    """IF_curr_exp over step k (exact propagators; `_curr_exp_homogeneous` or `_curr_exp`
    of kernels.py, term for term), parameters from column q of Q (the population's first
    when it is homogeneous: one cached address for all); consumes the input slot. True
    when it spikes."""
    v, ie, ii = S[L.V, i], S[L.SE, i], S[L.SI, i]
    kf = float(k)
    if kf >= until[i]:
        if homog:
            v = _mul(v, Q[L.P22, q]) + c0 + _mul(ie, Q[L.P21E, q]) - _mul(ii, Q[L.P21I, q])
        else:
            vr = Q[L.V_REST, q]
            v = (vr + _mul(v - vr, Q[L.P22, q]) + _mul(ie, Q[L.P21E, q])
                 - _mul(ii, Q[L.P21I, q]) + _mul(Q[L.I_OFFSET, q] + 0.0, Q[L.P20, q]))
    S[L.V, i] = v
    S[L.SE, i] = _mul(ie, Q[L.PSE, q]) + buf[base + i]
    S[L.SI, i] = _mul(ii, Q[L.PSI, q]) + buf[base + n + i]
    return v >= Q[L.V_THRESH, q] and kf >= until[i]


@cuda.jit(device=True)
def _cond_v(x, ge, gi, vr, ee, ei, inv_tau, inv_cm, I):
    """dv/dt of IF_cond_exp (kernels._rk4_cond's k terms)."""
    return (_mul(vr - x, inv_tau)
            + _mul(_mul(ge, ee - x) + _mul(gi, ei - x) + I, inv_cm))


@cuda.jit(device=True)
def _cond_exp(i, q, k, base, n, dt, homog, S, Q, until, buf):
    """IF_cond_exp over step k: RK4 substeps with the conductances on their exact course
    (kernels._rk4_cond / _cond_homogeneous), parameters from column q of Q; consumes the
    input slot. True on a spike."""
    kf = float(k)
    v = S[L.V, i]
    ge0, gi0 = S[L.SE, i], S[L.SI, i]
    if kf >= until[i]:
        nsub = int(Q[L.NSUB, q])
        h = dt / nsub
        vr, ee, ei = Q[L.V_REST, q], Q[L.E_E, q], Q[L.E_I, q]
        inv_tau = 1.0 / Q[L.TAU_M, q]
        inv_cm = 1.0 / Q[L.CM, q]
        I = Q[L.I_OFFSET, q] if homog else Q[L.I_OFFSET, q] + 0.0
        dhe, dhi = Q[L.DHE, q], Q[L.DHI, q]
        fe = 1.0
        fi = 1.0
        for _ in range(nsub):
            fe2, fi2 = _mul(fe, dhe), _mul(fi, dhi)
            fe3, fi3 = _mul(fe2, dhe), _mul(fi2, dhi)
            g1e, g1i = _mul(fe, ge0), _mul(fi, gi0)
            g2e, g2i = _mul(fe2, ge0), _mul(fi2, gi0)
            g3e, g3i = _mul(fe3, ge0), _mul(fi3, gi0)
            k1 = _cond_v(v, g1e, g1i, vr, ee, ei, inv_tau, inv_cm, I)
            k2 = _cond_v(v + _mul(_mul(0.5, h), k1), g2e, g2i, vr, ee, ei, inv_tau, inv_cm, I)
            k3 = _cond_v(v + _mul(_mul(0.5, h), k2), g2e, g2i, vr, ee, ei, inv_tau, inv_cm, I)
            k4 = _cond_v(v + _mul(h, k3), g3e, g3i, vr, ee, ei, inv_tau, inv_cm, I)
            v = v + _mul(h / 6.0, k1 + _mul(2.0, k2) + _mul(2.0, k3) + k4)
            fe, fi = fe3, fi3
    elif not homog:
        v = Q[L.V_RESET, q]
    S[L.V, i] = v
    S[L.SE, i] = _mul(Q[L.PSE, q], ge0) + buf[base + i]
    S[L.SI, i] = _mul(Q[L.PSI, q], gi0) + buf[base + n + i]
    return v >= Q[L.V_THRESH, q] and kf >= until[i]


@cuda.jit(device=True)
def _update(k, j, base, n, dt, tid, nth, pop_lo, pop_hi, pop_model, pop_homog, pop_c0, S,
            Q, ref_steps, until, buf, spk, cnt):
    """Phase 1: every population over step k; spikes reset and appended to spk[cnt[j]]."""
    for p in range(pop_lo.shape[0]):
        model, homog = pop_model[p], pop_homog[p]
        for i in range(pop_lo[p] + tid, pop_hi[p], nth):
            q = pop_lo[p] if homog else i
            fired = False
            if model == L.CURR_EXP:
                fired = _curr_exp(i, q, k, base, n, homog, pop_c0[p], S, Q, until, buf)
            elif model == L.COND_EXP:
                fired = _cond_exp(i, q, k, base, n, dt, homog, S, Q, until, buf)
            buf[base + i] = 0.0
            buf[base + n + i] = 0.0
            if fired:
                S[L.V, i] = Q[L.V_RESET, q]
                until[i] = k + 1 + ref_steps[q]
                spk[cuda.atomic.add(cnt, j, 1)] = i


@cuda.jit(device=True)
def _sample(m, tid, nth, S, col, rec_out):
    """Columns due at step m (rows: state row, neuron, first step, every, count, offset,
    width) write S into rec_out; idempotent, so a step sampled twice is harmless."""
    for c in range(tid, col.shape[1], nth):
        d = m - col[2, c]
        if d >= 0 and d % col[3, c] == 0 and d // col[3, c] < col[4, c]:
            rec_out[col[5, c] + (d // col[3, c]) * col[6, c]] = S[col[0, c], col[1, c]]


@cuda.jit(device=True)
def _decayed(x, a, t, dt, tau):
    """A trace x last set at stamp t, decayed to stamp a (kernels.py's expression)."""
    return _mul(x, math.exp(-_mul(a - t, dt) / tau))


@cuda.jit(device=True)
def _arrive(s, a, dt, base, buf, pl_tgt, pl_w, pl_rule, pl_par, pl_state):
    """Plastic synapse s's pre spike arrives at stamp a: update it, deliver into the slot
    (kernels._arrivals' body, operation for operation)."""
    w = pl_w[s]
    if pl_rule[s] == L.TSODYKS:
        h = _mul(a - pl_state[L.T_PRE, s], dt)
        x, u = pl_state[L.X_PRE, s], pl_state[L.Y_POST, s]
        tr, tf, U = pl_par[L.TAU_REC, s], pl_par[L.TAU_FACIL, s], pl_par[L.U_USE, s]
        x = 1.0 + _mul(x - _mul(x, u) - 1.0, math.exp(-h / tr) if tr > 0 else 0.0)
        u = U + _mul(_mul(u, 1.0 - U), math.exp(-h / tf) if tf > 0 else 0.0)
        pl_state[L.X_PRE, s] = x
        pl_state[L.Y_POST, s] = u
        pl_state[L.T_PRE, s] = a
        cuda.atomic.add(buf, base + pl_tgt[s], _mul(_mul(w, u), x))
        return
    y = _decayed(pl_state[L.Y_POST, s], a, pl_state[L.T_POST, s], dt, pl_par[L.TAU_MINUS, s])
    x = _decayed(pl_state[L.X_PRE, s], a, pl_state[L.T_PRE, s], dt, pl_par[L.TAU_PLUS, s])
    if pl_rule[s] == L.STDP_ADD:
        w = w - _mul(_mul(pl_par[L.A_MINUS, s], pl_par[L.W_MAX, s]), y)
    else:
        w = w - _mul(_mul(pl_par[L.A_MINUS, s], w - pl_par[L.W_MIN, s]), y)
    w = min(max(w, pl_par[L.W_MIN, s]), pl_par[L.W_MAX, s])
    pl_w[s] = w
    cuda.atomic.add(buf, base + pl_tgt[s], w)
    pl_state[L.X_PRE, s] = x + 1.0
    pl_state[L.T_PRE, s] = a


@cuda.jit(device=True)
def _first_of_delay(pl_delay, lo, hi, d):
    """The first synapse in lo..hi-1 (sorted by delay) with delay >= d."""
    while lo < hi:
        mid = (lo + hi) // 2
        if pl_delay[mid] < d:
            lo = mid + 1
        else:
            hi = mid
    return lo


@cuda.jit(device=True)
def _arrivals(k, dt, base, buf, hist, hist_n, n_hist, warp, lane, n_warps, pl_ptr, pl_tgt,
              pl_delay, pl_w, pl_rule, pl_par, pl_state):
    """Phase 0: the plastic synapses whose pre spike (history entry of step k - d) arrives
    at the end of step k. A neuron entered r times in one step (a source's repeats) is
    handled by its first entry, r times over, so each synapse is updated by one lane."""
    a = k + 1
    for d in range(1, n_hist):
        e = k - d
        if e < -1:
            break
        hs = (e + n_hist) % n_hist
        m = hist_n[hs]
        for q in range(warp, m, n_warps):
            j = hist[hs, q]
            first, repeats = True, 0
            for r in range(m):
                if hist[hs, r] == j:
                    first = first and r >= q
                    repeats += 1
            if first:
                lo = _first_of_delay(pl_delay, pl_ptr[j], pl_ptr[j + 1], d)
                hi = _first_of_delay(pl_delay, lo, pl_ptr[j + 1], d + 1)
                for s in range(lo + lane, hi, 32):
                    for _ in range(repeats):
                        _arrive(s, a, dt, base, buf, pl_tgt, pl_w, pl_rule, pl_par,
                                pl_state)


@cuda.jit(device=True)
def _plastic_emit(k, spk, n_sp, tid, nth, warp, lane, n_warps, dt, hist, hist_n, n_hist,
                  plastic_out, pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par, pl_state):
    """Phase 2, for the step's spikes: into the history if the neuron has plastic outputs;
    potentiation of its plastic inputs (kernels._post_spike), a warp per spike."""
    hs = (k + n_hist) % n_hist
    for q in range(tid, n_sp, nth):
        i = spk[q]
        if plastic_out[i]:
            hist[hs, cuda.atomic.add(hist_n, hs, 1)] = i
    a = k + 1
    for q in range(warp, n_sp, n_warps):
        i = spk[q]
        for y in range(pl_in_ptr[i] + lane, pl_in_ptr[i + 1], 32):
            s = pl_in_syn[y]
            x = _decayed(pl_state[L.X_PRE, s], a, pl_state[L.T_PRE, s], dt,
                         pl_par[L.TAU_PLUS, s])
            w = pl_w[s]
            if pl_rule[s] == L.STDP_ADD:
                w = w + _mul(_mul(pl_par[L.A_PLUS, s], pl_par[L.W_MAX, s]), x)
            else:
                w = w + _mul(_mul(pl_par[L.A_PLUS, s], pl_par[L.W_MAX, s] - w), x)
            pl_w[s] = min(max(w, pl_par[L.W_MIN, s]), pl_par[L.W_MAX, s])
            pl_state[L.Y_POST, s] = _decayed(pl_state[L.Y_POST, s], a,
                                             pl_state[L.T_POST, s], dt,
                                             pl_par[L.TAU_MINUS, s]) + 1.0
            pl_state[L.T_POST, s] = a


@cuda.jit
def _steps(c0, c1, before, k_in, dt, pop_lo, pop_hi, pop_model, pop_homog, pop_c0, S, Q,
           ref_steps, until, st_ptr, st_off, st_w, buf, n_slots, inp_id, inp_ptr, rec_spk,
           spk, cnt, out_id, out_stamp, out_n, need, reached, col, rec_out, hist, hist_n,
           n_hist, plastic_out, pl_ptr, pl_tgt, pl_delay, pl_w, pl_rule, pl_par, pl_state,
           pl_in_ptr, pl_in_syn):
    """Steps c0 .. c1-1 (and step -1, the stamp-0 input, when `before`); inp_ptr is by
    stamp from k_in (`InputSpikes.per_stamp(k_in, ...)`), cnt by step from k_in - 1.
    Stops before a step whose `need` spikes might not fit out_id (every thread reads the
    same out_n after a barrier), leaving that step in reached[0]."""
    grid = cuda.cg.this_grid()
    tid = cuda.grid(1)
    nth = cuda.gridsize(1)
    lane, warp, n_warps = tid % 32, tid // 32, (nth + 31) // 32
    n = S.shape[1]
    ring = n_slots * 2 * n
    _sample(c0, tid, nth, S, col, rec_out)
    grid.sync()
    for k in range(c0 - before, c1):
        if out_n[0] + need > out_id.shape[0]:
            if tid == 0:
                reached[0] = k
            return
        j = k - k_in + 1
        base = (k % n_slots) * 2 * n
        if k >= c0 and n_hist > 1:
            if tid == 0:
                hist_n[k % n_hist] = 0
            _arrivals(k, dt, base, buf, hist, hist_n, n_hist, warp, lane, n_warps, pl_ptr,
                      pl_tgt, pl_delay, pl_w, pl_rule, pl_par, pl_state)
            grid.sync()
        if k >= c0:
            _update(k, j, base, n, dt, tid, nth, pop_lo, pop_hi, pop_model, pop_homog,
                    pop_c0, S, Q, ref_steps, until, buf, spk, cnt)
        s = k + 1 - k_in
        for q in range(inp_ptr[s] + tid, inp_ptr[s + 1], nth):
            spk[cuda.atomic.add(cnt, j, 1)] = inp_id[q]
        grid.sync()
        n_sp = cnt[j]
        for q in range(tid, n_sp, nth):
            i = spk[q]
            if rec_spk[i]:
                c = cuda.atomic.add(out_n, 0, 1)
                out_id[c] = i
                out_stamp[c] = k + 1
        if k >= c0:
            _sample(k + 1, tid, nth, S, col, rec_out)
        deliver(spk, n_sp, st_ptr, st_off, st_w, buf, base, ring, warp, lane, n_warps)
        if n_hist > 1:
            _plastic_emit(k, spk, n_sp, tid, nth, warp, lane, n_warps, dt, hist, hist_n,
                          n_hist, plastic_out, pl_in_ptr, pl_in_syn, pl_w, pl_rule, pl_par,
                          pl_state)
        grid.sync()


class ReferenceGpu:
    """The device copies of one Engine's tables, and its windows run on the GPU."""

    def __init__(self, eng) -> None:
        require_cuda(eng.spec.name)
        net, nrn = eng.network, eng._neurons
        bad = [f"{p.name} ({p.model})" for p in net.populations if p.model not in GPU_MODELS]
        if bad:
            raise TargetError(f"reference engine: device='gpu' runs {list(GPU_MODELS)}; "
                              f"population(s) {bad} need device='cpu'")
        if eng._currents.sources:
            raise TargetError("reference engine: device='gpu' has no current sources; the "
                              f"network has {len(eng._currents.sources)} (use device='cpu')")
        self.eng = eng
        Q = nrn.Q
        # the homogeneous IF_curr_exp constant, computed as kernels.py computes it
        c0 = [Q[L.V_REST, lo] - Q[L.V_REST, lo] * Q[L.P22, lo]
              + Q[L.I_OFFSET, lo] * Q[L.P20, lo] if hi > lo else 0.0
              for lo, hi in zip(nrn.pop_lo, nrn.pop_hi)]
        self.c0 = np.array(c0, np.float64)
        self.tables: "tuple | None" = None

    def _upload(self) -> tuple:
        """The constant tables on the device, at the first run (after an `update` has
        carried weights over)."""
        eng = self.eng
        nrn, syn = eng._neurons, eng._syn
        d = cuda.to_device
        self.tables = (d(nrn.pop_lo), d(nrn.pop_hi), d(nrn.pop_model),
                       d(nrn.pop_homogeneous.astype(np.bool_)), d(self.c0), d(nrn.Q),
                       d(nrn.ref_steps), d(syn.st_ptr), d(syn.st_off), d(syn.st_w),
                       d(eng._rec.spike_flags.astype(np.bool_)),
                       d(syn.plastic_out.astype(np.bool_)), d(syn.pl_ptr), d(syn.pl_tgt),
                       d(syn.pl_delay), d(syn.pl_rule), d(syn.pl_par), d(syn.pl_in_ptr),
                       d(syn.pl_in_syn))
        return self.tables

    def _plastic_state(self, inputs: InputSpikes) -> tuple:
        """The spike history (widened for the window's repeated source spikes, as on the
        CPU), plastic weights and traces on the device, for one window."""
        eng = self.eng
        same = (np.diff(inputs.stamp) == 0) & (np.diff(inputs.neuron) == 0)
        eng._widen_history(inputs, same, 0)   # handed every spike: no draws
        d = cuda.to_device
        return d(eng._hist), d(eng._hist_n), d(eng._syn.pl_w), d(eng._pl_state)

    def advance(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        """Steps k0 .. k1-1 with the window's input spikes: kernel calls until the window
        is done (one, unless the spike record fills up); state, refractory ends and ring
        go up before and come back after."""
        eng = self.eng
        t = self.tables or self._upload()
        d_S, d_until, d_buf = (cuda.to_device(eng._S), cuda.to_device(eng._until),
                               cuda.to_device(eng._buf))
        inp_ptr = inputs.per_stamp(k0, k1)
        inp_id = cuda.to_device(np.append(inputs.neuron, 0).astype(np.int32))
        col, counts, offs = self._columns(k0, k1)
        rec_out = cuda.to_device(np.zeros(max(1, int(offs[-1]))))
        most_in = int(np.diff(inp_ptr).max(initial=0))
        need = int(eng._rec.spike_flags.sum()) + most_in
        out = SpikeRecord(min(RECORD_CAP, need * (k1 - k0)) + need)
        spk = cuda.device_array(eng._neurons.n + most_in + 1, np.int32)
        before = int(k0 == 0 and inp_ptr[1] > inp_ptr[0])
        hist, hist_n, pl_w, pl_state = self._plastic_state(inputs)
        pl_out, pl_ptr, pl_tgt, pl_delay, pl_rule, pl_par, pl_in_ptr, pl_in_syn = t[11:]
        k = k0
        while k < k1:
            args = (k, k1, before, k0, eng.dt, *t[:5], d_S, t[5], t[6], d_until, *t[7:10],
                    d_buf, eng._syn.n_slots, inp_id, cuda.to_device(inp_ptr), t[10], spk,
                    cuda.to_device(np.zeros(k1 - k0 + 1, np.int32)), *out.arrays(k1), need,
                    out.reached, cuda.to_device(col), rec_out, hist, hist_n,
                    eng._syn.n_hist, pl_out, pl_ptr, pl_tgt, pl_delay, pl_w, pl_rule,
                    pl_par, pl_state, pl_in_ptr, pl_in_syn)
            launch_cooperative(_steps, args, eng._neurons.n)
            ids, stamps = out.spikes()
            eng._spk_ids.append(ids)
            eng._spk_stamps.append(stamps)
            k, before = int(out.reached.copy_to_host()[0]), 0
        eng._S[...] = d_S.copy_to_host()
        eng._until[...] = d_until.copy_to_host()
        eng._buf[...] = d_buf.copy_to_host()
        eng._hist[...] = hist.copy_to_host()
        eng._hist_n[...] = hist_n.copy_to_host()
        eng._syn.pl_w[...] = pl_w.copy_to_host()
        eng._pl_state[...] = pl_state.copy_to_host()
        self._keep_samples(rec_out.copy_to_host(), counts, offs)

    def _columns(self, k0: int, k1: int):
        """Per recorded column: state row, neuron, first step, every, samples in this
        window, offset in rec_out, width (the CPU's _run_chunk layout); counts, offsets."""
        rec, first = self.eng._rec, self.eng._rec_next
        every = np.maximum(rec.every, 1)
        width = np.diff(rec.ptr)
        counts = np.where(first <= k1, (k1 - first) // every + 1, 0)
        offs = np.zeros(len(width) + 1, np.int64)
        offs[1:] = np.cumsum(counts * width)
        r = np.repeat(np.arange(len(width)), width)
        pos = np.arange(len(r)) - rec.ptr[r]
        col = np.array([rec.rows[r], rec.idx[:len(r)], first[r], every[r], counts[r],
                        offs[r] + pos, width[r]], np.int64).reshape(7, len(r))
        if not len(r):
            col = np.zeros((7, 0), np.int64)
        return col, counts, offs

    def _keep_samples(self, rec_out: np.ndarray, counts: np.ndarray, offs: np.ndarray) -> None:
        """The window's samples into the engine's traces; rec_next moves past them."""
        eng = self.eng
        rec = eng._rec
        every = np.maximum(rec.every, 1)
        width = np.diff(rec.ptr)
        for r, key in enumerate(rec.keys):
            c = int(counts[r])
            if c:
                times = np.round((eng._rec_next[r] + np.arange(c) * every[r]) * eng.dt, 10)
                data = rec_out[offs[r]:offs[r] + c * width[r]].reshape(c, width[r])
                eng._traces[key].chunks.append((times, rec.local[r], data))
        eng._rec_next = eng._rec_next + counts * every
