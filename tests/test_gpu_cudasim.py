"""The GPU engines (device="gpu") against the CPU engines, with no GPU: their CUDA kernels
run under numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1) in a subprocess, so the
simulator never leaks into other tests (numba reads the variable once, at import).

`python tests/test_gpu_cudasim.py loihi|reference` is that subprocess: small networks
(tens of neurons, 30-40 steps: the simulator is pure Python), runs split in two windows,
one with a spike record so small that the kernel stops and resumes, every result
compared. Loihi: spikes, u/v/refractory state and recorded v bit-exact; the timing report
(the CPU's model on the GPU's spikes, timed in other chunks) to 1e-12. Reference: spikes
equal; state and samples to 1e-12 (the GPU adds a step's synaptic input in another
order, see sim/reference/gpu.py), also through update() with changed weights, and
with STDP and Tsodyks-Markram projections: weights and traces to 1e-12.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from neurocosim.hw import ir
from neurocosim.hw.errors import TargetError


def _simulated(case: str) -> None:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    r = subprocess.run([sys.executable, __file__, case], env=env, capture_output=True,
                       text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{case} ok" in r.stdout


def test_loihi_gpu_is_bit_exact_with_the_cpu_engine_under_cudasim():
    _simulated("loihi")


def test_reference_gpu_spikes_equal_the_cpu_engine_under_cudasim():
    _simulated("reference")


def test_gpu_without_cuda_is_refused_naming_the_option():
    from numba import cuda
    if cuda.is_available():
        pytest.skip("this machine has a CUDA GPU (or the simulator is on)")
    from neurocosim.sim.reference import Engine
    with pytest.raises(TargetError, match="device='gpu' needs a CUDA GPU"):
        Engine(ref_net(0), device="gpu")


# --- the networks (built here, run in the subprocess) ------------------------------------
def _rule(rng, k: int) -> "ir.Plasticity | None":
    """None (static), STDP additive or multiplicative, or Tsodyks-Markram, by k mod 4."""
    kind = k % 4
    if kind == 0:
        return None
    if kind == 3:
        return ir.Plasticity("tsodyks_markram", dict(U=rng.uniform(0.1, 0.6),
                                                     tau_rec=rng.choice([0.0, 80.0]),
                                                     tau_facil=rng.choice([0.0, 30.0])))
    rule = "stdp_additive" if kind == 1 else "stdp_multiplicative"
    return ir.Plasticity(rule, dict(tau_plus=rng.uniform(5, 20), tau_minus=rng.uniform(5, 25),
                                    A_plus=rng.uniform(0.05, 0.3), A_minus=rng.uniform(0.05, 0.3),
                                    w_min=0.0, w_max=1.0))


def ref_net(seed: int, dt: float = 0.1, plastic: bool = False) -> ir.Network:
    """Poisson and array inputs (stamp 0 and a repeated spike included) into homogeneous
    and per-neuron IF_curr_exp and IF_cond_exp populations, all-to-all-ish projections
    with delays of 1..5 steps, spikes and three state variables recorded. `plastic`: three
    in four projections plastic (STDP additive, multiplicative, Tsodyks-Markram), those
    from the Poisson source (whose spikes repeat within a step) included."""
    rng = np.random.default_rng(seed)

    def u(a, b, n):
        return rng.uniform(a, b, n)

    def params(model, n, homogeneous):
        m = 1 if homogeneous else n
        p = dict(cm=u(0.2, 0.4, m), tau_m=u(8, 20, m),
                 tau_refrac=rng.choice([0.0, 0.3, 1.0], m),
                 v_rest=u(-66, -64, m), v_reset=u(-70, -66, m), v_thresh=u(-55, -51, m),
                 i_offset=u(0.3, 1.5, m), tau_syn_E=u(2, 6, m), tau_syn_I=u(3, 9, m))
        if model == "IF_cond_exp":
            p.update(e_rev_E=0.0, e_rev_I=-75.0, i_offset=u(0.3, 1.0, m))
        return {k: (float(v[0]) if homogeneous and isinstance(v, np.ndarray) else v)
                for k, v in p.items()}
    cells = [("ce", "IF_curr_exp", 20, True), ("cn", "IF_curr_exp", 12, False),
             ("ke", "IF_cond_exp", 10, True), ("kn", "IF_cond_exp", 8, False)]
    pops = [ir.Population("poi", 8, "SpikeSourcePoisson",
                          dict(rate=u(200, 900, 8), start=0.0, duration=1e9)),
            ir.Population("arr", 4, "SpikeSourceArray")]
    pops += [ir.Population(name, n, model, params(model, n, h), {"v": u(-60, -52, n)})
             for name, model, n, h in cells]
    sizes = {p.name: p.size for p in pops}
    prjs = []
    for pre in sizes:
        for post, model, n, _ in cells:
            a, b = np.nonzero(rng.random((sizes[pre], n)) < 0.3)
            w = (0.4 if model == "IF_curr_exp" else 0.01) * u(0.2, 1.0, len(a))
            receptor = "inhibitory" if rng.random() < 0.3 else "excitatory"
            d = np.round(rng.integers(1, 6, len(a)) * dt, 10)
            rule = _rule(rng, len(prjs)) if plastic else None
            if rule is not None and rule.rule != "tsodyks_markram":
                w = np.minimum(w, 1.0)
            prjs.append(ir.Projection(f"{pre}_{post}", pre, post, a, b, w, d,
                                      receptor=receptor, plasticity=rule))
    trains = ir.SpikeTrains.from_lists([[0.0, 0.1, 0.1, 1.0], [0.3, 2.0], [], [0.05, 1.5]])
    recs = [ir.Recording(q, "spikes", np.arange(s)) for q, s in sizes.items()]
    recs += [ir.Recording("ce", "v", np.arange(3)),
             ir.Recording("kn", "gsyn_exc", np.arange(4), 0.2),
             ir.Recording("cn", "isyn_inh", np.arange(2))]
    return ir.Network(pops, prjs, [ir.PoissonSource("poi", seed=seed),
                                   ir.SpikeArray("arr", trains)], recs, timestep=dt, seed=seed)


# --- the subprocess's checks ---------------------------------------------------------------
def _same_spikes(ra, rb) -> int:
    for name, sa in ra.spikes.items():
        sb = rb.spikes[name]
        assert np.array_equal(sa.ids, sb.ids) and np.array_equal(sa.times, sb.times), name
    return sum(len(s.ids) for s in ra.spikes.values())


def check_loihi() -> None:
    from neurocosim import hw
    from neurocosim.emulator.loihi import gpu
    from neurocosim.emulator.loihi.engine import Engine
    from test_loihi_emulator import small_network
    for seed, timing, per_core in ((1, False, 10), (2, True, 7), (3, "trace", 40)):
        gpu.RECORD_CAP = 40 if seed == 2 else 1 << 26      # seed 2: the record fills up
        net = small_network(seed, stdp=False, delta=seed == 2)
        net.stimuli[1] = ir.SpikeArray("arr", ir.SpikeTrains.from_lists(
            [[0.0, 4.0], [0.0, 9.0, 21.0], [2.0]]))            # stamp 0: before step 0
        image = hw.compile(net, "loihi", compartments_per_core=per_core)
        a, b = Engine(image, timing=timing), Engine(image, timing=timing, device="gpu")
        for e in (a, b):
            e.run(13.0)
            e.run(17.0)
        ra, rb = a.result(), b.result()
        n = _same_spikes(ra, rb)
        assert n > 20, n
        for key, val in a.state().items():
            assert np.array_equal(val, b.state()[key]), key
        assert np.array_equal(ra.signals["exc"]["v"].data, rb.signals["exc"]["v"].data)
        if timing:         # chunked differently: float sums of the accumulators regroup
            ma, mb = ra.timing.metrics, rb.timing.metrics
            assert ma.keys() == mb.keys()
            assert all(np.isclose(ma[k], mb[k], rtol=1e-12, atol=0) for k in ma), (ma, mb)
    plastic = hw.compile(small_network(4), "loihi")
    try:
        Engine(plastic, timing=False, device="gpu")
        raise AssertionError("a plastic projection ran on the GPU")
    except TargetError as e:
        assert "src_exc" in str(e) and "device='cpu'" in str(e)
    print("loihi ok")


def check_reference() -> None:
    from neurocosim.sim.reference import Engine, gpu
    for seed in (1, 2):
        gpu.RECORD_CAP = 30 if seed == 2 else 1 << 26      # seed 2: the record fills up
        net = ref_net(seed)
        a, b = Engine(net), Engine(net, device="gpu")
        for e in (a, b):
            e.run(1.3)
            if seed == 2:          # update() with new weights: the device tables follow
                changed = ref_net(seed)
                changed.projections[1].weight[:] *= 3.0
                e.update(changed)
            e.run(2.7)
        ra, rb = a.result(), b.result()
        assert _same_spikes(ra, rb) > 60
        for pop, sig in ra.signals.items():
            for var, sa in sig.items():
                sb = rb.signals[pop][var]
                assert np.array_equal(sa.times, sb.times), (pop, var)
                assert np.allclose(sa.data, sb.data, rtol=1e-12, atol=1e-12), (pop, var)
        assert np.allclose(a._S, b._S, rtol=1e-12, atol=1e-12)
    for seed in (3, 4):            # plastic: spikes, weights and traces after two windows
        gpu.RECORD_CAP = 30 if seed == 4 else 1 << 26
        net = ref_net(seed, plastic=True)
        a, b = Engine(net), Engine(net, device="gpu")
        for e in (a, b):
            e.run(1.6)
            e.run(2.4)
        assert _same_spikes(a.result(), b.result()) > 60
        moved = 0
        for pr in net.projections:
            wa, wb = a.weights(pr.name), b.weights(pr.name)
            assert np.allclose(wa, wb, rtol=1e-12, atol=1e-15), pr.name
            moved += int(np.count_nonzero(wa != pr.weight))
        assert moved > 20, moved            # the rules did change weights
        assert np.allclose(a._pl_state, b._pl_state, rtol=1e-12, atol=1e-12)
        assert np.array_equal(a._hist_n, b._hist_n)
    izh = ir.Network([ir.Population("iz", 3, "Izhikevich",
                                    dict(a=0.02, b=0.2, c=-65.0, d=8.0, i_offset=0.0))],
                     [], [], [], timestep=0.1)
    try:
        Engine(izh, device="gpu")
        raise AssertionError("Izhikevich ran on the GPU")
    except TargetError as e:
        assert "iz (Izhikevich)" in str(e)
    print("reference ok")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    {"loihi": check_loihi, "reference": check_reference}[sys.argv[1]]()
