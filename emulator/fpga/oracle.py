"""The naive model of the FPGA core: plain Python integers, one statement per hardware action.

It is the oracle that the Numba kernels, the Amaranth-sim tests and the cocotb scoreboards
compare against: bit-exact (same integer arithmetic, same saturation) and cycle-exact
(`step` counts the cycles of the RTL's state machines at the spec's `cycles_*` costs;
hw/targets/fpga.py has the formula).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...hw.errors import TargetError
from ...hw.image import HardwareImage
from ...hw.layouts import fpga as L


def sat(x: int, lo: int, hi: int) -> int:
    return lo if x < lo else hi if x > hi else x


@dataclass
class CoreState:
    """One core's parameters (ints), memories (lists) and state."""

    n: int
    sc: dict[str, int]
    p: dict[str, list[int]]
    m: dict[str, list[int]]
    ring: list[list[int]]
    u: list[int]
    isyn: list[int]
    ref: list[int]
    y: list[int]
    x: list[int]
    flag: list[int]
    out: list[int] = field(default_factory=list)


class ChipModel:
    """The whole chip: cores in lock step, the broadcast spike router and the stimulus."""

    def __init__(self, image: HardwareImage):
        spec, d = image.target, image.data[L.DATA]
        self.spec = spec
        self.cost = {name: int(getattr(spec, L.cycle_field(name))) for name in L.CYCLE_NAMES}
        self.F = spec.decay_bits
        self.sf = spec.stdp_frac_bits
        self.imp = spec.trace_impulse
        self.D = int(d["ring_depth"])
        self.npc = int(d["neurons_per_core"])
        self.G = int(d["n_axons"])
        self.vlo, self.vhi = spec.v_format.min_int, spec.v_format.max_int
        self.ilo, self.ihi = spec.isyn_format.min_int, spec.isyn_format.max_int
        self.thi = spec.trace_format.max_int
        self.cores = []
        for core in image.cores:
            sc = {k: int(core.params[k][0]) for k in L.CORE_SCALARS}
            p = {k: [int(v) for v in core.params[k]] for k in L.NEURON_PARAMS}
            m = {k: [int(v) for v in a] for k, a in core.memories.items()}
            self.cores.append(CoreState(n=sc["n"], sc=sc, p=p, m=m, ring=[], u=[], isyn=[],
                                        ref=[], y=[], x=[], flag=[]))
        self.t = 0
        self.load_stimulus(d["stim_step"], d["stim_axon"])
        self.reset_state()

    def reset_state(self) -> None:
        """Step 0, initial v, everything else cleared; weights and stimulus kept."""
        self.t = 0
        self.sp = 0
        self.in_list: list[int] = []
        for c in self.cores:
            n = c.n
            c.ring = [[0] * n for _ in range(self.D)]
            c.u, c.isyn, c.ref, c.y = list(c.p["u0"]), [0] * n, [0] * n, [0] * n
            c.x, c.flag, c.out = [0] * self.G, [0] * self.G, []

    def load_stimulus(self, step, axon) -> None:
        """Write stimulus entries (sorted, none before the current step) into the
        stimulus memory; its pointer starts over at the first."""
        self.stim_step = [int(v) for v in step]
        self.stim_axon = [int(v) for v in axon]
        if self.stim_step and min(self.stim_step) < self.t:
            raise TargetError(f"fpga: stimulus entries of step {min(self.stim_step)} "
                              f"loaded at step {self.t}")
        self.sp = 0

    # --- one core, one step -------------------------------------------------------------
    def _core_step(self, c: CoreState) -> int:
        F, sf, t_slot = self.F, self.sf, self.t % self.D
        sc, p, m = c.sc, c.p, c.m
        cyc = 0
        # events: axon row lookup (overlapping the row before), then one cycle per synapse
        prev = 0
        for a in self.in_list:
            cyc += L.header_cycles(self.cost["event"], self.cost["header_overlap"], prev)
            prev = m["row_ptr"][a + 1] - m["row_ptr"][a]
            if sc["stdp"]:
                c.flag[a] = 1
            for k in range(m["row_ptr"][a], m["row_ptr"][a + 1]):
                cyc += self.cost["synapse"]
                post, w = m["syn_post"][k], m["syn_w"][k]
                slot = t_slot + m["syn_delay"][k]
                if slot >= self.D:
                    slot -= self.D
                c.ring[slot][post] = sat(c.ring[slot][post] + (w << sc["w_shift"]),
                                         self.ilo, self.ihi)
                if m["syn_plastic"][k]:
                    m["syn_w"][k] = sat(w - ((sc["a_minus"] * c.y[post]) >> sf),
                                        sc["w_min"], sc["w_max"])
        cyc += self.cost["list_end"]
        # neurons
        c.out = []
        for j in range(c.n):
            cyc += self.cost["neuron"]
            r = c.ring[t_slot][j]
            c.ring[t_slot][j] = 0
            isyn = c.isyn[j]
            c.isyn[j] = sat(((isyn * p["ds"][j]) >> F) + r, self.ilo, self.ihi)
            spike = False
            if c.ref[j] > 0:
                c.ref[j] -= 1
                c.u[j] = p["u_reset"][j]
            else:
                v = sat(((c.u[j] * p["dm"][j]) >> F) + isyn + p["bias"][j],
                        self.vlo, self.vhi)
                if v >= p["theta"][j]:
                    spike = True
                    c.u[j] = p["u_reset"][j]
                    c.ref[j] = p["refrac"][j]
                else:
                    c.u[j] = v
            if sc["stdp"]:
                y = (c.y[j] * sc["dy"]) >> F
                c.y[j] = min(y + self.imp, self.thi) if spike else y
            if spike:
                c.out.append(j)
        if sc["stdp"]:
            # pre traces of every axon (those beside the neuron updates cost no cycle)
            cyc += self.cost["trace"] * L.traces_after_neurons(
                self.G, c.n, self.cost["trace_beside_neuron"])
            for a in range(self.G):
                x = (c.x[a] * sc["dx"]) >> F
                c.x[a] = min(x + self.imp, self.thi) if c.flag[a] else x
                c.flag[a] = 0
            # potentiation: the plastic inputs of each neuron that spiked
            prev = 0
            for j in c.out:
                cyc += L.header_cycles(self.cost["spiking"], self.cost["header_overlap"], prev)
                prev = m["col_ptr"][j + 1] - m["col_ptr"][j]
                for k in range(m["col_ptr"][j], m["col_ptr"][j + 1]):
                    cyc += self.cost["plastic"]
                    s, pre = m["col_syn"][k], m["col_pre"][k]
                    m["syn_w"][s] = sat(m["syn_w"][s] + ((sc["a_plus"] * c.x[pre]) >> sf),
                                        sc["w_min"], sc["w_max"])
            cyc += self.cost["list_end"]
        return cyc

    def step(self) -> tuple[list[int], int]:
        """Advance one timestep: (axon ids of the neurons that spiked, clock cycles)."""
        k_max = max(self._core_step(c) for c in self.cores)
        spikes = [ci * self.npc + j for ci, c in enumerate(self.cores) for j in c.out]
        stim = []
        while self.sp < len(self.stim_step) and self.stim_step[self.sp] == self.t:
            stim.append(self.stim_axon[self.sp])
            self.sp += 1
        cost = self.cost
        cycles = (k_max + cost["route_spike"] * len(spikes)
                  + cost["route_core"] * len(self.cores) + cost["stimulus"] * len(stim)
                  + cost["stimulus_end"] + cost["step_fixed"])
        self.in_list = spikes + stim
        self.t += 1
        return spikes, cycles

    def weights(self) -> list[np.ndarray]:
        """Stored weights of each core's synapse memory."""
        return [np.array(c.m["syn_w"], np.int64) for c in self.cores]
