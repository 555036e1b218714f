"""Generated SFQ circuits for equivalence tests and benchmarks (seeded, reproducible)."""

from __future__ import annotations

import numpy as np

from ...hw.compile_sfq import Circuit
from ...hw.layouts.sfq import CELL_PORTS, Netlist
from ...hw.targets.sfq import SfqSpec

#: Kinds a random circuit draws from, with weights (splitters keep the wire pool alive).
_KINDS = (("jtl", 3), ("splitter", 4), ("merger", 2), ("dro", 1), ("ndro", 1), ("tff", 1),
          ("synapse", 2), ("neuron", 1))


def random_circuit(seed: int, n_cells: int, n_inputs: int = 3,
                   spec: SfqSpec | None = None, probe_all: bool = True) -> Netlist:
    """A random feed-forward netlist of about `n_cells` cells over `n_inputs` inputs.

    Each new cell reads wires nobody reads yet (a splitter is added when the pool runs
    low). Inputs are probed, and every cell output (`probe_all`) or only the wires nobody
    reads at the end.
    """
    spec = spec or SfqSpec()
    rng = np.random.default_rng(seed)
    c = Circuit()
    pool = [c.input(f"x{i}") for i in range(n_inputs)]
    for i, w in enumerate(pool):
        c.probe(w, f"x{i}")
    kinds = [k for k, _ in _KINDS]
    weights = np.array([w for _, w in _KINDS], dtype=float)
    weights /= weights.sum()
    for _ in range(n_cells):
        kind = str(rng.choice(kinds, p=weights))
        need = len(CELL_PORTS[kind][0])
        if len(pool) <= need:
            kind = "splitter"
            need = 1
        picks = [pool.pop(int(rng.integers(len(pool)))) for _ in range(need)]
        bias = None
        if kind == "synapse":
            bias = float(rng.uniform(spec.synapse_i0_uA - 2 * spec.synapse_sigma_uA,
                                     spec.synapse_i0_uA + 2 * spec.synapse_sigma_uA))
        elif kind == "neuron":
            bias = spec.neuron_bias(int(rng.integers(1, 4)))
        outs = c.add(kind, *picks, bias=bias)
        pool.extend(outs)
        if probe_all:
            for w in outs:
                c.probe(w, f"w{w}")
    if not probe_all:
        for k, w in enumerate(pool):
            c.probe(w, f"out{k}")
    return c.netlist()


def random_pulses(seed: int, n_inputs: int, n_pulses: int, spacing_ps: float = 40.0,
                  jitter_ps: float = 15.0) -> list[np.ndarray]:
    """Pulse trains (ps, whole fs) with `spacing_ps` mean spacing and random fs offsets."""
    rng = np.random.default_rng([seed, 1])
    out = []
    for _ in range(n_inputs):
        gaps = spacing_ps + rng.uniform(-jitter_ps, jitter_ps, n_pulses)
        out.append(np.round(np.cumsum(gaps), 3))
    return out
