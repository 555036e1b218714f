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
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from networks import build_cuba  # noqa: E402

BRIAN2 = r'''
import json, sys, numpy as np
import brian2 as b2
from brian2 import ms, mV, nA, nF
data = np.load(sys.argv[1]); duration = float(sys.argv[2]); workdir = sys.argv[3]
b2.set_device("cpp_standalone", directory=workdir)
b2.prefs.devices.cpp_standalone.openmp_threads = 0
b2.defaultclock.dt = float(data["dt"]) * ms
n = int(data["n"])
eqs = """dv/dt = (v_rest - v)/tau_m + (ie - ii)/c_m : volt (unless refractory)
die/dt = -ie/tau_e : amp
dii/dt = -ii/tau_i : amp"""
ns = dict(v_rest=-49*mV, tau_m=20*ms, c_m=0.2*nF, tau_e=5*ms, tau_i=10*ms,
          v_thresh=-50*mV, v_reset=-60*mV)
G = b2.NeuronGroup(n, eqs, threshold="v >= v_thresh", reset="v = v_reset",
                   refractory=(5 + float(data["dt"])) * ms, method="exact", namespace=ns)
G.v = data["v0"] * mV
se = b2.Synapses(G, G, on_pre="ie_post += %r*nA" % float(data["w_exc"]), delay=0.1*ms)
se.connect(i=data["exc_pre"], j=data["exc_post"])
si = b2.Synapses(G, G, on_pre="ii_post += %r*nA" % float(data["w_inh"]), delay=0.1*ms)
si.connect(i=data["inh_pre"], j=data["inh_post"])
mon = b2.SpikeMonitor(G)
b2.run(duration * ms)
spikes = int(mon.num_spikes)
best = b2.device._last_run_time
for _ in range(int(sys.argv[4]) - 1):     # rerun the compiled binary, keep the best time
    b2.device.run(with_output=False)
    best = min(best, b2.device._last_run_time)
np.savez(sys.argv[5], ids=np.asarray(mon.i[:]), times=np.asarray(mon.t[:] / ms) + float(data["dt"]))
print(json.dumps({"run": best, "spikes": spikes}))
'''

NEST = r'''
import json, sys, time, numpy as np
import nest
data = np.load(sys.argv[1]); duration = float(sys.argv[2])
nest.ResetKernel()
nest.SetKernelStatus({"resolution": float(data["dt"]), "local_num_threads": 1})
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
                  "delay": np.full(len(pre), 0.1)})
rec = nest.Create("spike_recorder")
nest.Connect(cells, rec)
nest.Simulate(1.0)                       # prepares the kernel (excluded from the timing)
t0 = time.process_time()
nest.Simulate(duration - 1.0)
run = time.process_time() - t0
ev = rec.events
np.savez(sys.argv[3], ids=np.asarray(ev["senders"]) - first, times=np.asarray(ev["times"]))
print(json.dumps({"run": run * duration / (duration - 1.0), "spikes": int(rec.n_events)}))
'''


def run_reference(net, duration: float, repeat: int) -> dict:
    from neurocosim.sim.reference import Engine
    warm = Engine(build_cuba(n=200, timestep=net.timestep))   # JIT / cache load
    warm.run(1.0)
    best, spikes = float("inf"), 0
    for _ in range(repeat):
        eng = Engine(net)
        t0 = time.process_time()
        eng.run(duration)
        best = min(best, time.process_time() - t0)
        sp = eng.result().spikes["cuba"]
    return {"run": best, "spikes": len(sp), "trains": (sp.ids, sp.times)}


def run_subprocess(script: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load_trains(path: str):
    d = np.load(path)
    return d["ids"].astype(np.int64), d["times"].astype(np.float64)


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
        exc, inh = net.projections
        npz = os.path.join(tmp, "cuba.npz")
        np.savez(npz, n=args.n, dt=net.timestep, v0=net.populations[0].initial["v"],
                 exc_pre=exc.pre_idx, exc_post=exc.post_idx, w_exc=exc.weight[0],
                 inh_pre=inh.pre_idx, inh_post=inh.post_idx, w_inh=inh.weight[0])
        for name in args.simulators.split(","):
            if name == "reference":
                rows[name] = run_reference(net, args.duration, args.repeat)
            elif name == "brian2":
                out = os.path.join(tmp, "brian2_spikes.npz")
                rows[name] = run_subprocess(BRIAN2, npz, str(args.duration),
                                            os.path.join(tmp, "brian2_build"),
                                            str(args.repeat), out)
                rows[name]["trains"] = _load_trains(out)
            elif name == "nest":
                out = os.path.join(tmp, "nest_spikes.npz")
                rows[name] = run_subprocess(NEST, npz, str(args.duration), out)
                rows[name]["trains"] = _load_trains(out)
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
