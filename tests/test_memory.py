"""Memory per synapse (issue 16 item 2): the reference engine's static tables are built by
a counting sort equal to a stable sort, hold 12 bytes per synapse, and the PyNN backend, its
IR and the engine together stay under BYTES_PER_SYNAPSE; the full-scale microcircuit's peak
RSS per synapse is a heavy test."""

from __future__ import annotations

import fcntl
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.hw import ir
from neurocosim.hw.compile_reference import delay_steps
from neurocosim.sim.reference.build import build_synapses

#: The engine's static tables: int32 ring place + float64 weight.
ENGINE_BYTES_PER_SYNAPSE = 12
#: PyNN's arrays (int32 pre and post, float64 weight and delay), the IR sharing them (a
#: copy of the weights only where they are negative: inhibitory) and the engine's tables,
#: for a network with a fifth of its synapses inhibitory: 24 + 0.2 * 8 + 12 = 37.6.
BYTES_PER_SYNAPSE = 38
#: Peak RSS of the whole process per synapse, the full-scale microcircuit (measured 39.8
#: at 0.3e9 synapses; the interpreter, Numba and PyNN add ~0.15 GiB).
PEAK_RSS_BYTES_PER_SYNAPSE = 42

ROOT = Path(__file__).resolve().parents[1]


def _network(seed: int, index_dtype) -> ir.Network:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 30, size=3)
    params = dict(cm=0.25, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0,
                  v_rest=-65.0, v_reset=-70.0, v_thresh=-50.0, i_offset=0.0)
    pops = [ir.Population(f"p{i}", int(s), "IF_curr_exp", params)
            for i, s in enumerate(sizes)]
    prjs = []
    for k in range(int(rng.integers(0, 6))):
        a, b = rng.integers(0, 3, size=2)
        m = int(rng.integers(0, 200))
        prjs.append(ir.Projection(
            f"j{k}", f"p{a}", f"p{b}",
            rng.integers(0, sizes[a], m).astype(index_dtype),
            rng.integers(0, sizes[b], m).astype(index_dtype),
            rng.uniform(0, 1, m), rng.integers(1, 40, m) * 0.1 + rng.choice([0, 0.04], m),
            rng.choice(["excitatory", "inhibitory"])))
    return ir.Network(pops, prjs, timestep=0.1)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), index_dtype=st.sampled_from([np.int32, np.int64]))
def test_counting_sort_equals_stable_sort(seed, index_dtype):
    """The tables equal those a stable sort of the concatenated synapses by (pre, target,
    ring place) gives, and each projection's places find its weights in IR order."""
    net = _network(seed, index_dtype)
    syn = build_synapses(net, 0.1)
    off, n = net.offsets(), net.size
    pre = np.concatenate([off[p.pre] + p.pre_idx.astype(np.int64) for p in net.projections]
                         + [np.zeros(0, np.int64)])
    key = np.concatenate([delay_steps(p.name, p.delay, 0.1) * 2 * n
                          + (p.receptor == "inhibitory") * n + off[p.post] + p.post_idx
                          for p in net.projections] + [np.zeros(0, np.int64)])
    w = np.concatenate([p.weight for p in net.projections] + [np.zeros(0)])
    order = np.lexsort((key, key % n, pre))   # stable: multapses in projection, IR order
    np.testing.assert_array_equal(syn.st_ptr, np.r_[0, np.cumsum(np.bincount(pre, minlength=n))])
    np.testing.assert_array_equal(syn.st_off.astype(np.int64), key[order])
    np.testing.assert_array_equal(syn.st_w, w[order])
    assert syn.st_off.dtype == np.int32
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    start = 0
    for p in net.projections:
        plastic, pos = syn.places(p.name)
        assert not plastic
        np.testing.assert_array_equal(pos, inv[start:start + p.size])
        start += p.size


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _unique_bytes(arrays) -> int:
    roots = {id(r): r for r in map(_root, arrays)}
    return sum(r.nbytes for r in roots.values())


def test_bytes_per_synapse_pynn_ir_engine():
    """A 1.6M-synapse CUBA-like network from PyNN: the arrays of PyNN, the IR and the engine
    (each buffer counted once: they share) per synapse, and the engine's own tables."""
    import pyNN.neurocosim as sim
    from neurocosim.pynn_backend import simulator

    sim.setup(timestep=0.1, rng_seed=7)
    rng = sim.NumpyRNG(seed=7)
    exc = sim.Population(3200, sim.IF_curr_exp(), label="exc")
    inh = sim.Population(800, sim.IF_curr_exp(), label="inh")
    for pre, sign, receptor in ((exc, 1, "excitatory"), (inh, -1, "inhibitory")):
        for post in (exc, inh):
            w = sim.RandomDistribution("normal_clipped", (0.05 * sign, 0.01, *sorted(
                (0.0, sign * np.inf))), rng=rng)
            d = sim.RandomDistribution("uniform", (0.1, 3.0), rng=rng)
            sim.Projection(pre, post, sim.FixedProbabilityConnector(0.1, rng=rng),
                           sim.StaticSynapse(weight=w, delay=d), receptor_type=receptor)
    sim.run(0.1)
    st = simulator.state
    n_syn = sum(len(p) for p in st.projections)
    assert 1_400_000 < n_syn < 1_800_000
    eng, net = st.engine, st._network
    engine = [eng._syn.st_off, eng._syn.st_w]
    pynn = [a for p in st.projections for a in p._arrays().values()]
    shared = [a for p in net.projections for a in (p.pre_idx, p.post_idx, p.weight, p.delay)]
    kept = [pos for _, pos in eng._syn.where.values()] + list(eng._weights_given.values())
    kept += list(eng._static_given.values()) + [src.pre for src in eng._syn.static]
    sim.end()
    assert _unique_bytes(engine) / n_syn <= ENGINE_BYTES_PER_SYNAPSE
    total = _unique_bytes(engine + pynn + shared + kept) / n_syn
    assert total <= BYTES_PER_SYNAPSE, f"{total:.1f} bytes per synapse"


_DRIVER = """
import resource, runpy, sys
import pyNN.neurocosim as sim
from neurocosim.pynn_backend import simulator
counted = []
end = sim.end
def counting_end(*args, **kwargs):
    counted.append(sum(len(p) for p in simulator.state.projections))
    return end(*args, **kwargs)
sim.end = counting_end
sys.argv = [sys.argv[1], *sys.argv[2:]]
runpy.run_path(sys.argv[0], run_name="__main__")
print("SYNAPSES", counted[0])
"""


@pytest.mark.heavy
def test_full_scale_microcircuit_peak_rss_per_synapse():
    """examples/microcircuit.py at scale 1 (0.3e9 synapses), 200 ms on the reference (the
    script refuses durations within its 100 ms transient): peak RSS of the process over
    its synapses (needs ~12 GiB free)."""
    script = ROOT / "examples" / "microcircuit.py"
    cmd = [sys.executable, "-c", _DRIVER, str(script), "neurocosim", "--scale", "1",
           "--duration", "200"]
    with open("/tmp/bigmem.lock", "a") as lock:    # one big job at a time (shared machine)
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True,
                             env=dict(os.environ), check=True).stdout
    n_syn = int(out.split("SYNAPSES")[1].split()[0])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    assert n_syn > 2.5e8
    assert peak / n_syn <= PEAK_RSS_BYTES_PER_SYNAPSE, f"{peak / n_syn:.1f} B/synapse"
