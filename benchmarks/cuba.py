"""CUBA (Vogels-Abbott, 4000 IF_curr_exp cells, ~320k synapses, 1 s at dt 0.1 ms) on the
reference engine, Brian2 2.9 cpp_standalone (no OpenMP) and NEST 3.10 (iaf_psc_exp, one
thread): the same connections, weights and initial v in all three.

    python benchmarks/cuba.py [--n 4000] [--duration 1000] [--simulators reference,brian2,nest]

Run time is CPU time of the simulation loop (Brian2's binary measures its run with
std::clock, so all three are measured the same way; the machine may be shared) and
excludes building (and Brian2's compilation, and Numba's JIT via a warm-up run). The
reference (before and after the peers) and Brian2's compiled binary run --repeat times and
the best time is kept (NEST runs once). events/s = spikes x mean fan-out / run seconds.
Brian2 and NEST run in subprocesses; their spike trains are compared with the reference's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from networks import build_cuba  # noqa: E402
from peers import export_cuba, run_brian2, run_nest  # noqa: E402

def run_reference(net, duration: float, repeat: int) -> dict:
    from neurocosim.sim.reference import Engine
    warm = Engine(build_cuba(n=200, timestep=net.timestep))   # JIT / cache load
    warm.run(1.0)
    best = float("inf")
    for _ in range(repeat):
        eng = Engine(net)
        t0 = time.process_time()
        eng.run(duration)
        best = min(best, time.process_time() - t0)
        sp = eng.result().spikes["cuba"]
    return {"run": best, "spikes": len(sp), "trains": (sp.ids, sp.times)}


def _same_spikes(a, b, dt: float) -> int:
    """How many (neuron, step) pairs of `a` also occur in `b`."""
    def key(ids, times):
        return set(zip(ids.tolist(), np.rint(times / dt).astype(int).tolist()))
    return len(key(*a) & key(*b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--repeat", type=int, default=7,
                    help="runs of the reference and of Brian2's binary (best is kept)")
    ap.add_argument("--simulators", default="reference,brian2,nest")
    args = ap.parse_args()
    net = build_cuba(n=args.n)
    syn = sum(p.size for p in net.projections)
    fan_out = syn / args.n
    print(f"CUBA: {args.n} neurons, {syn} synapses (mean fan-out {fan_out:.1f}), "
          f"{args.duration:g} ms at dt {net.timestep} ms")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        npz = export_cuba(net, tmp)
        for name in args.simulators.split(","):
            if name == "reference":
                rows[name] = run_reference(net, args.duration, args.repeat)
            elif name == "brian2":
                rows[name] = run_brian2(npz, args.duration, tmp, args.repeat)
            elif name == "nest":
                rows[name] = run_nest(npz, args.duration, tmp)
            else:
                raise SystemExit(f"unknown simulator {name!r}")
            r = rows[name]
            r["events_per_s"] = r["spikes"] * fan_out / r["run"]
            print(f"{name:>10}: run {r['run']:.3f} s, {r['spikes']} spikes "
                  f"({r['spikes'] / args.n / args.duration * 1000:.1f} Hz), "
                  f"{r['events_per_s']:.3g} synaptic events/s")
    ref = rows.get("reference")
    if ref and len(rows) > 1:    # once more after the peers: load on a shared machine varies
        again = run_reference(net, args.duration, args.repeat)
        if again["run"] < ref["run"]:
            ref.update(again, events_per_s=again["spikes"] * fan_out / again["run"])
        print(f"{'reference':>10}: best run {ref['run']:.3f} s over both rounds, "
              f"{ref['events_per_s']:.3g} synaptic events/s")
    for peer in ("brian2", "nest"):
        if ref and peer in rows:
            same = _same_spikes(ref["trains"], rows[peer]["trains"], net.timestep)
            print(f"reference / {peer}: {rows[peer]['run'] / ref['run']:.2f}x faster "
                  f"(events/s ratio {ref['events_per_s'] / rows[peer]['events_per_s']:.2f}); "
                  f"{same} of {ref['spikes']} reference spikes have an identical "
                  f"(neuron, time) in {peer}")


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"(benchmark took {time.perf_counter() - t:.0f} s)")
