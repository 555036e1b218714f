"""The reference engine honours the target contract (hw.runner): it delivers exactly the
stimulus the base hands it (spike arrays and Poisson, two spikes of one source in one step
as a double input), reports exactly what the network records, names its rounded delays in
the mapping report and refuses unknown options with the base's error."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.hw import ir
from neurocosim.hw.errors import TargetError
from neurocosim.hw.runner import Runner
from neurocosim.hw.stimulus import InputSpikes, Stimulus
from neurocosim.sim.reference import Engine
from neurocosim.sim.reference import layout as L
from neurocosim.sim.reference.oracle import Oracle

sys.path.insert(0, str(Path(__file__).parent))
from test_reference_oracle import assert_same, random_network  # noqa: E402

DT = 0.1
CELL = dict(cm=0.5, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=0.0,
            v_rest=-65.0, v_reset=-70.0, v_thresh=100.0, i_offset=0.0)
SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _fan(sources: ir.Population, stimuli: list, weight: float, delay: float,
         model: str = "IF_curr_exp") -> ir.Network:
    """Each source neuron drives its own silent cell; every variable recorded."""
    n = sources.size
    params = CELL if model == "IF_curr_exp" else {k: v for k, v in CELL.items()
                                                  if not k.startswith("tau_syn")}
    pops = [sources, ir.Population("cells", n, model, params)]
    prj = ir.Projection("in", sources.name, "cells", np.arange(n), np.arange(n),
                        np.full(n, weight), np.full(n, delay))
    recs = [ir.Recording(sources.name, "spikes", np.arange(n)),
            ir.Recording("cells", "v", np.arange(n))]
    if model == "IF_curr_exp":
        recs.append(ir.Recording("cells", "isyn_exc", np.arange(n)))
    return ir.Network(pops, [prj], stimuli, recs, timestep=DT, seed=5)


# --- (a) two spikes of one source neuron in one step are a double input ---------------------
@SETTINGS
@given(counts=st.lists(st.integers(0, 4), min_size=1, max_size=5),
       stamp=st.integers(0, 30), jitter=st.floats(-0.04, 0.04),
       weight=st.floats(0.01, 2.0), delay_steps=st.integers(1, 20),
       model=st.sampled_from(["IF_curr_exp", "IF_curr_delta"]))
def test_repeated_array_spikes_are_delivered_each(counts, stamp, jitter, weight, delay_steps,
                                                  model):
    """Neuron j of the array fires counts[j] times in one step: its cell receives
    counts[j] * weight at stamp + delay (isyn_exc, or the v jump of a delta synapse), the
    recorded source shows counts[j] spikes, and the oracle agrees on everything."""
    t = max(stamp * DT + jitter, 0.0)
    trains = [[t] * c for c in counts]
    src = ir.Population("src", len(counts), "SpikeSourceArray")
    net = _fan(src, [ir.SpikeArray("src", ir.SpikeTrains.from_lists(trains))], weight,
               delay_steps * DT, model)
    steps = stamp + delay_steps + 5
    eng = Engine(net)
    eng.run(steps * DT)
    res = eng.result()
    sp = res.spikes["src"]
    np.testing.assert_array_equal(np.bincount(sp.ids, minlength=len(counts)), counts)
    np.testing.assert_allclose(sp.times, stamp * DT)
    a = stamp + delay_steps                       # the sample that shows the arrival
    got = (res.signals["cells"]["isyn_exc"].data[a] if model == "IF_curr_exp"
           else res.signals["cells"]["v"].data[a] - CELL["v_rest"])
    np.testing.assert_allclose(got, np.array(counts) * weight, rtol=1e-12)
    assert np.all(res.signals["cells"]["v"].data[:a] == CELL["v_rest"])
    orc = Oracle(net)
    orc.run(steps * DT)
    assert_same(res, orc.result(), atol=1e-12)


def test_two_spikes_in_one_step_move_v_twice_as_far_as_one():
    """The same cell driven by one spike and by two spikes in one step (1.0 and 1.04 ms at
    0.1 ms): the deviation of v from rest doubles at every sample (the model is linear)."""
    def trace(times):
        src = ir.Population("src", 1, "SpikeSourceArray")
        net = _fan(src, [ir.SpikeArray("src", ir.SpikeTrains.from_lists([times]))], 1.0, 1.0)
        eng = Engine(net)
        eng.run(20.0)
        res = eng.result()
        return res.signals["cells"]["v"].data[:, 0] - CELL["v_rest"], res.spikes["src"]
    one, sp1 = trace([1.0])
    two, sp2 = trace([1.0, 1.04])
    assert sp1.times.tolist() == [1.0] and sp2.times.tolist() == [1.0, 1.0]
    assert one.max() > 0.1
    np.testing.assert_allclose(two, 2 * one, rtol=1e-12, atol=1e-14)


# --- (b) the Poisson input is the one stimulus -------------------------------------------------
@SETTINGS
@given(size=st.integers(1, 6), rate=st.floats(0.0, 800.0), start=st.floats(0.0, 5.0),
       duration=st.floats(0.0, 20.0), seed=st.integers(0, 2**40), src_seed=st.integers(0, 99),
       dt=st.sampled_from([0.1, 0.25, 1.0]), cuts=st.lists(st.integers(0, 40), max_size=3),
       subset=st.integers(1, 63))
def test_recorded_poisson_spikes_are_the_stimulus(size, rate, start, duration, seed,
                                                  src_seed, dt, cuts, subset):
    """A recorded SpikeSourcePoisson (all or some neurons) reports exactly
    Stimulus(net, dt).window(0, k), whether run in one go or in pieces."""
    idx = np.array([i for i in range(size) if subset >> (i % 6) & 1] or [0])
    pops = [ir.Population("p", size, "SpikeSourcePoisson",
                          dict(rate=rate, start=start, duration=duration)),
            ir.Population("cells", 2, "IF_curr_exp", CELL)]
    prj = ir.Projection("pc", "p", "cells", np.arange(size), np.arange(size) % 2,
                        np.full(size, 0.3), np.full(size, dt))
    net = ir.Network(pops, [prj], [ir.PoissonSource("p", src_seed)],
                     [ir.Recording("p", "spikes", idx)], timestep=dt, seed=seed)
    eng = Engine(net)
    for c in cuts:
        eng.run(c * dt)
    eng.run(10 * dt)
    k = sum(cuts) + 10
    want = Stimulus(net, dt).window(0, k).population(0, size, dt)
    keep = np.isin(want.ids, idx)
    got = eng.result().spikes["p"]
    order = np.lexsort((got.ids, got.times))
    np.testing.assert_array_equal(got.ids[order], want.ids[keep])
    np.testing.assert_array_equal(got.times[order], want.times[keep])


class _Handed(Stimulus):
    """A stimulus that hands the runner fixed spikes (to see that the engine delivers
    what it is handed, for Poisson populations too, and draws nothing itself)."""

    def __init__(self, network, dt, neuron, stamp):
        super().__init__(network, dt)
        self.spikes = InputSpikes(neuron, stamp)

    def window(self, k0, k1, poisson=True):
        s0 = 0 if k0 == 0 else k0 + 1
        sel = (self.spikes.stamp >= s0) & (self.spikes.stamp <= k1)
        return InputSpikes(self.spikes.neuron[sel], self.spikes.stamp[sel])


class _Handing(Engine):
    """The engine with the Poisson spikes handed in by the base, as every other target
    gets them, instead of drawn in its kernels."""

    draws_poisson = False


def test_the_engine_delivers_the_spikes_the_base_hands_it():
    """Poisson neuron 1 handed two spikes at stamp 3 and one at stamp 0, nothing else:
    its cell's isyn_exc jumps by 2 w at stamp 3 + delay and by w at stamp 0 + delay;
    neuron 0, handed nothing, drives nothing (although its rate is high)."""
    src = ir.Population("p", 2, "SpikeSourcePoisson", dict(rate=900.0, start=0.0,
                                                           duration=1e9))
    net = _fan(src, [ir.PoissonSource("p", 1)], 0.5, 0.2)
    eng = _Handing(net)
    eng.stimulus = _Handed(net, DT, [1, 1, 1], [0, 3, 3])
    eng.run(0.4)
    eng.run(0.6)
    res = eng.result()
    assert sorted(zip(res.spikes["p"].ids.tolist(), res.spikes["p"].times.tolist())) == [
        (1, 0.0), (1, 0.3), (1, 0.3)]
    isyn = res.signals["cells"]["isyn_exc"].data
    assert np.all(isyn[:, 0] == 0.0)
    jumps = np.flatnonzero(np.diff(isyn[:, 1]) > 0) + 1
    assert jumps.tolist() == [2, 5]
    assert isyn[2, 1] == pytest.approx(0.5)
    decay = np.exp(-DT / CELL["tau_syn_E"])
    assert isyn[5, 1] == pytest.approx(isyn[4, 1] * decay + 1.0, rel=1e-12)


def _poisson_driven(seed: int, size: int, rate: float, dt: float, plastic: bool) -> ir.Network:
    """Poisson neurons (rates up to several spikes per step, some starting late) and an
    array neuron onto a recurrent IF_curr_exp population, optionally through STDP."""
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.0, rate, size)
    src = ir.Population("p", size, "SpikeSourcePoisson",
                        dict(rate=rates, start=rng.choice([0.0, 1.0], size),
                             duration=np.full(size, 1e9)))
    arr = ir.Population("a", 1, "SpikeSourceArray", {})
    cell = dict(CELL, v_thresh=-60.0, tau_refrac=0.5)
    cells = ir.Population("cells", 12, "IF_curr_exp", cell)
    pre, post = np.nonzero(rng.random((size, 12)) < 0.5)
    stdp = ir.Plasticity("stdp_additive", dict(tau_plus=20.0, tau_minus=20.0, A_plus=0.01,
                                               A_minus=0.012, w_min=0.0, w_max=1.0))
    cc_pre, cc_post = np.nonzero(rng.random((12, 12)) < 0.3)
    proj = [ir.Projection("pc", "p", "cells", pre, post, rng.uniform(0.1, 0.5, pre.size),
                          dt * rng.integers(1, 4, pre.size),
                          plasticity=stdp if plastic else None),
            ir.Projection("ac", "a", "cells", np.zeros(12, np.int64), np.arange(12),
                          np.full(12, 0.4), np.full(12, dt)),
            ir.Projection("cc", "cells", "cells", cc_pre, cc_post,
                          np.full(cc_pre.size, 0.2), np.full(cc_pre.size, 2 * dt),
                          receptor="inhibitory")]
    stim = [ir.PoissonSource("p", seed % 97),
            ir.SpikeArray("a", ir.SpikeTrains.from_lists([[0.0, 2.0, 2.0, 5.0]]))]
    recs = [ir.Recording("p", "spikes", np.arange(size)),
            ir.Recording("cells", "spikes", np.arange(12)),
            ir.Recording("cells", "v", np.arange(12))]
    return ir.Network([src, arr, cells], proj, stim, recs, timestep=dt, seed=seed)


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), size=st.integers(1, 8),
       rate=st.sampled_from([50.0, 2000.0, 30000.0]), dt=st.sampled_from([0.1, 1.0]),
       plastic=st.booleans(), cuts=st.lists(st.integers(1, 30), min_size=1, max_size=3))
def test_drawn_poisson_spikes_equal_the_handed_window(seed, size, rate, dt, plastic, cuts):
    """The kernels' own Poisson draws (the default on the cpu) give the Result, bit for
    bit (spikes, v, learned weights), of the engine handed the stimulus's window of
    Poisson spikes, as every other target is, in one run or in pieces."""
    net = _poisson_driven(seed, size, rate, dt, plastic)
    drawn, handed = Engine(net), _Handing(net)
    assert drawn.draws_poisson and not handed.draws_poisson
    for c in cuts:
        drawn.run(c * dt)
    handed.run(sum(cuts) * dt)
    a, b = drawn.result(), handed.result()
    for pop in ("p", "cells"):
        np.testing.assert_array_equal(a.spikes[pop].ids, b.spikes[pop].ids)
        np.testing.assert_array_equal(a.spikes[pop].times, b.spikes[pop].times)
    np.testing.assert_array_equal(a.signals["cells"]["v"].data, b.signals["cells"]["v"].data)
    np.testing.assert_array_equal(a.weights["pc"], b.weights["pc"])


# --- (c) exactly what the network records ---------------------------------------------------
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), keep=st.integers(0, 63),
       model=st.sampled_from(["IF_curr_exp", "IF_cond_exp", "Izhikevich"]))
def test_only_recorded_populations_and_neurons(seed, keep, model):
    """Recordings cut down to a subset of populations and neurons: the Result has those
    populations and neurons only, and the same spikes there as with everything recorded."""
    full = random_network(seed, model, duration=20.0)
    part = random_network(seed, model, duration=20.0)
    part.recordings = []
    for b, rec in enumerate(full.recordings):
        if keep >> b & 1:
            idx = rec.indices[::2] if b % 2 else rec.indices
            part.recordings.append(ir.Recording(rec.population, rec.variable, idx,
                                                rec.sampling_interval))
    a, b = Engine(full), Engine(part)
    a.run(20.0)
    b.run(20.0)
    ra, rb = a.result(), b.result()
    spikes = {r.population: r.indices for r in part.recordings if r.variable == "spikes"}
    assert set(rb.spikes) == set(spikes)
    for pop, idx in spikes.items():
        sel = np.isin(ra.spikes[pop].ids, idx)
        assert sorted(zip(rb.spikes[pop].times, rb.spikes[pop].ids)) == sorted(
            zip(ra.spikes[pop].times[sel], ra.spikes[pop].ids[sel]))
    signals = {(r.population, r.variable): r.indices for r in part.recordings
               if r.variable != "spikes"}
    assert {(p, v) for p, d in rb.signals.items() for v in d} == set(signals)
    for (pop, var), idx in signals.items():
        sig, whole = rb.signals[pop][var], ra.signals[pop][var]
        np.testing.assert_array_equal(sig.indices, np.unique(idx))
        np.testing.assert_array_equal(sig.data,
                                      whole.data[:, np.searchsorted(whole.indices, idx)])


def test_a_recording_dropped_by_update_leaves_the_result():
    """update() to a network that no longer records the source nor v: neither is in the
    Result; the spikes of the cells, still recorded, are kept from before the update."""
    net = random_network(3, "IF_curr_exp")
    eng = Engine(net)
    eng.run(20.0)
    before = eng.result()
    assert "arr" in before.spikes and "v" in before.signals["cells"]
    later = random_network(3, "IF_curr_exp")
    later.recordings = [r for r in later.recordings
                        if r.population == "cells" and r.variable in ("spikes", "isyn_exc")]
    eng.update(later)
    eng.run(20.0)
    res = eng.result()
    assert set(res.spikes) == {"cells"} and set(res.signals) == {"cells"}
    assert set(res.signals["cells"]) == {"isyn_exc"}
    n_before = len(before.spikes["cells"])
    assert res.spikes["cells"].times[:n_before].tolist() == before.spikes["cells"].times.tolist()


# --- the rest of the contract ---------------------------------------------------------------
def test_engine_is_a_runner_with_the_base_result():
    net = random_network(2, "IF_curr_alpha")
    eng = Engine(net)
    assert isinstance(eng, Runner)
    eng.run(5.0)
    res = eng.result()
    assert res.target == "reference" and res.info["steps"] == 50
    assert res.mapping is eng.image.report and res.mapping.target == "reference"
    with pytest.raises(TargetError, match="option"):
        Engine(net, colour="red")
    with pytest.raises(TargetError, match="device"):
        Engine(net, device="gpu")


def test_rounded_delays_are_in_the_mapping_report():
    """A 0.15 ms delay at 0.1 ms is rounded (named, by projection); strict refuses it."""
    src = ir.Population("src", 1, "SpikeSourceArray")
    net = _fan(src, [ir.SpikeArray("src", ir.SpikeTrains.from_lists([[1.0]]))], 1.0, 0.15)
    image = hw.compile(net, "reference")
    (approx,) = image.report.approximations
    assert approx.kind == "delay_rounded" and approx.where == "projection 'in'"
    with pytest.raises(TargetError, match="strict"):
        hw.compile(net, "reference", strict=True)
    assert not hw.compile(_fan(src, net.stimuli, 1.0, 0.2), "reference").report.approximations


def test_update_renews_the_mapping_report():
    src = ir.Population("src", 1, "SpikeSourceArray")
    stim = [ir.SpikeArray("src", ir.SpikeTrains.from_lists([[1.0]]))]
    eng = Engine(_fan(src, stim, 1.0, 0.2))
    eng.run(1.0)
    assert not eng.result().mapping.approximations
    eng.update(_fan(src, stim, 1.0, 0.25))
    assert [a.kind for a in eng.result().mapping.approximations] == ["delay_rounded"]
    strict = Engine(hw.compile(_fan(src, stim, 1.0, 0.2), "reference", strict=True))
    strict.run(1.0)
    with pytest.raises(TargetError, match="strict"):
        strict.update(_fan(src, stim, 1.0, 0.25))


def test_recordables_are_what_the_engine_records():
    spec = hw.get_target("reference")
    engine_vars = {v for table in L.RECORDABLE.values() for v in table}
    assert set(spec.recordables) == engine_vars | {"spikes"}
    assert len(spec.recordables) == len(set(spec.recordables))


@SETTINGS
@given(counts=st.lists(st.integers(1, 12), min_size=1, max_size=4),
       stamp=st.integers(0, 10), delay_steps=st.integers(1, 8))
def test_repeated_spikes_into_a_plastic_projection_are_each_delivered_and_paired(
        counts, stamp, delay_steps):
    """Many spikes of one source in one step into STDP synapses: each is delivered and
    paired (the plastic spike ring grows to hold them, where it held each neuron once and
    wrote past its row), equal to the oracle in spikes, v and final weights."""
    trains = [[stamp * DT] * c for c in counts]
    src = ir.Population("src", len(counts), "SpikeSourceArray")
    net = _fan(src, [ir.SpikeArray("src", ir.SpikeTrains.from_lists(trains))], 0.5,
               delay_steps * DT)
    net.populations[1].params["v_thresh"][:] = -64.0      # the cells fire: pairs happen
    stdp = ir.Plasticity("stdp_additive", dict(tau_plus=20.0, tau_minus=20.0, A_plus=0.01,
                                                A_minus=0.012, w_min=0.0, w_max=1.0))
    net.projections[0].plasticity = stdp
    net.recordings.append(ir.Recording("cells", "spikes", np.arange(len(counts))))
    eng = Engine(net)
    eng.run((stamp + delay_steps + 30) * DT)
    orc = Oracle(net)
    orc.run((stamp + delay_steps + 30) * DT)
    res = eng.result()
    assert_same(res, orc.result(), atol=1e-12)
    assert np.array_equal(np.bincount(res.spikes["src"].ids, minlength=len(counts)), counts)


def test_repeated_plastic_spikes_stay_inside_the_spike_ring():
    """The same case with Numba's bounds checks on (a fresh compile, in a subprocess): the
    ring held each plastic-output neuron once per step and 12 spikes of one source in one
    step wrote past it (IndexError here; silent memory corruption without the checks)."""
    import os
    import subprocess
    code = ("import sys; sys.path.insert(0, 'tests'); import test_reference_contract as t; "
            "t.test_repeated_spikes_into_a_plastic_projection_are_each_delivered_and_paired"
            ".hypothesis.inner_test(counts=[12, 12, 12], stamp=3, delay_steps=2)")
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NEUROCOSIM_NO_JIT_CACHE="1")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
