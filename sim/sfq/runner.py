"""Runner of the "sfq" target: an image's netlist driven by the one stimulus, stepped in
the network's timestep.

Time base (see hw.targets.sfq and hw.layouts.sfq): one PyNN ms is one rate-coding window
of `spec.window_ps` ps, so a timestep of dt ms is STEP_FS = dt * window_ps * 1000 fs and
step k runs from k * STEP_FS to (k + 1) * STEP_FS. `run(duration)` takes whole timesteps
(the base runner's rule) and `t` is steps * dt.
- Input: the source spikes `hw.runner.Runner.run` hands `_advance` (hw.stimulus, merged to
  one per neuron and step: the target has no input multiplicity); a spike of stamp s is
  one pulse on its source's input wire at s * STEP_FS fs. Nothing else is drawn for the
  input. A leak clock (negative i_offset; not an input spike) pulses at (j + 1/2) periods.
- Output: a pulse of an integrating neuron at T fs gets the stamp of the step it falls
  in, T // STEP_FS + 1 (time stamp * dt): up to one step after the pulse, named in the
  mapping report ("spike_times_stepped"). Sources' recorded spikes are the stimulus.
- Options: `seed` seeds the hardware's randomness, the stochastic synapses' thermal noise
  and the delay spread (default: the network's seed; the input does not depend on it);
  `decisions` pre-draws synapse decisions ({cell: bits}, as `Simulator`);
  `global_bias_uA` adds a current to every synapse bias; `engine` is "numba" (the kernel)
  or "python" (the oracle loop).
- Timing (hw.metrics): pulse events, junction switches, their energy in pJ, dropped
  pulses, synapse passes and blocks, the pulse time simulated.
"""

from __future__ import annotations

import numpy as np

from ...hw import metrics
from ...hw.errors import TargetError
from ...hw.image import HardwareImage
from ...hw.layouts import sfq as L
from ...hw.runner import Recorded, Runner
from ...hw.stimulus import InputSpikes
from .engine import Simulator
from .fast import FastSimulator

ENGINES = {"numba": FastSimulator, "python": Simulator}


class Engine(Runner):
    """The sfq runner (see the module docstring)."""

    target = "sfq"
    OPTIONS = {"seed": None, "decisions": None, "global_bias_uA": None, "engine": "numba"}

    def __init__(self, image: HardwareImage, **options) -> None:
        super().__init__(image, **options)
        if L.NETLIST not in self.image.data:
            raise TargetError(f"the sfq runner runs images compiled for 'sfq', not for "
                              f"{self.spec.name!r}")
        engine = self.options["engine"]
        if engine not in ENGINES:
            raise TargetError(f"sfq engine={engine!r} must be one of {sorted(ENGINES)}")
        seed = self.options["seed"]
        self.seed = int(self.network.seed if seed is None else seed)
        d = self.image.data
        self.sim = ENGINES[engine](d[L.NETLIST], self.spec, seed=self.seed,
                                   decisions=self.options["decisions"],
                                   global_bias_uA=self.options["global_bias_uA"])
        self.step_fs = int(d[L.STEP_FS])
        wires = d[L.NETLIST].input_wires
        owner = d[L.INPUT_NEURON]
        self._source_wire = np.full(self.network.size, -1, dtype=np.int64)
        self._source_wire[owner[owner >= 0]] = wires[owner >= 0]
        leak = owner == L.LEAK
        self._leak_wires = wires[leak]
        self._leak_period_fs = self.spec.window_ps * 1000.0 / d[L.LEAK_PER_MS][leak]

    def _advance(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        """Schedule the window's source pulses and leak clocks, run to k1 * STEP_FS."""
        lo, hi = k0 * self.step_fs, k1 * self.step_fs
        wire = self._source_wire[inputs.neuron]
        order = np.argsort(wire, kind="stable")
        wire, stamp = wire[order], inputs.stamp[order]
        cuts = np.flatnonzero(np.diff(wire)) + 1
        for w, s in zip(np.split(wire, cuts), np.split(stamp, cuts)):
            if w.size:
                self.sim.schedule_fs(int(w[0]), s * self.step_fs)
        for w, period in zip(self._leak_wires.tolist(), self._leak_period_fs.tolist()):
            self.sim.schedule_fs(w, leak_pulses(period, lo, hi))
        self.sim.run_fs(hi)

    def _collect(self) -> Recorded:
        """Every integrating neuron's pulses as stamps; the run's pulse-level timing."""
        d = self.image.data
        ids, stamps = [], []
        for g, w in zip(d[L.PROBE_NEURON].tolist(), d[L.NETLIST].probe_wires.tolist()):
            t = self.sim.pulses_fs(w)
            ids.append(np.full(t.size, g, dtype=np.int64))
            stamps.append(t // self.step_fs + 1)
        neuron = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        stamp = np.concatenate(stamps) if stamps else np.zeros(0, np.int64)
        st = self.sim.stats
        simulated_ps = self._k * self.step_fs / 1000.0
        timing = metrics.timing_report(self.spec.name, {
            "steps": self._k, "spikes_total": neuron.size, "pulse_events": st.events,
            "junction_switches": st.switches, "energy_total_pJ": self.sim.energy_pJ,
            "dropped_pulses": st.dropped, "synapse_passed": st.passed,
            "synapse_blocked": st.blocked, "simulated_ps": simulated_ps,
            "synaptic_events": st.passed + st.blocked,
            "chip_time_ns": simulated_ps / 1000.0})
        return Recorded(neuron=neuron, stamp=stamp, timing=timing, info={
            "window_ps": self.spec.window_ps, "step_ps": self.step_fs / 1000.0,
            "seed": self.seed, "global_bias_uA": self.sim.global_bias_uA,
            "cells": d[L.NETLIST].counts()})

    def _reset(self) -> None:
        self.sim.reset()


def leak_pulses(period_fs: float, lo: int, hi: int) -> np.ndarray:
    """A leak clock's pulses in [lo, hi) fs: rint((j + 1/2) * period), the same whatever
    the windows."""
    j0 = max(0, int(np.floor(lo / period_fs - 0.5)) - 1)
    j1 = int(np.ceil(hi / period_fs - 0.5)) + 1
    t = np.rint((np.arange(j0, j1 + 1) + 0.5) * period_fs).astype(np.int64)
    return t[(t >= lo) & (t < hi)]
