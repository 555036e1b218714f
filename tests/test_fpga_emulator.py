"""The fpga target's Numba kernel equals the naive model (spikes, cycles, weights) on
generated networks and spec variants; the runner API: split runs, save/load, results."""

import dataclasses

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.emulator.fpga import ChipModel, Engine, FastChip
from neurocosim.hw.compiler import compile as hw_compile
from neurocosim.hw.compiler import run as hw_run
from neurocosim.hw.errors import TargetError
from neurocosim.hw.image import HardwareImage
from neurocosim.hw.ir import Recording
from neurocosim.hw.stimulus import Stimulus

sys.path.insert(0, str(Path(__file__).parent / "rtl"))
from netgen import random_network  # noqa: E402


def recorded(net):
    """`net` recording the spikes of every neuron of every population."""
    return dataclasses.replace(net, recordings=[
        Recording(p.name, "spikes", np.arange(p.size)) for p in net.populations])


def _same_run(image, steps: int) -> int:
    slow, fast = ChipModel(image), FastChip(image)
    n_spikes = 0
    for t in range(steps):
        a, b = slow.step(), fast.step()
        assert a == b, f"step {t}: oracle {a} != numba {b}"
        n_spikes += len(a[0])
    for c, (p, q) in enumerate(zip(slow.weights(), fast.weights())):
        np.testing.assert_array_equal(p, q, err_msg=f"core {c} weights")
    return n_spikes


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), stdp=st.booleans(), npc=st.integers(3, 40),
       weight_bits=st.integers(4, 10), state_bits=st.integers(12, 20),
       trace_bits=st.integers(4, 10), decay_bits=st.integers(8, 14),
       max_delay=st.integers(4, 8))
def test_numba_equals_oracle(seed, stdp, npc, weight_bits, state_bits, trace_bits,
                             decay_bits, max_delay):
    net = random_network(seed, stdp=stdp, n_exc=10, n_inh=5, max_delay=4.0)
    cores = -(-15 // npc)
    image = hw_compile(net, "fpga", neurons_per_core=npc, n_cores=cores,
                       weight_bits=weight_bits, state_bits=state_bits,
                       trace_bits=trace_bits, decay_bits=decay_bits, max_delay=max_delay,
                       trace_impulse=(1 << trace_bits) // 2)
    _same_run(image, 70)


def test_generated_networks_spike_and_learn():
    image = hw_compile(random_network(4, stdp=True), "fpga", neurons_per_core=16,
                       n_cores=2)
    before = [c.memories["syn_w"].copy() for c in image.cores]
    assert _same_run(image, 80) > 0
    after = FastChip(image)
    after.run(80)
    assert any(np.any(a != b) for a, b in zip(after.weights(), before))


def test_runner_split_runs_equal_one_run_and_survive_save_load(tmp_path):
    image = hw_compile(recorded(random_network(5, stdp=True)), "fpga", neurons_per_core=12,
                       n_cores=2)
    whole = hw_run(image, 90.0)
    assert sum(len(s) for s in whole.spikes.values()) > 50
    path = tmp_path / "img.npz"
    image.save(path)
    eng = Engine(HardwareImage.load(path))
    for d in (10.0, 0.0, 45.0, 35.0):
        eng.run(d)
    split = eng.result()
    assert eng.t == 90.0 == split.t_stop
    for name, s in whole.spikes.items():
        np.testing.assert_array_equal(s.ids, split.spikes[name].ids)
        np.testing.assert_array_equal(s.times, split.spikes[name].times)
    for name, w in whole.weights.items():
        np.testing.assert_array_equal(w, split.weights[name])
    np.testing.assert_array_equal(whole.timing.arrays["cycles_per_step"],
                                  split.timing.arrays["cycles_per_step"])
    assert whole.timing.arrays["cycles_per_step"].shape == (90,)
    assert whole.timing.metrics == split.timing.metrics


def test_python_engine_gives_the_same_result():
    image = hw_compile(recorded(random_network(6, stdp=True)), "fpga", neurons_per_core=20)
    a, b = Engine(image), Engine(image, engine="python")
    a.run(50.0)
    b.run(50.0)
    ra, rb = a.result(), b.result()
    assert set(ra.spikes) == {"src", "exc", "inh"}
    for name in ra.spikes:
        np.testing.assert_array_equal(ra.spikes[name].times, rb.spikes[name].times)
    assert ra.timing.metrics == rb.timing.metrics


def test_result_shape_units_and_cycle_formula():
    net = recorded(random_network(7, stdp=False))
    image = hw_compile(net, "fpga")
    res = hw_run(image, 60.0)
    assert res.target == "fpga" and res.timestep == 1.0 and res.info["steps"] == 60
    # source spikes are the one stimulus (merged: the core has no input multiplicity)
    src = net.population("src")
    want = Stimulus(net, 1.0).window(0, 60).merged().population(net.offsets()["src"],
                                                                 src.size, 1.0)
    got = res.spikes["src"]
    assert sorted(zip(got.ids.tolist(), got.times.tolist())) == \
        sorted(zip(want.ids.tolist(), want.times.tolist()))
    # weights come back in nA, within the reported quantisation error of the IR's
    errors = {q.where: q.max_abs for q in image.report.quantization if q.parameter == "weight"}
    for pr in net.projections:
        w = res.weights[pr.name]
        assert w.shape == pr.weight.shape and np.all(w >= 0)
        assert np.max(np.abs(w - pr.weight)) <= errors[f"projection {pr.name!r}"] + 1e-12
    # cycles: at least the fixed overhead + one per neuron + one per stimulus spike
    cyc = res.timing.arrays["cycles_per_step"]
    d = image.data["fpga"]
    stim = np.bincount(d["stim_step"], minlength=60)[:60]
    assert np.all(cyc >= 6 + d["n_neurons"] + stim)
    assert res.timing.metrics["cycles_per_step_max"] == cyc.max()


def test_engine_refuses_bad_durations_and_engines():
    image = hw_compile(random_network(8), "fpga")
    with pytest.raises(TargetError, match="whole"):
        Engine(image).run(0.5)
    with pytest.raises(TargetError, match="engine 'cuda'"):
        Engine(image, engine="cuda")


@pytest.mark.parametrize("seed,stdp,npc", [(41, False, 6), (42, True, 8), (43, True, 40)])
def test_cycles_follow_the_documented_formula(seed, stdp, npc):
    """FpgaSpec.core_cycles / step_cycles, counted from spikes and memories alone."""
    net = random_network(seed, stdp=stdp)
    image = hw_compile(net, "fpga", neurons_per_core=npc, n_cores=-(-16 // npc))
    spec, d = image.target, image.data["fpga"]
    chip = FastChip(image)
    axons, steps, cycles = chip.run(60)
    st, sa = np.asarray(d["stim_step"]), np.asarray(d["stim_axon"])
    for t in range(60):
        prev = np.concatenate([axons[steps == t - 1], sa[st == t - 1]])
        now = axons[steps == t]
        per_core = []
        for ci, core in enumerate(image.cores):
            m = core.memories
            rows = np.diff(m["row_ptr"])
            local = now[now // d["neurons_per_core"] == ci] % d["neurons_per_core"]
            cols = np.diff(m["col_ptr"])
            per_core.append(spec.core_cycles(
                rows[prev], int(core.params["n"][0]), bool(core.params["stdp"][0]),
                d["n_axons"], cols[local]))
        want = spec.step_cycles(per_core, len(now), int((st == t).sum()))
        assert cycles[t] == want, f"step {t}"


def test_fpga_agrees_with_the_float_reference():
    """The quantised core tracks the float reference (exact propagators, same delay
    semantics): total spike counts within 5 %, first spikes within 2 ms."""
    from neurocosim.hw.ir import (Network, Population, Projection, Recording, SpikeArray,
                                  SpikeTrains)
    rng = np.random.default_rng(0)
    n_src, n = 40, 50
    src = Population("src", n_src, "SpikeSourceArray")
    p = dict(cm=1.0, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0,
             v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, i_offset=0.1)
    pop = Population("exc", n, "IF_curr_exp", p)
    trains = SpikeTrains.from_lists([np.unique(rng.uniform(1, 500, rng.poisson(10)).round())
                                     for _ in range(n_src)])
    i, j = np.nonzero(rng.random((n_src, n)) < 0.5)
    pr = Projection("in", "src", "exc", i, j, rng.uniform(0.5, 1.5, i.size),
                    rng.integers(1, 4, i.size).astype(float))
    net = Network(populations=[src, pop], projections=[pr],
                  stimuli=[SpikeArray("src", trains)], timestep=1.0,
                  recordings=[Recording("exc", "spikes", np.arange(n))])
    ref = hw_run(hw_compile(net, "reference"), 500.0).spikes["exc"]
    fpga = hw_run(hw_compile(net, "fpga"), 500.0).spikes["exc"]
    assert len(ref) > 500
    assert abs(len(fpga) - len(ref)) <= 0.05 * len(ref)
    for k in range(n):
        a, b = ref.times[ref.ids == k], fpga.times[fpga.ids == k]
        assert a.size and b.size and abs(a.min() - b.min()) <= 2.0
