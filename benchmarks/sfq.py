"""Benchmark of the SFQ pulse simulator: pulse events per second on >= 10^4-cell netlists,
against PyLSE on the same standard-cell netlist when PyLSE is available.

    python benchmarks/sfq.py [--pylse-path DIR] [--pulses N]

Two workloads:
  1. standard cells (splitter trees feeding JTL chains, >= 10^4 cells), run here and, in
     a subprocess, in PyLSE with the same delays; the output pulse times are compared and
     the events/s ratio printed;
  2. the neuromorphic target: a 100 -> 100 all-to-all rate-coded layer compiled for "sfq"
     (10^4 stochastic synapses plus splitter and merger trees), run through the runner.
PyLSE is not a dependency: install it from its source with --no-deps into a directory of
its own (pip install --no-deps --target DIR PyLSE/ PyLSE/third-party/pyuppaal) and pass
that directory; without it the script says so and runs only this simulator.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def standard_netlist(n_inputs: int = 8, leaves: int = 128, chain: int = 9):
    from neurocosim.hw.compile_sfq import Circuit
    c = Circuit()
    for i in range(n_inputs):
        x = c.input(f"x{i}")
        for k, w in enumerate(c.split(x, leaves)):
            for _ in range(chain):
                (w,) = c.add("jtl", w)
            c.probe(w, f"y{i}_{k}")
    return c.netlist()


def stimulus(n_inputs: int, pulses: int) -> list[list[float]]:
    return [list(np.round(20.0 + 50.0 * np.arange(pulses) + 3.1 * i, 3)) for i in range(n_inputs)]


def run_ours(nl, trains, fast: bool):
    from neurocosim.sim.sfq import Simulator
    from neurocosim.sim.sfq.fast import FastSimulator
    sim = (FastSimulator if fast else Simulator)(nl)
    for name, t in zip(nl.input_names, trains):
        sim.schedule(name, t)
    t0 = time.perf_counter()
    sim.run(max(max(t) for t in trains) + 1000.0)
    dt = time.perf_counter() - t0
    return sim.stats.events, dt, {k: v.tolist() for k, v in sim.probes().items()}


def pylse_worker(path: str) -> None:
    """Runs inside the subprocess: rebuild the netlist in PyLSE, simulate, report."""
    import pylse
    spec = json.load(open(path))
    pylse.working_circuit().reset()
    wires = {}
    t0 = time.perf_counter()
    for name, w, times in zip(spec["input_names"], spec["input_wires"], spec["trains"]):
        wires[w] = pylse.inp_at(*times, name=name)
    for kind, ins, outs in spec["cells"]:
        if kind == "jtl":
            wires[outs[0]] = pylse.jtl(wires[ins[0]], firing_delay=spec["jtl"])
        elif kind == "splitter":
            a, b = pylse.s(wires[ins[0]], firing_delay=spec["splitter"])
            wires[outs[0]], wires[outs[1]] = a, b
        else:
            raise SystemExit(f"no PyLSE mapping for {kind}")
    for name, w in zip(spec["probe_names"], spec["probe_wires"]):
        pylse.inspect(wires[w], name)
    build = time.perf_counter() - t0
    sim = pylse.Simulation()
    t0 = time.perf_counter()
    events = sim.simulate()
    dt = time.perf_counter() - t0
    json.dump({"seconds": dt, "build_seconds": build,
               "probes": {k: [round(t, 6) for t in v] for k, v in events.items()}},
              open(path + ".out", "w"))


def run_pylse(nl, trains, pylse_path: str, spec):
    cells = []
    for c in range(nl.n_cells):
        ins = np.flatnonzero(nl.wire_dst == c)[np.argsort(nl.wire_dst_port[nl.wire_dst == c])]
        outs = np.flatnonzero(nl.wire_src == c)[np.argsort(nl.wire_src_port[nl.wire_src == c])]
        cells.append((nl.kind_of(c), ins.tolist(), outs.tolist()))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.json")
        json.dump({"input_names": list(nl.input_names), "input_wires": nl.input_wires.tolist(),
                   "trains": trains, "cells": cells, "probe_names": list(nl.probe_names),
                   "probe_wires": nl.probe_wires.tolist(), "jtl": spec.jtl_delay_ps,
                   "splitter": spec.splitter_delay_ps}, open(path, "w"))
        env = dict(os.environ, PYTHONPATH=pylse_path)
        proc = subprocess.run([sys.executable, __file__, "--pylse-worker", path], env=env,
                              capture_output=True, text=True, cwd=tmp)
        if proc.returncode != 0:
            return None, proc.stderr.strip().splitlines()[-1:] or ["failed"]
        return json.load(open(path + ".out")), None


def neuromorphic(windows: float, engine: str):
    from neurocosim.hw import compiler
    from neurocosim.hw.ir import Network, PoissonSource, Population, Projection
    n = 100
    src = Population("in", n, "SpikeSourcePoisson",
                     params={"rate": 5000.0, "start": 0.0, "duration": 1e9})
    out = Population("out", n, "IF_curr_delta", params={
        "cm": 1.0, "tau_m": 1e9, "tau_refrac": 0.0, "v_rest": 0.0, "v_reset": 0.0,
        "v_thresh": 20.0, "i_offset": 0.0})
    pre, post = np.divmod(np.arange(n * n), n)
    w = np.random.default_rng(0).uniform(0.2, 0.9, n * n)
    net = Network(populations=[src, out],
                  projections=[Projection("all", "in", "out", pre, post, w, np.ones(n * n))],
                  stimuli=[PoissonSource("in")], seed=1)
    t0 = time.perf_counter()
    image = compiler.compile(net, "sfq")
    t_compile = time.perf_counter() - t0
    engine = compiler.runner_for(image)(image, engine=engine)
    t0 = time.perf_counter()
    engine.run(windows)
    dt = time.perf_counter() - t0
    res = engine.result()
    return image.data["netlist"], res, dt, t_compile


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="SFQ pulse simulator benchmark")
    ap.add_argument("--pylse-path", default=os.environ.get("PYLSE_PATH", "/tmp/pylse_pkg"))
    ap.add_argument("--pulses", type=int, default=30, help="pulses per input (workload 1)")
    ap.add_argument("--windows", type=float, default=2.0, help="windows (ms) of workload 2")
    ap.add_argument("--pylse-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.pylse_worker:
        pylse_worker(args.pylse_worker)
        return 0
    from neurocosim.hw.targets.sfq import SfqSpec
    spec = SfqSpec()

    nl = standard_netlist()
    trains = stimulus(len(nl.input_names), args.pulses)
    run_ours(standard_netlist(1, 2, 1), stimulus(1, 2), True)     # compile the kernel
    events, dt_py, ours = run_ours(nl, trains, False)
    events2, dt, ours2 = run_ours(nl, trains, True)
    assert events2 == events and ours2 == ours, "numba engine differs from the oracle"
    print(f"[1] standard cells: {nl.n_cells} cells {nl.counts()}, {events} pulse events")
    print(f"    neurocosim.sim.sfq numba: {dt:.3f} s, {events / dt:.3e} events/s")
    print(f"    neurocosim.sim.sfq python oracle: {dt_py:.3f} s, {events / dt_py:.3e} events/s")
    if os.path.isdir(os.path.join(args.pylse_path, "pylse")):
        peer, err = run_pylse(nl, trains, args.pylse_path, spec)
        if peer is None:
            print(f"    PyLSE failed: {err}")
        else:
            same = all(np.allclose(ours[k], peer["probes"][k], atol=1e-6) for k in ours)
            print(f"    PyLSE: {peer['seconds']:.3f} s, {events / peer['seconds']:.3e} events/s "
                  f"(build {peer['build_seconds']:.2f} s); output pulses identical: {same}")
            print(f"    speed ratio vs PyLSE: numba {peer['seconds'] / dt:.1f}x, "
                  f"python oracle {peer['seconds'] / dt_py:.1f}x")
    else:
        print(f"    PyLSE not found under {args.pylse_path}: no peer ratio (see the docstring "
              "for the --no-deps install)")

    for engine in ("numba", "python"):
        nl2, res, dt2, tc = neuromorphic(args.windows, engine)
        ev = res.timing.metrics["pulse_events"]
        if engine == "numba":
            print(f"[2] neuromorphic 100x100: {nl2.n_cells} cells {nl2.counts()}, compile "
                  f"{tc:.2f} s, energy {res.timing.metrics['energy_total_pJ']:.3e} pJ, dropped "
                  f"{res.timing.metrics['dropped_pulses']:.0f} pulses")
        print(f"    {engine}: {args.windows} windows ({args.windows * spec.window_ps:.0f} ps): "
              f"{ev:.0f} pulse events in {dt2:.3f} s = {ev / dt2:.3e} events/s "
              "(Engine.run: source pulses + event loop)")
    print("    (no PyLSE peer: it has no stochastic synapse or counting neuron)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
