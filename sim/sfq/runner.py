"""Runner of the "sfq" target: an image's netlist driven by its sources, in PyNN time.

Time scaling (see hw.targets.sfq): one PyNN ms is one rate-coding window of
`spec.window_ps` ps. `run(duration_ms)` advances the pulse simulation by
duration_ms * window_ps; `result()` reports pulse times converted back to ms, per-window
pulse counts (rates) in `info["rates"]`, and switching energy in the timing report.

Sources: a SpikeSourceArray pulse at t ms enters at t * window_ps ps. A Poisson source of
rate R Hz fires in each `clock_ps` slot with probability R / 1000 * clock_ps / window_ps,
drawn per window from a stream seeded by (network seed, source, window), so the pulses do
not depend on how the run is split. A leak clock (negative i_offset) is periodic, its first
pulse half a period into the run.
"""

from __future__ import annotations

import numpy as np

from ...hw.compile_sfq import INPUT_GIVEN, INPUT_PERIODIC
from ...hw.errors import TargetError
from ...hw.image import HardwareImage
from ...hw.result import Result, Spikes, TimingReport
from .engine import Simulator
from .fast import FastSimulator


class Engine:
    """Runner API: Engine(image, seed=, decisions=, global_bias_uA=, engine=); run(ms);
    result(). `engine` is "numba" (default) or "python" (the oracle loop)."""

    target = "sfq"

    def __init__(self, image: HardwareImage, *, seed: int | None = None,
                 decisions: dict | None = None, global_bias_uA: float | None = None,
                 engine: str = "numba") -> None:
        if image.target.name != "sfq" or "netlist" not in image.data:
            raise TargetError(f"the sfq engine runs images compiled for 'sfq', not for "
                              f"{image.target.name!r}")
        self.image, self.spec = image, image.target
        self.seed = int(image.network.seed if seed is None else seed)
        if engine not in ("numba", "python"):
            raise TargetError(f"sfq engine={engine!r} must be 'numba' or 'python'")
        cls = FastSimulator if engine == "numba" else Simulator
        self.sim = cls(image.data["netlist"], self.spec, seed=self.seed,
                       decisions=decisions, global_bias_uA=global_bias_uA)
        self._ms = 0.0

    @property
    def t(self) -> float:
        return self._ms

    def source_pulses(self, i: int, t0: float, t1: float) -> np.ndarray:
        """Pulse times (ms) of primary input i in [t0, t1)."""
        d = self.image.data
        kind, rate = int(d["input_kind"][i]), float(d["input_rate"][i])
        if kind == INPUT_GIVEN:
            tr = d["input_times"][d["input_offsets"][i]:d["input_offsets"][i + 1]]
            return tr[(tr >= t0) & (tr < t1)]
        if kind == INPUT_PERIODIC:
            period = 1.0 / rate
            k0 = int(np.ceil(t0 / period - 0.5 - 1e-12))
            k1 = int(np.ceil(t1 / period - 0.5 - 1e-12))
            return (np.arange(k0, k1) + 0.5) * period
        # Poisson on the source clock, one stream per whole window
        start, stop = float(d["input_start"][i]), float(d["input_stop"][i])
        slot = self.spec.clock_ps / self.spec.window_ps          # ms per slot
        per_window = int(round(1.0 / slot))
        out = []
        for k in range(int(np.floor(t0)), int(np.ceil(t1))):
            rng = np.random.default_rng([self.seed, 0x50, i, k])
            hit = rng.random(per_window) < rate * slot
            times = k + np.flatnonzero(hit) * slot
            out.append(times[(times >= max(t0, start)) & (times < min(t1, stop))])
        return np.concatenate(out) if out else np.zeros(0)

    def run(self, duration_ms: float) -> None:
        """Advance by `duration_ms` (PyNN ms = rate-coding windows)."""
        if not duration_ms >= 0:
            raise TargetError(f"run duration {duration_ms} ms must be >= 0")
        t0, t1 = self._ms, self._ms + float(duration_ms)
        w = self.spec.window_ps
        nl = self.sim.netlist
        for i, wire in enumerate(nl.input_wires.tolist()):
            times = self.source_pulses(i, t0, t1)
            if times.size:
                self.sim.schedule(wire, times * w)
        self.sim.run(t1 * w)
        self._ms = t1

    def result(self) -> Result:
        """Spikes (pulse times in ms) per population; per-window counts in info["rates"]."""
        d, net = self.image.data, self.image.network
        w = self.spec.window_ps
        n_win = int(np.ceil(self._ms - 1e-12))
        spikes, rates = {}, {}
        for pop in net.populations:
            ids, times = [], []
            for i in range(pop.size):
                t = self.sim.pulses(f"{pop.name}[{i}]") / w
                ids.append(np.full(t.size, i))
                times.append(t)
            ids_a = np.concatenate(ids) if ids else np.zeros(0, np.int64)
            t_a = np.concatenate(times) if times else np.zeros(0)
            spikes[pop.name] = Spikes(ids_a, t_a)
            counts = np.zeros((n_win, pop.size), dtype=np.int64)
            if t_a.size:
                np.add.at(counts, (np.minimum(t_a.astype(np.int64), n_win - 1), ids_a), 1)
            rates[pop.name] = counts
        st = self.sim.stats
        timing = TimingReport(metrics={
            "pulse_events": float(st.events), "junction_switches": float(st.switches),
            "energy_J": self.sim.energy_J, "dropped_pulses": float(st.dropped),
            "synapse_passed": float(st.passed), "synapse_blocked": float(st.blocked),
            "simulated_ps": self._ms * w})
        return Result(target="sfq", t_stop=self._ms, timestep=self.spec.clock_ps / w,
                      spikes=spikes,
                      timing=timing,
                      info={"rates": rates, "window_ps": w, "ps_per_ms": w,
                            "not_recorded": sorted({(r.population, r.variable)
                                                    for r in net.recordings
                                                    if r.variable != "spikes"}),
                            "global_bias_uA": self.sim.global_bias_uA,
                            "cells": d["netlist"].counts()})
