"""The TrueNorth-style runner: a compiled image run tick by tick on integer state.

`Engine(image, timing=True)` is a `hw.runner.Runner`: `run(duration_ms)` advances whole
1 ms ticks, delivering the one stimulus (`hw.stimulus`, one spike per source neuron and
tick: the chip has no input multiplicity); `result()` holds what the network records:
spikes of original neurons (not fan-out copies), v in mV sampled at k * dt from t = 0
(the initial state included), the weights the chip realises (IR units) and, with timing
on, the interconnect's TimingReport in tick mode.

Per tick k: every core reads scheduler slot k mod 16 (its active axons) and clears it, then
updates its neurons (`neuron._core_tick`). A neuron spike is stamped (k + 1) * dt and sent
to its one destination axon with delay d: without timing it lands in slot (k + d) mod 16 of
the destination core. With timing the spike becomes a mesh packet generated at
k * tick + (slot + 1) * neuron_latency (the core's sequential sweep) and routed by
`emulator.interconnect.MeshRouter`; a packet that reaches its core after tick k + d began
slips to the first tick beginning after its arrival: late packets change the dynamics.
Spike sources are off-chip: a stimulus spike of stamp s is sent in tick s - 1 (stamp 0
before tick 0) straight to its input axons, which it reaches d ticks later, as a neuron
spike does.

Work is counted when a spike reaches its axon (the tick its delay ends): `synaptic_events`
adds the IR synapses the axon carries (parallel ones each), `crossbar_events` the crossbar
bits it reads over every slot, fan-out copies included (what the chip does, and what its
synaptic energy is charged on).
"""

from __future__ import annotations

import numpy as np

from ...hw import metrics
from ...hw.errors import NetworkError, TargetError
from ...hw.image import HardwareImage
from ...hw.ir import Network
from ...hw.jit import njit
from ...hw.layouts import truenorth as L
from ...hw.result import Signal
from ...hw.runner import Recorded, Runner
from ...hw.stimulus import InputSpikes
from ...hw.targets.truenorth import TrueNorthSpec
from ..interconnect import MeshCosts, MeshRouter, Routed, slip_ticks, tick_report
from .neuron import _core_tick, crossbar_csr

#: the engine's event counters: IR synapses reached (`synaptic_events`), crossbar bits read
#: over every slot, fan-out copies included (`crossbar_events`: the chip's work and energy)
SYN_EVENTS, XBAR_EVENTS = 0, 1


@njit
def _chip_tick(k, n_slots, n_axons, sched, n_cores, row_ptr, n_eval, mirror, a_ptr, a_nrn,
               a_count, a_ir, axon_type, weights, syn_stoch, leak, leak_rev, leak_stoch,
               alpha, beta, tm, gamma, kappa, reset, v, lfsr, vmin, vmax, rbits, fired,
               out_rows, events):
    """One tick of every core: its first n_eval[c] rows are computed, the rest copy the
    row `mirror` names; fired rows go to out_rows; returns their count. Each active axon
    adds its IR synapses (a_ir) to events[SYN_EVENTS] and its crossbar bits over every
    slot, copies included (a_count), to events[XBAR_EVENTS]."""
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
                events[SYN_EVENTS] += a_ir[c * n_axons + a]
                events[XBAR_EVENTS] += a_count[c * n_axons + a]
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
                row_ptr, n_eval, mirror, a_ptr, a_nrn, a_count, a_ir, axon_type, weights,
                syn_stoch, leak, leak_rev, leak_stoch, alpha, beta, tm, gamma, kappa, reset, v,
                lfsr, vmin, vmax, rbits, fired, events, dest_core, dest_axon, delay, rec_rows,
                rec_v, spk_rows, spk_ticks):
    """Ticks k0..k1-1 without mesh timing, in one call: source events (CSR by tick), every
    core's tick, each spike into its destination slot (k + delay) mod n_slots, v samples.
    Returns the number of spikes written to spk_rows / spk_ticks."""
    n_spk = 0
    for k in range(k0, k1):
        for e in range(ev_ptr[k - k0], ev_ptr[k - k0 + 1]):
            sched[(ev_core[e] * n_slots + ev_tick[e] % n_slots) * n_axons + ev_axon[e]] = True
        n_out = _chip_tick(k, n_slots, n_axons, sched, n_cores, row_ptr, n_eval, mirror,
                           a_ptr, a_nrn, a_count, a_ir, axon_type, weights, syn_stoch, leak,
                           leak_rev, leak_stoch, alpha, beta, tm, gamma, kappa, reset, v, lfsr,
                           vmin, vmax, rbits, fired, spk_rows[n_spk:], events)
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


class Engine(Runner):
    """Runner of the `truenorth` target (see the module docstring)."""

    target = "truenorth"
    #: timing: route every spike over the mesh (late packets slip) and report its timing
    OPTIONS = {"timing": True}

    def __init__(self, image: "HardwareImage | Network", **options) -> None:
        super().__init__(image, **options)
        if not isinstance(self.spec, TrueNorthSpec):
            raise TargetError(f"image compiled for target {self.spec.name!r}: compile it "
                              "for target 'truenorth' first")
        self.timing = bool(self.options["timing"])
        self.n_slots, self.n_axons = int(self.spec.scheduler_slots), int(self.spec.axons_per_core)
        self._build_cores(self.image)
        self._build_state_checks()
        self._build_sources(self.image)
        self._build_recordings(self.network)
        self._reset()

    # --- build -------------------------------------------------------------------------------
    def _build_cores(self, image: HardwareImage) -> None:
        """Every core's slots as rows of chip-wide arrays, in evaluation order, with the
        crossbars as one CSR over (core, axon)."""
        cores = sorted(image.cores, key=lambda c: c.index)
        self.n_cores = len(cores)
        sizes = [len(c.neurons) for c in cores]
        self.row_ptr = np.zeros(self.n_cores + 1, np.int64)
        self.row_ptr[1:] = np.cumsum(sizes)
        parts = {k: [] for k in L.SLOT_PARAMS}
        row_neuron, row_slot, mirror, n_eval = [], [], [], []
        ptrs, nrns, counts, irs, types = [np.zeros(1, np.int64)], [], [], [], []
        for c, core in enumerate(cores):
            p = {k: np.asarray(core.params[k], np.int64) for k in L.SLOT_PARAMS}
            xbar = np.asarray(core.memories[L.CROSSBAR]).astype(bool)
            perm, n_orig = self._evaluation_order(p, xbar)
            for k in L.SLOT_PARAMS:
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
            irs.append(np.asarray(core.memories[L.AXON_SYNAPSES], np.int64))
            ptr, nrn = crossbar_csr(xbar[:, perm[:n_orig]], int(self.row_ptr[c]))
            ptrs.append(ptr[1:] + ptrs[-1][-1])
            nrns.append(nrn)
            types.append(np.asarray(core.memories[L.AXON_TYPE], np.int64))
        n_types = self.spec.axon_types
        cat = (lambda xs, shape: np.concatenate(xs).astype(np.int64) if xs
               else np.zeros(shape, np.int64))
        self.P = {k: cat(parts[k], (0, n_types) if k in L.TYPED_PARAMS else 0)
                  for k in L.SLOT_PARAMS}
        self.row_neuron, self.row_slot = cat(row_neuron, 0), cat(row_slot, 0)
        self.mirror = cat(mirror, 0)
        self.n_eval = np.array(n_eval, np.int64)
        self.row_core = np.repeat(np.arange(self.n_cores), sizes).astype(np.int64)
        self.is_original = self.P["copy_of"] < 0
        self.a_ptr = np.concatenate(ptrs)
        self.a_nrn, self.a_count, self.axon_type = cat(nrns, 0), cat(counts, 0), cat(types, 0)
        self.a_ir = cat(irs, 0)
        if not len(self.axon_type) == len(self.a_ir) == self.n_axons * self.n_cores:
            raise TargetError("image cores do not have one axon type and one synapse count "
                              "per axon")

    def _build_state_checks(self) -> None:
        """The V range, the draw width and the reach of every delay, checked once."""
        sends = self.P["dest_core"] >= 0
        bad = sends & ((self.P["delay"] < 1) | (self.P["delay"] >= self.n_slots))
        if bad.any():
            raise TargetError(f"slot delay {int(self.P['delay'][bad][0])} outside 1.."
                              f"{self.n_slots - 1} (the scheduler's reach)")
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
                np.array_equal(p[k][cp], p[k][o]) for k in L.NEURON_PARAMS + ("v0",)))
        if not same or not cp.size:
            return np.arange(m, dtype=np.int64), m
        orig = np.flatnonzero(p["copy_of"] < 0)
        return np.concatenate([orig, cp]).astype(np.int64), len(orig)

    def _build_sources(self, image: HardwareImage) -> None:
        """The input axons of each source neuron (CSR by IR neuron)."""
        rt = image.routing
        sn = np.asarray(rt[L.SOURCE_NEURON], np.int64)
        order = np.argsort(sn, kind="stable")
        self.s_ptr = np.zeros(self.network.size + 1, np.int64)
        self.s_ptr[1:] = np.cumsum(np.bincount(sn, minlength=self.network.size))
        self.s_core = np.asarray(rt[L.SOURCE_CORE], np.int64)[order]
        self.s_axon = np.asarray(rt[L.SOURCE_AXON], np.int64)[order]
        self.s_delay = np.asarray(rt[L.SOURCE_DELAY], np.int64)[order]
        if self.s_delay.size and (self.s_delay.min() < 1 or self.s_delay.max() >= self.n_slots):
            bad = self.s_delay[(self.s_delay < 1) | (self.s_delay >= self.n_slots)][0]
            raise TargetError(f"source delay {int(bad)} outside 1..{self.n_slots - 1} "
                              "(the scheduler's reach)")

    def _build_recordings(self, net: Network) -> None:
        """The engine rows whose V is sampled (an original slot of each recorded neuron)."""
        off = net.offsets()
        self._v_rec: list[tuple[str, np.ndarray, int]] = []
        first_row = np.full(net.size, -1, np.int64)
        orig = np.flatnonzero(self.is_original)
        first_row[self.row_neuron[orig]] = orig
        v_rows = []
        for rec in net.recordings:
            if rec.variable != "v":
                continue
            pop = net.population(rec.population)
            if rec.sampling_interval not in (None, self.dt):
                raise NetworkError(f"sampling interval {rec.sampling_interval} ms of "
                                   f"{pop.name}.v: the truenorth engine samples every "
                                   f"tick ({self.dt} ms)")
            ind = np.unique(rec.indices)
            self._v_rec.append((pop.name, ind, sum(len(x) for x in v_rows)))
            v_rows.append(first_row[off[pop.name] + ind])
        self.rec_v_rows = (np.concatenate(v_rows) if v_rows else np.zeros(0)).astype(np.int64)

    def _reset(self) -> None:
        """Initial V and LFSRs, empty scheduler and mesh, recordings cleared."""
        self.v = self.P["v0"].copy()
        self.lfsr = np.array([L.lfsr_seed(self.spec.prng_seed, c) for c in range(self.n_cores)],
                             np.int64)
        self.fired = np.zeros(len(self.v), np.bool_)
        self.sched = np.zeros(max(self.n_cores, 1) * self.n_slots * self.n_axons, np.bool_)
        self._spk_rows: list[np.ndarray] = []
        self._spk_ticks: list[np.ndarray] = []
        self._v_rows: list[np.ndarray] = []
        self._events = np.zeros(2, np.int64)      # SYN_EVENTS, XBAR_EVENTS
        self._pk_due, self._pk_axon = _Growing(), _Growing()
        if self.timing:
            xy = np.asarray(self.image.routing[L.CORE_XY], np.int64).reshape(-1, 2)
            self.costs = MeshCosts.from_spec(self.spec)
            self.router = MeshRouter(xy, self.spec.mesh_shape, self.costs)

    # --- running -----------------------------------------------------------------------------
    def _advance(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        """Ticks k0..k1-1 with the stimulus spikes of that window (V sampled after each
        tick, and before the first when k0 == 0)."""
        ev = self._source_events(inputs, k0, k1)
        if k0 == 0 and self.rec_v_rows.size:
            self._v_rows.append(self.v[self.rec_v_rows].copy()[None, :])
        if self.timing:
            self._run_timed(k0, k1, ev)
        else:
            self._run_fused(k0, k1, ev)

    def _source_events(self, inputs: InputSpikes, k0: int, k1: int):
        """The stimulus as scheduler events: ptr by the tick each is sent in (stamp - 1,
        stamp 0 in tick 0), relative to k0, then (core, axon, due tick) per input axon."""
        n = inputs.neuron
        cnt = self.s_ptr[n + 1] - self.s_ptr[n]
        e = np.repeat(self.s_ptr[n], cnt) + (np.arange(cnt.sum()) - np.repeat(
            np.cumsum(cnt) - cnt, cnt))
        sent = np.repeat(inputs.stamp - 1, cnt)
        ptr = np.searchsorted(np.maximum(sent, 0), np.arange(k0, k1 + 1)).astype(np.int64)
        return ptr, self.s_core[e], self.s_axon[e], sent + self.s_delay[e]

    def _run_timed(self, k0: int, k1: int, ev) -> None:
        """Tick by tick, every spike a mesh packet that may arrive late and slip."""
        ev_ptr, ev_core, ev_axon, ev_due = ev
        out_rows = np.empty(max(len(self.v), 1), np.int64)
        P, spec = self.P, self.spec
        for k in range(k0, k1):
            e = slice(ev_ptr[k - k0], ev_ptr[k - k0 + 1])
            self._set(ev_core[e], ev_axon[e], ev_due[e], k)
            n_out = _chip_tick(k, self.n_slots, self.n_axons, self.sched, self.n_cores,
                               self.row_ptr, self.n_eval, self.mirror, self.a_ptr, self.a_nrn,
                               self.a_count, self.a_ir, self.axon_type,
                               P["weights"], P["syn_stoch"], P["leak"], P["leak_rev"],
                               P["leak_stoch"], P["alpha"], P["beta"], P["tm"], P["gamma"],
                               P["kappa"], P["reset"], self.v, self.lfsr, self.vmin,
                               self.vmax, self.rbits, self.fired, out_rows, self._events)
            rows = out_rows[:n_out].copy()
            self._spk_rows.append(rows)
            self._spk_ticks.append(np.full(n_out, k, np.int64))
            if self.rec_v_rows.size:
                self._v_rows.append(self.v[self.rec_v_rows][None, :])
            rows = rows[P["dest_core"][rows] >= 0]
            t_gen = k * spec.tick_ns + (self.row_slot[rows] + 1) * spec.neuron_latency_ns
            self.router.inject(self.row_core[rows], P["dest_core"][rows], t_gen)
            self._pk_due.extend(k + P["delay"][rows])
            self._pk_axon.extend(P["dest_axon"][rows])
            ids, arr = self.router.advance((k + 1) * spec.tick_ns)
            used = slip_ticks(self._pk_due.view()[ids], arr, spec.tick_ns)
            self._set(self.router.packets_dst(ids), self._pk_axon.view()[ids], used, k + 1)

    def _run_fused(self, k0: int, k1: int, ev) -> None:
        """Without mesh timing: windows of ticks, each inside one Numba call."""
        ev_ptr, ev_core, ev_axon, ev_due = ev
        P, R = self.P, len(self.v)
        a = k0
        while a < k1:
            b = min(k1, a + max(1, (1 << 22) // max(R, 1)))
            spk_rows = np.empty(max(R * (b - a), 1), np.int64)
            spk_ticks = np.empty(len(spk_rows), np.int64)
            rec_v = np.zeros((b - a, len(self.rec_v_rows)), np.int64)
            n = _run_window(a, b, ev_ptr[a - k0:b - k0 + 1], ev_core, ev_axon, ev_due,
                            self.n_slots, self.n_axons, self.sched, self.n_cores, self.row_ptr,
                            self.n_eval, self.mirror, self.a_ptr, self.a_nrn, self.a_count,
                            self.a_ir, self.axon_type, P["weights"], P["syn_stoch"], P["leak"],
                            P["leak_rev"], P["leak_stoch"], P["alpha"], P["beta"], P["tm"],
                            P["gamma"], P["kappa"], P["reset"], self.v, self.lfsr, self.vmin,
                            self.vmax, self.rbits, self.fired, self._events, P["dest_core"],
                            P["dest_axon"], P["delay"], self.rec_v_rows, rec_v, spk_rows,
                            spk_ticks)
            self._spk_rows.append(spk_rows[:n].copy())
            self._spk_ticks.append(spk_ticks[:n].copy())
            if self.rec_v_rows.size:
                self._v_rows.append(rec_v)
            a = b

    def _set(self, core, axon, tick, k_now) -> None:
        bad = _schedule(self.sched, self.n_slots, self.n_axons, np.asarray(core, np.int64),
                        np.asarray(axon, np.int64), np.asarray(tick, np.int64), k_now)
        if bad >= 0:
            raise TargetError(f"spike due at tick {int(tick[bad])} does not fit the "
                              f"{self.n_slots}-slot scheduler at tick {k_now}")

    # --- results -----------------------------------------------------------------------------
    def copy_spikes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Spikes of every slot (originals and fan-out copies): (row, neuron id, tick)."""
        rows = np.concatenate(self._spk_rows) if self._spk_rows else np.zeros(0, np.int64)
        ticks = np.concatenate(self._spk_ticks) if self._spk_ticks else np.zeros(0, np.int64)
        return rows, self.row_neuron[rows], ticks

    def _collect(self) -> Recorded:
        """Spikes of the original slots, v in mV, realised weights and timing."""
        rows, ids, ticks = self.copy_spikes()
        keep = self.is_original[rows]
        rec = Recorded(neuron=ids[keep], stamp=ticks[keep] + 1,
                       weights={k: np.array(w) for k, w in self.image.data[L.WEIGHTS].items()},
                       timing=self._timing() if self.timing else None,
                       info={"chip": dict(self.image.data[L.MAPPING])})
        if self._v_rec:
            data = (np.concatenate(self._v_rows) if self._v_rows
                    else np.zeros((0, len(self.rec_v_rows)), np.int64)).astype(np.float64)
            lsb = np.asarray(self.image.data[L.LSB_MV])
            ref = np.asarray(self.image.data[L.V_REF_MV])
            times = np.round(np.arange(data.shape[0]) * self.dt, 10)
            off = self.network.offsets()
            for name, ind, col in self._v_rec:
                g = off[name] + ind
                mv = data[:, col:col + len(ind)] * lsb[g] + ref[g]
                rec.signals[(name, "v")] = Signal(times, ind, mv, "mV")
        return rec

    def _timing(self):
        """The tick-mode mesh report plus synaptic and crossbar events, core sweeps and
        energy. Both counts are taken when a spike reaches its axon (the tick its delay
        ends, where the chip reads the crossbar): a spike whose delay reaches past the end
        of the run adds none. The synaptic energy is per crossbar event: the chip's figure
        is per synapse its crossbars integrate, and a fan-out copy integrates its inputs
        as its original does."""
        pk = self.router.packets()
        routed = Routed(pk["arrival"], pk["wait"], pk["hops_ew"], pk["hops_ns"],
                        self.router.link_packets, self.router.link_busy_ns)
        rep = tick_report(pk["src"], pk["dst"], pk["t_gen"], self._pk_due.view(), routed,
                          self.costs, self.n_cores, self._k)
        m = dict(rep.metrics)
        syn, xbar = (float(x) for x in self._events)
        e_syn = xbar * self.spec.synop_energy_pj
        e_nrn = float(len(self.v)) * self._k * self.spec.neuron_energy_pj
        # each core sweeps its slots once per tick; its last spike leaves after the sweep
        sweep = np.diff(self.row_ptr) * self.spec.neuron_latency_ns
        m.update({"synaptic_events": syn, "crossbar_events": xbar, "energy_synop_pJ": e_syn,
                  "energy_neuron_pJ": e_nrn,
                  "energy_total_pJ": e_syn + e_nrn + m["energy_mesh_pJ"],
                  "core_sweep_max_ns": float(sweep.max()) if sweep.size else 0.0})
        m["tick_utilization_max"] = m["core_sweep_max_ns"] / self.spec.tick_ns
        m["chip_time_ns"] = self._k * self.spec.tick_ns    # ticks are fixed-length
        arrays = dict(rep.arrays, core_sweep_ns=sweep.astype(np.float64))
        return metrics.timing_report(self.spec.name, m, arrays)

    def state(self) -> dict[str, np.ndarray]:
        """Raw integer V of every engine row (row_core / row_slot say which core slot),
        and the per-core LFSR states."""
        return {"v": self.v.copy(), "lfsr": self.lfsr.copy()}
