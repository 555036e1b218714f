"""The TrueNorth-style runner: a compiled image run tick by tick on integer state.

`Engine(image, timing=True)`; `run(duration_ms)` advances whole 1 ms ticks; `result()`
returns spikes per population (original neurons, not fan-out copies), recorded v (mV) and,
with timing on, the interconnect's TimingReport in tick mode.

Per tick k: every core reads scheduler slot k mod 16 (its active axons) and clears it, then
updates its neurons (`neuron._core_tick`). A neuron spike is stamped (k + 1) * dt and sent
to its one destination axon with delay d: without timing it lands in slot (k + d) mod 16 of
the destination core. With timing the spike becomes a mesh packet generated at
k * tick + (slot + 1) * neuron_latency (the core's sequential sweep) and routed by
`emulator.interconnect.MeshRouter`; a packet that reaches its core after tick k + d began
slips to the first tick beginning after its arrival: late packets change the dynamics.
Spike sources are off-chip: their spikes reach their input axons directly.
"""

from __future__ import annotations

import numpy as np

from ...hw.errors import NetworkError, TargetError
from ...hw.image import HardwareImage
from ...hw.result import Result, Signal, Spikes
from ..interconnect import MeshCosts, MeshRouter, Routed, slip_ticks, tick_report
from ...hw.jit import njit
from .neuron import NEURON_PARAMS, _core_tick, crossbar_csr, lfsr_seed
from ...hw.runner import whole_steps


@njit
def _chip_tick(k, n_slots, n_axons, sched, n_cores, row_ptr, n_eval, mirror, a_ptr, a_nrn,
               a_count, axon_type, weights, syn_stoch, leak, leak_rev, leak_stoch, alpha, beta,
               tm, gamma, kappa, reset, v, lfsr, vmin, vmax, rbits, fired, out_rows, synops):
    """One tick of every core: its first n_eval[c] rows are computed, the rest copy the
    row `mirror` names; fired rows go to out_rows; returns their count."""
    slot = k % n_slots
    active = np.empty(n_axons, np.int64)
    n_out = 0
    for c in range(n_cores):
        base = (c * n_slots + slot) * n_axons
        m = 0
        for a in range(n_axons):
            if sched[base + a]:
                sched[base + a] = False
                active[m] = c * n_axons + a
                synops[0] += a_count[c * n_axons + a]
                m += 1
        _core_tick(c, active[:m], a_ptr, a_nrn, axon_type, weights, syn_stoch, leak,
                   leak_rev, leak_stoch, alpha, beta, tm, gamma, kappa, reset, v, lfsr, vmin,
                   vmax, rbits, row_ptr[c], row_ptr[c] + n_eval[c], fired)
        for r in range(row_ptr[c] + n_eval[c], row_ptr[c + 1]):
            v[r] = v[mirror[r]]
            fired[r] = fired[mirror[r]]
        for r in range(row_ptr[c], row_ptr[c + 1]):
            if fired[r]:
                out_rows[n_out] = r
                n_out += 1
    return n_out


@njit
def _run_window(k0, k1, ev_ptr, ev_core, ev_axon, ev_tick, n_slots, n_axons, sched, n_cores,
                row_ptr, n_eval, mirror, a_ptr, a_nrn, a_count, axon_type, weights, syn_stoch,
                leak, leak_rev, leak_stoch, alpha, beta, tm, gamma, kappa, reset, v, lfsr,
                vmin, vmax, rbits, fired, synops, dest_core, dest_axon, delay, rec_rows, rec_v,
                spk_rows, spk_ticks):
    """Ticks k0..k1-1 without mesh timing, in one call: source events (CSR by tick), every
    core's tick, each spike into its destination slot (k + delay) mod n_slots, v samples.
    Returns the number of spikes written to spk_rows / spk_ticks."""
    n_spk = 0
    for k in range(k0, k1):
        for e in range(ev_ptr[k - k0], ev_ptr[k - k0 + 1]):
            sched[(ev_core[e] * n_slots + ev_tick[e] % n_slots) * n_axons + ev_axon[e]] = True
        n_out = _chip_tick(k, n_slots, n_axons, sched, n_cores, row_ptr, n_eval, mirror,
                           a_ptr, a_nrn, a_count, axon_type, weights, syn_stoch, leak,
                           leak_rev, leak_stoch, alpha, beta, tm, gamma, kappa, reset, v, lfsr,
                           vmin, vmax, rbits, fired, spk_rows[n_spk:], synops)
        for q in range(n_spk, n_spk + n_out):
            spk_ticks[q] = k
            r = spk_rows[q]
            if dest_core[r] >= 0:
                sched[(dest_core[r] * n_slots + (k + delay[r]) % n_slots) * n_axons
                      + dest_axon[r]] = True
        n_spk += n_out
        for i in range(len(rec_rows)):
            rec_v[k - k0, i] = v[rec_rows[i]]
    return n_spk


@njit
def _schedule(sched, n_slots, n_axons, core, axon, tick, k_now):
    """Set scheduler bits; every tick must lie in k_now .. k_now + n_slots - 1."""
    for i in range(len(core)):
        d = tick[i] - k_now
        if d < 0 or d >= n_slots:
            return i
        sched[(core[i] * n_slots + tick[i] % n_slots) * n_axons + axon[i]] = True
    return -1


class _Growing:
    """An int64 array that grows by appending (capacity doubles)."""

    def __init__(self) -> None:
        self._a = np.zeros(1024, np.int64)
        self._n = 0

    def extend(self, values: np.ndarray) -> None:
        m = len(values)
        if self._n + m > len(self._a):
            grown = np.zeros(max(2 * len(self._a), self._n + m), np.int64)
            grown[:self._n] = self._a[:self._n]
            self._a = grown
        self._a[self._n:self._n + m] = values
        self._n += m

    def view(self) -> np.ndarray:
        return self._a[:self._n]


class Engine:
    """Runner of the `truenorth` target (see the module docstring)."""

    target = "truenorth"

    def __init__(self, image: HardwareImage, timing: bool = True, **options) -> None:
        if options:
            raise TargetError(f"the truenorth engine takes only the option 'timing', got "
                              f"{sorted(options)}")
        if not image.cores and any(not p.model.startswith("SpikeSource")
                                   for p in image.network.populations):
            raise TargetError("image has no cores: compile it for target 'truenorth' first")
        self.image = image
        self.spec = spec = image.target
        self.timing = bool(timing)
        self.dt = float(spec.timestep)
        self.n_slots, self.n_axons = int(spec.scheduler_slots), int(spec.axons_per_core)
        self._build_cores(image)
        self._build_sources(image)
        self._build_recordings(image)
        self.sched = np.zeros(max(self.n_cores, 1) * self.n_slots * self.n_axons, np.bool_)
        self._k = 0
        self._spk_rows: list[np.ndarray] = []
        self._spk_ticks: list[np.ndarray] = []
        self._src_ids: list[np.ndarray] = []
        self._src_ticks: list[np.ndarray] = []
        self._v_rows: list[np.ndarray] = []
        self._synops = np.zeros(1, np.int64)
        self._pk_due, self._pk_axon = _Growing(), _Growing()
        if self.timing:
            xy = np.asarray(image.routing["core_xy"], np.int64).reshape(-1, 2)
            self.costs = MeshCosts.from_spec(spec)
            self.router = MeshRouter(xy, spec.mesh_shape, self.costs)

    # --- build -------------------------------------------------------------------------------
    def _build_cores(self, image: HardwareImage) -> None:
        cores = sorted(image.cores, key=lambda c: c.index)
        self.n_cores = len(cores)
        sizes = [len(c.neurons) for c in cores]
        self.row_ptr = np.zeros(self.n_cores + 1, np.int64)
        self.row_ptr[1:] = np.cumsum(sizes)
        R = int(self.row_ptr[-1])
        A = self.n_axons
        keys = NEURON_PARAMS + ("dest_core", "dest_axon", "delay", "copy_of", "v0")
        parts = {k: [] for k in keys}
        row_neuron, row_slot, mirror, n_eval = [], [], [], []
        ptrs, nrns, counts, types = [np.zeros(1, np.int64)], [], [], []
        for c, core in enumerate(cores):
            p = {k: np.asarray(core.params[k], np.int64) for k in keys}
            xbar = np.asarray(core.memories["crossbar"]).astype(bool)
            perm, n_orig = self._evaluation_order(p, xbar)
            for k in keys:
                parts[k].append(p[k][perm])
            row_neuron.append(np.asarray(core.neurons, np.int64)[perm])
            row_slot.append(perm)
            pos = np.empty(len(perm), np.int64)
            pos[perm] = np.arange(len(perm))
            mir = np.full(len(perm), -1, np.int64)
            mir[n_orig:] = self.row_ptr[c] + pos[p["copy_of"][perm[n_orig:]]]
            mirror.append(mir)
            n_eval.append(n_orig)
            counts.append(xbar.sum(axis=1).astype(np.int64))
            ptr, nrn = crossbar_csr(xbar[:, perm[:n_orig]], int(self.row_ptr[c]))
            ptrs.append(ptr[1:] + ptrs[-1][-1])
            nrns.append(nrn)
            types.append(np.asarray(core.memories["axon_type"], np.int64))
        cat = (lambda xs, shape: np.concatenate(xs).astype(np.int64) if xs
               else np.zeros(shape, np.int64))
        self.P = {k: cat(parts[k], (0, 4) if k in ("weights", "syn_stoch") else 0)
                  for k in keys}
        self.row_neuron = cat(row_neuron, 0)
        self.row_slot = cat(row_slot, 0)
        self.mirror = cat(mirror, 0)
        self.n_eval = np.array(n_eval, np.int64)
        self.row_core = np.repeat(np.arange(self.n_cores), sizes).astype(np.int64)
        self.is_original = self.P["copy_of"] < 0
        self.a_ptr = np.concatenate(ptrs)
        self.a_nrn = cat(nrns, 0)
        self.a_count = cat(counts, 0)
        self.axon_type = cat(types, 0)
        if len(self.axon_type) != A * self.n_cores:
            raise TargetError("image cores do not have one axon type per axon")
        sends = self.P["dest_core"] >= 0
        bad = sends & ((self.P["delay"] < 1) | (self.P["delay"] >= self.n_slots))
        if bad.any():
            raise TargetError(f"slot delay {int(self.P['delay'][bad][0])} outside 1.."
                              f"{self.n_slots - 1} (the scheduler's reach)")
        self.v = self.P["v0"].copy()
        self.lfsr = np.array([lfsr_seed(self.spec.prng_seed, c) for c in range(self.n_cores)],
                             np.int64)
        self.fired = np.zeros(R, np.bool_)
        vf = self.spec.v_format
        self.vmin, self.vmax = vf.min_int, vf.max_int
        self.rbits = int(self.spec.prng_bits)
        if not 1 <= self.rbits <= 31:
            raise TargetError(f"prng_bits {self.rbits} must be in 1..31")
        tm = self.P["tm"]
        if tm.size and (tm.min() < 0 or tm.max() > self.rbits):
            raise TargetError(f"threshold mask bits tm {int(tm.max())} outside 0.."
                              f"{self.rbits} (prng_bits)")

    @staticmethod
    def _evaluation_order(p: dict, xbar: np.ndarray) -> tuple[np.ndarray, int]:
        """Order in which a core's slots are evaluated, and how many are computed.

        A core with no stochastic mode whose copies equal their originals (parameters, V,
        crossbar column) computes only the originals and mirrors them into the copies:
        the same spikes and V as computing every slot, with no pseudo-random draw to
        reorder. Otherwise every slot is computed, in slot order (the LFSR's draw order).
        """
        m = len(p["copy_of"])
        cp = np.flatnonzero(p["copy_of"] >= 0)
        same = not (p["syn_stoch"].any() or p["leak_stoch"].any() or p["tm"].any())
        if same and cp.size:
            o = p["copy_of"][cp]
            same = bool(np.array_equal(xbar[:, cp], xbar[:, o]) and all(
                np.array_equal(p[k][cp], p[k][o]) for k in NEURON_PARAMS + ("v0",)))
        if not same or not cp.size:
            return np.arange(m, dtype=np.int64), m
        orig = np.flatnonzero(p["copy_of"] < 0)
        return np.concatenate([orig, cp]).astype(np.int64), len(orig)

    def _build_sources(self, image: HardwareImage) -> None:
        rt = image.routing
        sn = np.asarray(rt.get("source_neuron", np.zeros(0)), np.int64)
        n = image.network.size
        order = np.argsort(sn, kind="stable")
        self.s_ptr = np.zeros(n + 1, np.int64)
        self.s_ptr[1:] = np.cumsum(np.bincount(sn, minlength=n))
        self.s_core = np.asarray(rt.get("source_core", np.zeros(0)), np.int64)[order]
        self.s_axon = np.asarray(rt.get("source_axon", np.zeros(0)), np.int64)[order]
        self.s_delay = np.asarray(rt.get("source_delay", np.zeros(0)), np.int64)[order]
        self.arrays, self.poisson = [], []
        for name, src in image.data["sources"].items():
            if src["kind"] == "array":
                o = np.argsort(src["stamps"], kind="stable")
                self.arrays.append((src["offset"], src["stamps"][o], src["ids"][o]))
            else:
                self.poisson.append((src["offset"], src["p_spike"], src["first"], src["last"],
                                     np.random.Generator(np.random.PCG64(src["seed"]))))

    def _build_recordings(self, image: HardwareImage) -> None:
        net = image.network
        off = net.offsets()
        self._spike_pops: dict[str, np.ndarray] = {}
        self._v_rec: list[tuple[str, np.ndarray, int]] = []
        first_row = np.full(net.size, -1, np.int64)
        orig = np.flatnonzero(self.is_original)
        first_row[self.row_neuron[orig]] = orig
        v_rows = []
        for rec in net.recordings:
            pop = net.population(rec.population)
            if rec.variable == "spikes":
                prev = self._spike_pops.get(pop.name, np.zeros(0, np.int64))
                self._spike_pops[pop.name] = np.union1d(prev, rec.indices)
            elif rec.variable == "v":
                if pop.model.startswith("SpikeSource"):
                    raise NetworkError(f"population {pop.name!r} is a spike source: no v")
                if rec.sampling_interval not in (None, self.dt):
                    raise NetworkError(f"sampling interval {rec.sampling_interval} ms of "
                                       f"{pop.name}.v: the truenorth engine samples every "
                                       f"tick ({self.dt} ms)")
                ind = np.unique(rec.indices)
                self._v_rec.append((pop.name, ind, sum(len(x) for x in v_rows)))
                v_rows.append(first_row[off[pop.name] + ind])
            else:
                raise TargetError(f"the truenorth engine cannot record {rec.variable!r}")
        self.rec_v_rows = (np.concatenate(v_rows) if v_rows else np.zeros(0)).astype(np.int64)

    # --- public API -----------------------------------------------------------------------------
    @property
    def t(self) -> float:
        return self._k * self.dt

    def run(self, duration_ms: float) -> None:
        """Advance by `duration_ms`, a whole, non-negative number of ticks."""
        ticks = whole_steps(duration_ms, self.dt, "truenorth")
        if not self.timing:
            self._run_fused(ticks)
            return
        out_rows = np.empty(max(len(self.v), 1), np.int64)
        P = self.P
        for _ in range(ticks):
            k = self._k
            self._inject_sources(k)
            n_out = _chip_tick(k, self.n_slots, self.n_axons, self.sched, self.n_cores,
                               self.row_ptr, self.n_eval, self.mirror, self.a_ptr, self.a_nrn,
                               self.a_count, self.axon_type,
                               P["weights"], P["syn_stoch"], P["leak"], P["leak_rev"],
                               P["leak_stoch"], P["alpha"], P["beta"], P["tm"], P["gamma"],
                               P["kappa"], P["reset"], self.v, self.lfsr, self.vmin,
                               self.vmax, self.rbits, self.fired, out_rows, self._synops)
            rows = out_rows[:n_out].copy()
            self._spk_rows.append(rows)
            self._spk_ticks.append(np.full(n_out, k, np.int64))
            if self.rec_v_rows.size:
                self._v_rows.append(self.v[self.rec_v_rows].copy())
            rows = rows[P["dest_core"][rows] >= 0]
            due = k + P["delay"][rows]
            if self.timing:
                t_gen = k * self.spec.tick_ns + (self.row_slot[rows] + 1) \
                    * self.spec.neuron_latency_ns
                self.router.inject(self.row_core[rows], P["dest_core"][rows], t_gen)
                self._pk_due.extend(due)
                self._pk_axon.extend(P["dest_axon"][rows])
                ids, arr = self.router.advance((k + 1) * self.spec.tick_ns)
                used = slip_ticks(self._pk_due.view()[ids], arr, self.spec.tick_ns)
                self._set(self.router.packets_dst(ids), self._pk_axon.view()[ids], used, k + 1)
            else:
                self._set(P["dest_core"][rows], P["dest_axon"][rows], due, k + 1)
            self._k = k + 1

    def _run_fused(self, ticks: int) -> None:
        """Without mesh timing: windows of ticks, each inside one Numba call."""
        P, R = self.P, len(self.v)
        k_end = self._k + ticks
        while self._k < k_end:
            k0 = self._k
            k1 = min(k_end, k0 + max(1, (1 << 22) // max(R, 1)))
            ev = [self._source_events(k) for k in range(k0, k1)]
            ev_ptr = np.zeros(k1 - k0 + 1, np.int64)
            ev_ptr[1:] = np.cumsum([len(e[0]) for e in ev])
            ev_core, ev_axon, ev_tick = (np.concatenate([e[i] for e in ev]).astype(np.int64)
                                         if ev else np.zeros(0, np.int64) for i in range(3))
            spk_rows = np.empty(max(R * (k1 - k0), 1), np.int64)
            spk_ticks = np.empty(len(spk_rows), np.int64)
            rec_v = np.zeros((k1 - k0, len(self.rec_v_rows)), np.int64)
            n = _run_window(k0, k1, ev_ptr, ev_core, ev_axon, ev_tick, self.n_slots,
                            self.n_axons, self.sched, self.n_cores, self.row_ptr, self.n_eval,
                            self.mirror, self.a_ptr, self.a_nrn, self.a_count, self.axon_type,
                            P["weights"], P["syn_stoch"], P["leak"], P["leak_rev"],
                            P["leak_stoch"], P["alpha"], P["beta"], P["tm"], P["gamma"],
                            P["kappa"], P["reset"], self.v, self.lfsr, self.vmin, self.vmax,
                            self.rbits, self.fired, self._synops, P["dest_core"], P["dest_axon"],
                            P["delay"], self.rec_v_rows, rec_v, spk_rows, spk_ticks)
            self._spk_rows.append(spk_rows[:n].copy())
            self._spk_ticks.append(spk_ticks[:n].copy())
            if self.rec_v_rows.size:
                self._v_rows.extend(rec_v)
            self._k = k1

    def _set(self, core, axon, tick, k_now) -> None:
        bad = _schedule(self.sched, self.n_slots, self.n_axons, np.asarray(core, np.int64),
                        np.asarray(axon, np.int64), np.asarray(tick, np.int64), k_now)
        if bad >= 0:
            raise TargetError(f"spike due at tick {int(tick[bad])} does not fit the "
                              f"{self.n_slots}-slot scheduler at tick {k_now}")

    def _source_events(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Spikes of the off-chip sources at tick k (recorded), as (core, axon, due tick)
        events for their input axons."""
        ids = []
        for lo, stamps, nid in self.arrays:
            a, b = np.searchsorted(stamps, [k + 1, k + 2])
            ids.append(lo + nid[a:b])
        for lo, p, first, last, rng in self.poisson:
            draw = rng.random(len(p))
            on = (draw < p) & (first <= k + 1) & (k + 1 <= last)
            ids.append(lo + np.flatnonzero(on))
        none = np.zeros(0, np.int64)
        if not ids:
            return none, none, none
        ids = np.concatenate(ids).astype(np.int64)
        if ids.size:
            self._src_ids.append(ids)
            self._src_ticks.append(np.full(len(ids), k, np.int64))
        cnt = self.s_ptr[ids + 1] - self.s_ptr[ids]
        e = np.repeat(self.s_ptr[ids], cnt) + (np.arange(cnt.sum()) - np.repeat(
            np.cumsum(cnt) - cnt, cnt))
        return self.s_core[e], self.s_axon[e], k + self.s_delay[e]

    def _inject_sources(self, k: int) -> None:
        """Source spikes of tick k straight into their axons' scheduler slots."""
        core, axon, due = self._source_events(k)
        self._set(core, axon, due, k)

    def spikes(self) -> tuple[np.ndarray, np.ndarray]:
        """All spikes so far: (global neuron ids, tick), sources and original neurons."""
        rows = np.concatenate(self._spk_rows) if self._spk_rows else np.zeros(0, np.int64)
        ticks = np.concatenate(self._spk_ticks) if self._spk_ticks else np.zeros(0, np.int64)
        keep = self.is_original[rows]
        ids = [self.row_neuron[rows[keep]]] + self._src_ids
        tk = [ticks[keep]] + self._src_ticks
        return np.concatenate(ids).astype(np.int64), np.concatenate(tk).astype(np.int64)

    def copy_spikes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Spikes of every slot (originals and fan-out copies): (row, neuron id, tick)."""
        rows = np.concatenate(self._spk_rows) if self._spk_rows else np.zeros(0, np.int64)
        ticks = np.concatenate(self._spk_ticks) if self._spk_ticks else np.zeros(0, np.int64)
        return rows, self.row_neuron[rows], ticks

    def result(self) -> Result:
        """Spikes, v and (with timing) the tick-mode TimingReport since construction."""
        net = self.image.network
        res = Result(target=self.target, t_stop=self.t, timestep=self.dt,
                     info={"ticks": self._k, "quantization": dict(self.image.quantization),
                           "mapping": dict(self.image.data.get("mapping", {}))})
        ids, ticks = self.spikes()
        off = net.offsets()
        pops = self._spike_pops or ({} if net.recordings else {
            p.name: np.arange(p.size) for p in net.populations})
        for name, ind in pops.items():
            local = ids - off[name]
            sel = (local >= 0) & (local < net.population(name).size)
            sel[sel] = np.isin(local[sel], ind)
            order = np.lexsort((local[sel], ticks[sel]))
            res.spikes[name] = Spikes(local[sel][order], (ticks[sel][order] + 1) * self.dt)
        if self._v_rec:
            data = np.array(self._v_rows, np.float64).reshape(-1, len(self.rec_v_rows))
            lsb = np.asarray(self.image.data["lsb_mV"])
            ref = np.asarray(self.image.data["v_ref_mV"])
            times = (np.arange(data.shape[0]) + 1) * self.dt
            for name, ind, col in self._v_rec:
                g = off[name] + ind
                mv = data[:, col:col + len(ind)] * lsb[g] + ref[g]
                res.signals.setdefault(name, {})["v"] = Signal(times, ind, mv, "mV")
        if self.timing:
            res.timing = self._timing()
        return res

    def _timing(self):
        pk = self.router.packets()
        routed = Routed(pk["arrival"], pk["wait"], pk["hops_ew"], pk["hops_ns"],
                        self.router.link_packets, self.router.link_busy_ns)
        due = self._pk_due.view()
        rep = tick_report(pk["src"], pk["dst"], pk["t_gen"], due, routed, self.costs,
                          self.n_cores, self._k)
        syn = float(self._synops[0])
        e_syn = syn * self.spec.synop_energy_pj
        e_nrn = float(len(self.v)) * self._k * self.spec.neuron_energy_pj
        # each core sweeps its slots once per tick; its last spike leaves after the sweep
        sweep = np.diff(self.row_ptr) * self.spec.neuron_latency_ns
        rep.arrays["core_sweep_ns"] = sweep.astype(np.float64)
        rep.metrics["core_sweep_max_ns"] = float(sweep.max()) if sweep.size else 0.0
        rep.metrics["tick_utilization_max"] = rep.metrics["core_sweep_max_ns"] / self.spec.tick_ns
        rep.metrics.update({"synaptic_events": syn, "energy_synop_pJ": e_syn,
                            "energy_neuron_pJ": e_nrn,
                            "energy_total_pJ": e_syn + e_nrn + rep.metrics["energy_mesh_pJ"]})
        return rep

    def state(self) -> dict[str, np.ndarray]:
        """Raw integer V of every engine row (row_core / row_slot say which core slot),
        and the per-core LFSR states."""
        return {"v": self.v.copy(), "lfsr": self.lfsr.copy()}
