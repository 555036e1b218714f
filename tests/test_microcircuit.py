"""The Potjans-Diesmann microcircuit script (examples/microcircuit.py) through PyNN.

Default run: the script at scale 0.03 for 400 ms on the reference target, in a subprocess
as a user runs it: its printed lines parse, each population fires within a broad range
around the published full-scale rate, and the published ordering holds. Heavy: scale 0.1
against NEST (each rate within 10 %), and the full scale.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(path: Path, name: str):
    """A module from a file (examples/ and benchmarks/ both hold a microcircuit.py)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module                 # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


script = _load(ROOT / "examples" / "microcircuit.py", "microcircuit_example")
bench = _load(ROOT / "benchmarks" / "microcircuit.py", "microcircuit_benchmark")
compile_bench = _load(ROOT / "benchmarks" / "compile.py", "compile_benchmark")
PUBLISHED = dict(zip(script.POPULATIONS, script.FULL_RATES))


def test_total_synapses_match_the_published_count():
    """The published formula gives about 0.3e9 synapses at full scale (paper: ~3e8)."""
    p = script.synapse_probability()
    total = (p * np.outer(script.SIZES, script.SIZES)).sum()
    assert 2.9e8 < total < 3.1e8
    assert np.all(p >= script.CONN_PROB) and np.all(p < 1)   # multapses folded in


def test_scaling_compensation_vanishes_at_full_scale():
    assert np.all(script.dc_inputs(1.0, "poisson") == 0)
    assert np.all(np.diff([script.dc_inputs(s, "poisson")[0] for s in (1, 0.5, 0.1)]) != 0)


def test_parse_output_reads_rates_and_times_and_skips_chatter():
    text = "\n".join(["NEST says hello", *(f"{n} {i}.25 Hz" for i, n in
                                           enumerate(script.POPULATIONS)),
                      "build 1.50 s", "run 2.00 s", "[reference] 900.0 ms done"])
    rates, times = bench.parse_output(text)
    assert list(rates) == script.POPULATIONS and rates["L4E"] == 2.25
    assert times == {"build": 1.5, "run": 2.0}


@pytest.mark.parametrize("argv", [["--scale", "1.5"], ["--scale", "0"],
                                  ["--duration", "100"]])
def test_bad_arguments_are_refused(argv):
    with pytest.raises(SystemExit, match="must"):
        script.parse_args(argv)


@pytest.mark.parametrize("simulator", ["neurocosim", "pynest"])
def test_small_scale_rates_in_broad_published_ranges(simulator):
    """Scale 0.03, 400 ms (300 ms after the transient), on the reference and on the
    benchmark's PyNEST peer (the same network built with PyNEST directly, 1 thread).
    Bounds: published / 8 to published x 2. They are broad because at small scale the
    1/sqrt(scale) weights make each input spike large and the DC compensation only
    restores the mean input, so rates sit below the full-scale ones (measured:
    0.25-0.7x), and 300 ms of a few hundred cells leaves about 10 % counting noise. The published ordering is tighter: in every
    layer the inhibitory cells fire faster than the excitatory ones, and L2/3E and L6E
    are the two slowest populations."""
    if simulator == "pynest":
        pytest.importorskip("nest")
    run = bench.run_script(simulator, 0.03, 400.0, seed=7,
                           threads=1 if simulator == "pynest" else None)
    assert list(run.rates) == script.POPULATIONS
    for name, rate in run.rates.items():
        assert PUBLISHED[name] / 8 <= rate <= PUBLISHED[name] * 2, (name, rate)
    for layer in ("L23", "L4", "L5", "L6"):
        assert run.rates[layer + "I"] > run.rates[layer + "E"], layer
    assert set(sorted(run.rates, key=run.rates.get)[:2]) == {"L23E", "L6E"}
    assert run.build_s > 0 and run.run_s > 0 and run.peak_rss_mib > 0


def test_delays_are_drawn_as_whole_steps():
    """Every drawn delay is a whole number of 0.1 ms steps, at least one, with the mean of
    the normal truncated at dt that it rounds (rounding to the nearest step moves the
    mean by far less than the tolerance, 6 standard errors)."""
    import pyNN.neurocosim as sim
    from scipy.stats import truncnorm

    mean, sd = script.DELAY["E"]
    d = script.step_delays(sim, mean, sd, sim.NumpyRNG(seed=3)).next(200_000)
    steps = d / script.DT
    assert np.all(np.abs(steps - np.round(steps)) < 1e-9)
    assert d.min() == pytest.approx(script.DT)
    expected = truncnorm.mean((script.DT - mean) / sd, np.inf, loc=mean, scale=sd)
    assert abs(d.mean() - expected) < 6 * sd / np.sqrt(d.size)


def test_neurocosim_run_passes_the_script_options_and_maps_exactly(tmp_path):
    """`neurocosim run SCRIPT --target reference -- --scale ...`: the options after `--`
    reach the script, and the mapping report is exact (no delay_rounded lines)."""
    cmd = [sys.executable, "-m", "neurocosim.host.cli", "run",
           str(ROOT / "examples" / "microcircuit.py"), "--target", "reference",
           "--out", str(tmp_path), "--", "--scale", "0.02", "--duration", "150"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rates, times = bench.parse_output(out.stdout)
    assert list(rates) == script.POPULATIONS and set(times) == {"build", "run"}
    assert "mapping (reference): exact" in out.stdout, out.stdout[-3000:]


def test_rates_are_compared_as_means_over_seeds():
    """The benchmark averages each simulator's runs, and the spread names how far one
    seed strays."""
    def run(sim, seed, l23e):
        return bench.Run(sim, 1.0, 1.0, 1.0, {"L23E": l23e, "L4E": 4.0}, seed, 1.0)

    runs = [run("neurocosim", 1, 0.5), run("neurocosim", 2, 0.7), run("nest", 1, 0.6)]
    ours = [r for r in runs if r.simulator == "neurocosim"]
    assert bench.mean_rates(ours) == pytest.approx({"L23E": 0.6, "L4E": 4.0})
    assert bench.seed_spread(ours) == pytest.approx({"L23E": 0.2 / 0.6, "L4E": 0.0})
    assert bench.print_comparison(runs, 0.10)
    assert not bench.print_comparison(runs + [run("neurocosim", 3, 1.0)], 0.10)


def test_loihi_refusal_of_the_full_scale_microcircuit_is_the_compilers():
    """benchmarks/compile.py skips loihi at scale 1 (L4I neurons have ~5600 distinct
    sources) and runs scale 0.25; the compiler does refuse a neuron with one source more
    than a core's input axons, naming that limit."""
    from neurocosim import hw
    from neurocosim.hw import ir
    from neurocosim.hw.errors import LimitError

    assert "L4I" in compile_bench.axon_refusal(1.0, "loihi")
    assert compile_bench.axon_refusal(0.25, "loihi") is None
    assert compile_bench.axon_refusal(1.0, "truenorth") is None    # no such limit named
    limit = hw.get_target("loihi").input_axons_per_core
    cell = dict(script.CELL, i_offset=0.0)
    pops = [ir.Population("src", limit + 1, "IF_curr_exp", dict(cell)),
            ir.Population("dst", 1, "IF_curr_exp", dict(cell))]
    k = limit + 1
    proj = ir.Projection("p", "src", "dst", np.arange(k), np.zeros(k, np.int64),
                         np.full(k, 0.01), np.full(k, 1.0), "excitatory")
    with pytest.raises(LimitError, match="input axons per core"):
        hw.compile(ir.Network(pops, [proj], timestep=script.DT), "loihi", n_chips=2)


def test_nest_draws_the_same_weight_and_delay_distributions_natively():
    """On pyNN.nest the projections are built by NEST's pairwise_bernoulli rule with
    weights and delays drawn by NEST (the script's NativeRNG for normal_clipped): per
    projection, the number of synapses, the weights' mean and relative sd, their sign,
    and the delays (whole 0.1 ms steps, at least one, rounded as the script's StepDelay
    rounds its draws) match the script's distributions within a few standard errors."""
    sim = pytest.importorskip("pyNN.nest")
    import nest

    args = script.parse_args(["nest", "--scale", "0.03", "--duration", "200"])
    sim.setup(timestep=script.DT, min_delay=script.DT, rng_seed=7)
    pops = script.build(sim, args)
    p = script.synapse_probability()
    w = script.mean_weights() / np.sqrt(args.scale) * 1000.0          # nA -> pA
    for t, s in [(0, 0), (0, 1), (0, 2), (3, 2)]:
        pre, post = pops[s], pops[t]
        conns = nest.GetConnections(pre.node_collection, post.node_collection)
        weights, delays = np.array(conns.weight), np.array(conns.delay)
        expected = p[t, s] * pre.size * post.size
        assert abs(weights.size - expected) < 5 * np.sqrt(expected), (pre.label, post.label)
        assert np.all(weights * w[t, s] > 0)
        assert abs(weights.mean() / w[t, s] - 1) < 5 * script.W_SD / np.sqrt(weights.size)
        assert weights.std() / abs(w[t, s]) == pytest.approx(script.W_SD, rel=0.05)
        mean, sd = script.DELAY[pre.label[-1]]
        ref = script.step_delays(sim, mean, sd, sim.NumpyRNG(seed=3)).next(200_000)
        steps = delays / script.DT
        assert np.all(np.abs(steps - np.round(steps)) < 1e-6) and steps.min() >= 1 - 1e-6
        assert abs(delays.mean() - ref.mean()) < 6 * sd / np.sqrt(delays.size)
        assert delays.std() == pytest.approx(ref.std(), rel=0.05)
    sim.end()


#: seeds of the scale-0.1 comparison: one seed's L5E rate strays by up to ~15 % on
#: either simulator (measured: NEST 5.70-6.33 Hz, neurocosim 5.48-6.37 over these three)
SEEDS = (2014, 1, 2)


@pytest.mark.heavy
def test_scale_0_1_rates_within_10_percent_of_nest():
    """Networks of the same statistics (NEST draws its own connections, weights and
    delays from the seed: a native connection rule) on the reference and on NEST with 2
    threads, 1 s, three seeds: every population's mean rate within 10 % of NEST's."""
    pytest.importorskip("pyNN.nest")
    ours = [bench.run_script("neurocosim", 0.1, 1000.0, seed=s) for s in SEEDS]
    peer = [bench.run_script("nest", 0.1, 1000.0, seed=s, threads=2) for s in SEEDS]
    mine, theirs = bench.mean_rates(ours), bench.mean_rates(peer)
    deviation = bench.rate_deviation(mine, theirs)
    assert max(deviation.values()) <= 0.10, (mine, theirs)


@pytest.mark.heavy
@pytest.mark.skipif(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") < 20 * 2**30,
                    reason="the full-scale microcircuit needs a machine of >= 20 GiB")
def test_full_scale_rates_near_published():
    """77,169 neurons, ~0.3e9 synapses, 1 s, under /tmp/bigmem.lock (one big job at a
    time on a shared machine): rates within a factor 1.5 of the published ones (ours has
    no multapses; see the script's docstring)."""
    with open("/tmp/bigmem.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = bench.run_script("neurocosim", 1.0, 1000.0)
    for name, rate in run.rates.items():
        assert PUBLISHED[name] / 1.5 <= rate <= PUBLISHED[name] * 1.5, (name, rate)
