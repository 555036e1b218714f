"""The CUBA network on the benchmark peers, Brian2 2.9 cpp_standalone (no OpenMP) and NEST
3.10 (iaf_psc_exp, one thread), each in a subprocess on the same connections and initial v.

Shared by benchmarks/cuba.py and benchmarks/emulator.py. Run times are CPU seconds of the
simulation loop (Brian2's binary times itself with std::clock); build is excluded. Delays
are one timestep; Brian2's refractory period is tau_refrac + dt, the reference engine's
convention of counting it from the spike stamp.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

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
se = b2.Synapses(G, G, on_pre="ie_post += %r*nA" % float(data["w_exc"]), delay=float(data["dt"])*ms)
se.connect(i=data["exc_pre"], j=data["exc_post"])
si = b2.Synapses(G, G, on_pre="ii_post += %r*nA" % float(data["w_inh"]), delay=float(data["dt"])*ms)
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
nest.set_verbosity("M_ERROR")
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
                  "delay": np.full(len(pre), float(data["dt"]))})
rec = nest.Create("spike_recorder")
nest.Connect(cells, rec)
dt = float(data["dt"])
nest.Simulate(dt)                        # prepares the kernel (excluded from the timing)
t0 = time.process_time()
nest.Simulate(duration - dt)
run = time.process_time() - t0
ev = rec.events
np.savez(sys.argv[3], ids=np.asarray(ev["senders"]) - first, times=np.asarray(ev["times"]))
print(json.dumps({"run": run * duration / (duration - dt), "spikes": int(rec.n_events)}))
'''


def run_subprocess(script: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def export_cuba(net, folder: str) -> str:
    """The CUBA IR's connections, weights and initial v as the .npz the peer scripts read."""
    exc, inh = net.projections
    path = os.path.join(folder, "cuba.npz")
    np.savez(path, n=net.populations[0].size, dt=net.timestep,
             v0=net.populations[0].initial["v"],
             exc_pre=exc.pre_idx, exc_post=exc.post_idx, w_exc=exc.weight[0],
             inh_pre=inh.pre_idx, inh_post=inh.post_idx, w_inh=inh.weight[0])
    return path


def load_trains(path: str):
    d = np.load(path)
    return d["ids"].astype(np.int64), d["times"].astype(np.float64)


def run_brian2(npz: str, duration: float, folder: str, repeat: int = 1) -> dict:
    """Brian2 cpp_standalone: best of `repeat` runs of the compiled binary, with its spikes."""
    out = os.path.join(folder, "brian2_spikes.npz")
    row = run_subprocess(BRIAN2, npz, str(duration), os.path.join(folder, "brian2_build"),
                         str(repeat), out)
    row["trains"] = load_trains(out)
    return row


def run_nest(npz: str, duration: float, folder: str) -> dict:
    """NEST iaf_psc_exp on one thread, with its spikes."""
    out = os.path.join(folder, "nest_spikes.npz")
    row = run_subprocess(NEST, npz, str(duration), out)
    row["trains"] = load_trains(out)
    return row
