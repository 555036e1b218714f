"""The Loihi-style runner: a compiled image run step by step on integer state.

`Engine(image, timing=True)`; `run(duration_ms)` advances inside Numba calls (the fused
time loop of `kernels.run_steps`); with timing on, the steps go in chunks (8 steps
growing to 128, shrinking again at the end of a run) to the timing thread
(`timing.time_chunk`), which models the mesh while the next chunk runs (a
barrier-synchronised chip's timing never changes its dynamics, so the split is exact);
chunks it has not started when this thread must wait (8 queued, or the run's end) are
timed here. `timing_report()` gives the mesh timing alone. `result()` returns spikes per
population, the final weights (dequantised to PyNN units, raw mantissas in
`info["weights_raw"]`), recorded v (dequantised to mV) and, with timing on, the
interconnect's TimingReport.

Conventions: a spike in step k is stamped (k + 1) * dt (as the float reference); a spike
reaches its target `delay` steps later (at least one: Loihi's minimum synaptic latency);
STDP pairs spikes at their send times (Loihi's delay is dendritic, after the learning
engine's view of the axon).
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...hw.compile_loihi import NEURON_PARAMS
from ...hw.errors import NetworkError, TargetError
from ...hw.image import HardwareImage
from ...hw.result import Result, Signal, Spikes, TimingReport
from . import kernels
from .timing import merge, new_scratch, new_state, report as state_report, time_chunk
from ...hw.runner import whole_steps

#: rows of the per-plastic-projection parameter table (kernels.run_steps reads them)
PL_ROWS = ("a_plus", "a_minus", "x_decay", "y_decay", "w_lo", "w_hi", "impulse", "sign",
           "pre_lo", "pre_hi", "post_lo", "post_hi")


_TIMER: "tuple[int, ThreadPoolExecutor] | None" = None


def _timer() -> ThreadPoolExecutor:
    """The one thread that runs timing models beside the dynamics (kernels release the GIL);
    it takes chunks first in, first out, so each engine's steps are timed in order. A forked
    child (a sweep worker) gets its own: the parent's thread does not exist there."""
    global _TIMER
    if _TIMER is None or _TIMER[0] != os.getpid():
        _TIMER = (os.getpid(), ThreadPoolExecutor(max_workers=1,
                                                  thread_name_prefix="neurocosim-timing"))
    return _TIMER[1]


class Engine:
    """Runner of the `loihi` target (see the module docstring)."""

    target = "loihi"

    def __init__(self, image: HardwareImage, timing: "bool | str" = True, **options) -> None:
        if options:
            raise TargetError(f"the loihi engine takes only the option 'timing', got "
                              f"{sorted(options)}")
        if not image.cores and image.network.size:
            raise TargetError("image has no cores: compile it for target 'loihi' first")
        self.image = image
        self.spec = spec = image.target
        if timing not in (True, False, "trace"):
            raise TargetError(f"loihi engine: timing={timing!r}; use True (in-loop model), "
                              "'trace' (every packet through emulator.interconnect) or False")
        # "trace" records every spike and times them afterwards with emulator.interconnect
        self.trace = timing == "trace"
        self.timing = timing is True
        self.dt = float(spec.timestep)
        self.n = n = image.network.size
        self._build_neurons(image, n)
        self._build_synapses(image, n)
        self._build_sources(image, n)
        self._build_recordings(image, n)
        self._k = 0
        # 24-bit state in int32 rows u0, u1, v, refractory count (the kernel computes in int64)
        self._st = np.zeros((4, n), np.int32)
        self._st[kernels.ST_V] = self.P["v0"]
        self._buf = np.zeros(self.n_slots * 2 * n, np.int32)
        self._spk_ids: list[np.ndarray] = []
        self._spk_steps: list[np.ndarray] = []
        self._v_chunks: list[np.ndarray] = []
        self._timing_state = None
        if self.timing:
            self._timing_state = new_state(self.spec, image.routing.get("core_xy", np.zeros(
                (0, 2), np.int64)), self.comps)
            # one scratch for the timing thread, one for this thread when it helps out
            self._scratch = (new_scratch(self._timing_state), new_scratch(self._timing_state))

    # --- build ----------------------------------------------------------------------------
    def _build_neurons(self, image: HardwareImage, n: int) -> None:
        self.P = {k: np.zeros(n, np.int64) for k in NEURON_PARAMS}
        self.core_of = np.zeros(n, np.int64)
        self.slot_of = np.zeros(n, np.int64)
        for core in image.cores:
            for k in NEURON_PARAMS:
                self.P[k][core.neurons] = core.params[k]
            self.core_of[core.neurons] = core.index
            self.slot_of[core.neurons] = np.arange(len(core.neurons))
        #: when each compartment's update is done within a step (the cores sweep in slot
        #: order): its spikes' generation time in the timing model and the packet trace
        self.done_ns = (self.slot_of + 1) * float(image.target.neuron_latency_ns)
        spec = image.target
        one = 1 << spec.decay_format.bits
        P = self.P
        K = dict(ku0=one - (P["du0"] + spec.du_offset), ku1=one - (P["du1"] + spec.du_offset),
                 kv=one - P["dv"], vth_s=P["vth"] << spec.state_shift,
                 bias=P["bias_mant"] << P["bias_exp"], refract=P["refract"])
        shifts = np.array([np.maximum(-P["wexp0"], 0),
                           np.maximum(P["wexp0"], 0) + spec.state_shift,
                           np.maximum(-P["wexp1"], 0),
                           np.maximum(P["wexp1"], 0) + spec.state_shift], np.int64)
        self._check_int32_sweep(spec, K, shifts)
        self.consts = np.array([K[k] for k in ("ku0", "ku1", "kv", "vth_s", "bias", "refract")],
                               np.int32).reshape(kernels.N_CONSTS, n)
        # the sweep goes by segments of one population and one input scaling per channel
        # (the compiler gives each population and channel one weight exponent)
        codes = {"IF_curr_exp": kernels.MODEL_CURR_EXP,
                 "IF_curr_delta": kernels.MODEL_CURR_DELTA,
                 "SpikeSourceArray": kernels.MODEL_ARRAY,
                 "SpikeSourcePoisson": kernels.MODEL_POISSON}
        seg = []                 # rows: lo, hi, model, rsh0, lsh0, rsh1, lsh1
        for p in image.data["populations"]:
            lo, hi = p["offset"], p["offset"] + p["size"]
            if lo == hi:
                continue
            cuts = lo + 1 + np.flatnonzero((np.diff(shifts[:, lo:hi], axis=1) != 0).any(0))
            for a, b in zip([lo, *cuts], [*cuts, hi]):
                seg.append((a, b, codes[p["model"]], *shifts[:, a]))
        seg = np.array(seg, np.int64).reshape(-1, 7).T.copy()
        self.seg_lo, self.seg_hi, self.seg_model, self.seg_shift = seg[0], seg[1], seg[2], \
            seg[3:]
        chans = np.ones(n, np.int64)
        for pop in image.data["populations"]:
            chans[pop["offset"]:pop["offset"] + pop["size"]] = pop["channels"]
        self.comps = np.bincount(self.core_of, weights=chans,
                                 minlength=len(image.cores)).astype(np.int64)

    @staticmethod
    def _check_int32_sweep(spec, K: dict, shifts: np.ndarray) -> None:
        """The compartment sweep is exact in int32 (kernels._compartments) only within these
        bounds; a spec that leaves them is refused, naming the value and the limit."""
        ub = spec.decay_format.bits
        if ub > 15:
            raise TargetError(f"loihi engine: decay_format of {ub} bits; the emulator's int32 "
                              "decay takes at most 15")
        for k in ("ku0", "ku1", "kv"):
            if K[k].size and (K[k].min() < 0 or K[k].max() > 1 << ub):
                bad = K[k].min() if K[k].min() < 0 else K[k].max()
                raise TargetError(f"loihi engine: decay factor {k} = {int(bad)} outside "
                                  f"0..{1 << ub} (du/dv out of the decay format)")
        if shifts.size and shifts.max() > 31:
            raise TargetError(f"loihi engine: a weight exponent needs an input shift of "
                              f"{int(shifts.max())} bits; the emulator shifts by at most 31 "
                              "(spec.weight_exp_min/max too wide)")
        for k, v in K.items():
            if v.size and np.abs(v).max() >= 2**31:
                raise TargetError(f"loihi engine: {k} reaches {int(np.abs(v).max())}, beyond "
                                  "the emulator's 32-bit constants (spec formats too wide)")
        bias = int(np.abs(K["bias"]).max()) if K["bias"].size else 0
        top = spec.v_format.max_int + 2 * (1 << (spec.u_format.bits - 1)) + bias
        if top >= 2**31:
            raise TargetError(f"loihi engine: v + u0 + u1 + bias can reach {top}, beyond the "
                              "emulator's 32-bit sweep (2**31 - 1): spec formats too wide")

    def _build_synapses(self, image: HardwareImage, n: int) -> None:
        parts = {k: [] for k in ("pre", "tgt", "chan", "w", "delay", "proj", "index")}
        for core in image.cores:
            m = core.memories
            counts = np.diff(m["axon_ptr"])
            parts["pre"].append(np.repeat(m["axon_src"], counts))
            parts["tgt"].append(core.neurons[m["syn_slot"]])
            for key, mem in (("chan", "syn_chan"), ("w", "syn_weight"), ("delay", "syn_delay"),
                             ("proj", "syn_proj"), ("index", "syn_index")):
                parts[key].append(m[mem])
        cat = {k: (np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64))
               for k, v in parts.items()}
        order = np.lexsort((cat["tgt"], self.core_of[cat["tgt"]] if n else cat["tgt"],
                            cat["pre"]))
        for k in cat:
            cat[k] = cat[k][order]
        self.syn = cat
        # where each chip synapse sits in the IR's projections laid end to end
        sizes = [p.size for p in image.network.projections]
        self._ir_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._ir_pos = self._ir_off[cat["proj"]] + cat["index"] if cat["proj"].size else \
            np.zeros(0, np.int64)
        self.s_ptr = np.zeros(n + 1, np.int64)
        self.s_ptr[1:] = np.cumsum(np.bincount(cat["pre"], minlength=n))
        self.n_slots = int(cat["delay"].max()) + 1 if cat["delay"].size else 1
        s_off = cat["delay"] * 2 * n + cat["chan"] * n + cat["tgt"]
        if self.n_slots * 2 * n >= 2**31:
            raise TargetError(f"loihi engine: the delay ring of {self.n_slots} slots x 2 "
                              f"channels x {n} compartments exceeds 2**31 entries")
        # int32 offsets and mantissas halve the bytes each delivered spike streams
        self.s_off = s_off.astype(np.int32)
        cat["w"] = cat["w"].astype(np.int32)
        # plastic projections
        stdp = image.data.get("stdp", {})
        names = {p.name: k for k, p in enumerate(image.network.projections)}
        pl_index = np.full(max(len(names), 1), -1, np.int64)
        off = image.network.offsets()
        rows = []
        for l, (name, par) in enumerate(stdp.items()):
            pr = image.network.projections[names[name]]
            pl_index[names[name]] = l
            pre_lo, post_lo = off[pr.pre], off[pr.post]
            rows.append([par["a_plus"], par["a_minus"], par["x_decay"], par["y_decay"],
                         par["w_lo"], par["w_hi"], par["impulse"],
                         -1 if pr.receptor == "inhibitory" else 1, pre_lo,
                         pre_lo + image.network.population(pr.pre).size, post_lo,
                         post_lo + image.network.population(pr.post).size])
        self.pl_par = np.array(rows, np.int64).reshape(len(rows), len(PL_ROWS))
        self.s_pl = pl_index[cat["proj"]] if cat["proj"].size else np.zeros(0, np.int64)
        plastic = np.flatnonzero(self.s_pl >= 0)
        by_post = plastic[np.argsort(cat["tgt"][plastic], kind="stable")]
        self.in_syn = by_post.astype(np.int64)
        self.in_ptr = np.zeros(n + 1, np.int64)
        self.in_ptr[1:] = np.cumsum(np.bincount(cat["tgt"][plastic], minlength=n))
        self.x_tr = np.zeros((len(rows), n), np.int64)
        self.y_tr = np.zeros((len(rows), n), np.int64)
        self.fired = np.zeros(n, np.bool_)
        # per (neuron, destination core): synapse count (same order as the axon table)
        n_cores = max(len(image.cores), 1)
        key = cat["pre"] * n_cores + self.core_of[cat["tgt"]] if n else cat["pre"]
        uniq, counts = np.unique(key, return_counts=True)
        self.axon_synapses = counts.astype(np.int64)
        self.axon_src = (uniq // n_cores).astype(np.int64)
        self.axon_dst = (uniq % n_cores).astype(np.int64)
        self.axon_ptr = np.zeros(n + 1, np.int64)
        self.axon_ptr[1:] = np.cumsum(np.bincount(self.axon_src, minlength=n))

    def _build_sources(self, image: HardwareImage, n: int) -> None:
        self.ssa_ptr = np.zeros(n + 1, np.int64)
        stamps = [np.zeros(0, np.int64)] * n
        self.p_spike = np.zeros(n)
        self.p_first = np.zeros(n, np.int64)
        self.p_last = np.full(n, -1, np.int64)
        self.p_seed = np.zeros(n, np.uint64)
        for name, src in image.data["sources"].items():
            lo = src["offset"]
            if src["kind"] == "poisson":
                m = len(src["p_spike"])
                self.p_spike[lo:lo + m] = src["p_spike"]
                self.p_first[lo:lo + m] = src["first"]
                self.p_last[lo:lo + m] = src["last"]
                self.p_seed[lo:lo + m] = src["seed"]
            else:
                ptr = src["ptr"]
                for i in range(len(ptr) - 1):
                    stamps[lo + i] = src["stamps"][ptr[i]:ptr[i + 1]]
        self.ssa_ptr[1:] = np.cumsum([len(s) for s in stamps])
        self.ssa_stamp = (np.concatenate(stamps) if n else np.zeros(0)).astype(np.int64)
        self.ssa_pos = self.ssa_ptr[:-1].copy()

    def _build_recordings(self, image: HardwareImage, n: int) -> None:
        off = image.network.offsets()
        self.rec_flag = np.zeros(n, np.bool_)
        self._spike_pops: dict[str, np.ndarray] = {}
        self._v_rec: list[tuple[str, np.ndarray, int]] = []
        v_idx = []
        for rec in image.network.recordings:
            pop = image.network.population(rec.population)
            if rec.variable == "spikes":
                prev = self._spike_pops.get(pop.name, np.zeros(0, np.int64))
                self._spike_pops[pop.name] = np.union1d(prev, rec.indices)
                self.rec_flag[off[pop.name] + rec.indices] = True
            elif rec.variable == "v":
                if pop.model.startswith("SpikeSource"):
                    raise NetworkError(f"population {pop.name!r} is a spike source: no v")
                every = 1 if rec.sampling_interval is None else round(
                    rec.sampling_interval / self.dt)
                if every < 1 or abs(every * self.dt - (rec.sampling_interval or self.dt)) \
                        > 1e-9 * self.dt:
                    raise NetworkError(f"sampling interval {rec.sampling_interval} ms of "
                                       f"{pop.name}.v is not a multiple of the loihi "
                                       f"timestep {self.dt} ms")
                ind = np.unique(rec.indices)
                self._v_rec.append((pop.name, ind, sum(len(x) for x in v_idx), every))
                v_idx.append(off[pop.name] + ind)
            else:
                raise TargetError(f"the loihi engine cannot record {rec.variable!r}")
        if self.trace:
            self.rec_flag[:] = True
        self.rec_v_idx = (np.concatenate(v_idx) if v_idx else np.zeros(0)).astype(np.int64)

    # --- public API ------------------------------------------------------------------------
    @property
    def t(self) -> float:
        return self._k * self.dt

    def run(self, duration_ms: float) -> None:
        """Advance by `duration_ms`, a whole, non-negative number of timesteps. With timing
        on, chunks of steps go to the timing thread while the next chunk runs."""
        steps = whole_steps(duration_ms, self.dt, "loihi")
        k_end = self._k + steps
        n_flag = int(self.rec_flag.sum())
        spec = self.spec
        chunk = max(1, min(128, (1 << 22) // max(self.n, 1))) if self.timing else steps
        cap = max(4096, min(n_flag * chunk, max(1 << 20, 8 * n_flag)))
        spk_id = np.empty(cap, np.int64)          # reused by every chunk (copied out)
        spk_step = np.empty(cap, np.int64)
        all_id = np.empty(self.n * chunk if self.timing else 0, np.int64)
        pending: deque = deque()             # chunks queued on the timing thread, in order
        k_start = self._k
        try:
            while self._k < k_end:
                k0 = self._k
                left = k_end - k0
                # chunks grow from 8 steps and shrink again towards the end, so the timing
                # thread starts early and the last chunk, timed after the dynamics, is short
                k1 = k0 + (min(left, chunk, max(8, k0 - k_start), max(8, left // 2))
                           if self.timing else left)
                spk_n = np.zeros(1, np.int64)
                rec_v = np.zeros((k1 - k0, len(self.rec_v_idx)), np.int32)
                all_cnt = np.zeros(k1 - k0 if self.timing else 0, np.int64)
                k = kernels.run_steps(
                    k0, k1, self.seg_lo, self.seg_hi, self.seg_model, self.seg_shift, self.consts,
                    self._st,
                    self._buf, self.n_slots, self.s_ptr, self.syn["tgt"],
                    self.s_off, self.syn["w"], self.s_pl, self.in_ptr,
                    self.in_syn, self.syn["pre"], self.ssa_ptr, self.ssa_stamp, self.ssa_pos,
                    self.p_spike, self.p_first, self.p_last, self.p_seed, self.pl_par,
                    self.x_tr, self.y_tr, self.fired, self.rec_flag, n_flag, spk_id,
                    spk_step, spk_n, self.rec_v_idx, rec_v, k0, spec.decay_format.bits,
                    1 << (spec.u_format.bits - 1), spec.v_format.max_int,
                    spec.trace_format.max_int, spec.stdp_frac_bits, all_id, all_cnt)
                self._spk_ids.append(spk_id[:spk_n[0]].copy())
                self._spk_steps.append(spk_step[:spk_n[0]].copy())
                self._v_chunks.append(rec_v[:k - k0])
                if self.timing:
                    counts = all_cnt[:k - k0]
                    if len(pending) >= 8:        # bounds the spikes waiting to be timed
                        self._settle(pending, 7)
                    args = (self._timing_state, all_id[:counts.sum()].copy(), counts, self)
                    pending.append([_timer().submit(time_chunk, *args, self._scratch[0]),
                                    None, args])
                self._k = k
        finally:
            self._settle(pending, 0)

    def _settle(self, pending: deque, keep: int) -> None:
        """Merge timed chunks into the run, in step order, until `keep` are left. Chunks
        the timing thread has not started are timed here, newest first, while it works
        through the oldest: both cores time the backlog."""
        while len(pending) > keep:
            for item in reversed(pending):
                if item[1] is None and item[0].cancel():
                    item[1] = time_chunk(*item[2], self._scratch[1])
                    break
            else:                                # all started or done: wait for the oldest
                if pending[0][1] is None:
                    pending[0][1] = pending[0][0].result()
            while pending and (pending[0][1] is not None or pending[0][0].done()):
                fut, part, _ = pending.popleft()
                merge(self._timing_state, part if part is not None else fut.result())

    def spikes(self) -> tuple[np.ndarray, np.ndarray]:
        """All recorded spikes so far: (global neuron ids, step indices), in step order."""
        if not self._spk_ids:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(self._spk_ids), np.concatenate(self._spk_steps)

    def raw_weights(self, proj_name: str) -> np.ndarray:
        """Current weight mantissas (signed) of a projection, in its IR synapse order."""
        names = [p.name for p in self.image.network.projections]
        if proj_name not in names:
            raise NetworkError(f"no projection named {proj_name!r}")
        k = names.index(proj_name)
        return self._ir_weights()[self._ir_off[k]:self._ir_off[k + 1]].copy()

    def _ir_weights(self) -> np.ndarray:
        """Every projection's weight mantissas, projections one after another in IR order."""
        out = np.zeros(self._ir_off[-1], np.int64)
        out[self._ir_pos] = self.syn["w"]
        return out

    def state(self) -> dict[str, np.ndarray]:
        """Raw integer state of every compartment (u of each channel, v, refractory count)."""
        st = self._st.astype(np.int64)
        return {"u0": st[kernels.ST_U0], "u1": st[kernels.ST_U1], "v": st[kernels.ST_V],
                "refractory": st[kernels.ST_REFC]}

    def result(self) -> Result:
        """Spikes, v, weights (PyNN units; raw in info) and timing since construction."""
        net = self.image.network
        res = Result(target=self.target, t_stop=self.t, timestep=self.dt,
                     info={"steps": self._k, "weights_raw": {},
                           "quantization": dict(self.image.quantization),
                           "mapping": dict(self.image.data.get("mapping", {}))})
        ids, steps = self.spikes()
        off = net.offsets()
        spike_pops = self._spike_pops or ({} if net.recordings else {
            p.name: np.arange(p.size) for p in net.populations})
        for name, ind in spike_pops.items():
            lo = off[name]
            local = ids - lo
            sel = (local >= 0) & (local < net.population(name).size)
            sel[sel] = np.isin(local[sel], ind)
            res.spikes[name] = Spikes(local[sel], (steps[sel] + 1) * self.dt)
        if self._v_rec:
            data = np.concatenate(self._v_chunks) if self._v_chunks else np.zeros(
                (0, len(self.rec_v_idx)), np.int64)
            pops = {p["name"]: p for p in self.image.data["populations"]}
            for name, ind, col, every in self._v_rec:
                rows = np.arange(every - 1, data.shape[0], every)
                raw = data[rows][:, col:col + len(ind)]
                p = pops[name]
                v_reset = np.asarray(p["v_reset_values"])[ind]
                res.signals.setdefault(name, {})["v"] = Signal(
                    (rows + 1) * self.dt, ind, raw / p["scale"] + v_reset, "mV")
        weights = self._ir_weights()
        for k, pr in enumerate(net.projections):
            raw = weights[self._ir_off[k]:self._ir_off[k + 1]]
            res.info["weights_raw"][pr.name] = raw
            res.weights[pr.name] = np.abs(raw) * self.image.data["projections"][pr.name]["lsb"]
        res.timing = self.timing_report()
        return res

    def timing_report(self) -> TimingReport | None:
        """The mesh timing of every step run so far (None with timing off); run() has
        waited for the timing thread, so this only gathers its accumulators."""
        if self.timing:
            return state_report(self._timing_state, self.spec, self._k)
        if self.trace:
            from .timing import interconnect_report
            return interconnect_report(self, *self.spikes())
        return None
