"""The reference engine: the float IR run as written, every model, at any timestep.

A `hw.runner.Runner` (target "reference"): `run(duration)` is the base's, which hands each
window of the one stimulus to `_advance`, where the whole network advances inside Numba
calls; `update(network)` adopts a changed network between runs while keeping time, state,
spikes in flight and plastic state; `reset()` goes back to t = 0.

Conventions (NEST 3.10's; docs/conventions.md puts each next to NEST's and Brian2's):
- a step k runs from k*dt to (k+1)*dt; a spike in it is stamped (k+1)*dt, as NEST does;
  the threshold is `v >= v_thresh`, checked after each step's update, step 0 included;
- a spike stamped ts with delay d acts in the step ending at ts + d: IF_curr_delta's v
  jumps in that step, the current or conductance of the other models is added at its end
  (v moves from the next step on); delays are rounded to the nearest whole step, halves
  up (NEST's delay_ms_to_steps: 0.15 ms at 0.1 ms is 2 steps; named in the mapping
  report), and a delay under one step is an error;
- input spikes are the one stimulus (`hw.stimulus`): spike-array times rounded to the
  nearest step (NEST refuses off-grid times, or with allow_offgrid_times moves them up),
  Poisson counts per step (mean rate * dt, as NEST's poisson_generator) from SplitMix64
  over (seed, step); a spike at t acts at t + delay; two spikes of one source neuron in
  one step are delivered twice, as NEST does;
- `i_offset` is constant in every step from step 0 (NEST's I_e); a current source's value
  at k*dt acts during step k (`CurrentSource.waveform`);
- STDP pairs a pre spike at its arrival at the synapse (stamp + delay, all delay axonal, as
  pyNN.brian2 and Brian2's own STDP examples do) with post spikes at their stamps;
  NEST's stdp_synapse treats the delay as dendritic instead, which shifts pairs by d;
- Tsodyks-Markram starts with x = 1, u = 0, so the first spike transmits U * w;
- refractory periods are ceil(tau_refrac / dt) steps (rounded up, as NEST's t_ref: 1.05 ms
  at 0.1 ms is 11 steps; named in the mapping report), counted from the step after the
  spike, with v held at v_reset (synaptic state keeps evolving; IF_curr_delta drops input
  arriving then, as NEST does);
- IF_curr_exp/alpha/delta integrate exactly (propagators, tau_m == tau_syn included);
  conductance, AdEx and HH models use RK4 substeps (<= 0.025 ms; 0.01 ms for AdEx and HH)
  with the conductances following their exact course within the step;
- Izhikevich is forward Euler at dt as NEST's izhikevich (i_offset in nA acts as pA on
  the mV/ms scale, as PyNN defines it), spike at v >= 30 mV;
- HH_cond_exp spikes when v > v_offset + 30 mV and falling, then 2 ms without spikes
  (NEST hh_cond_exp_traub); it has no reset.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numba
import numpy as np

from ...hw.compiler import compile as hw_compile
from ...hw.errors import NetworkError
from ...hw.image import HardwareImage
from ...hw.jit import KernelChoice, check_threads, run_workers
from ...hw.ir import Network
from ...hw.result import Signal
from ...hw.runner import Recorded, Runner
from ...hw.stimulus import InputSpikes, Stimulus, poisson_lams
from . import build as B
from . import kernels

#: Steps per kernel call when current sources need a waveform table (bounds its memory).
_CHUNK_WITH_CURRENTS = 1 << 16
#: Integrating neurons from which `threads` > 1 may run the parallel kernel. Its workers
#: (`hw.jit.run_workers`) meet at a barrier each step, some 40 ns on idle cores
#: (milliseconds on cores other processes keep busy: `hw.jit.KernelChoice` then runs the
#: serial kernel), and each walks every spike of the step to its own synapses, while a
#: neuron costs about 1 ns a step on one core. CUBA at fan-out 80, both kernels forced,
#: medians of 7 (2026-12-06): 1.13x at 4,000 neurons, 1.35x at 10,000, 1.54x at 20,000.
PARALLEL_MIN_NEURONS = 8_000
#: What a Poisson source costs a step against an integrating neuron, for the threads'
#: shares (`_partition`): its draw, and its spikes listed and delivered (measured on the
#: microcircuit at scale 0.3, sources at 4.8 kHz; some 2-3 across rates of 1-16 kHz).
POISSON_COST = 2.0
#: The work of a chunk of steps, for `hw.jit.KernelChoice`, in neuron-steps: a synapse
#: walked in delivery costs about as much as EVENT_COST neurons advanced a step (CUBA-40000
#: on one core: some 8 ns against 0.7 ns). Bursts make chunks' work differ 2-3x, so the
#: two kernels' costs are compared per unit of work, not per step.
EVENT_COST = 10.0
#: Neuron-steps per chunk of steps on which the serial and the parallel kernel are timed
#: against each other (`hw.jit.KernelChoice`; some 10 ms on one core).
_STEPS_PER_CHOICE = 1 << 23


@dataclass
class _Trace:
    """Samples of one recorded variable, kept in chunks (indices may grow between runs)."""

    units: str
    chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)


class Engine(Runner):
    """Runner of the `reference` target (see the module docstring for its conventions)."""

    target = "reference"
    DEVICES = ("cpu", "gpu")
    #: threads: the most cores the cpu device uses (1: the serial kernel; more: the
    #: parallel kernel wherever `hw.jit.KernelChoice` measures it faster, on networks of
    #: PARALLEL_MIN_NEURONS or more); results are the same bit for bit on any number
    OPTIONS = {"threads": numba.config.NUMBA_NUM_THREADS}

    def __init__(self, image: "HardwareImage | Network", **options) -> None:
        super().__init__(image, **options)
        self.threads = check_threads(self.options["threads"], "reference engine")
        self._adopt(self.network)
        self._reset()
        self._weights_given = _plastic_weights(self.network)

    # --- the runner contract ------------------------------------------------------------------
    @property
    def draws_poisson(self) -> bool:
        """On the cpu the kernels draw the Poisson spikes themselves, by the stimulus's rule
        (no window of them is made, sorted and handed in: at full microcircuit scale that
        cost more than the network's own dynamics)."""
        return self.device == "cpu"

    def _advance(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        """Run steps k0 .. k1-1 (in chunks when current sources need waveform tables),
        delivering `inputs` from a per-neuron CSR with one cursor per source neuron."""
        if self._gpu is not None:
            return self._gpu.advance(k0, k1, inputs)
        n = self._neurons.n
        in_ptr, in_stamp = inputs.per_neuron(n)
        in_pos = in_ptr[:-1].copy()
        same = (np.diff(inputs.stamp) == 0) & (np.diff(inputs.neuron) == 0)
        repeats = int(np.count_nonzero(same))
        po = self._poisson()
        # a step's spikes, repeats included (a Poisson neuron's at most po.extra more)
        spiked = np.empty(n + repeats + po.extra, dtype=np.int64)
        self._widen_history(inputs, same, po.plastic_extra)
        chunk = _CHUNK_WITH_CURRENTS if self._currents.sources else k1 - k0
        for c0 in range(k0, k1, chunk):
            self._run_chunk(c0, min(k1, c0 + chunk), in_ptr, in_stamp, in_pos, po.table,
                            spiked)
        if len(self._spk_ids) > 1:       # one array each, so later runs do not pay per chunk
            self._spk_ids = [np.concatenate(self._spk_ids)]
            self._spk_stamps = [np.concatenate(self._spk_stamps)]

    def _poisson(self) -> "_PoissonDraws":
        """The stimulus's Poisson table per global neuron, for the kernels' draws (made
        again when `update` brings a new stimulus); an empty one when the base hands the
        Poisson spikes in (`draws_poisson` False)."""
        if self._po is None or self._po.stimulus is not self.stimulus:
            self._po = _PoissonDraws.of(self.stimulus, self._neurons.n, self._syn.plastic_out,
                                        self.draws_poisson)
        return self._po

    def _widen_history(self, inputs: InputSpikes, same: np.ndarray, drawn: int) -> None:
        """Room in the plastic spike ring for the window's repeated source spikes (one
        entry per spike: each is delivered and paired), keeping its contents; `drawn`:
        the most repeats the kernels' Poisson draws can add in one step."""
        plastic = same & self._syn.plastic_out[inputs.neuron[1:]]
        extra = int(np.bincount(inputs.stamp[1:][plastic]).max()) if plastic.any() else 0
        width = max(1, int(self._syn.plastic_out.sum())) + extra + drawn
        if self._hist.shape[1] < width:
            wider = np.zeros((self._hist.shape[0], width), dtype=np.int64)
            wider[:, :self._hist.shape[1]] = self._hist
            self._hist = wider

    def _collect(self) -> Recorded:
        """Spikes of the recorded integrating neurons, sampled signals, current weights."""
        ids = np.concatenate(self._spk_ids) if self._spk_ids else np.zeros(0, np.int64)
        stamps = np.concatenate(self._spk_stamps) if self._spk_stamps else np.zeros(0, np.int64)
        return Recorded(neuron=ids, stamp=stamps,
                        signals={key: _merge(tr) for key, tr in self._traces.items()},
                        weights={pr.name: self.weights(pr.name)
                                 for pr in self.network.projections})

    def weights(self, proj_name: str) -> np.ndarray:
        """Current weights of a projection, in the IR order of its synapses."""
        if proj_name in self._static_given:
            return self._static_given[proj_name]
        plastic, pos = self._syn.places(proj_name)
        return (self._syn.pl_w if plastic else self._syn.st_w)[pos].copy()

    def get_state(self, pop_name: str, variable: str) -> np.ndarray:
        """Current value of a state variable of every neuron of a population."""
        pop = self.network.population(pop_name)
        table = B.L.RECORDABLE[pop.model]
        if variable not in table:
            raise NetworkError(f"population {pop_name!r} ({pop.model}) has no state variable "
                               f"{variable!r}; it has {list(table)}")
        lo = self._neurons.offsets[pop_name]
        return self._S[table[variable][0], lo:lo + pop.size].copy()

    def update(self, network: Network) -> None:
        """Adopt a changed network, keeping t, state, spikes in flight, plastic state and
        what was recorded (the base could only recompile at t = 0)."""
        self._check_update(network)
        # validated, capabilities checked, a new mapping report (strict stays strict)
        image = hw_compile(network, self.spec, strict=self.image.report.strict)
        prev = _Previous(self.network, self._neurons, self._syn, self._S, self._until,
                         self._buf, self._hist, self._hist_n, self._pl_state, self._traces,
                         self._rec_next_by_key, InputSpikes.concat(self._inputs))
        self.image = image
        self._adopt(network)
        self.stimulus = Stimulus(network, self.dt)
        remap = np.full(prev.neurons.n, -1, dtype=np.int64)
        for pop in network.populations:
            if pop.name in prev.neurons.offsets:
                a, b = prev.neurons.offsets[pop.name], self._neurons.offsets[pop.name]
                remap[a:a + pop.size] = np.arange(b, b + pop.size)
        self._carry_state(prev, remap)
        self._carry_in_flight(prev, remap)
        self._carry_plastic(prev)
        self._carry_recordings(prev, remap)
        self._list_refractory()

    # --- internals ------------------------------------------------------------------------------
    def _check_update(self, network: Network) -> None:
        """Refuse a changed timestep or a population or projection that changed size."""
        if abs(network.timestep - self.dt) > 1e-12 * self.dt:
            raise NetworkError(f"update: timestep {network.timestep} ms differs from the "
                               f"engine's {self.dt} ms")
        old = {pop.name: pop.size for pop in self.network.populations}
        for pop in network.populations:
            if pop.name in old and old[pop.name] != pop.size:
                raise NetworkError(f"update: population {pop.name!r} changed size from "
                                   f"{old[pop.name]} to {pop.size}")
        old = {pr.name: pr.size for pr in self.network.projections}
        for pr in network.projections:
            if pr.name in old and old[pr.name] != pr.size:
                raise NetworkError(f"update: projection {pr.name!r} changed size from "
                                   f"{old[pr.name]} to {pr.size}")

    def _carry_state(self, prev: "_Previous", remap: np.ndarray) -> None:
        """Neuron state and refractory ends of the neurons that already existed."""
        keep = remap >= 0
        self._S = self._neurons.S0.copy()
        self._S[:, remap[keep]] = prev.S[:, keep]
        self._until = np.zeros(self._neurons.n)
        self._until[remap[keep]] = prev.until[keep]

    def _carry_in_flight(self, prev: "_Previous", remap: np.ndarray) -> None:
        """Input in flight (static delay ring) and pre spikes in flight (plastic history)."""
        n, syn, old_syn = self._neurons.n, self._syn, prev.syn
        n_slots = max(syn.n_slots, old_syn.n_slots)
        self._buf = np.zeros(n_slots * 2 * n)
        ob = prev.buf.reshape(old_syn.n_slots, 2, prev.neurons.n)
        nb = self._buf.reshape(n_slots, 2, n)
        keep = remap >= 0
        for a in range(self._k, self._k + old_syn.n_slots):
            nb[a % n_slots][:, remap[keep]] = ob[a % old_syn.n_slots][:, keep]
        syn.n_slots = n_slots
        n_hist = max(syn.n_hist, old_syn.n_hist)
        self._hist = _history(n_hist, syn)
        self._hist_n = np.zeros(n_hist, dtype=np.int64)
        for e in range(max(self._k - old_syn.n_hist + 1, -1), self._k):
            row = e % old_syn.n_hist
            ids = remap[prev.hist[row, :prev.hist_n[row]]]
            ids = ids[ids >= 0]
            ids = ids[syn.plastic_out[ids]]     # others have no plastic synapse now
            self._hist[e % n_hist, :len(ids)] = ids
            self._hist_n[e % n_hist] = len(ids)
        syn.n_hist = n_hist

    def _carry_plastic(self, prev: "_Previous") -> None:
        """Weights and plastic state: kept unless the network now gives another weight."""
        syn, old_syn = self._syn, prev.syn
        self._pl_state = B.initial_plastic_state(syn)
        for pr in self.network.projections:
            plastic, was_plastic = pr.name in syn.where, pr.name in old_syn.where
            if not (plastic or was_plastic):
                continue      # static weights are the network's own, already in the tables
            if not old_syn.has(pr.name):
                continue
            self._static_given.pop(pr.name, None)      # learned weights, now static
            pos, old_pos = syn.places(pr.name)[1], old_syn.places(pr.name)[1]
            given = self._weights_given.get(pr.name)
            old_w = (old_syn.pl_w if was_plastic else old_syn.st_w)[old_pos]
            changed = pr.weight != given if given is not None else np.ones(pr.size, bool)
            (syn.pl_w if plastic else syn.st_w)[pos] = np.where(changed, pr.weight, old_w)
            if plastic and was_plastic:
                self._pl_state[:, pos] = prev.pl_state[:, old_pos]
        self._weights_given = _plastic_weights(self.network)

    def _carry_recordings(self, prev: "_Previous", remap: np.ndarray) -> None:
        """Spikes so far follow their neurons into the new index space; a recording of the
        same (population, variable, neurons, interval) continues, others start now."""
        for c, ids in enumerate(self._spk_ids):
            kept = remap[ids] >= 0
            self._spk_ids[c] = remap[ids][kept]
            self._spk_stamps[c] = self._spk_stamps[c][kept]
        self._plan_recording()                    # the base's plan, for the new network
        src = remap[prev.inputs.neuron] if len(prev.inputs) else prev.inputs.neuron
        kept = src >= 0
        self._inputs = [InputSpikes(src[kept], prev.inputs.stamp[kept])]
        rec = self._rec
        self._traces = {key: prev.traces.get(key, _Trace(units))
                        for key, units in zip(rec.keys, rec.units)}
        self._rec_next = np.array([
            prev.rec_next.get((key, tuple(rec.local[r]), int(rec.every[r])),
                              -(-self._k // int(rec.every[r])) * int(rec.every[r]))
            for r, key in enumerate(rec.keys)], dtype=np.int64)

    def _adopt(self, network: Network) -> None:
        """Build every table of `network` (parameters, synapses, recordings, currents)."""
        self.network = network
        self._neurons = B.build_neurons(network, self.dt)
        self._syn = B.build_synapses(network, self.dt)
        #: static projections whose weights are the network's (no copy: read-only views)
        self._static_given = {pr.name: _read_only(pr.weight) for pr in network.projections
                              if pr.plasticity is None}
        self._rec = B.build_recordings(network, self.dt)
        self._currents = B.build_currents(network)
        self._istim = np.zeros(self._neurons.n)
        self._parts = _partition(self._neurons, self.threads if self.device == "cpu" else 1)
        #: threads of the parallel kernel, one per part (benchmarks set 1: the parts in turn)
        self._workers = len(self._parts.own_lo)
        #: each row's synapses onto each part's neurons (kernels.row_parts)
        self._st_seg = kernels.row_parts(self._syn.st_ptr, self._syn.st_off, self._neurons.n,
                                         self._parts.own_lo)
        self._choice = KernelChoice(len(self._parts.own_lo) > 1,
                                    max(32, _STEPS_PER_CHOICE // max(self._neurons.n, 1)))
        self._gpu = None
        self._po = None
        if self.device == "gpu":                 # the same tables, stepped by sim/reference/gpu
            from .gpu import ReferenceGpu
            self._gpu = ReferenceGpu(self)

    def _reset(self) -> None:
        """Initial state, nothing in flight, recordings cleared (weights are kept)."""
        nrn, syn = self._neurons, self._syn
        self._S = nrn.S0.copy()
        self._until = np.zeros(nrn.n)
        self._buf = np.zeros(syn.n_slots * 2 * nrn.n)
        self._hist = _history(syn.n_hist, syn)
        self._hist_n = np.zeros(syn.n_hist, dtype=np.int64)
        self._pl_state = B.initial_plastic_state(syn)
        self._traces = {key: _Trace(units) for key, units in zip(self._rec.keys,
                                                                   self._rec.units)}
        self._rec_next = np.zeros(len(self._rec.keys), dtype=np.int64)
        self._spk_ids: list[np.ndarray] = []
        self._spk_stamps: list[np.ndarray] = []
        self._list_refractory()

    @property
    def _rec_next_by_key(self) -> dict:
        return {(key, tuple(self._rec.local[r]), int(self._rec.every[r])): int(self._rec_next[r])
                for r, key in enumerate(self._rec.keys)}

    def _list_refractory(self) -> None:
        """The refractory neurons of homogeneous IF_curr_exp populations, listed per
        population (per chunk with threads) with the value v holds (the kernels' fast path
        restores it)."""
        nrn, parts = self._neurons, self._parts
        self._refr = np.zeros(nrn.n, dtype=np.int64)
        self._refr_val = np.zeros(nrn.n)
        self._refr_n = np.zeros(len(parts.pop_lo), dtype=np.int64)
        for p, (lo, hi) in enumerate(zip(parts.pop_lo, parts.pop_hi)):
            if parts.pop_model[p] == B.L.CURR_EXP and parts.pop_homogeneous[p]:
                ids = lo + np.flatnonzero(self._until[lo:hi] > self._k)
                self._refr[lo:lo + len(ids)] = ids
                self._refr_val[lo:lo + len(ids)] = self._S[B.L.V, ids]
                self._refr_n[p] = len(ids)

    def _run_chunk(self, k0: int, k1: int, in_ptr: np.ndarray, in_stamp: np.ndarray,
                   in_pos: np.ndarray, po: tuple, spiked: np.ndarray) -> None:
        """Run steps k0 .. k1-1 in one kernel call (more only if spikes overflow)."""
        rec, syn, nrn = self._rec, self._syn, self._neurons
        every = rec.every
        width = np.diff(rec.ptr)
        counts = np.where(self._rec_next <= k1,
                          (k1 - self._rec_next) // np.maximum(every, 1) + 1, 0)
        rec_off = np.zeros(len(width) + 1, dtype=np.int64)
        rec_off[1:] = np.cumsum(counts * width)
        rec_out = np.zeros(int(rec_off[-1]))
        rec_count = np.zeros(len(width), dtype=np.int64)
        first_next = self._rec_next.copy()
        waves = self._currents.waves(k0, k1 - k0, self.dt)
        n_rec_spk = int(rec.spike_flags.sum())
        cap = max(1024, 4 * n_rec_spk)
        k = k0
        while True:
            spk_id = np.empty(cap, dtype=np.int64)
            spk_stamp = np.empty(cap, dtype=np.int64)
            spk_n = np.zeros(1, dtype=np.int64)
            k = self._kernel(
                k, k1, self.dt, k == 0, self._S, nrn.Q,
                nrn.ref_steps, self._until, self._refr, self._refr_val, self._refr_n,
                in_ptr, in_stamp, in_pos, po,
                self._currents.ptr, self._currents.idx, self._currents.uniq, waves, k0,
                self._istim,
                self._st_seg, syn.st_off, syn.st_w, self._buf, syn.n_slots,
                syn.pl_ptr, syn.pl_tgt, syn.pl_delay, syn.pl_w, syn.pl_rule, syn.pl_par,
                self._pl_state, syn.pl_in_ptr, syn.pl_in_syn, syn.plastic_out, self._hist,
                self._hist_n, syn.n_hist,
                rec.rows, rec.every, self._rec_next, rec.ptr, rec.idx, rec_out, rec_off,
                rec_count, rec.spike_flags, n_rec_spk, spk_id, spk_stamp, spk_n, spiked)
            self._spk_ids.append(spk_id[:spk_n[0]].copy())
            self._spk_stamps.append(spk_stamp[:spk_n[0]].copy())
            if k >= k1:
                break
            cap = min(cap * 4, 1 << 26)   # filled up: continue with a larger record
        for r, key in enumerate(rec.keys):
            c = int(rec_count[r])
            if c:
                times = _ms(first_next[r] + np.arange(c) * every[r], self.dt)
                data = rec_out[rec_off[r]:rec_off[r] + c * width[r]].reshape(c, width[r])
                self._traces[key].chunks.append((times, rec.local[r], data))


    def _kernel(self, k, k1, dt, emit_zero, *args):
        """Steps k .. k1-1 by kernels.run_steps over the parts' chunks (the populations
        when there is one part) or, chunk of steps by chunk, by the parallel kernel on as
        many threads when `_choice` finds it faster. Returns the step reached (earlier
        than k1 when the spike record is full)."""
        parts, choice = self._parts, self._choice
        pops = (parts.pop_lo, parts.pop_hi, parts.pop_model, parts.pop_homogeneous)
        work = np.zeros(len(parts.own_lo), dtype=np.int64)
        if not choice.parallel:
            return kernels.run_steps(k, k1, dt, emit_zero, *pops, *args, work)
        part = np.empty((2, len(parts.own_lo), len(args[-1])), dtype=np.int64)
        part_n = np.zeros((2, len(parts.own_lo)), dtype=np.int64)
        while k < k1:
            parallel, steps = choice.pick()
            stop = min(k1, k + steps)
            work[:] = 0
            t0 = time.perf_counter()
            if parallel:
                part_n[:] = 0
                reached = run_workers(kernels.run_steps_parallel, self._workers, k, stop,
                                      dt, emit_zero, parts.own_lo, parts.own_hi,
                                      parts.own_p, *pops, *args, part, part_n, work)
            else:
                reached = kernels.run_steps(k, stop, dt, emit_zero, *pops, *args, work)
            seconds = time.perf_counter() - t0
            choice.note(parallel, reached - k, seconds,
                        (reached - k) * self._neurons.n + EVENT_COST * int(work.sum()))
            k, emit_zero = reached, False
            if reached < stop:
                break
        return k


@dataclass
class _Parts:
    """The neurons split among threads: thread t owns neurons own_lo[t]..own_hi[t]-1, the
    chunks own_p[t]..own_p[t+1]-1 (pop_* rows: the populations cut at the owners' bounds;
    with one thread, the populations themselves)."""

    own_lo: np.ndarray
    own_hi: np.ndarray
    own_p: np.ndarray
    pop_lo: np.ndarray
    pop_hi: np.ndarray
    pop_model: np.ndarray
    pop_homogeneous: np.ndarray


def _partition(nrn: B.Neurons, threads: int) -> _Parts:
    """Cut the neurons into `threads` contiguous parts of about equal cost (an
    integrating neuron 1, a Poisson source POISSON_COST: it draws its spikes in the
    kernel; an array source next to nothing), one part when the network has under
    PARALLEL_MIN_NEURONS integrating neurons; each population is cut where a part ends."""
    source = (nrn.pop_model == B.L.SOURCE_ARRAY) | (nrn.pop_model == B.L.SOURCE_POISSON)
    size = nrn.pop_hi - nrn.pop_lo
    cells = int(size[~source].sum())
    if threads == 1 or cells < PARALLEL_MIN_NEURONS:
        whole = np.array([0, nrn.n], dtype=np.int64)
        return _Parts(whole[:1], whole[1:], np.array([0, len(nrn.pop_lo)], np.int64),
                      nrn.pop_lo, nrn.pop_hi, nrn.pop_model, nrn.pop_homogeneous)
    weight = np.zeros(nrn.n)
    for p in range(len(nrn.pop_lo)):
        cost = POISSON_COST if nrn.pop_model[p] == B.L.SOURCE_POISSON else float(~source[p])
        weight[nrn.pop_lo[p]:nrn.pop_hi[p]] = cost
    cum = np.cumsum(weight)
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, threads) / threads, side="right")
    bounds = np.concatenate([[0], cuts, [nrn.n]]).astype(np.int64)
    rows, own_p = [], [0]
    for t in range(threads):
        for p in range(len(nrn.pop_lo)):
            lo, hi = max(nrn.pop_lo[p], bounds[t]), min(nrn.pop_hi[p], bounds[t + 1])
            if lo < hi:
                rows.append((lo, hi, nrn.pop_model[p], nrn.pop_homogeneous[p]))
        own_p.append(len(rows))
    tab = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return _Parts(bounds[:-1].copy(), bounds[1:].copy(), np.array(own_p, np.int64),
                  tab[:, 0].copy(), tab[:, 1].copy(), tab[:, 2].copy(),
                  tab[:, 3].astype(np.bool_))


@dataclass
class _PoissonDraws:
    """What the kernels draw Poisson spikes from: `table` = (seed, spike probability per
    step, its lam, first stamp, last stamp) per global neuron (first > last where none
    is drawn);
    `extra`: the most spikes beyond one per neuron that a step can draw (`PoissonTable.most`),
    `plastic_extra` the same over neurons with plastic synapses."""

    stimulus: Stimulus
    table: tuple
    extra: int
    plastic_extra: int

    @staticmethod
    def of(stimulus: Stimulus, n: int, plastic_out: np.ndarray,
           drawn: bool) -> "_PoissonDraws":
        t = stimulus.poisson
        if not drawn:    # empty arrays: the kernels deliver the handed spikes instead
            none = (np.zeros(0, np.uint64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64),
                    np.zeros(0, np.int64))
            return _PoissonDraws(stimulus, none, 0, 0)
        seed, p = np.zeros(n, np.uint64), np.zeros(n)
        first, last = np.ones(n, np.int64), np.zeros(n, np.int64)
        seed[t.neurons], p[t.neurons] = t.seeds, t.p_spike
        first[t.neurons], last[t.neurons] = t.first, t.last
        more = t.most() - 1
        return _PoissonDraws(stimulus, (seed, p, poisson_lams(p), first, last),
                             int(more.sum()),
                             int(more[plastic_out[t.neurons]].sum()))


@dataclass
class _Previous:
    """The tables and state an `update` carries over from the network it replaces."""

    network: Network
    neurons: B.Neurons
    syn: B.Synapses
    S: np.ndarray
    until: np.ndarray
    buf: np.ndarray
    hist: np.ndarray
    hist_n: np.ndarray
    pl_state: np.ndarray
    traces: dict
    rec_next: dict
    inputs: InputSpikes


def _read_only(a: np.ndarray) -> np.ndarray:
    """A view of `a` that refuses writes (handed out instead of a copy)."""
    view = a.view()
    view.flags.writeable = False
    return view


def _plastic_weights(network: Network) -> dict[str, np.ndarray]:
    """The weights the network gave its plastic projections, to tell a weight the script
    changed from one learned since (static ones need no copy: the tables hold them as given)."""
    return {pr.name: pr.weight.copy() for pr in network.projections
            if pr.plasticity is not None}


def _history(n_hist: int, syn: B.Synapses) -> np.ndarray:
    """Ring of the last n_hist steps' spikes of neurons with plastic synapses (their
    arrivals are computed from it); one row per step, room for each such neuron once."""
    return np.zeros((n_hist, max(1, int(syn.plastic_out.sum()))), dtype=np.int64)


def _ms(steps: np.ndarray, dt: float) -> np.ndarray:
    """Step counts as times in ms, rounded to 1e-10 ms (3 * 0.1 reads 0.3, not 0.30...04)."""
    return np.round(np.asarray(steps) * dt, 10)


def _merge(trace: _Trace) -> Signal:
    """One Signal from a trace's chunks: union of indices, NaN where a neuron was not
    recorded yet."""
    if not trace.chunks:
        return Signal(np.zeros(0), np.zeros(0, np.int64), np.zeros((0, 0)), trace.units)
    indices = np.unique(np.concatenate([c[1] for c in trace.chunks]))
    times = np.concatenate([c[0] for c in trace.chunks])
    data = np.full((len(times), len(indices)), np.nan)
    row = 0
    for t, idx, d in trace.chunks:
        data[row:row + len(t)][:, np.searchsorted(indices, idx)] = d
        row += len(t)
    trace.chunks[:] = [(times, indices, data)]   # merged once: later calls merge only new chunks
    return Signal(times.copy(), indices.copy(), data.copy(), trace.units)
