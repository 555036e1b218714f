"""Slow, obviously correct TrueNorth-style core tick in plain Python (the kernels' oracle).

Same semantics and the same order of pseudo-random draws as `neuron.core_tick`; written
from the module docstring of `neuron`, with the LFSR stepped bit by bit.
"""

from __future__ import annotations

import numpy as np

from ...hw.layouts import truenorth as L
from ...hw.layouts.truenorth import KAPPA_SATURATE, LFSR_TAPS, RESET_LINEAR, RESET_NORMAL
from ...hw.stimulus import Stimulus


class Lfsr:
    """The per-core 32-bit Galois LFSR (taps 32, 22, 2, 1); a draw is `bits` steps and its
    low `bits` bits."""

    def __init__(self, state: int, bits: int = 8) -> None:
        self.state = int(state)
        self.bits = int(bits)

    def draw(self) -> int:
        for _ in range(self.bits):
            out = self.state & 1
            self.state >>= 1
            if out:
                self.state ^= LFSR_TAPS
        return self.state % (1 << self.bits)


def _sgn(x: int) -> int:
    return (x > 0) - (x < 0)


def core_tick_oracle(active, crossbar, axon_type, params, v, lfsr: int,
                     vmin: int = -(1 << 19), vmax: int = (1 << 19) - 1, prng_bits: int = 8):
    """(fired list, new v list, new LFSR state) of one tick; inputs are not modified."""
    rng = Lfsr(lfsr, prng_bits)
    n = len(v)
    v = [int(x) for x in v]
    w, b = params["weights"], params["syn_stoch"]

    def sat(x):
        return min(max(x, vmin), vmax)

    for a in range(len(active)):
        if not active[a]:
            continue
        g = int(axon_type[a])
        for j in range(n):
            if not crossbar[a][j]:
                continue
            s = int(w[j][g])
            if b[j][g]:
                if abs(s) >= rng.draw():
                    v[j] = sat(v[j] + _sgn(s))
            else:
                v[j] = sat(v[j] + s)
    fired = [False] * n
    for j in range(n):
        lam = int(params["leak"][j])
        omega = _sgn(v[j]) if params["leak_rev"][j] else 1
        if params["leak_stoch"][j]:
            if abs(lam) >= rng.draw():
                v[j] = sat(v[j] + omega * _sgn(lam))
        else:
            v[j] = sat(v[j] + omega * lam)
        tm = int(params["tm"][j])
        eta = rng.draw() % (1 << tm) if tm > 0 else 0
        alpha, beta = int(params["alpha"][j]), int(params["beta"][j])
        gamma, kappa, r = int(params["gamma"][j]), int(params["kappa"][j]), int(params["reset"][j])
        saturate = kappa == KAPPA_SATURATE
        if v[j] >= alpha + eta:
            fired[j] = True
            if gamma == RESET_NORMAL:
                v[j] = r
            elif gamma == RESET_LINEAR:
                v[j] = sat(v[j] - alpha - eta)
        elif saturate and v[j] < -beta:
            v[j] = -beta
        elif not saturate and v[j] < -(beta + eta):
            if gamma == RESET_NORMAL:
                v[j] = -r
            elif gamma == RESET_LINEAR:
                v[j] = sat(v[j] + beta + eta)
    return fired, v, rng.state


def scheduler_oracle(events, n_axons: int, slots: int = 16):
    """Reference of the circular scheduler: events (tick sent, delay, axon) -> dict
    tick -> sorted active axons (a delay d spike sent at tick k is active at k + d)."""
    out: dict[int, set[int]] = {}
    for k, d, a in events:
        if not 1 <= d < slots:
            raise ValueError(f"delay {d} outside 1..{slots - 1}")
        out.setdefault(k + d, set()).add(int(a))
    return {k: sorted(v) for k, v in out.items() if v} if n_axons else {}


def run_oracle(image, ticks: int) -> list[tuple[int, int, int]]:
    """Slow whole-chip run without mesh timing: (tick, core, slot) of every slot spike.

    The input is the one stimulus (`hw.stimulus`), one spike per source neuron and stamp.
    Per tick k: off-chip source spikes stamped k + 1 (and, at k = 0, those stamped 0, sent
    "at tick -1") are written into their axons' slots (stamp - 1 + delay) mod 16; then each
    core reads and clears slot k mod 16 and runs `core_tick_oracle`; each fired slot writes
    its destination axon at (k + delay) mod 16.
    """
    spec = image.target
    S, A = spec.scheduler_slots, spec.axons_per_core
    cores = sorted(image.cores, key=lambda c: c.index)
    sched = [[set() for _ in range(S)] for _ in cores]
    v = [list(np.asarray(c.params["v0"], np.int64)) for c in cores]
    lfsr = [L.lfsr_seed(spec.prng_seed, c.index) for c in cores]
    rt = image.routing
    src_targets: dict[int, list[tuple[int, int, int]]] = {}
    for i, c, a, d in zip(rt[L.SOURCE_NEURON], rt[L.SOURCE_CORE], rt[L.SOURCE_AXON],
                          rt[L.SOURCE_DELAY]):
        src_targets.setdefault(int(i), []).append((int(c), int(a), int(d)))
    stamps: dict[int, set[int]] = {}
    inputs = Stimulus(image.network, spec.timestep).window(0, ticks)
    for i, s in zip(inputs.neuron.tolist(), inputs.stamp.tolist()):
        stamps.setdefault(s, set()).add(i)
    vf = spec.v_format
    out = []
    for k in range(ticks):
        for s in ([0, 1] if k == 0 else [k + 1]):
            for i in sorted(stamps.get(s, ())):
                for c, a, d in src_targets.get(i, []):
                    sched[c][(s - 1 + d) % S].add(a)
        fired_all = []
        for c, core in enumerate(cores):
            active = [a in sched[c][k % S] for a in range(A)]
            sched[c][k % S] = set()
            params = {p: np.asarray(core.params[p]) for p in L.NEURON_PARAMS}
            fired, v[c], lfsr[c] = core_tick_oracle(active, core.memories[L.CROSSBAR],
                                                    core.memories[L.AXON_TYPE], params, v[c],
                                                    lfsr[c], vf.min_int, vf.max_int,
                                                    spec.prng_bits)
            fired_all += [(c, s) for s, f in enumerate(fired) if f]
        for c, s in fired_all:
            out.append((k, c, s))
            p = cores[c].params
            if p["dest_core"][s] >= 0:
                sched[int(p["dest_core"][s])][(k + int(p["delay"][s])) % S].add(
                    int(p["dest_axon"][s]))
    return out
