"""CUBA on the truenorth emulator (timing off and on) next to the float reference engine,
and the interconnect router kernel next to its pure-Python oracle.

    python benchmarks/truenorth.py [--n 1000] [--duration 1000] [--packets 20000]

Run times exclude compiling and JIT warm-up. The truenorth run maps CUBA onto 256-axon
cores (fan-in splits the population, fan-out makes neuron copies), drops the refractory
period and linearises the leak, so its rate differs from the float run: both are printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from networks import build_cuba  # noqa: E402

from neurocosim import hw  # noqa: E402
from neurocosim.emulator.interconnect import MeshCosts, route, route_oracle  # noqa: E402
from neurocosim.emulator.truenorth import Engine  # noqa: E402


def cuba(n: int, duration: float) -> None:
    net = build_cuba(n, timestep=1.0)
    t0 = time.perf_counter()
    img = hw.compile(net, "truenorth")
    t_compile = time.perf_counter() - t0
    m = img.data["mapping"]
    print(f"CUBA n={n}: compile {t_compile:.2f} s, {m['n_cores']} cores, "
          f"{m['fanout_copies']} fan-out copies, {m['input_axons']} input axons")
    fan = sum(p.size for p in net.projections) / n
    rows = {}
    for timing in (False, True):
        Engine(img, timing=timing).run(10.0)                 # JIT warm-up
        eng = Engine(img, timing=timing)
        t0 = time.perf_counter()
        eng.run(duration)
        res = eng.result()
        dt = time.perf_counter() - t0
        spikes = len(res.spikes["cuba"])
        rows[f"truenorth timing={timing}"] = (dt, spikes)
        if timing:
            tm = res.timing.metrics
            print(f"  mesh: {tm['packets']:.0f} packets, latency mean {tm['latency_mean_ns']:.1f}"
                  f" ns, max {tm['latency_max_ns']:.0f} ns, ISI distortion max "
                  f"{tm['isi_distortion_max_ns']:.0f} ns, disorder {tm['disorder']:.0f}, "
                  f"late {tm['packets_late']:.0f}, energy {tm['energy_total_pJ'] / 1e6:.2f} uJ")
    ref = hw.compile(net, "reference")
    hw.run(ref, 10.0)
    t0 = time.perf_counter()
    r = hw.run(ref, duration)
    rows["reference (float)"] = (time.perf_counter() - t0, len(r.spikes["cuba"]))
    base = rows["reference (float)"][0]
    for name, (dt, spikes) in rows.items():
        rate = spikes / n / (duration / 1000.0)
        print(f"  {name:24s} {dt:7.3f} s  x{dt / base:6.2f} of reference  "
              f"{rate:6.1f} Hz  {spikes * fan / dt:9.3g} synaptic events/s")


def router(n_packets: int) -> None:
    rng = np.random.default_rng(1)
    shape = (16, 16)
    xy = np.stack([rng.integers(0, 16, 64), rng.integers(0, 16, 64)], axis=1)
    src, dst = rng.integers(0, 64, n_packets), rng.integers(0, 64, n_packets)
    gen = np.sort(rng.uniform(0, n_packets * 2.0, n_packets))
    costs = MeshCosts(4.1, 6.5, 3.0, 4.2, inject_latency_ns=30.0)
    route(src[:10], dst[:10], gen[:10], xy, shape, costs)          # JIT warm-up
    t0 = time.perf_counter()
    fast = route(src, dst, gen, xy, shape, costs)
    t_fast = time.perf_counter() - t0
    k = min(n_packets, 5000)
    t0 = time.perf_counter()
    route_oracle(src[:k], dst[:k], gen[:k], xy, shape, costs)
    t_slow = (time.perf_counter() - t0) * n_packets / k
    print(f"router: {n_packets} packets, {fast.hops.sum()} hops on a 16x16 mesh: kernel "
          f"{n_packets / t_fast:.3g} packets/s, oracle {n_packets / t_slow:.3g} packets/s "
          f"(x{t_slow / t_fast:.1f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--packets", type=int, default=20000)
    a = ap.parse_args()
    router(a.packets)
    cuba(a.n, a.duration)


if __name__ == "__main__":
    main()
