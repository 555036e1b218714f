"""The whole CUBA PyNN script (construction + 1 s run at dt 0.1 ms) on neurocosim's
reference target and on pyNN.nest, each in a fresh subprocess, timed the same way.

    python benchmarks/cuba_pynn.py [--n 4000] [--simulators neurocosim,nest]

Prints build and run seconds for each, and the ratio of the whole-script times.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

SCRIPT = r'''
import json, sys, time
t0 = time.perf_counter()
simname, n = sys.argv[1], int(sys.argv[2])
import importlib
sim = importlib.import_module("pyNN." + simname)
extra = {"spike_precision": "on_grid"} if simname == "nest" else {}
sim.setup(timestep=0.1, min_delay=0.1, **extra)
t_import = time.perf_counter()
n_exc = int(n * 0.8)
rng = sim.NumpyRNG(seed=2026)
cell = sim.IF_curr_exp(cm=0.2, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, tau_refrac=5.0,
                       v_rest=-49.0, v_reset=-60.0, v_thresh=-50.0, i_offset=0.0)
cells = sim.Population(n, cell, label="cuba")
cells.initialize(v=sim.RandomDistribution("uniform", (-60.0, -50.0), rng=rng))
exc, inh = cells[:n_exc], cells[n_exc:]
conn = sim.FixedProbabilityConnector(0.02, rng=rng)
sim.Projection(exc, cells, conn, sim.StaticSynapse(weight=0.0162, delay=0.1),
               receptor_type="excitatory")
sim.Projection(inh, cells, conn, sim.StaticSynapse(weight=-0.09, delay=0.1),
               receptor_type="inhibitory")
cells.record("spikes")
t_build0 = time.perf_counter()
sim.run(1000.0)
t_run = time.perf_counter()
spikes = sum(cells.get_spike_counts().values())
sim.end()
t_end = time.perf_counter()
print(json.dumps({"import": t_import - t0, "build": t_build0 - t_import,
                  "run": t_run - t_build0, "total": t_end - t0, "spikes": spikes}))
'''


def measure(simulator: str, n: int) -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, simulator, str(n)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{simulator} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--simulators", default="neurocosim,nest")
    args = ap.parse_args()
    rows = {}
    for name in args.simulators.split(","):
        measure(name, 200)   # warm caches (Numba, NEST modules) outside the measurement
        rows[name] = measure(name, args.n)
        r = rows[name]
        print(f"{name:>11}: import {r['import']:.2f} s, build {r['build']:.2f} s, "
              f"run {r['run']:.2f} s, whole script {r['total']:.2f} s, {r['spikes']} spikes")
    if "neurocosim" in rows and "nest" in rows:
        a, b = rows["neurocosim"], rows["nest"]
        print(f"whole script: neurocosim is {b['total'] / a['total']:.2f}x faster than "
              f"pyNN.nest (build+run {b['build'] + b['run']:.2f} s vs "
              f"{a['build'] + a['run']:.2f} s: {(b['build'] + b['run']) / (a['build'] + a['run']):.2f}x)")


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"(benchmark took {time.perf_counter() - t:.0f} s)")
