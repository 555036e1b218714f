"""The Loihi-style runner: a compiled image run step by step on integer state.

`Engine(image, timing=True)` is a `hw.runner.Runner`: options are checked, `run` takes
whole 1 ms steps and hands `_advance` the one stimulus (`hw.stimulus`, merged: the chip
has no input multiplicity), `result()` is the base's from `_collect()`, `reset()` goes
back to t = 0 and the initial state keeping learned weights. Option `timing`: True (the
in-loop mesh model), "trace" (every packet through emulator.interconnect afterwards) or
False.

The steps run inside Numba calls (the fused time loop of `kernels.run_steps`); with timing
on, each step's spikes are published to the timing thread (`timing.TimingStream`), which
models the mesh a block of steps at a time while the dynamics run the next (a
barrier-synchronised chip's timing never changes its dynamics, so the split is exact);
the blocks it has not reached when the dynamics end are timed on this thread as well.
`_collect` gives spikes of integrating neurons, the final weights
(dequantised to PyNN units, raw mantissas in `info["weights_raw"]`), recorded v
(dequantised to mV, sampled at t = 0 and then every sampling interval) and, with timing
on, the TimingReport in the vocabulary of hw.metrics.

Conventions: a spike in step k is stamped k + 1 (time (k + 1) * dt); an input spike of
stamp s is emitted by its source in step s - 1 (stamp 0: before step 0,
`kernels.before_start`, not timed); a spike reaches its target `delay` steps later (at
least one: Loihi's minimum synaptic latency) and acts on u and v in that step, so a
chain's per-layer latency is the image's delay (the compiler adds one step into
IF_curr_exp to match exact integration; docs/timing.md); STDP pairs spikes at their
send times (Loihi's delay is dendritic, after the learning engine's view of the axon).
"""

from __future__ import annotations

import functools
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from ...hw.errors import NetworkError, TargetError
from ...hw.image import HardwareImage
from ...hw.jit import KernelChoice, check_threads, run_workers
from ...hw.ir import Network, is_source
from ...hw.layouts import loihi as L
from ...hw.result import Signal, TimingReport
from ...hw.runner import Recorded, Runner
from ...hw.stimulus import InputSpikes
from . import kernels
from .timing import (TimingStream, close_stream, merge_stream, new_scratch, new_state,
                     new_stream, report as state_report, time_stream)

#: rows of the per-plastic-projection parameter table (kernels.run_steps reads them)
PL_ROWS = L.STDP_PARAMS + ("sign", "pre_lo", "pre_hi", "post_lo", "post_hi")
#: values of the `timing` option
TIMING_MODES = (True, False, "trace")
#: Integrating compartments from which `threads` > 1 may run the parallel kernel: its
#: workers (`hw.jit.run_workers`) meet at a barrier each step (some 40 ns on idle cores,
#: milliseconds on busy ones: `hw.jit.KernelChoice` then runs the serial kernel) and each
#: walks every spike of the step to its own synapses, against about a nanosecond per
#: compartment; below this a second core saves little.
PARALLEL_MIN_NEURONS = 20_000
#: Compartment-steps per chunk of steps on which the serial and the parallel kernel are
#: timed against each other (`hw.jit.KernelChoice`): one kernel call each.
_STEPS_PER_CHOICE = 1 << 23
#: Steps of one timing stream at most (`Engine._stream`): its per-block rows (BLOCK steps
#: each) and its spikes are held until the stream ends.
STREAM_STEPS = 1 << 12
#: Spikes a stream holds at most (at least one step of every neuron): it ends early when
#: the next step might not fit.
STREAM_SPIKES = 1 << 22
#: the kernels' spike list and publishing words with timing off (nothing published)
_NO_IDS = np.zeros(0, np.int64)
_NO_PUB = np.zeros(kernels.PUB_N0 + 1, np.int64)


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


class Engine(Runner):
    """Runner of the `loihi` target (see the module docstring)."""

    target = "loihi"
    #: threads: the most cores the dynamics use on the cpu device (1: the serial kernel;
    #: more: the parallel kernel wherever `hw.jit.KernelChoice` measures it faster, from
    #: PARALLEL_MIN_NEURONS compartments; the timing model has its own thread besides);
    #: results are the same bit for bit on any number
    OPTIONS = {"timing": True, "threads": numba.config.NUMBA_NUM_THREADS}
    DEVICES = ("cpu", "gpu")

    def __init__(self, image: "HardwareImage | Network", **options) -> None:
        super().__init__(image, **options)
        image = self.image
        if not image.cores and self.network.size:
            raise TargetError("image has no cores: compile it for target 'loihi' first")
        timing = self.options["timing"]
        if timing not in TIMING_MODES:
            raise TargetError(f"loihi engine: timing={timing!r}; use True (in-loop model), "
                              "'trace' (every packet through emulator.interconnect) or False")
        # "trace" records every spike and times them afterwards with emulator.interconnect
        self.trace = timing == "trace"
        self.timing = timing is True
        self.threads = check_threads(self.options["threads"], "loihi engine")
        self.n = n = self.network.size
        self._build_neurons(image, n)
        self._build_segments(image, n)
        self._parts = self._partition(self.threads if self.device == "cpu" else 1)
        #: threads of the parallel kernel, one per part (benchmarks set 1: the parts in turn)
        self._workers = len(self._parts[0]) if self._parts is not None else 1
        self._choice = KernelChoice(self._parts is not None,
                                    max(32, _STEPS_PER_CHOICE // max(self.n, 1)))
        self._build_synapses(image, n)
        self._own = self._split_synapses() if self._parts is not None else None
        self._build_plasticity(image, n)
        self._build_axons(image, n)
        self._build_recordings(n)
        self._reset()
        self._gpu = None
        if self.device == "gpu":                 # the same tables, stepped by emulator/loihi/gpu
            from .gpu import LoihiGpu
            self._gpu = LoihiGpu(self)

    # --- build ----------------------------------------------------------------------------
    def _build_neurons(self, image: HardwareImage, n: int) -> None:
        """Per-neuron parameters, core and slot; the sweep's int32 constants."""
        self.P = {k: np.zeros(n, np.int64) for k in L.NEURON_PARAMS}
        self.core_of = np.zeros(n, np.int64)
        self.slot_of = np.zeros(n, np.int64)
        for core in image.cores:
            for k in L.NEURON_PARAMS:
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
        self._shifts = np.array([np.maximum(-P["wexp0"], 0),
                                 np.maximum(P["wexp0"], 0) + spec.state_shift,
                                 np.maximum(-P["wexp1"], 0),
                                 np.maximum(P["wexp1"], 0) + spec.state_shift], np.int64)
        self._check_int32_sweep(spec, K, self._shifts)
        self._check_learning(spec)
        self.consts = np.array([K[k] for k in ("ku0", "ku1", "kv", "vth_s", "bias", "refract")],
                               np.int32).reshape(kernels.N_CONSTS, n)

    def _build_segments(self, image: HardwareImage, n: int) -> None:
        """The sweep goes by segments of one population and one input scaling per channel
        (the compiler gives each population and channel one weight exponent)."""
        shifts = self._shifts
        seg = []                 # rows: lo, hi, model, rsh0, lsh0, rsh1, lsh1
        for p in image.data[L.POPULATIONS]:
            lo, hi = p["offset"], p["offset"] + p["size"]
            if lo == hi:
                continue
            cuts = lo + 1 + np.flatnonzero((np.diff(shifts[:, lo:hi], axis=1) != 0).any(0))
            for a, b in zip([lo, *cuts], [*cuts, hi]):
                seg.append((a, b, L.MODEL_CODES[p["model"]], *shifts[:, a]))
        seg = np.array(seg, np.int64).reshape(-1, 7).T.copy()
        self.seg_lo, self.seg_hi, self.seg_model = seg[0], seg[1], seg[2]
        self.seg_shift = seg[3:]
        chans = np.ones(n, np.int64)
        for pop in image.data[L.POPULATIONS]:
            chans[pop["offset"]:pop["offset"] + pop["size"]] = pop["channels"]
        self.comps = np.bincount(self.core_of, weights=chans,
                                 minlength=len(image.cores)).astype(np.int64)

    def _partition(self, threads: int) -> "tuple[np.ndarray, ...] | None":
        """Owners' bounds own_lo, own_hi (about equal integrating compartments each, cut
        at multiples of 8: `kernels._collect` reads flags eight at a time), each thread's
        segments own_p and the segments cut at those bounds; None for the serial kernel
        (one thread, or fewer than PARALLEL_MIN_NEURONS compartments)."""
        source = self.seg_model >= L.FIRST_SOURCE_CODE
        cells = int((self.seg_hi - self.seg_lo)[~source].sum())
        if threads == 1 or cells < PARALLEL_MIN_NEURONS:
            return None
        weight = np.zeros(self.n)
        for p in np.flatnonzero(~source):
            weight[self.seg_lo[p]:self.seg_hi[p]] = 1.0
        cuts = np.searchsorted(np.cumsum(weight), cells * np.arange(1, threads) / threads,
                               side="right") // 8 * 8
        bounds = np.concatenate([[0], cuts, [self.n]]).astype(np.int64)
        rows, own_p = [], [0]
        for t in range(threads):
            for p in range(len(self.seg_lo)):
                lo = max(self.seg_lo[p], bounds[t])
                hi = min(self.seg_hi[p], bounds[t + 1])
                if lo < hi:
                    rows.append((lo, hi, self.seg_model[p], *self.seg_shift[:, p]))
            own_p.append(len(rows))
        seg = np.array(rows, np.int64).reshape(-1, 7).T.copy()
        return (bounds[:-1].copy(), bounds[1:].copy(), np.array(own_p, np.int64),
                seg[0], seg[1], seg[2], seg[3:].copy())

    def _split_synapses(self) -> np.ndarray:
        """Where each thread's synapses of each row start: rows are sorted by target, so
        thread t's synapses of neuron i are own_cut[t, i]..own_cut[t + 1, i] - 1, one run
        (a thread reads only its own, as the serial kernel reads a row; no index per
        synapse)."""
        own_lo = self._parts[0]
        n = self.n
        bounds = np.append(own_lo, n)
        key = self.syn["pre"] * n + self.syn["tgt"]          # ascending: (pre, target)
        return np.searchsorted(key, np.arange(n) * n + bounds[:, None]).astype(np.int64)

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

    @staticmethod
    def _check_learning(spec) -> None:
        """Trace x decay factor must stay in int64 (kernels._learn)."""
        bits = spec.trace_format.bits + spec.trace_decay_format.bits
        if bits > 62:
            raise TargetError(f"loihi engine: trace_format ({spec.trace_format.bits} bits) "
                              f"times trace_decay_format ({spec.trace_decay_format.bits} "
                              f"bits) needs {bits} bits; the learning engine computes in 62")

    def _build_synapses(self, image: HardwareImage, n: int) -> None:
        """Every synapse by presynaptic neuron, then target: the delivery CSR (a thread
        owning a range of targets finds its synapses of a row as one run)."""
        per_synapse = [k for k in L.SYNAPSE_MEMORIES if k != L.SYN_SLOT]
        parts = {k: [] for k in ["pre", "tgt", *per_synapse]}
        for core in image.cores:
            m = core.memories
            parts["pre"].append(np.repeat(m[L.AXON_SRC], np.diff(m[L.AXON_PTR])))
            parts["tgt"].append(core.neurons[m[L.SYN_SLOT]])
            for key in per_synapse:
                parts[key].append(m[key])
        cat = {k: (np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64))
               for k, v in parts.items()}
        order = np.lexsort((cat["tgt"], cat["pre"]))
        self.syn = cat = {k: v[order] for k, v in cat.items()}
        # where each chip synapse sits in the IR's projections laid end to end
        sizes = [p.size for p in image.network.projections]
        self._ir_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._ir_pos = self._ir_off[cat[L.SYN_PROJ]] + cat[L.SYN_INDEX]
        self.s_ptr = np.zeros(n + 1, np.int64)
        self.s_ptr[1:] = np.cumsum(np.bincount(cat["pre"], minlength=n))
        delay = cat[L.SYN_DELAY]
        self.n_slots = int(delay.max()) + 1 if delay.size else 1
        s_off = delay * 2 * n + cat[L.SYN_CHAN] * n + cat["tgt"]
        if self.n_slots * 2 * n >= 2**31:
            raise TargetError(f"loihi engine: the delay ring of {self.n_slots} slots x 2 "
                              f"channels x {n} compartments exceeds 2**31 entries")
        # int32 offsets and mantissas halve the bytes each delivered spike streams
        self.s_off = s_off.astype(np.int32)
        self.s_w = cat[L.SYN_WEIGHT].astype(np.int32)

    def _build_plasticity(self, image: HardwareImage, n: int) -> None:
        """The learning engine's table (PL_ROWS per plastic projection), each synapse's
        row (-1: static) and the plastic synapses by postsynaptic neuron."""
        net = image.network
        names = {p.name: k for k, p in enumerate(net.projections)}
        pl_index = np.full(max(len(names), 1), -1, np.int64)
        off = net.offsets()
        rows = []
        for l, (name, par) in enumerate(image.data.get(L.STDP, {}).items()):
            pr = net.projections[names[name]]
            pl_index[names[name]] = l
            pre_lo, post_lo = off[pr.pre], off[pr.post]
            rows.append([par[k] for k in L.STDP_PARAMS]
                        + [-1 if pr.receptor == "inhibitory" else 1, pre_lo,
                           pre_lo + net.population(pr.pre).size, post_lo,
                           post_lo + net.population(pr.post).size])
        self.pl_par = np.array(rows, np.int64).reshape(len(rows), len(PL_ROWS))
        tgt = self.syn["tgt"]
        self.s_pl = pl_index[self.syn[L.SYN_PROJ]] if tgt.size else np.zeros(0, np.int64)
        plastic = np.flatnonzero(self.s_pl >= 0)
        self.in_syn = plastic[np.argsort(tgt[plastic], kind="stable")].astype(np.int64)
        self.in_ptr = np.zeros(n + 1, np.int64)
        self.in_ptr[1:] = np.cumsum(np.bincount(tgt[plastic], minlength=n))
        self.x_tr = np.zeros((len(rows), n), np.int64)
        self.y_tr = np.zeros((len(rows), n), np.int64)
        self.fired = np.zeros(n, np.bool_)

    def _build_axons(self, image: HardwareImage, n: int) -> None:
        """Per (neuron, destination core): its synapse count, in the axon table's order
        (the timing model's packets)."""
        n_cores = max(len(image.cores), 1)
        pre, tgt = self.syn["pre"], self.syn["tgt"]
        key = pre * n_cores + self.core_of[tgt] if n else pre
        uniq, counts = np.unique(key, return_counts=True)
        self.axon_synapses = counts.astype(np.int64)
        self.axon_src = (uniq // n_cores).astype(np.int64)
        self.axon_dst = (uniq % n_cores).astype(np.int64)
        self.axon_ptr = np.zeros(n + 1, np.int64)
        self.axon_ptr[1:] = np.cumsum(np.bincount(self.axon_src, minlength=n))

    def _build_recordings(self, n: int) -> None:
        """Spike flags of the recorded integrating neurons (every neuron with timing
        "trace": the packet trace); v columns per population with their sampling."""
        net = self.network
        off = net.offsets()
        self.rec_flag = np.zeros(n, np.bool_)
        for name, idx in self._spike_rec.items():
            if not is_source(net.population(name).model):
                self.rec_flag[off[name] + idx] = True
        if self.trace:
            self.rec_flag[:] = True
        v_pops: dict[str, tuple[np.ndarray, int]] = {}
        for rec in net.recordings:
            if rec.variable != "v":
                continue
            pop = net.population(rec.population)
            every = self._sampling_steps(pop.name, rec.sampling_interval)
            idx, prev = v_pops.get(pop.name, (np.zeros(0, np.int64), every))
            v_pops[pop.name] = (np.union1d(idx, rec.indices), math.gcd(prev, every))
        self._v_rec: list[tuple[str, np.ndarray, int, int]] = []
        col = 0
        for name, (idx, every) in v_pops.items():
            self._v_rec.append((name, idx, col, every))
            col += len(idx)
        self.rec_v_idx = (np.concatenate([off[name] + idx for name, idx, _, _ in self._v_rec])
                          if self._v_rec else np.zeros(0)).astype(np.int64)

    def _sampling_steps(self, pop: str, interval: "float | None") -> int:
        """A v sampling interval in whole steps (None: every step)."""
        every = 1 if interval is None else round(interval / self.dt)
        if every < 1 or abs(every * self.dt - (interval or self.dt)) > 1e-9 * self.dt:
            raise NetworkError(f"sampling interval {interval} ms of {pop}.v is not a "
                               f"multiple of the loihi timestep {self.dt} ms")
        return int(every)

    # --- the runner contract -----------------------------------------------------------------
    def _reset(self) -> None:
        """Initial state, empty delay ring and traces, cleared records; weights kept."""
        self._st = np.zeros((4, self.n), np.int32)
        self._st[kernels.ST_V] = self.P["v0"]
        self._buf = np.zeros(self.n_slots * 2 * self.n, np.int32)
        self.x_tr[:] = 0
        self.y_tr[:] = 0
        self.fired[:] = False
        self._spk_ids: list[np.ndarray] = []
        self._spk_steps: list[np.ndarray] = []
        # v at t = 0 (the initial state), then one row after each step
        self._v_chunks = [self._st[kernels.ST_V][self.rec_v_idx][None, :]]
        self._timing_state = None
        if self.timing:
            self._timing_state = new_state(self.spec, self.image.routing.get(
                L.CORE_XY, np.zeros((0, 2), np.int64)), self.comps)
            # one scratch for the timing thread, one for this thread when it helps out
            self._scratch = (new_scratch(self._timing_state),
                             new_scratch(self._timing_state))

    def _advance(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        """Steps k0 .. k1-1 with the window's input spikes (stamp 0 first, before step 0).
        With timing on, the timing thread times the steps as the dynamics publish them,
        a stream of at most STREAM_STEPS steps at a time (`_stream`)."""
        if self._gpu is not None:
            return self._gpu.advance(k0, k1, inputs)
        inp_id = np.ascontiguousarray(inputs.neuron, np.int64)
        inp_ptr = inputs.per_stamp(k0, k1)
        if k0 == 0 and inp_ptr[1] > inp_ptr[0]:
            kernels.before_start(inp_id[inp_ptr[0]:inp_ptr[1]], self.n, self.n_slots,
                                 self._buf, self.s_ptr, self.syn["tgt"], self.s_off, self.s_w,
                                 self.s_pl, self.in_ptr, self.in_syn, self.syn["pre"],
                                 self.pl_par, self.x_tr, self.y_tr, self.fired,
                                 *self._learning_widths())
        n_flag = int(self.rec_flag.sum())
        cap = max(4096, min(n_flag * (k1 - k0), max(1 << 20, 8 * n_flag)))
        out = dict(spk_id=np.empty(cap, np.int64), spk_step=np.empty(cap, np.int64))
        run = functools.partial(self._run_chunks, inp_id=inp_id, inp_ptr=inp_ptr, inp_s0=k0,
                                n_flag=n_flag, out=out)
        k = k0
        while k < k1:
            k = self._stream(k, k1, run) if self.timing else run(k, k1, None)

    def _stream(self, k: int, k1: int, run) -> int:
        """Steps k .. up to k1 - 1 (fewer when their spikes fill the stream), timed on the
        timing thread while they run and, after them, on this thread as well (both cores
        time the backlog); merged into the run's timing. Returns the first step not run."""
        state = self._timing_state
        steps = min(k1 - k, STREAM_STEPS)
        stream = new_stream(state, k, steps, max(self.n, min(self.n * steps, STREAM_SPIKES)))
        worker = _timer().submit(time_stream, stream, state, self, self._scratch[0], 0)
        reached = k
        try:
            reached = run(k, k + steps, stream)
        finally:
            close_stream(stream.sync)
            time_stream(stream, state, self, self._scratch[1], 1)
            if not worker.cancel():      # not started (the thread held up): nothing left
                worker.result()
            merge_stream(state, stream, reached - k)
        return reached

    def _run_chunks(self, k: int, k1: int, stream: "TimingStream | None", inp_id: np.ndarray,
                    inp_ptr: np.ndarray, inp_s0: int, n_flag: int, out: dict) -> int:
        """Steps k .. k1-1 in kernel calls of `_choice`'s steps, on its kernel, until the
        stream (if any) cannot hold another step of every neuron. Returns the step reached."""
        while k < k1:
            if stream is not None:
                stream.sync[kernels.PUB_N0] = stream.all_cnt[:k - stream.k0].sum()
                if stream.sync[kernels.PUB_N0] + self.n > len(stream.all_id):
                    break
            parallel, steps = self._choice.pick()
            k = self._run_chunk(k, min(k1, k + steps), inp_id, inp_ptr, inp_s0, n_flag, out,
                                stream, parallel)
        return k

    def _learning_widths(self) -> tuple[int, int, int]:
        """trace_max, stdp_frac_bits and the trace decay's fraction bits, from the spec."""
        spec = self.spec
        return (spec.trace_format.max_int, spec.stdp_frac_bits,
                spec.trace_decay_format.frac_bits)

    def _run_chunk(self, k0: int, k1: int, inp_id: np.ndarray, inp_ptr: np.ndarray,
                   inp_s0: int, n_flag: int, out: dict, stream: "TimingStream | None",
                   parallel: bool) -> int:
        """One kernel call (the parallel one if `parallel`, else the serial one) over steps
        k0 .. k1-1 (fewer when the spike record or the stream fills up); its spikes and v
        samples are kept, its steps published to the stream. Returns the first step not
        run."""
        spec = self.spec
        spk_n = np.zeros(1, np.int64)
        rec_v = np.zeros((k1 - k0, len(self.rec_v_idx)), np.int32)
        timed = (stream.all_id, stream.all_cnt, stream.sync) if stream is not None else \
            (_NO_IDS, _NO_IDS, _NO_PUB)
        if parallel:
            n_th = len(self._parts[0])
            kernel = functools.partial(run_workers, kernels.run_steps_parallel, self._workers)
            head = (k0, k1, *self._parts)
            tail = (np.empty((2, n_th, self.n), np.int64), np.zeros((2, n_th), np.int64),
                    self._own)
        else:
            kernel, head = kernels.run_steps, (k0, k1, self.seg_lo, self.seg_hi,
                                               self.seg_model, self.seg_shift)
            tail = ()
        t0 = time.perf_counter()
        k = kernel(
            *head, self.consts,
            self._st, self._buf, self.n_slots, self.s_ptr, self.syn["tgt"], self.s_off,
            self.s_w, self.s_pl, self.in_ptr, self.in_syn, self.syn["pre"], inp_id, inp_ptr,
            inp_s0, self.pl_par, self.x_tr, self.y_tr, self.fired, self.rec_flag, n_flag,
            out["spk_id"], out["spk_step"], spk_n, self.rec_v_idx, rec_v, k0,
            spec.decay_format.bits, 1 << (spec.u_format.bits - 1), spec.v_format.max_int,
            *self._learning_widths(), *timed, *tail)
        self._choice.note(parallel, k - k0, time.perf_counter() - t0)
        self._spk_ids.append(out["spk_id"][:spk_n[0]].copy())
        self._spk_steps.append(out["spk_step"][:spk_n[0]].copy())
        self._v_chunks.append(rec_v[:k - k0])
        return k

    def _collect(self) -> Recorded:
        """Spikes (stamps k + 1), v samples, weights in IR units, timing."""
        ids, steps = self.spikes()
        weights, raw = {}, {}
        ir_w = self._ir_weights()
        for k, pr in enumerate(self.network.projections):
            raw[pr.name] = ir_w[self._ir_off[k]:self._ir_off[k + 1]]
            weights[pr.name] = (np.abs(raw[pr.name])
                                * self.image.data[L.PROJECTIONS][pr.name]["lsb"])
        return Recorded(neuron=ids, stamp=steps + 1, signals=self._v_signals(),
                        weights=weights, timing=self.timing_report(),
                        info={"weights_raw": raw,
                              "mapping": dict(self.image.data.get(L.MAPPING, {}))})

    def _v_signals(self) -> dict[tuple[str, str], Signal]:
        """v of each recorded population in mV, at t = 0 and every `every` steps after."""
        data = np.concatenate(self._v_chunks)
        pops = {p["name"]: p for p in self.image.data[L.POPULATIONS]}
        out = {}
        for name, ind, col, every in self._v_rec:
            rows = np.arange(0, data.shape[0], every)
            p = pops[name]
            v_reset = np.asarray(p["v_reset_values"])[ind]
            out[(name, "v")] = Signal(np.round(rows * self.dt, 10), ind,
                                      data[rows][:, col:col + len(ind)] / p["scale"] + v_reset,
                                      "mV")
        return out

    # --- inspection ----------------------------------------------------------------------------
    def spikes(self) -> tuple[np.ndarray, np.ndarray]:
        """All recorded spikes so far: (global neuron ids, step indices), in step order."""
        if not self._spk_ids:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(self._spk_ids), np.concatenate(self._spk_steps)

    def raw_weights(self, proj_name: str) -> np.ndarray:
        """Current weight mantissas (signed) of a projection, in its IR synapse order."""
        names = [p.name for p in self.network.projections]
        if proj_name not in names:
            raise NetworkError(f"no projection named {proj_name!r}")
        k = names.index(proj_name)
        return self._ir_weights()[self._ir_off[k]:self._ir_off[k + 1]].copy()

    def _ir_weights(self) -> np.ndarray:
        """Every projection's weight mantissas, projections one after another in IR order."""
        out = np.zeros(self._ir_off[-1], np.int64)
        out[self._ir_pos] = self.s_w
        return out

    def state(self) -> dict[str, np.ndarray]:
        """Raw integer state of every compartment (u of each channel, v, refractory count)."""
        st = self._st.astype(np.int64)
        return {"u0": st[kernels.ST_U0], "u1": st[kernels.ST_U1], "v": st[kernels.ST_V],
                "refractory": st[kernels.ST_REFC]}

    def timing_report(self) -> TimingReport | None:
        """The mesh timing of every step run so far (None with timing off); run() has
        waited for the timing thread, so this only gathers its accumulators."""
        if self.timing:
            return state_report(self._timing_state, self.spec, self._k)
        if self.trace:
            from .timing import interconnect_report
            return interconnect_report(self, *self.spikes())
        return None
