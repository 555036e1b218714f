"""The "sfq" target: rate-coded networks of single-flux-quantum cells (Krylov et al. 2023).

A network maps onto stochastic synapses (pass probability set by a bias current), counting
integrate-and-fire neurons (threshold in pulses set by a bias current), splitter trees
(fan-out) and merger trees (fan-in). Time scaling, documented once here: one PyNN ms is one
rate-coding window of `window_ps` picoseconds, so a rate of R Hz in PyNN is R / 1000 pulses
per window and a network timestep of dt ms lasts dt * window_ps ps. The target runs the
network's timestep (`timestep` None); an input spike of stamp s (hw.stimulus) enters as one
pulse at s * dt * window_ps ps. The cell formats (ports, transition tables, the netlist)
are the image format, in `hw.layouts.sfq`.

The physics functions the compiler and the pulse simulator share live here, as methods:
  synapse:  p(I) = 0.5 * (1 + erf((I + I_global - I_0) / (sqrt(2) * sigma)))
            (thermal noise on the switching threshold of the decision junction);
  neuron:   N(I) = ceil((Ic_neuron - I) / dI), dI = Phi0 / L_loop, the current that one stored
            flux quantum adds to the output junction: it switches when I + N * dI >= Ic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from ..errors import LimitError
from .base import TargetSpec

#: Magnetic flux quantum (Wb).
PHI0 = 2.067833848e-15


@dataclass(frozen=True)
class SfqSpec(TargetSpec):
    """Cell delays and windows (ps), critical current, bias ranges and the rate-coding window.

    Delays: JTL 5.7, merger 8.2, DRO 5.1 with 2.3 setup are PyLSE's published numbers; the
    splitter's 4.3 is PyLSE's too; the others are estimates of the same order.
    `*_window_ps` is the shortest separation between two pulses into one cell; a pulse
    closer than that is a timing violation (an error), except at mergers and neurons where
    `collision` = "drop" loses it (a merger fed by two coincident pulses emits one).
    """

    name: str = "sfq"
    description: str = ("SFQ superconducting rate-coded network: stochastic synapses, "
                        "counting neurons, splitter/merger trees (pulse level, ps)")
    runner: str = "neurocosim.sim.sfq:Engine"
    compiler: str = "neurocosim.hw.compile_sfq:compile_sfq"
    models: tuple[str, ...] = ("IF_curr_delta", "SpikeSourceArray", "SpikeSourcePoisson")
    timestep: float | None = None
    # time scaling and rate coding
    window_ps: float = 1000.0          # one PyNN ms = one rate-coding window
    # cell timing (ps)
    jtl_delay_ps: float = 5.7
    splitter_delay_ps: float = 4.3
    merger_delay_ps: float = 8.2
    dro_delay_ps: float = 5.1
    dro_setup_ps: float = 2.3
    dro_hold_ps: float = 0.0           # 0: no hold constraint
    ndro_delay_ps: float = 6.0
    ndro_setup_ps: float = 2.5
    tff_delay_ps: float = 6.0
    synapse_delay_ps: float = 7.0
    neuron_delay_ps: float = 9.0
    jtl_window_ps: float = 2.0
    splitter_window_ps: float = 2.0
    merger_window_ps: float = 4.0
    tff_window_ps: float = 4.0
    synapse_window_ps: float = 4.0
    neuron_window_ps: float = 3.0
    collision: str = "drop"            # merger/neuron pulses inside the window: drop | error
    delay_sigma: float = 0.0           # relative spread of each cell's delays (seeded)
    # junctions and energy
    ic_uA: float = 100.0               # critical current of a junction: energy Ic * Phi0
    # stochastic synapse: p = 0.5 * (1 + erf((I + global - I0) / (sqrt(2) sigma)))
    synapse_i0_uA: float = 100.0
    synapse_sigma_uA: float = 8.0
    synapse_bias_min_uA: float = 60.0
    synapse_bias_max_uA: float = 140.0
    global_bias_uA: float = 0.0        # external current added to every synapse bias
    # counting neuron: N = ceil((neuron_ic - I) / flux_current)
    neuron_ic_uA: float = 250.0
    flux_current_uA: float = 2.0       # Phi0 / L of the storing loop (L ~ 1 nH)
    neuron_bias_min_uA: float = 50.0
    neuron_bias_max_uA: float = 249.0
    neuron_floor: int = 8              # quanta the neuron can store below its reset count
    pulse_mV: float = 1.0              # one passed pulse = a jump of pulse_mV (IF_curr_delta)
    min_tau_m: float = 1e6             # ms; the counting neuron has no exponential leak

    def __post_init__(self) -> None:
        if self.collision not in ("drop", "error"):
            from ..errors import TargetError
            raise TargetError(f"sfq: collision {self.collision!r} must be 'drop' or 'error'")

    @property
    def min_step_ps(self) -> float:
        """The shortest timestep (ps) whose successive pulses of one source the splitters
        and synapses separate (their windows; closer pulses are a timing violation)."""
        return max(self.splitter_window_ps, self.synapse_window_ps)

    # --- switching energy -------------------------------------------------------------------
    @property
    def switch_energy_pJ(self) -> float:
        """Energy of one junction switch, Ic * Phi0 (about 2e-7 pJ at 100 uA)."""
        return self.ic_uA * 1e-6 * PHI0 * 1e12

    # --- stochastic synapse ---------------------------------------------------------------
    def pass_probability(self, bias_uA, global_bias_uA: float | None = None):
        """Pass probability of a synapse biased at `bias_uA` (scalar or array)."""
        import numpy as np
        g = self.global_bias_uA if global_bias_uA is None else global_bias_uA
        z = (np.asarray(bias_uA, dtype=np.float64) + g - self.synapse_i0_uA) / (
            math.sqrt(2.0) * self.synapse_sigma_uA)
        erf = np.vectorize(math.erf, otypes=[np.float64])
        return 0.5 * (1.0 + erf(z))

    def synapse_bias(self, p: float) -> float:
        """Bias current (uA, without the global bias) giving pass probability `p`, clipped
        to the bias range; the caller reports the clipping as weight error."""
        if not 0.0 <= p <= 1.0:
            raise LimitError("synapse weight (pass probability)", p, "[0, 1]")
        lo, hi = self.synapse_bias_min_uA, self.synapse_bias_max_uA
        if p <= 0.0:
            return lo
        if p >= 1.0:
            return hi
        bias = self.synapse_i0_uA + self.synapse_sigma_uA * NormalDist().inv_cdf(p)
        return min(max(bias, lo), hi)

    # --- counting neuron -------------------------------------------------------------------
    def neuron_threshold(self, bias_uA: float) -> int:
        """Pulses a neuron biased at `bias_uA` integrates before it fires."""
        if not self.neuron_bias_min_uA <= bias_uA <= self.neuron_bias_max_uA:
            raise LimitError("neuron bias (uA)", bias_uA,
                             f"[{self.neuron_bias_min_uA}, {self.neuron_bias_max_uA}]")
        return max(1, math.ceil((self.neuron_ic_uA - bias_uA) / self.flux_current_uA - 1e-9))

    def neuron_bias(self, threshold: int) -> float:
        """Bias current (uA) in the middle of the interval that gives `threshold` pulses."""
        bias = self.neuron_ic_uA - (threshold - 0.5) * self.flux_current_uA
        if threshold < 1 or not self.neuron_bias_min_uA <= bias <= self.neuron_bias_max_uA:
            top = int((self.neuron_ic_uA - self.neuron_bias_min_uA) / self.flux_current_uA)
            raise LimitError("neuron threshold (pulses)", threshold, f"1..{top}",
                             f"bias {bias:.2f} uA outside the neuron bias range")
        return bias
