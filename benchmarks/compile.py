"""Compile time at scale: the Potjans-Diesmann microcircuit compiled for the chip targets,
where the time goes per stage, peak memory, and how it grows with the synapse count.

    python benchmarks/compile.py [--scales 0.02,0.05,0.1] [--targets loihi,truenorth]
                                 [--limit-gib 18] [--timeout 900]

Each (scale, target) compiles in a fresh process (its peak RSS is its own). The network
is built directly as IR from examples/microcircuit.py's tables (8 populations of the
published sizes times `scale`, fixed in-degrees of the published synapse counts times
`scale`, so synapses grow as scale**2): PyNN's build is not timed here. Loihi gets as
many chips as the partition needs (multi-chip, side by side). Stages come from the
compiler's progress callback (hw.mapping.StageTimes): "ir" is building the network,
"other" what no stage covers (validation, the input report, routing arrays into the
image). The fitted exponent is the slope of log(seconds) against log(synapses). A scale
is not run, and its time and peak are extrapolated from the fit of the smaller ones,
when that fit predicts a peak over --limit-gib, or when the target must refuse it: on
loihi above scale ~0.7 the microcircuit's L2/3, L4I and L5E neurons have more distinct
sources than a core's 4096 input axons (scale 1: up to ~5600), which no partition fits."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from neurocosim import hw
from neurocosim.hw import ir
from neurocosim.hw.errors import LimitError
from neurocosim.hw.mapping import StageTimes


def load_example(name: str):
    """A script of examples/ as a module (its tables, without running it)."""
    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: the published tables, from the example (its PyNN build is not what is timed here)
MC = load_example("microcircuit")
STAGES = ("ir", "quantisation", "partition", "placement", "routing", "synapse memory",
          "other")


def sizes(scale: float) -> list[int]:
    return [max(1, round(int(s) * scale)) for s in MC.SIZES]


def in_degrees(scale: float) -> np.ndarray:
    """Synapses per target neuron from each source population: the example's synapse
    probability x the scaled source size (its expected in-degree)."""
    return np.rint(MC.synapse_probability() * np.asarray(sizes(scale))[None, :]).astype(int)


def microcircuit_ir(scale: float, seed: int = 1) -> ir.Network:
    """The microcircuit's populations and random fixed-in-degree projections as IR
    (mean weights and delays; no background: it adds no synapses between cores)."""
    rng = np.random.default_rng(seed)
    n, k_in = sizes(scale), in_degrees(scale)
    names = MC.POPULATIONS
    cell = dict(MC.CELL, i_offset=0.0)
    pops = [ir.Population(name, k, "IF_curr_exp", dict(cell)) for name, k in zip(names, n)]
    projs = []
    for t in range(8):
        for s in np.flatnonzero(k_in[t]):
            post = np.repeat(np.arange(n[t]), k_in[t, s])
            pre = rng.integers(0, n[s], post.size)
            kind = names[s][-1]
            w = abs(MC.mean_weights()[t, s])
            projs.append(ir.Projection(
                f"{names[s]}_{names[t]}", names[s], names[t], pre, post,
                np.full(pre.size, w), np.full(pre.size, MC.DELAY[kind][0]),
                "inhibitory" if kind == "I" else "excitatory"))
    return ir.Network(pops, projs, timestep=MC.DT)


def compile_once(scale: float, target: str) -> dict:
    """Build and compile one scale in this process: stage seconds, sizes, peak RSS."""
    t0 = time.perf_counter()
    net = microcircuit_ir(scale)
    t_ir = time.perf_counter() - t0
    synapses = net.summary()["synapses"]
    chips = max(1, math.ceil(synapses / 4000 / 128)) if target == "loihi" else 1
    while True:
        times = StageTimes()
        t0 = time.perf_counter()
        try:
            img = hw.compile(net, target, progress=times, n_chips=chips)
            break
        except LimitError as exc:          # more cores needed: that many chips, again
            if exc.limit != "cores":
                raise
            per_chip = hw.get_target(target).n_cores
            chips = math.ceil(int(exc.value) / per_chip)
    total = time.perf_counter() - t0
    stages = {"ir": t_ir}
    for name, sec in times.seconds.items():
        key = "partition" if name.startswith("partition") else name
        stages[key] = stages.get(key, 0.0) + sec
    stages["other"] = total - sum(v for k, v in stages.items() if k != "ir")
    m = img.data.get("mapping", {})
    return dict(scale=scale, target=target, synapses=synapses, neurons=net.size,
                cores=len(img.cores), chips=chips, total=total + t_ir, stages=stages,
                placement_cost=m.get("placement_cost"), sequential_cost=m.get("sequential_cost"),
                peak_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20)


def run_child(scale: float, target: str, timeout: float) -> dict | None:
    """compile_once in a fresh process (its own peak memory); None on failure."""
    cmd = [sys.executable, __file__, "--child", f"{scale}:{target}"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  {target} scale {scale}: over {timeout:.0f} s, stopped")
        return None
    if out.returncode != 0:
        why = out.stderr.strip().splitlines()[-1:] or [f"exit status {out.returncode}"]
        print(f"  {target} scale {scale}: failed: {why[0]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Slope and intercept of log y against log x."""
    slope, icpt = np.polyfit(np.log(xs), np.log(ys), 1)
    return float(slope), float(icpt)


def show(rows: list[dict]) -> None:
    print(f"  {'scale':>6} {'synapses':>11} {'cores':>6} {'chips':>5} "
          + " ".join(f"{s[:10]:>10}" for s in STAGES) + f" {'total s':>8} {'peak GiB':>8}")
    for r in rows:
        print(f"  {r['scale']:>6g} {r['synapses']:>11,} {r['cores']:>6} {r['chips']:>5} "
              + " ".join(f"{r['stages'].get(s, 0.0):>10.2f}" for s in STAGES)
              + f" {r['total']:>8.2f} {r['peak_gib']:>8.2f}")


def extrapolate(rows: list[dict], syn: int) -> "tuple[float, float] | None":
    """Peak GiB and total seconds at `syn` synapses from the fit of the scales run (None
    with fewer than two)."""
    if len(rows) < 2:
        return None
    xs = [r["synapses"] for r in rows]
    (m_a, m_b), (t_a, t_b) = fit(xs, [r["peak_gib"] for r in rows]), \
        fit(xs, [r["total"] for r in rows])
    return math.exp(m_b) * syn ** m_a, math.exp(t_b) * syn ** t_a


def bench(target: str, scales: list[float], limit_gib: float, timeout: float) -> None:
    print(f"{target}: Potjans-Diesmann microcircuit, compile time per stage (s)")
    rows: list[dict] = []
    for scale in scales:
        syn = microcircuit_synapses(scale)
        why = axon_refusal(scale, target)
        guess = extrapolate(rows, syn)
        if why is None and guess is not None and guess[0] > limit_gib:
            why = f"its peak would pass --limit-gib {limit_gib:g}"
        if why is not None:
            at = "" if guess is None else \
                f" (extrapolated: {guess[0]:.1f} GiB, {guess[1]:.0f} s)"
            print(f"  scale {scale:g}, {syn:,} synapses: not run, {why}{at}")
            continue
        r = run_child(scale, target, timeout)
        if r is not None:
            rows.append(r)
    show(rows)
    if len(rows) >= 2:
        syn = [r["synapses"] for r in rows]
        print(f"  growth: total time ~ synapses^{fit(syn, [r['total'] for r in rows])[0]:.2f}, "
              f"peak memory ~ synapses^{fit(syn, [r['peak_gib'] for r in rows])[0]:.2f}; "
              "per stage: " + ", ".join(
                  f"{s} ^{fit(syn, [max(r['stages'].get(s, 0.0), 1e-3) for r in rows])[0]:.2f}"
                  for s in STAGES[1:-1] if all(s in r["stages"] for r in rows)))


def distinct_fan_in(scale: float) -> np.ndarray:
    """Expected distinct presynaptic neurons of a neuron of each population in
    `microcircuit_ir(scale)` (k draws with replacement from N: N (1 - exp(-k / N)))."""
    n = np.asarray(sizes(scale), np.float64)[None, :]
    return (n * -np.expm1(-in_degrees(scale) / n)).sum(axis=1)


def axon_refusal(scale: float, target: str) -> "str | None":
    """Why `target` must refuse the microcircuit at `scale` before any compile: a neuron
    whose distinct sources exceed the input axons of a core fits no core (the partition's
    LimitError); None when every population fits (or the target names no such limit)."""
    limit = getattr(hw.get_target(target), "input_axons_per_core", None)
    if limit is None:
        return None
    fan = distinct_fan_in(scale)
    over = [f"{name} ~{f:.0f}" for name, f in zip(MC.POPULATIONS, fan) if f > limit]
    if not over:
        return None
    return (f"{target} refuses it: a neuron needs more input axons than a core has "
            f"({limit}): " + ", ".join(over))


def microcircuit_synapses(scale: float) -> int:
    """The synapse count `microcircuit_ir(scale)` builds, without building it."""
    return int(np.asarray(sizes(scale)) @ in_degrees(scale).sum(axis=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="0.02,0.05,0.1")
    ap.add_argument("--targets", default="loihi")
    ap.add_argument("--limit-gib", type=float, default=18.0,
                    help="run a scale only when its extrapolated peak is below this")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per compile")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        scale, target = args.child.split(":")
        print(json.dumps(compile_once(float(scale), target)))
        return
    for target in args.targets.split(","):
        bench(target, [float(s) for s in args.scales.split(",")], args.limit_gib,
              args.timeout)


if __name__ == "__main__":
    main()
