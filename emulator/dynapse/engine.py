"""The DynapSE-style runner: the analog dynamics at `spec.substeps` sub-steps per 1 ms
output step, with device mismatch and a hierarchical routing timing model.

`Engine(image, timing=True)` is a `hw.runner.Runner`. Mismatch is drawn from
(spec.mismatch_seed, draw): draw 0 for a fresh engine and after every reset() with
mismatch_mode "frozen" (the same chip), draw r at the r-th reset() with "per_run" (a
new chip each run). A source spike of stamp s reaches its synapses in the first
sub-step of step s (the chip has no programmable delays); a neuron spike of step k
(any sub-step) is stamped k + 1 and reaches its synapses one sub-step later.
Recorded: spikes, imem (A) and v (mV, the compile's linear map of imem) sampled at
k * dt from t = 0.
"""

from __future__ import annotations

import numpy as np

from ...hw.errors import TargetError
from ...hw.image import HardwareImage
from ...hw.ir import is_source
from ...hw.layouts import dynapse as L
from ...hw.result import Signal
from ...hw.runner import Recorded, Runner
from ...hw.stimulus import InputSpikes
from .circuit import circuit, mismatch, neuron_currents
from .kernels import run_window
from .timing import routing_report


class Engine(Runner):
    """Runs a `hw.compile_dynapse` image (the runner named by DynapseSpec.runner)."""

    target = "dynapse"
    OPTIONS = {"timing": True}

    def __init__(self, image: HardwareImage, **options) -> None:
        super().__init__(image, **options)
        self.timing = bool(self.options.pop("timing"))
        r = self.image.routing
        self.syn_ptr, self.syn_post = r[L.SYN_PTR], r[L.SYN_POST]
        self.syn_type, self.syn_mask = r[L.SYN_TYPE], r[L.SYN_MASK]
        self.neuron_core = r[L.NEURON_CORE]
        self.neurons = np.flatnonzero(self.neuron_core >= 0).astype(np.int64)
        self.currents = neuron_currents(self.image)
        self._plan_signals()
        self._draw = -1
        self._reset()

    def _plan_signals(self) -> None:
        """(population, variable, local indices, global ids) of each recorded signal."""
        off = self.network.offsets()
        self._sig = [(r.population, r.variable, r.indices, off[r.population] + r.indices)
                     for r in self.network.recordings if r.variable != "spikes"]
        ids = [g for *_, g in self._sig]
        self.rec_ids = (np.unique(np.concatenate(ids)) if ids else np.zeros(0, np.int64))

    def _syn_weights(self) -> np.ndarray:
        """Weight current (A) of every CAM entry: its mask over the post core's base
        weights (mismatch does not touch the shared base weights)."""
        base = np.array([c.params[L.IW_BASE] for c in self.image.cores] or [np.zeros(4)])
        core = self.neuron_core[self.syn_post]
        bits = (self.syn_mask[:, None] >> np.arange(base.shape[1])) & 1
        return (bits * base[core]).sum(axis=1) if len(core) else np.zeros(0)

    def _reset(self) -> None:
        spec = self.spec
        if spec.mismatch_mode not in ("frozen", "per_run"):
            raise TargetError(f"target 'dynapse': mismatch_mode {spec.mismatch_mode!r} is "
                              "not 'frozen' or 'per_run'")
        self._draw += 1
        draw = self._draw if spec.mismatch_mode == "per_run" else 0
        rng = np.random.default_rng([spec.mismatch_seed, draw])
        self.chip_currents = mismatch(self.currents, spec.mismatch_std, rng, spec.io_a)
        self.cir = circuit(self.chip_currents, spec)
        n, io = self.network.size, spec.io_a
        self.isyn = np.full((n, L.N_TYPES), io)
        self.iahp, self.imem = np.full(n, io), np.full(n, io)
        self.vmem, self.timer, self.spk = np.zeros(n), np.zeros(n), np.zeros(n)
        self.win = np.zeros((n, L.N_TYPES))
        self.syn_w = self._syn_weights()
        self._pending = InputSpikes(np.zeros(0, np.int64), np.zeros(0, np.int64))
        self._spikes: list[np.ndarray] = []
        self._samples: list[np.ndarray] = []
        self._events = np.zeros(1, np.int64)

    def _advance(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        """Steps k0..k1-1: sources of stamp s in step s (stamp k1 waits for the next
        window), the kernel in chunks its spike buffers hold."""
        pend = InputSpikes.concat([self._pending, inputs])
        now = pend.stamp < k1
        src, stamp = pend.neuron[now], np.maximum(pend.stamp[now], k0)
        self._pending = InputSpikes(pend.neuron[~now], pend.stamp[~now])
        order = np.argsort(stamp, kind="stable")
        src, stamp = src[order], stamp[order]
        ev_ptr = np.searchsorted(stamp, np.arange(k0, k1 + 1)).astype(np.int64)
        cap = max(1 << 16, 2 * self.spec.substeps * len(self.neurons))
        out = [np.zeros(cap, np.int64) for _ in range(4)]
        rec = np.zeros((k1 - k0, len(self.rec_ids)))
        k = k0
        while k < k1:
            k_next, n = run_window(
                k, k1, self.spec.substeps, ev_ptr[k - k0:], src, self.syn_ptr, self.syn_post,
                self.syn_type, self.syn_w, self.neurons, self.win, self.isyn, self.iahp,
                self.imem, self.vmem, self.timer, self.spk, *self.cir.args(), self.rec_ids,
                rec[k - k0:], *out, self._events)
            self._spikes.append(np.stack([o[:n].copy() for o in out]))
            k = k_next
        self._samples.append(rec)

    def _collect(self) -> Recorded:
        """Spikes (a count of n in one sub-step is n spikes), signals, weights, timing."""
        spk = (np.concatenate(self._spikes, axis=1) if self._spikes
               else np.zeros((4, 0), np.int64))
        nrn, step, sub, cnt = spk
        rec = Recorded(neuron=np.repeat(nrn, cnt), stamp=np.repeat(step, cnt) + 1,
                       weights={k: np.array(w) for k, w in self.image.data[L.WEIGHTS].items()},
                       info={"chip": dict(self.image.data[L.MAPPING])})
        data = (np.concatenate(self._samples) if self._samples
                else np.zeros((0, len(self.rec_ids))))
        times = np.round(np.arange(data.shape[0]) * self.dt, 10)
        v_base = self.image.data[L.V_BASE_MV]
        v_per = self.image.data[L.V_PER_AMP]
        for pop, var, local, glob in self._sig:
            cols = np.searchsorted(self.rec_ids, glob)
            imem = data[:, cols]
            if var == "imem":
                rec.signals[(pop, var)] = Signal(times, local, imem, "A")
            else:
                mv = v_base[glob] + (imem - self.spec.io_a) * v_per[glob]
                rec.signals[(pop, var)] = Signal(times, local, mv, "mV")
        if self.timing:
            rec.timing = routing_report(self.spec, nrn, step, sub, cnt, self.neuron_core,
                                        self.image.routing, self._k, int(self._events[0]))
        return rec
