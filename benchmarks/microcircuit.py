"""The Potjans-Diesmann microcircuit (examples/microcircuit.py) on neurocosim's reference
target and on NEST with 2 threads, each run in a subprocess of its own, so that its peak
RSS (PyNN's objects included) is its own:

    python benchmarks/microcircuit.py [--scale 0.1] [--duration 1000] [--repeats 1]
                                      [--seeds 2014,1,2] [--nest-threads 2]
                                      [--simulators neurocosim,nest,pynest]

Two NEST peers, labelled so in the output:

- `nest`: the script itself on pyNN.nest. The script hands pyNN.nest weights and delays
  drawn by NEST's RNGs, so PyNN builds each FixedProbabilityConnector by NEST's
  pairwise_bernoulli rule in C++; but pyNN.nest then reads every new connection's
  source back into Python (Projection._connect: GetConnections(...).sources()), 22 of
  its 40 s build at scale 0.1, and at full scale (0.3e9 connections) far more: not the
  figure to compare a build with at full scale;
- `pynest`: the same network built with PyNEST directly (this file's `pynest_main`,
  `python benchmarks/microcircuit.py pynest --scale S ...` alone): the script's
  populations, parameters, DC and initial potentials; a poisson_generator per population
  (an independent train to each neuron); nest.Connect pairwise_bernoulli with the
  script's p per pair of populations, weights normal(w, 10 %) redrawn outside the sign's
  half-line and delays normal redrawn below dt, which NEST rounds to whole 0.1 ms steps
  as the script's delays are rounded; a copy of static_synapse per source population
  (NEST holds at most 2**27 - 2 connections per thread and synapse model: with one
  model, 2 threads stop at ~268M of the full scale's 0.299e9). NEST's own speed, the
  peer of the issue's target. Full scale, 1 s, 2 threads, load ~2 (2026-12-05): build
  647 s, run 97.5 s, CPU 1,309 s, peak RSS 14.1 GiB, against neurocosim's 114 s, 305 s,
  359 s and 8.7 GiB (README, "Scale").

Prints, per simulator and run, the build time (setup to the first run(): populations and
projections), run time (every run(); neurocosim compiles its image and NEST prepares its
kernel inside the first), the process's CPU time (all threads; the fairer figure on a
shared machine), peak RSS and the rate of each population after the script's transient;
then, per NEST peer run, the ratios neurocosim / peer (best run of each) and whether
every population's rate, averaged over the seeds, is within --tolerance (10 %) of the
peer's. NEST draws its own network (connections, weights, delays) from the seed: the
same statistics as neurocosim's, not the same draws, nor the same background spikes;
one seed's rates stray by up to 10-15 % (L5E at scale 0.1, on either simulator), so a
fair check averages a few seeds. Scale 0.1, seeds 2014, 1, 2: every population's mean
rate within 2.3 % of pynest's and 1.9 % of nest's.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "microcircuit.py"
_RATE = re.compile(r"^(L\d+[EI]) (\d+(?:\.\d+)?) Hz$")
_TIME = re.compile(r"^(build|run) (\d+(?:\.\d+)?) s$")


@dataclass
class Run:
    """One run of the script: seconds, peak resident memory and rates (Hz)."""

    simulator: str
    build_s: float
    run_s: float
    peak_rss_mib: float
    rates: dict[str, float]
    seed: int = 0
    #: CPU seconds of the process, every thread (user + system): on a shared machine,
    #: where wall times depend on the other jobs, the work each simulator did
    cpu_s: float = 0.0


def parse_output(text: str) -> tuple[dict[str, float], dict[str, float]]:
    """The script's printed rates {population: Hz} and times {"build"|"run": s}; lines
    that are neither (simulator chatter) are skipped."""
    rates, times = {}, {}
    for line in text.splitlines():
        line = line.strip()
        if m := _RATE.match(line):
            rates[m[1]] = float(m[2])
        elif m := _TIME.match(line):
            times[m[1]] = float(m[2])
    return rates, times


def _environment() -> dict[str, str]:
    """This environment with OMP_WAIT_POLICY=PASSIVE unless it is set: OpenMP threads that
    spin at barriers (the default) slow NEST down by 10x or more when other processes
    share the cores; on an idle machine `OMP_WAIT_POLICY=ACTIVE` gives NEST's best."""
    return {"OMP_WAIT_POLICY": "PASSIVE", **os.environ}


def _script_module():
    """examples/microcircuit.py as a module: its tables and functions, for the PyNEST peer."""
    spec = importlib.util.spec_from_file_location("microcircuit_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pynest_populations(nest, mc, args: argparse.Namespace) -> tuple[list, list]:
    """The script's populations as iaf_psc_exp (its IF_curr_exp parameters in NEST's
    units, its DC per population, V_m normal(-58, 10) mV) with a spike recorder each, and
    the Poisson background: one poisson_generator per population, all-to-all (NEST sends
    each target a train of its own, as the script's generator per neuron does)."""
    c, dc = mc.CELL, mc.dc_inputs(args.scale, args.background)
    w_factor = 1.0 / np.sqrt(args.scale)
    pops, recorders = [], []
    for i, size in enumerate(mc.SIZES):
        pop = nest.Create("iaf_psc_exp", max(1, int(round(size * args.scale))), params=dict(
            C_m=c["cm"] * 1e3, tau_m=c["tau_m"], tau_syn_ex=c["tau_syn_E"],
            tau_syn_in=c["tau_syn_I"], t_ref=c["tau_refrac"], E_L=c["v_rest"],
            V_reset=c["v_reset"], V_th=c["v_thresh"], I_e=float(dc[i]) * 1e3,
            V_m=nest.random.normal(mean=mc.V0[0], std=mc.V0[1])))
        recorder = nest.Create("spike_recorder")
        nest.Connect(pop, recorder)
        if args.background == "poisson":
            source = nest.Create("poisson_generator",
                                 params={"rate": mc.BG_RATE * mc.K_EXT[i] * args.scale})
            nest.Connect(source, pop, "all_to_all", {"weight": mc.W_EXC * w_factor * 1e3,
                                                     "delay": mc.DELAY["E"][0]})
        pops.append(pop)
        recorders.append(recorder)
    return pops, recorders


def _pynest_connect(nest, mc, pops: list, scale: float) -> None:
    """The script's projections by NEST's pairwise_bernoulli rule: the same p (autapses
    allowed, no multapses, as FixedProbabilityConnector), weights normal(w, 10 % of w)
    redrawn outside (0, inf) or (-inf, 0) as PyNN's normal_clipped redraws, delays
    normal redrawn below dt, which NEST rounds to whole steps as the script's StepDelay
    does (halves up). A static_synapse copy per source population: NEST holds at most
    2**27 - 2 connections per virtual process and synapse model, and the full-scale
    circuit's 0.299e9 over 2 threads are more (KernelException "Too many connections",
    after 37 minutes of building); per source population they are at most 93M."""
    p, w = mc.synapse_probability(), mc.mean_weights() * 1e3 / np.sqrt(scale)   # pA
    for name in mc.POPULATIONS:
        nest.CopyModel("static_synapse", f"static_from_{name}")
    for t, post in enumerate(pops):
        for s, pre in enumerate(pops):
            if p[t, s] <= 0:
                continue
            mean, sd = mc.DELAY[mc.POPULATIONS[s][-1]]
            low, high = (0.0, np.inf) if w[t, s] > 0 else (-np.inf, 0.0)
            weight = nest.math.redraw(nest.random.normal(mean=w[t, s],
                                                         std=abs(w[t, s]) * mc.W_SD),
                                      min=low, max=high)
            delay = nest.math.redraw(nest.random.normal(mean=mean, std=sd),
                                     min=mc.DT, max=np.inf)
            nest.Connect(pre, post, {"rule": "pairwise_bernoulli", "p": float(p[t, s]),
                                     "allow_autapses": True, "allow_multapses": False},
                         {"synapse_model": f"static_from_{mc.POPULATIONS[s]}",
                          "weight": weight,
                          "delay": delay})


def pynest_main(argv: list[str]) -> None:
    """The PyNEST peer: the script's network built with PyNEST directly (its options;
    --threads: NEST's local_num_threads), printing what the script prints. pyNN.nest
    connects it in C++ too (the script hands it NEST-drawn distributions) but then reads
    every connection's source back into Python (Projection._connect), which is most of
    its build time."""
    import nest

    mc = _script_module()
    args = mc.parse_args(["nest", *argv])
    t0 = time.perf_counter()
    nest.ResetKernel()
    nest.set(resolution=mc.DT, rng_seed=args.seed, local_num_threads=args.threads or 1,
             print_time=False)
    pops, recorders = _pynest_populations(nest, mc, args)
    _pynest_connect(nest, mc, pops, args.scale)
    t1 = time.perf_counter()
    nest.Simulate(mc.TRANSIENT_MS)
    before = [r.n_events for r in recorders]
    nest.Simulate(args.duration - mc.TRANSIENT_MS)
    t2 = time.perf_counter()
    seconds = (args.duration - mc.TRANSIENT_MS) / 1000.0
    for name, pop, rec, n0 in zip(mc.POPULATIONS, pops, recorders, before):
        print(f"{name} {(rec.n_events - n0) / (len(pop) * seconds):.2f} Hz")
    print(f"build {t1 - t0:.2f} s")
    print(f"run {t2 - t1:.2f} s")


def run_script(simulator: str, scale: float, duration: float, seed: int = 2014,
               threads: "int | None" = None, background: str = "poisson") -> Run:
    """Run examples/microcircuit.py (or, for "pynest", this file's PyNEST peer) in a
    subprocess; its own peak RSS from wait4."""
    program = [str(Path(__file__).resolve()), "pynest"] if simulator == "pynest" else \
        [str(SCRIPT), simulator]
    cmd = [sys.executable, *program, "--scale", str(scale),
           "--duration", str(duration), "--seed", str(seed), "--background", background]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=_environment())
        _, status, usage = os.wait4(proc.pid, 0)   # this child's own rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    rates, times = parse_output(stdout)
    if len(rates) != 8 or set(times) != {"build", "run"}:
        raise RuntimeError(f"unexpected output of {' '.join(cmd)}:\n{stdout[-3000:]}")
    return Run(simulator, times["build"], times["run"], usage.ru_maxrss / 1024.0, rates,
               seed, usage.ru_utime + usage.ru_stime)


def rate_deviation(rates: dict[str, float], peer: dict[str, float]) -> dict[str, float]:
    """|rate / peer rate - 1| per population (inf where the peer is silent and we are not)."""
    out = {}
    for name, r in rates.items():
        p = peer[name]
        out[name] = abs(r / p - 1.0) if p > 0 else (0.0 if r == 0 else float("inf"))
    return out


def print_runs(runs: list[Run]) -> None:
    """One row per run: times, peak RSS, rates."""
    names = list(runs[0].rates)
    print(f"{'simulator':<12}{'seed':>6}{'build s':>9}{'run s':>9}{'CPU s':>9}{'RSS MiB':>9}  "
          + " ".join(f"{n:>6}" for n in names))
    for r in runs:
        print(f"{r.simulator:<12}{r.seed:>6}{r.build_s:9.2f}{r.run_s:9.2f}{r.cpu_s:9.2f}"
              f"{r.peak_rss_mib:9.0f}  " + " ".join(f"{r.rates[n]:6.2f}" for n in names))


def mean_rates(runs: list[Run]) -> dict[str, float]:
    """Each population's rate averaged over `runs` (seeds and repeats)."""
    return {n: sum(r.rates[n] for r in runs) / len(runs) for n in runs[0].rates}


def seed_spread(runs: list[Run]) -> dict[str, float]:
    """(max - min) / mean of each population's rate over the runs of different seeds:
    how far one seed's rates stray (0 with a single seed)."""
    by_seed: dict[int, list[Run]] = {}
    for r in runs:
        by_seed.setdefault(r.seed, []).append(r)
    means = [mean_rates(rs) for rs in by_seed.values()]
    out = {}
    for n in means[0]:
        vals = [m[n] for m in means]
        avg = sum(vals) / len(vals)
        out[n] = (max(vals) - min(vals)) / avg if avg > 0 else 0.0
    return out


def print_comparison(runs: list[Run], tolerance: float, peer_name: str = "nest") -> bool:
    """Ratios of neurocosim's best run (least build + run time) to `peer_name`'s best run
    and the rate check on the rates averaged over the seeds; True when every population
    is within."""
    ours = [r for r in runs if r.simulator == "neurocosim"]
    peer = [r for r in runs if r.simulator == peer_name]
    a, b = (min(rs, key=lambda r: r.build_s + r.run_s) for rs in (ours, peer))
    print(f"\nneurocosim / {peer_name} (best runs): build {a.build_s / b.build_s:.2f}x, "
          f"run {a.run_s / b.run_s:.2f}x, CPU {a.cpu_s / b.cpu_s:.2f}x, peak RSS "
          f"{a.peak_rss_mib / b.peak_rss_mib:.2f}x (below 1: neurocosim less)")
    mine, theirs = mean_rates(ours), mean_rates(peer)
    seeds = sorted({r.seed for r in runs})
    if len(seeds) > 1:
        print("seed-to-seed spread of the rates, (max - min) / mean, "
              f"neurocosim | {peer_name}: "
              + ", ".join(f"{n} {x:.0%} | {y:.0%}" for (n, x), y in
                          zip(seed_spread(ours).items(), seed_spread(peer).values())))
    dev = rate_deviation(mine, theirs)
    print(f"rate / {peer_name} rate - 1 (mean over seeds {', '.join(map(str, seeds))}): "
          + ", ".join(f"{n} {(mine[n] / theirs[n] - 1) * 100:+.1f}%" if theirs[n] > 0
                      else f"{n} ({peer_name} silent)" for n in dev))
    within = all(d <= tolerance for d in dev.values())
    print(f"every population within {tolerance:.0%} of {peer_name}: "
          f"{'yes' if within else 'no'}")
    return within


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--duration", type=float, default=1000.0, help="ms")
    ap.add_argument("--repeats", type=int, default=1, help="runs per simulator and seed")
    ap.add_argument("--seeds", default="2014",
                    help="comma-separated seeds; the rates compared are their mean")
    ap.add_argument("--nest-threads", type=int, default=2)
    ap.add_argument("--simulators", default="neurocosim,nest",
                    help="comma-separated: neurocosim, nest (pyNN.nest on the script), "
                         "pynest (the network built with PyNEST directly)")
    ap.add_argument("--tolerance", type=float, default=0.10)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"microcircuit at scale {args.scale}, {args.duration:g} ms, seeds {args.seeds}; "
          f"NEST with {args.nest_threads} threads, OMP_WAIT_POLICY="
          f"{_environment()['OMP_WAIT_POLICY']}", flush=True)
    runs: list[Run] = []
    for _ in range(args.repeats):
        for seed in seeds:
            for simulator in args.simulators.split(","):
                threads = None if simulator == "neurocosim" else args.nest_threads
                runs.append(run_script(simulator, args.scale, args.duration, seed, threads))
                print_runs(runs[-1:])
    print()
    print_runs(runs)
    simulators = {r.simulator for r in runs}
    if "neurocosim" not in simulators:
        return 0
    within = [print_comparison(runs, args.tolerance, peer) for peer in ("nest", "pynest")
              if peer in simulators]
    return 0 if all(within) else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["pynest"]:
        pynest_main(sys.argv[2:])
        sys.exit(0)
    sys.exit(main())
