"""The pulse-level event engine: one heap of (time fs, sequence, wire) over a Netlist.

Time is whole femtoseconds (reported in ps), so results are exact and match a Verilog
simulation at `timescale 1ps/1fs`. Pulses at equal times are handled in the order they
were scheduled. Nothing is global: a `Simulator` owns its netlist view, cell states, random
stream and records.

Stochastic synapses decide per pulse: from `decisions[cell]` (a pre-drawn bit sequence,
used in order) when given, else from one seeded random stream consumed in event order, so a
run is reproducible from (netlist, spec, seed) however it is split into `run` calls.
Delay variability (spec.delay_sigma) scales each cell's delays by a seeded factor
1 + sigma * N(0, 1) (fabrication spread, fixed per cell), rounded to femtoseconds.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from ...hw.errors import NetworkError, NeurocosimError
from ...hw.layouts.sfq import ANY, Netlist, cell_types, delay_scales, scaled
from ...hw.targets.sfq import SfqSpec

_BUF = 4096  # uniforms drawn at a time for the synapse decisions


class TimingViolation(NeurocosimError):
    """A pulse inside a cell's forbidden window; names the cell, the wires and the times."""

    def __init__(self, cell: str, kind: str, wire: str, t_ps: float, other: str,
                 t_other_ps: float, min_ps: float):
        self.cell, self.kind, self.wire, self.t_ps = cell, kind, wire, t_ps
        self.other, self.t_other_ps, self.min_ps = other, t_other_ps, min_ps
        super().__init__(
            f"timing violation at {kind} cell {cell!r}: pulse on wire {wire!r} at "
            f"{t_ps:.3f} ps comes {t_ps - t_other_ps:.3f} ps after the pulse on {other} at "
            f"{t_other_ps:.3f} ps; the cell needs >= {min_ps:.3f} ps")


@dataclass
class Stats:
    """Counts of one simulation so far."""

    events: int = 0          # pulses delivered (one per wire arrival)
    switches: int = 0        # junction switches
    dropped: int = 0         # pulses lost at a "drop"-policy cell (merger collisions)
    passed: int = 0          # synapse decisions that passed
    blocked: int = 0         # ... and blocked


class Simulator:
    """Event-driven run of one netlist; `schedule` input pulses, `run(until_ps)`, read pulses.

    `record`: "probes" keeps the pulses of the netlist's probe wires, "all" of every wire.
    `decisions`: {cell name or index: sequence of 0/1} for stochastic synapses.
    """

    def __init__(self, netlist: Netlist, spec: SfqSpec | None = None, *, seed: int = 0,
                 decisions: dict | None = None, global_bias_uA: float | None = None,
                 record: str = "probes") -> None:
        self.netlist = nl = netlist
        self.spec = spec or SfqSpec()
        self.seed = int(seed)
        if record not in ("probes", "all"):
            raise NetworkError(f"record={record!r} must be 'probes' or 'all'")
        self._build_rows()
        self._build_synapses(global_bias_uA, decisions)
        self._dst = nl.wire_dst.tolist()
        self._dst_port = nl.wire_dst_port.tolist()
        wires = range(nl.n_wires) if record == "all" else nl.probe_wires.tolist()
        self._rec: dict[int, list[int]] = {int(w): [] for w in wires}
        self._probe = dict(zip(nl.probe_names, nl.probe_wires.tolist()))
        Simulator.reset(self)      # a subclass resets its own state once it has built it

    def _build_rows(self) -> None:
        """Per cell: rows[state * n_in + input] = (dest, after, jj, jj_blocked, stochastic,
        ((wire, delay fs), ...)), shared between cells of equal type and delay factor."""
        nl = self.netlist
        self.types = cell_types(nl, self.spec)
        self.scales = scales = delay_scales(nl, self.spec, self.seed)
        out_wire = [[-1] * len(t.outputs) for t in self.types]
        for w in range(nl.n_wires):
            c = int(nl.wire_src[w])
            if c >= 0:
                out_wire[c][int(nl.wire_src_port[w])] = w
        cache: dict = {}
        self._rows = []
        for c, t in enumerate(self.types):
            key = (id(t), float(scales[c]), tuple(out_wire[c]))
            if key not in cache:
                cache[key] = [(r.dest, r.after, r.jj, r.jj_blocked, r.stochastic,
                               tuple((out_wire[c][o], scaled(d, float(scales[c])))
                                     for o, d in r.firing if out_wire[c][o] >= 0))
                              for s in range(len(t.states)) for r in
                              (t.row(s, i) for i in range(len(t.inputs)))]
            self._rows.append(cache[key])
        self._n_in = [len(t.inputs) for t in self.types]
        self._drop = [t.policy == "drop" for t in self.types]

    def _build_synapses(self, global_bias_uA: float | None, decisions: dict | None) -> None:
        """Pass probabilities (at the global bias) and pre-drawn decisions by cell."""
        nl, spec = self.netlist, self.spec
        g = spec.global_bias_uA if global_bias_uA is None else float(global_bias_uA)
        self.global_bias_uA = g
        self.p_pass = np.full(nl.n_cells, np.nan)
        syn = [c for c in range(nl.n_cells) if nl.kind_of(c) == "synapse"]
        if syn:
            self.p_pass[syn] = spec.pass_probability(nl.cell_bias[syn], g)
        self._p = self.p_pass.tolist()
        self._bits: dict[int, tuple[np.ndarray, list[int]]] = {}
        for key, bits in (decisions or {}).items():
            c = nl.cell_index(key) if isinstance(key, str) else int(key)
            if not 0 <= c < nl.n_cells or nl.kind_of(c) != "synapse":
                raise NetworkError(f"decisions given for {key!r}, which is not a synapse")
            self._bits[c] = (np.asarray(bits, dtype=bool), [0])

    def reset(self) -> None:
        """Time 0: initial cell states, no pulse in flight, the random stream and the
        pre-drawn decisions from their start, records and counts cleared."""
        self.state = [t.initial for t in self.types]
        self._last = [[None] * len(t.inputs) for t in self.types]
        self._last_any: list = [None] * self.netlist.n_cells
        for _, idx in self._bits.values():
            idx[0] = 0
        self._rng = np.random.default_rng([self.seed, 0x5F1])
        self._u = self._rng.random(_BUF).tolist()
        self._ui = 0
        for r in self._rec.values():
            r.clear()
        self._heap: list[tuple[int, int, int]] = []
        self._seq = 0
        self.now_fs = 0
        self.stats = Stats()

    # --- inputs ---------------------------------------------------------------------------
    def schedule(self, wire: "int | str", times_ps) -> None:
        """Pulses on a primary input (by name or wire) at `times_ps` (not before now)."""
        times = np.rint(np.asarray(times_ps, dtype=np.float64) * 1000.0).astype(np.int64)
        self.schedule_fs(wire, times)

    def schedule_fs(self, wire: "int | str", times_fs) -> None:
        """Pulses on a primary input at whole femtoseconds `times_fs` (not before now)."""
        nl = self.netlist
        if isinstance(wire, str):
            wire = nl.input_wire(wire)
        if int(nl.wire_src[wire]) >= 0:
            raise NetworkError(f"wire {nl.wire_name(wire)!r} is driven by a cell, not an input")
        t = np.asarray(times_fs, dtype=np.int64)
        if t.size and t.min() < self.now_fs:
            raise NetworkError(f"input {nl.wire_name(wire)!r}: pulse at {t.min() / 1000} ps "
                               f"is before the current time {self.now_fs / 1000} ps")
        self._push(int(wire), t)

    def _push(self, wire: int, t: np.ndarray) -> None:
        for x in t.tolist():
            heapq.heappush(self._heap, (x, self._seq, wire))
            self._seq += 1

    # --- the loop --------------------------------------------------------------------------
    def run(self, until_ps: float) -> None:
        """Deliver every pulse before `until_ps`; the time then is `until_ps`."""
        self.run_fs(int(round(until_ps * 1000.0)))

    def run_fs(self, end: int) -> None:
        """Deliver every pulse before `end` fs; the time then is `end`."""
        if end < self.now_fs:
            raise NetworkError(f"run until {end / 1000} ps is before now "
                               f"({self.now_fs / 1000} ps)")
        heap, rows, state, n_in = self._heap, self._rows, self.state, self._n_in
        last, last_any, dst, dst_port = self._last, self._last_any, self._dst, self._dst_port
        rec, drop, p, bits = self._rec, self._drop, self._p, self._bits
        push, pop = heapq.heappush, heapq.heappop
        st = self.stats
        events = switches = 0
        seq = self._seq
        try:
            while heap and heap[0][0] < end:
                t, _, w = pop(heap)
                events += 1
                r = rec.get(w)
                if r is not None:
                    r.append(t)
                c = dst[w]
                if c < 0:
                    continue
                i = dst_port[w]
                s = state[c]
                dest, after, jj, jj_b, stoch, fires = rows[c][s * n_in[c] + i]
                lc = last[c]
                bad = None
                for x, m in after:
                    lt = last_any[c] if x == ANY else lc[x]
                    if lt is not None and t - lt < m:
                        bad = (x, lt, m)
                        break
                if bad is not None:
                    if drop[c]:
                        st.dropped += 1
                        continue
                    self._raise(c, w, t, *bad)
                lc[i] = t
                last_any[c] = t
                state[c] = dest
                if stoch:
                    if self._decide(c, bits, p):
                        st.passed += 1
                    else:
                        st.blocked += 1
                        switches += jj_b
                        continue
                switches += jj
                for w2, d in fires:
                    push(heap, (t + d, seq, w2))
                    seq += 1
        finally:
            self._seq = seq
            st.events += events
            st.switches += switches
        self.now_fs = end

    def _decide(self, c: int, bits, p) -> bool:
        if c in bits:
            seq, idx = bits[c]
            if idx[0] >= len(seq):
                raise NetworkError(f"synapse {self.netlist.cell_names[c]!r}: its "
                                   f"{len(seq)} pre-drawn decisions are used up")
            idx[0] += 1
            return bool(seq[idx[0] - 1])
        if self._ui >= _BUF:
            self._u = self._rng.random(_BUF).tolist()
            self._ui = 0
        u = self._u[self._ui]
        self._ui += 1
        return u < p[c]

    def _raise(self, c: int, w: int, t: int, x: int, lt: int, m: int) -> None:
        nl, ct = self.netlist, self.types[c]
        if x == ANY:
            other = f"any input of {nl.cell_names[c]!r}"
        else:
            ws = np.flatnonzero((nl.wire_dst == c) & (nl.wire_dst_port == x))
            other = f"wire {nl.wire_name(int(ws[0]))!r}" if ws.size else f"input {ct.inputs[x]}"
        raise TimingViolation(nl.cell_names[c], ct.name, nl.wire_name(w), t / 1000.0, other,
                              lt / 1000.0, m / 1000.0)

    # --- results ---------------------------------------------------------------------------
    def pulses(self, wire: "int | str") -> np.ndarray:
        """Pulse times (ps) on a recorded wire, or on the probe named `wire`."""
        if isinstance(wire, str):
            if wire not in self._probe:
                raise NetworkError(f"no probe named {wire!r}")
            wire = self._probe[wire]
        if wire not in self._rec:
            raise NetworkError(f"wire {wire} is not recorded (use record='all')")
        return np.asarray(self._rec[wire], dtype=np.int64) / 1000.0

    def pulses_fs(self, wire: int) -> np.ndarray:
        """Exact pulse times (fs) on a recorded wire."""
        return np.asarray(self._rec[wire], dtype=np.int64)

    def probes(self) -> dict[str, np.ndarray]:
        """Pulse times (ps) of every probe, by name."""
        return {n: self.pulses(int(w)) for n, w in zip(self.netlist.probe_names,
                                                       self.netlist.probe_wires)}

    @property
    def energy_pJ(self) -> float:
        """Switching energy so far (pJ): junction switches x Ic x Phi0."""
        return self.stats.switches * self.spec.switch_energy_pJ
