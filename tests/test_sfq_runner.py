"""The "sfq" runner on the target contract (hw.runner.Runner): it consumes the one stimulus
(a spike of stamp s is a pulse at s * STEP_FS), reports exactly the recorded populations
with stamps of the step each pulse falls in, in the one metric vocabulary (energy in pJ),
splits and resets without changing a pulse, and rtl/sfq does not import the simulator."""

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.hw import compiler
from neurocosim.hw.errors import TargetError
from neurocosim.hw.ir import (Network, PoissonSource, Population, Projection, Recording,
                              SpikeArray, SpikeTrains)
from neurocosim.hw.stimulus import Stimulus
from neurocosim.hw.targets.sfq import PHI0

ROOT = Path(__file__).parents[1]


def _if(name, n, thresh=1.0, **over):
    params = {"cm": 1.0, "tau_m": 1e9, "tau_refrac": 0.0, "v_rest": 0.0, "v_reset": 0.0,
              "v_thresh": thresh, "i_offset": 0.0}
    params.update(over)
    return Population(name, n, "IF_curr_delta", params=params)


def relay_network(seed=0, rate=300.0, dt=0.1, weight=1.0, thresh=1.0, record_poisson=True,
                  **over):
    """Array and Poisson sources, each neuron one-to-one onto a counting neuron; the second
    neuron population is left unrecorded."""
    rng = np.random.default_rng(seed)
    trains = [np.sort(rng.uniform(0.0, 20.0, size=int(rng.integers(1, 12)))) for _ in range(3)]
    pops = [Population("arr", 3, "SpikeSourceArray"),
            Population("poi", 4, "SpikeSourcePoisson",
                       dict(rate=rate, start=0.0, duration=1e9)),
            _if("ra", 3, thresh, **over), _if("rp", 4, thresh, **over)]
    w = lambda n: [weight] * n  # noqa: E731
    projs = [Projection("arr_ra", "arr", "ra", np.arange(3), np.arange(3), w(3), w(3)),
             Projection("poi_rp", "poi", "rp", np.arange(4), np.arange(4), w(4), w(4))]
    recs = [Recording("arr", "spikes", np.arange(3)), Recording("ra", "spikes", [0, 2])]
    if record_poisson:
        recs.append(Recording("poi", "spikes", np.arange(4)))
    return Network(pops, projs, [SpikeArray("arr", SpikeTrains.from_lists(trains)),
                                 PoissonSource("poi", seed=seed + 1)],
                   recs, timestep=dt, seed=seed)


def _pairs(spikes):
    return sorted(zip(spikes.ids.tolist(), np.rint(spikes.times / 0.1).astype(int).tolist()))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), rate=st.floats(50.0, 900.0))
def test_recorded_sources_are_the_one_stimulus_and_the_references(seed, rate):
    net = relay_network(seed, rate)
    steps = 200
    res = compiler.run(compiler.compile(net, "sfq"), steps * 0.1)
    ref = compiler.run(compiler.compile(net, "reference"), steps * 0.1)
    win = Stimulus(net, 0.1).window(0, steps).merged()
    off = net.offsets()
    for pop, size in (("arr", 3), ("poi", 4)):
        want = _pairs(win.population(off[pop], size, 0.1))
        assert _pairs(res.spikes[pop]) == want
        assert sorted(set(_pairs(ref.spikes[pop]))) == want     # the reference keeps repeats
    assert len(res.spikes["poi"]) > 0


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_each_input_spike_is_one_pulse_at_its_stamp(seed):
    """Weight 1, threshold 1: a relay neuron fires once per input pulse, in the step the
    pulse enters (its path is ps), so its stamps are the input's stamps + 1 (the last
    stamp's pulse enters at the end of the run and is still in flight)."""
    net = relay_network(seed, record_poisson=False)
    net.recordings.append(Recording("rp", "spikes", np.arange(4)))
    steps = 150
    res = compiler.run(compiler.compile(net, "sfq"), steps * 0.1)
    win = Stimulus(net, 0.1).window(0, steps).merged()
    off = net.offsets()
    for src, dst, keep in (("arr", "ra", [0, 2]), ("poi", "rp", [0, 1, 2, 3])):
        inp = [(i, s + 1) for i, s in _pairs(win.population(off[src], net.population(src).size,
                                                            0.1)) if s < steps and i in keep]
        assert _pairs(res.spikes[dst]) == sorted(inp)


def test_only_recorded_populations_and_neurons_come_back():
    net = relay_network(3, record_poisson=False)
    res = compiler.run(compiler.compile(net, "sfq"), 20.0)
    assert set(res.spikes) == {"arr", "ra"}                  # rp and poi are not recorded
    assert set(res.spikes["ra"].ids.tolist()) <= {0, 2}
    assert "not_recorded" not in res.info and "rates" not in res.info
    assert res.timing.metrics["spikes_total"] > len(res.spikes["ra"])


def test_time_base_timestep_and_whole_steps():
    net = relay_network(1, dt=0.05)
    image = compiler.compile(net, "sfq")
    runner = hw.runner_for(image)(image)
    runner.run(20.0)
    res = runner.result()
    assert res.timestep == 0.05 and res.t_stop == 20.0 and res.info["steps"] == 400
    assert res.timing.metrics["simulated_ps"] == 20000.0
    stamps = res.spikes["ra"].times / 0.05
    assert stamps.size and np.allclose(stamps, np.rint(stamps)) and stamps.max() <= 400
    with pytest.raises(TargetError, match="whole"):
        runner.run(0.07)


def test_energy_is_in_pJ_and_counts_junction_switches():
    res = compiler.run(compiler.compile(relay_network(2), "sfq"), 10.0)
    m = res.timing.metrics
    assert "energy_J" not in m
    assert m["energy_total_pJ"] == pytest.approx(m["junction_switches"] * 100e-6 * PHI0 * 1e12)
    assert m["energy_total_pJ"] > 0
    for name in list(m):
        hw.metrics.unit(name)


def _leaky_network(seed):
    net = relay_network(seed, weight=0.7, thresh=2.0, i_offset=-0.3)
    net.recordings.append(Recording("rp", "spikes", np.arange(4)))
    return net


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 1000), cuts=st.lists(st.integers(1, 199), max_size=3))
def test_split_runs_reset_and_save_load_change_nothing(seed, cuts, tmp_path_factory):
    net = _leaky_network(seed)
    image = compiler.compile(net, "sfq")
    whole = compiler.run(image, 20.0)
    path = tmp_path_factory.mktemp("img") / "img.npz"
    image.save(path)
    loaded = hw.HardwareImage.load(path)
    runner = hw.runner_for(loaded)(loaded)
    edges = [0] + sorted(set(cuts)) + [200]
    for a, b in zip(edges, edges[1:]):
        runner.run((b - a) * 0.1)
    parts = runner.result()
    runner.reset()
    runner.run(20.0)
    again = runner.result()
    for res in (parts, again):
        assert res.timing.metrics == whole.timing.metrics
        for pop in whole.spikes:
            assert _pairs(res.spikes[pop]) == _pairs(whole.spikes[pop]), pop


def test_the_seed_is_the_hardwares_not_the_inputs():
    net = relay_network(4, weight=0.5, record_poisson=True)
    image = compiler.compile(net, "sfq")
    a, b = (compiler.run(image, 20.0, seed=s) for s in (1, 2))
    assert _pairs(a.spikes["poi"]) == _pairs(b.spikes["poi"])
    assert a.timing.metrics["synapse_passed"] != b.timing.metrics["synapse_passed"]
    assert a.info["seed"] == 1


def test_numba_and_python_engines_give_the_same_result():
    net = _leaky_network(5)
    image = compiler.compile(net, "sfq")
    fast, slow = (compiler.run(image, 10.0, engine=e) for e in ("numba", "python"))
    for pop in fast.spikes:
        assert _pairs(fast.spikes[pop]) == _pairs(slow.spikes[pop])
    assert fast.timing.metrics == slow.timing.metrics
    with pytest.raises(TargetError, match="engine='cuda'"):
        compiler.run(image, 1.0, engine="cuda")
    with pytest.raises(TargetError, match="no runner option.*'engine', 'global_bias_uA'"):
        compiler.run(image, 1.0, clock_ps=5.0)


def _imports(path: Path, package: str) -> list[str]:
    """Absolute names of the modules a file imports."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            name = "." * node.level + (node.module or "")
            out.append(importlib.util.resolve_name(name, package) if node.level else name)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_rtl_sfq_imports_nothing_right_of_it():
    files = sorted((ROOT / "rtl" / "sfq").glob("*.py"))
    assert files
    for f in files:
        pkg = "neurocosim.rtl.sfq"
        names = _imports(f, pkg)
        assert "neurocosim.hw.layouts.sfq" in names or f.name == "__init__.py"
        assert not [n for n in names if n.startswith("neurocosim.sim")], (f, names)


def test_the_conformance_suites_result_checks_hold():
    """The conformance suite's generated networks are refused by sfq (tau_m, models), so
    its Result checks run here on a network sfq maps."""
    from test_conformance import check_result
    net = _leaky_network(9)
    image = compiler.compile(net, "sfq")
    runner = hw.runner_for(image)(image)
    runner.run(7.3)
    runner.run(12.7)
    check_result(runner.result(), net, image.target, 200)
