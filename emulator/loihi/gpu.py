"""The Loihi emulator's compartment and synapse dynamics as CUDA kernels (device="gpu").

`Engine(image, device="gpu")` keeps every table the CPU engine builds and hands each run
window here: one persistent kernel per chunk of steps (`hw.gpu.launch_cooperative`), each
step in two phases separated by grid-wide barriers:

1. every compartment updates from its slot of the dendritic delay ring (the CPU engine's
   int32 sweep, written here in int64: the same integers, since the CPU sweep is exact
   under the engine's checks and u is taken modulo 2**24 either way), consumes that slot,
   and appends its spike to the step's list; the sources append the step's input spikes;
2. the step's spikes are recorded (and v sampled), then delivered into the ring, a warp
   per spike, by atomic int32 additions: integer addition in any order gives the same
   int32 (wrapping as the CPU's does), so the GPU engine is bit-exact with the CPU engine.

`spikes()` comes back in step order with a step's ids in no order (the Result sorts
them); with timing on they are sorted, as the timing model needs.

Input spikes of stamp 0 are delivered "in step -1" by the first kernel, as
`kernels.before_start` does. Spikes reach the host per chunk, sorted by (step, id).
The timing model stays on the CPU: with timing=True every spike comes back and
`timing.time_chunk` times the chunk as the CPU engine's timing thread would (the same
TimingReport); timing="trace" times the recorded packet trace afterwards, as on the CPU.
Plastic (STDP) projections are refused on the GPU, by name.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from ...hw.errors import TargetError
from ...hw.gpu import SpikeRecord, deliver, launch_cooperative, require_cuda
from ...hw.layouts.loihi import FIRST_SOURCE_CODE
from ...hw.stimulus import InputSpikes
from .timing import merge, time_chunk

#: spikes one kernel call may record (a call stops early, and the next goes on, when a
#: step might not fit)
RECORD_CAP = 1 << 26


@cuda.jit(device=True)
def _decay(x, d, bits):
    """x * d / 2**bits truncated toward zero (lava's decay), in int64."""
    y = np.int64(x) * np.int64(d)
    if y < 0:
        return -((-y) >> bits)
    return y >> bits


@cuda.jit(device=True)
def _wrap24(x, half):
    """x modulo 2 * half into (-half, half] (the 24-bit u register), for any int64 x."""
    return ((x + (half - 1)) & (2 * half - 1)) - (half - 1)


@cuda.jit(device=True)
def _compartment(i, base, n, st, cs, buf, r0, l0, r1, l1, bits, half, vmax):
    """Update compartment i from its ring slot (consumed); True when it fires."""
    a0 = np.int64(buf[base + i])
    a1 = np.int64(buf[base + n + i])
    buf[base + i] = 0
    buf[base + n + i] = 0
    x0 = _wrap24(_decay(st[0, i], cs[0, i], bits) + ((a0 >> r0) << l0), half)
    x1 = _wrap24(_decay(st[1, i], cs[1, i], bits) + ((a1 >> r1) << l1), half)
    st[0, i] = x0
    st[1, i] = x1
    v = _decay(st[2, i], cs[2, i], bits) + x0 + x1 + np.int64(cs[4, i])
    v = min(max(v, -vmax), vmax)
    r = st[3, i]
    fire = r == 0 and v > cs[3, i]
    if r != 0 or fire:
        v = 0
    st[2, i] = v
    if fire:
        st[3, i] = cs[5, i]
    elif r != 0:
        st[3, i] = r - 1
    return fire


@cuda.jit(device=True)
def _update(j, base, n, tid, nth, seg_lo, seg_hi, seg_model, seg_shift, cs, st, buf, spk,
            cnt, bits, half, vmax):
    """Phase 1 for the compartments: every segment's, spikes appended to spk[cnt[j]]."""
    for p in range(seg_lo.shape[0]):
        lo, hi = seg_lo[p], seg_hi[p]
        if seg_model[p] >= FIRST_SOURCE_CODE:
            for i in range(lo + tid, hi, nth):
                buf[base + i] = 0
                buf[base + n + i] = 0
            continue
        r0, l0, r1, l1 = seg_shift[0, p], seg_shift[1, p], seg_shift[2, p], seg_shift[3, p]
        for i in range(lo + tid, hi, nth):
            if _compartment(i, base, n, st, cs, buf, r0, l0, r1, l1, bits, half, vmax):
                spk[cuda.atomic.add(cnt, j, 1)] = i


@cuda.jit
def _steps(c0, c1, before, k_in, seg_lo, seg_hi, seg_model, seg_shift, cs, st, buf, n_slots,
           s_ptr, s_off, s_w, inp_id, inp_ptr, rec_all, rec_flag, spk, cnt, out_id, out_step,
           out_n, need, reached, rec_v_idx, rec_v, bits, half, vmax):
    """Steps c0 .. c1-1 (and step -1, the stamp-0 input, when `before`); inp_ptr is by
    stamp from k_in (`InputSpikes.per_stamp(k_in, ...)`), cnt and rec_v rows by step from
    k_in - 1 and k_in. Stops before a step whose `need` spikes might not fit out_id (every
    thread reads the same out_n after a barrier), leaving that step in reached[0]."""
    grid = cuda.cg.this_grid()
    tid = cuda.grid(1)
    nth = cuda.gridsize(1)
    lane, warp, n_warps = tid % 32, tid // 32, (nth + 31) // 32
    n = st.shape[1]
    ring = n_slots * 2 * n
    for k in range(c0 - before, c1):
        if out_n[0] + need > out_id.shape[0]:
            if tid == 0:
                reached[0] = k
            return
        j = k - k_in + 1
        base = (k % n_slots) * 2 * n
        if k >= c0:
            _update(j, base, n, tid, nth, seg_lo, seg_hi, seg_model, seg_shift, cs, st, buf,
                    spk, cnt, bits, half, vmax)
        s = k + 1 - k_in
        for q in range(inp_ptr[s] + tid, inp_ptr[s + 1], nth):
            spk[cuda.atomic.add(cnt, j, 1)] = inp_id[q]
        grid.sync()
        n_sp = cnt[j]
        if k >= c0:
            for q in range(tid, n_sp, nth):
                i = spk[q]
                if rec_all or rec_flag[i]:
                    c = cuda.atomic.add(out_n, 0, 1)
                    out_id[c] = i
                    out_step[c] = k
            for c in range(tid, rec_v_idx.shape[0], nth):
                rec_v[k - k_in, c] = st[2, rec_v_idx[c]]
        deliver(spk, n_sp, s_ptr, s_off, s_w, buf, base, ring, warp, lane, n_warps)
        grid.sync()


class LoihiGpu:
    """The device copies of one Engine's tables, and its windows run on the GPU."""

    def __init__(self, eng) -> None:
        require_cuda(eng.spec.name)
        if eng.pl_par.shape[0]:
            names = [p.name for p in eng.network.projections if p.plasticity is not None]
            raise TargetError(f"loihi engine: device='gpu' runs static synapses only; "
                              f"projection(s) {names} are plastic (use device='cpu')")
        self.eng = eng
        d = cuda.to_device
        self.tables = (d(eng.seg_lo), d(eng.seg_hi), d(eng.seg_model),
                       d(np.ascontiguousarray(eng.seg_shift)), d(eng.consts))
        self.syn = (d(eng.s_ptr), d(eng.s_off), d(eng.s_w))
        self.rec_flag = d(eng.rec_flag)
        self.rec_v_idx = d(eng.rec_v_idx)

    def advance(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        """Steps k0 .. k1-1 with the window's input spikes: kernel calls until the window
        is done (one, unless the spike record fills up); state and ring go up before and
        come back after."""
        eng = self.eng
        d_st, d_buf = cuda.to_device(eng._st), cuda.to_device(eng._buf)
        inp_ptr = inputs.per_stamp(k0, k1)
        inp_id = cuda.to_device(np.append(inputs.neuron, 0).astype(np.int32))
        every = eng.timing                     # the timing model needs every spike
        need = eng.n if every else int(eng.rec_flag.sum())
        out = SpikeRecord(min(RECORD_CAP, need * (k1 - k0)) + need)
        rec_v = cuda.to_device(np.zeros((k1 - k0, len(eng.rec_v_idx)), np.int32))
        spk = cuda.device_array(max(eng.n, 1), np.int32)
        before = int(k0 == 0 and inp_ptr[1] > inp_ptr[0])
        k = k0
        while k < k1:
            args = (k, k1, before, k0, *self.tables, d_st, d_buf, eng.n_slots, *self.syn,
                    inp_id, cuda.to_device(inp_ptr), every, self.rec_flag, spk,
                    cuda.to_device(np.zeros(k1 - k0 + 1, np.int32)), *out.arrays(k1),
                    need, out.reached, self.rec_v_idx, rec_v, *_widths(eng.spec))
            launch_cooperative(_steps, args, eng.n)
            k_end = int(out.reached.copy_to_host()[0])
            self._keep(k, k_end, *out.spikes())
            k, before = k_end, 0
        eng._v_chunks.append(rec_v.copy_to_host())
        eng._st[...] = d_st.copy_to_host()
        eng._buf[...] = d_buf.copy_to_host()

    def _keep(self, c0: int, c1: int, ids: np.ndarray, steps: np.ndarray) -> None:
        """A kernel call's spikes (in step order): timed when timing is on (sorted by
        step, id first, as the timing model takes them), the recorded ones kept."""
        eng = self.eng
        if eng.timing:
            order = np.lexsort((ids, steps))
            ids, steps = ids[order], steps[order]
            counts = np.bincount(steps - c0, minlength=c1 - c0).astype(np.int64)
            merge(eng._timing_state, time_chunk(eng._timing_state, ids, counts, eng,
                                                eng._scratch[0]))
            keep = eng.rec_flag[ids]
            ids, steps = ids[keep], steps[keep]
        eng._spk_ids.append(ids)
        eng._spk_steps.append(steps)


def _widths(spec) -> tuple[int, int, int]:
    """The compartment sweep's decay fraction bits, u's half range and v's limit."""
    return spec.decay_format.bits, 1 << (spec.u_format.bits - 1), spec.v_format.max_int
