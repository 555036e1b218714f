"""CUBA (4000 IF_curr_exp, ~320k synapses, 1 s at dt 1 ms) on the loihi emulator, timing
off and on, next to the float reference engine, Brian2 2.9 cpp_standalone (no OpenMP) and
NEST 3.10 (one thread), all at dt 1 ms on the same connections and initial v; then the
40,000-neuron / 3.2M-synapse CUBA on a multi-chip loihi target.

    python benchmarks/emulator.py [--n 4000] [--duration 1000] [--peers reference,brian2,nest]
                                  [--big 40000] [--repeat 3]

Run time excludes building, compiling and JIT warm-up; events/s = spikes x mean fan-out /
run seconds. The loihi run quantises the network (integer state, 8-bit weights, input in
the step it arrives), so it fires at a different rate than the float run: both are printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from networks import build_cuba  # noqa: E402

from neurocosim import hw  # noqa: E402

BRIAN2 = r'''
import json, sys, numpy as np
import brian2 as b2
from brian2 import ms, mV, nA, nF
data = np.load(sys.argv[1]); duration = float(sys.argv[2]); workdir = sys.argv[3]
b2.set_device("cpp_standalone", directory=workdir)
b2.prefs.devices.cpp_standalone.openmp_threads = 0
dt = float(data["dt"])
b2.defaultclock.dt = dt * ms
n = int(data["n"])
eqs = """dv/dt = (v_rest - v)/tau_m + (ie - ii)/c_m : volt (unless refractory)
die/dt = -ie/tau_e : amp
dii/dt = -ii/tau_i : amp"""
ns = dict(v_rest=-49*mV, tau_m=20*ms, c_m=0.2*nF, tau_e=5*ms, tau_i=10*ms,
          v_thresh=-50*mV, v_reset=-60*mV)
G = b2.NeuronGroup(n, eqs, threshold="v >= v_thresh", reset="v = v_reset",
                   refractory=5 * ms, method="exact", namespace=ns)
G.v = data["v0"] * mV
se = b2.Synapses(G, G, on_pre="ie_post += %r*nA" % float(data["w_exc"]), delay=dt*ms)
se.connect(i=data["exc_pre"], j=data["exc_post"])
si = b2.Synapses(G, G, on_pre="ii_post += %r*nA" % float(data["w_inh"]), delay=dt*ms)
si.connect(i=data["inh_pre"], j=data["inh_post"])
mon = b2.SpikeMonitor(G)
b2.run(duration * ms)
print(json.dumps({"run": b2.device._last_run_time, "spikes": int(mon.num_spikes)}))
'''

NEST = r'''
import json, sys, time, numpy as np
import nest
data = np.load(sys.argv[1]); duration = float(sys.argv[2])
nest.set_verbosity("M_ERROR")
nest.ResetKernel()
dt = float(data["dt"])
nest.SetKernelStatus({"resolution": dt, "local_num_threads": 1})
n = int(data["n"])
cells = nest.Create("iaf_psc_exp", n, params={"C_m": 200.0, "tau_m": 20.0, "tau_syn_ex": 5.0,
                    "tau_syn_in": 10.0, "t_ref": 5.0, "E_L": -49.0, "V_reset": -60.0,
                    "V_th": -50.0, "I_e": 0.0})
cells.V_m = data["v0"]
first = cells[0].global_id
for kind, sign in (("exc", 1.0), ("inh", -1.0)):
    pre = data[kind + "_pre"] + first
    nest.Connect(pre, data[kind + "_post"] + first, "one_to_one",
                 {"synapse_model": "static_synapse",
                  "weight": np.full(len(pre), sign * 1000.0 * float(data["w_" + kind])),
                  "delay": np.full(len(pre), dt)})
rec = nest.Create("spike_recorder")
nest.Connect(cells, rec)
nest.Simulate(dt)                        # prepares the kernel (excluded from the timing)
t0 = time.perf_counter()
nest.Simulate(duration - dt)
run = time.perf_counter() - t0
print(json.dumps({"run": run * duration / (duration - dt), "spikes": int(rec.n_events)}))
'''


def run_subprocess(script: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_loihi(image, duration: float, timing, repeat: int) -> dict:
    """Best of `repeat` runs; with timing, result() (the timing report) is timed too."""
    from neurocosim.emulator.loihi import Engine
    warm = Engine(image, timing=False)          # JIT / cache load
    warm.run(2 * image.target.timestep)
    best, spikes, analysis, res = math.inf, 0, 0.0, None
    for _ in range(repeat):
        eng = Engine(image, timing=timing)
        t0 = time.perf_counter()
        eng.run(duration)
        t1 = time.perf_counter()
        res = eng.result()
        t2 = time.perf_counter()
        total = (t1 - t0) + ((t2 - t1) if timing else 0.0)
        if total < best:
            best, analysis = total, (t2 - t1) if timing else 0.0
        spikes = sum(len(s) for s in res.spikes.values())
    out = {"run": best, "spikes": spikes, "analysis": analysis}
    if timing and res is not None and res.timing is not None:
        out["timing"] = {k: v for k, v in res.timing.metrics.items()}
    return out


def run_reference(net, duration: float, repeat: int) -> dict:
    from neurocosim.sim.reference import Engine
    warm = Engine(build_cuba(n=200, timestep=net.timestep))
    warm.run(net.timestep)
    best, spikes = math.inf, 0
    for _ in range(repeat):
        eng = Engine(net)
        t0 = time.perf_counter()
        eng.run(duration)
        best = min(best, time.perf_counter() - t0)
        spikes = len(eng.result().spikes["cuba"])
    return {"run": best, "spikes": spikes}


def compile_fitting(net, **overrides):
    """Compile for loihi, adding chips until the network fits (prints what it took)."""
    chips = 1
    while True:
        try:
            t0 = time.perf_counter()
            image = hw.compile(net, "loihi", n_chips=chips, **overrides)
            return image, chips, time.perf_counter() - t0
        except hw.LimitError as exc:
            if exc.limit != "cores" or chips >= 64:
                raise
            chips = max(chips + 1, math.ceil(exc.value / image_cores_per_chip()))


def image_cores_per_chip() -> int:
    return hw.get_target("loihi").cores_per_chip


def report(name: str, r: dict, n: int, duration: float, fan_out: float) -> None:
    r["events_per_s"] = r["spikes"] * fan_out / r["run"]
    extra = f" (timing analysis {r['analysis']:.3f} s of it)" if r.get("analysis") else ""
    print(f"{name:>22}: run {r['run']:.3f} s{extra}, {r['spikes']} spikes "
          f"({r['spikes'] / n / duration * 1000:.2f} Hz), "
          f"{r['events_per_s']:.3g} synaptic events/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peers", default="reference,brian2,nest")
    ap.add_argument("--big", type=int, default=40000, help="0 to skip the large network")
    args = ap.parse_args()
    dt = 1.0
    net = build_cuba(n=args.n, timestep=dt)
    syn = sum(p.size for p in net.projections)
    fan_out = syn / args.n
    print(f"CUBA: {args.n} neurons, {syn} synapses (mean fan-out {fan_out:.1f}), "
          f"{args.duration:g} ms at dt {dt} ms")
    image, chips, t_compile = compile_fitting(net)
    m = image.data["mapping"]
    print(f"loihi compile: {t_compile:.2f} s, {m['n_cores']} cores on {chips} chip(s), "
          f"{m['compartments']} compartments, placement cost {m['placement_cost']:.0f} "
          f"(sequential {m['sequential_cost']:.0f}); weight error "
          f"{image.quantization['weight_max_rel_error']:.2%}")
    rows = {}
    rows["loihi timing off"] = run_loihi(image, args.duration, False, args.repeat)
    report("loihi timing off", rows["loihi timing off"], args.n, args.duration, fan_out)
    rows["loihi timing on"] = run_loihi(image, args.duration, True, args.repeat)
    report("loihi timing on", rows["loihi timing on"], args.n, args.duration, fan_out)
    for k, v in rows["loihi timing on"].get("timing", {}).items():
        print(f"{'':>24}{k} = {v:.4g}")
    # every packet through emulator.interconnect (per-packet arrays; one run, JIT warm)
    run_loihi(image, 10.0, "trace", 1)
    rows["loihi timing trace"] = run_loihi(image, args.duration, "trace", 1)
    report("loihi timing trace", rows["loihi timing trace"], args.n, args.duration, fan_out)
    with tempfile.TemporaryDirectory() as tmp:
        exc, inh = net.projections
        npz = os.path.join(tmp, "cuba.npz")
        np.savez(npz, n=args.n, dt=dt, v0=net.populations[0].initial["v"],
                 exc_pre=exc.pre_idx, exc_post=exc.post_idx, w_exc=exc.weight[0],
                 inh_pre=inh.pre_idx, inh_post=inh.post_idx, w_inh=inh.weight[0])
        for name in filter(None, args.peers.split(",")):
            try:
                if name == "reference":
                    rows[name] = run_reference(net, args.duration, args.repeat)
                elif name == "brian2":
                    rows[name] = run_subprocess(BRIAN2, npz, str(args.duration),
                                                os.path.join(tmp, "brian2_build"))
                elif name == "nest":
                    rows[name] = run_subprocess(NEST, npz, str(args.duration))
                else:
                    raise SystemExit(f"unknown peer {name!r}")
            except RuntimeError as err:
                print(f"{name:>22}: failed ({str(err).strip().splitlines()[-1]})")
                continue
            report(name, rows[name], args.n, args.duration, fan_out)
    for mine in ("loihi timing off", "loihi timing on", "loihi timing trace"):
        for peer in ("reference", "brian2", "nest"):
            if mine in rows and peer in rows:
                print(f"{mine} / {peer}: events/s ratio "
                      f"{rows[mine]['events_per_s'] / rows[peer]['events_per_s']:.2f}, "
                      f"run time ratio {rows[peer]['run'] / rows[mine]['run']:.2f}x")
    if "reference" in rows:
        ref, lo = rows["reference"]["spikes"], rows["loihi timing off"]["spikes"]
        print(f"rates: float reference {ref / args.n / args.duration * 1000:.2f} Hz, "
              f"quantised loihi {lo / args.n / args.duration * 1000:.2f} Hz")
    if args.big:
        big = build_cuba(n=args.big, timestep=dt, p_connect=0.02 * 4000 / args.big)
        bsyn = sum(p.size for p in big.projections)
        image, chips, t_compile = compile_fitting(big)
        print(f"\nCUBA {args.big} neurons, {bsyn} synapses: compile {t_compile:.1f} s, "
              f"{image.data['mapping']['n_cores']} cores on {chips} chips")
        for timing in (False, True):
            name = f"loihi {args.big} timing {'on' if timing else 'off'}"
            r = run_loihi(image, args.duration, timing, 1)
            report(name, r, args.big, args.duration, bsyn / args.big)


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"(benchmark took {time.perf_counter() - t:.0f} s)")
