"""Both cores (issue 16 item 3): CUBA-40000 (40,000 IF_curr_exp cells, mean fan-out 80:
3.2M synapses) on the reference engine (1 s at dt 0.1 ms) and on the loihi emulator (1 s
at dt 1 ms, timing off and on), on 1 thread and on 2, with the spikes checked identical.

    python benchmarks/threads.py [--n 40000] [--duration 1000] [--repeat 3]
                                 [--engines reference,loihi] [--threads 1,2] [--no-cost]

With more than one thread the engine times its serial and its parallel kernel against
each other on chunks of steps and runs the faster (`hw.jit.KernelChoice`): the share of
steps that ran on the parallel kernel is printed. Run time is wall-clock time of run() (CPU time would add the threads' times up),
excluding building, compiling and Numba's JIT (a warm-up run of each kernel first). The
thread counts run in turn, round after round (1 2 1 2 ...), so that a drift of the
machine's speed hits both; the best and the median of the rounds are printed, with the
load average before each round: when other processes share the cores, a parallel kernel
waits at each step's barrier for a thread the system has not scheduled, and the ratio
says little. So each engine's two kernels are also run on one thread each, in turn
(`KernelChoice.force`; the parallel kernel with its parts, on one thread): the cost
ratio parallel/serial, wall and CPU time, is the work the split adds, which load
changes less; 2 / that ratio bounds the speed-up on two idle cores.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emulator import compile_fitting  # noqa: E402
from networks import build_cuba  # noqa: E402


def _spikes(result) -> tuple[np.ndarray, np.ndarray]:
    """Every spike of the result as (ids, times), populations in name order."""
    ids = [sp.ids for _, sp in sorted(result.spikes.items())]
    times = [sp.times for _, sp in sorted(result.spikes.items())]
    return np.concatenate(ids), np.concatenate(times)


def time_runs(make, duration: float, threads: list[int], repeat: int) -> dict:
    """Wall seconds of run(duration) per thread count over `repeat` rounds, after one
    warm-up run of each; the spikes of every count compared with the first's."""
    for th in threads:
        make(th).run(duration / 100)
    times: dict[int, list[float]] = {th: [] for th in threads}
    spikes, same, loads, share = {}, True, [], {th: [] for th in threads}
    for _ in range(repeat):
        loads.append(os.getloadavg()[0])
        for th in threads:
            eng = make(th)
            t0 = time.perf_counter()
            eng.run(duration)
            times[th].append(time.perf_counter() - t0)
            ran = eng._choice.ran
            share[th].append(ran[1] / max(sum(ran), 1))
            sp = _spikes(eng.result())
            spikes.setdefault(th, sp)
            ref = spikes[threads[0]]
            same &= all(np.array_equal(a, b) for a, b in zip(sp, ref))
    return {"times": times, "spikes": len(spikes[threads[0]][0]), "same": same,
            "loads": loads, "share": share}


def kernel_costs(make, duration: float, repeat: int) -> dict:
    """Wall and CPU seconds of run(duration) on the serial kernel and on the parallel
    kernel run on one thread (`make` builds an engine with its parallel parts, whose
    workers are then set to one, which runs the parts in turn), in turn."""
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    for rnd in range(repeat + 1):                        # round 0: warm-up
        for parallel in (False, True):
            eng = make()
            eng._choice.force = parallel
            eng._workers = 1
            t0, c0 = time.perf_counter(), time.process_time()
            eng.run(duration if rnd else duration / 100)
            if rnd:
                wall[parallel].append(time.perf_counter() - t0)
                cpu[parallel].append(time.process_time() - c0)
            assert eng._choice.ran[int(not parallel)] == 0
    return {"wall": [p / s for s, p in zip(wall[False], wall[True])],
            "cpu": [p / s for s, p in zip(cpu[False], cpu[True])],
            "serial": wall[False]}


def report_costs(name: str, c: dict) -> None:
    """The per-round cost ratios parallel kernel (one thread) / serial kernel."""
    print(f"{name}: one thread, parallel kernel / serial kernel: wall median "
          f"{statistics.median(c['wall']):.3f} (rounds {' '.join(f'{x:.3f}' for x in c['wall'])}), "
          f"CPU median {statistics.median(c['cpu']):.3f} (rounds "
          f"{' '.join(f'{x:.3f}' for x in c['cpu'])}); serial kernel median "
          f"{statistics.median(c['serial']):.3f} s; load average {os.getloadavg()[0]:.1f}")


def report(name: str, r: dict, threads: list[int]) -> None:
    """Per thread count best and median, and the ratios to the first count."""
    base = r["times"][threads[0]]
    print(f"{name}: {r['spikes']} spikes, identical on {threads}: {r['same']}; "
          f"load average before the rounds {', '.join(f'{x:.1f}' for x in r['loads'])}")
    for th in threads:
        t = r["times"][th]
        print(f"  {th} thread(s): best {min(t):.3f} s, median {statistics.median(t):.3f} s, "
              f"runs {' '.join(f'{x:.3f}' for x in t)}; speed-up best "
              f"{min(base) / min(t):.2f}x, median "
              f"{statistics.median(base) / statistics.median(t):.2f}x, per round "
              f"{' '.join(f'{a / b:.2f}' for a, b in zip(base, t))}; steps on the "
              f"parallel kernel {' '.join(f'{x:.0%}' for x in r['share'][th])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40000)
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", default="reference,loihi")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--no-cost", action="store_true",
                    help="skip the one-thread cost ratio of the two kernels")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    engines = args.engines.split(",")
    p = 0.02 * 4000 / args.n                      # mean fan-out 80, as CUBA-4000
    if "reference" in engines:
        from neurocosim.sim.reference import Engine
        net = build_cuba(n=args.n, timestep=0.1, p_connect=p)
        syn = sum(pr.size for pr in net.projections)
        print(f"CUBA {args.n} neurons, {syn} synapses, {args.duration:g} ms at dt 0.1 ms")
        r = time_runs(lambda th: Engine(net, threads=th), args.duration, threads,
                      args.repeat)
        report("reference", r, threads)
        if not args.no_cost:
            report_costs("reference", kernel_costs(lambda: Engine(net, threads=2),
                                                   args.duration, args.repeat))
    if "loihi" in engines:
        from neurocosim.emulator.loihi import Engine as Loihi
        net = build_cuba(n=args.n, timestep=1.0, p_connect=p)
        image, chips, _ = compile_fitting(net)
        print(f"CUBA {args.n} neurons on loihi ({chips} chips), {args.duration:g} ms at "
              "dt 1 ms")
        for timing in (False, True):
            r = time_runs(lambda th: Loihi(image, timing=timing, threads=th),
                          args.duration, threads, args.repeat)
            report(f"loihi timing {'on' if timing else 'off'}", r, threads)
        if not args.no_cost:
            report_costs("loihi timing off", kernel_costs(
                lambda: Loihi(image, timing=False, threads=2), args.duration, args.repeat))


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"(benchmark took {time.perf_counter() - t:.0f} s; {os.cpu_count()} cores, "
          f"{math.nan if not hasattr(os, 'getloadavg') else os.getloadavg()[0]:.1f} "
          "load average at the end)")
