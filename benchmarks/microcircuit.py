"""The Potjans-Diesmann microcircuit (examples/microcircuit.py) on neurocosim's reference
target and on NEST with 2 threads, each run in a subprocess of its own, so that its peak
RSS (PyNN's objects included) is its own:

    python benchmarks/microcircuit.py [--scale 0.1] [--duration 1000] [--repeats 1]
                                      [--seeds 2014,1,2] [--nest-threads 2]
                                      [--simulators neurocosim,nest]

Prints, per simulator and run, the script's build time (setup to the first run(): PyNN
populations and projections), run time (every run(); neurocosim compiles its image and
NEST prepares its kernel inside the first), the process's CPU time (all threads; the
fairer figure on a shared machine), peak RSS and the rate of each population after the
script's transient; then the ratios neurocosim / NEST (best run of each) and whether
every population's rate, averaged over the seeds, is within --tolerance (10 %) of NEST's.
Both draw the same network from a seed (PyNN's connectors and the script's RNGs) but not
the same background Poisson spikes; one seed's rates stray by up to 10-15 % (L5E at scale
0.1, on either simulator), so a fair check averages a few seeds.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

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


def run_script(simulator: str, scale: float, duration: float, seed: int = 2014,
               threads: "int | None" = None, background: str = "poisson") -> Run:
    """Run examples/microcircuit.py in a subprocess; its own peak RSS from wait4."""
    cmd = [sys.executable, str(SCRIPT), simulator, "--scale", str(scale),
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


def print_comparison(runs: list[Run], tolerance: float) -> bool:
    """Ratios of each simulator's best run (least build + run time) and the rate check on
    the rates averaged over the seeds; True when every population is within."""
    ours = [r for r in runs if r.simulator == "neurocosim"]
    peer = [r for r in runs if r.simulator == "nest"]
    a, b = (min(rs, key=lambda r: r.build_s + r.run_s) for rs in (ours, peer))
    print(f"\nneurocosim / NEST (best runs): build {a.build_s / b.build_s:.2f}x, "
          f"run {a.run_s / b.run_s:.2f}x, CPU {a.cpu_s / b.cpu_s:.2f}x, peak RSS "
          f"{a.peak_rss_mib / b.peak_rss_mib:.2f}x (below 1: neurocosim less)")
    mine, theirs = mean_rates(ours), mean_rates(peer)
    seeds = sorted({r.seed for r in runs})
    if len(seeds) > 1:
        print("seed-to-seed spread of the rates, (max - min) / mean, neurocosim | NEST: "
              + ", ".join(f"{n} {x:.0%} | {y:.0%}" for (n, x), y in
                          zip(seed_spread(ours).items(), seed_spread(peer).values())))
    dev = rate_deviation(mine, theirs)
    print(f"rate / NEST rate - 1 (mean over seeds {', '.join(map(str, seeds))}): "
          + ", ".join(f"{n} {(mine[n] / theirs[n] - 1) * 100:+.1f}%" if theirs[n] > 0
                      else f"{n} (NEST silent)" for n in dev))
    within = all(d <= tolerance for d in dev.values())
    print(f"every population within {tolerance:.0%} of NEST: {'yes' if within else 'no'}")
    return within


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--duration", type=float, default=1000.0, help="ms")
    ap.add_argument("--repeats", type=int, default=1, help="runs per simulator and seed")
    ap.add_argument("--seeds", default="2014",
                    help="comma-separated seeds; the rates compared are their mean")
    ap.add_argument("--nest-threads", type=int, default=2)
    ap.add_argument("--simulators", default="neurocosim,nest")
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
                threads = args.nest_threads if simulator == "nest" else None
                runs.append(run_script(simulator, args.scale, args.duration, seed, threads))
                print_runs(runs[-1:])
    print()
    print_runs(runs)
    if {"neurocosim", "nest"} <= {r.simulator for r in runs}:
        return 0 if print_comparison(runs, args.tolerance) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
