"""GPU engines (issue 19) on a GPU: equality with the CPU engines, then the issue's targets.

    python benchmarks/gpu.py                                  # the full measurement
    python benchmarks/gpu.py --phases 34 --cuba 4000:80 --loihi 200000:100   # a part
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu.py --tiny    # end to end, no GPU needed

Phases, each line printed as it is measured (wall times per phase too):
1. Loihi: the GPU engine against the CPU engine on one network, timing off (spikes and
   u/v/refractory state bit-exact) and on (the timing report, to 1e-9).
2. reference: spikes of the GPU engine that the CPU engine has within one step, on the
   agreement networks of tests/nets.py (IF_curr_exp, IF_cond_exp), on CUBA and on CUBA
   with STDP on its excitatory synapses (the issue accepts >= 99%; the GPU adds a step's
   input by atomics, in another order, and its exp may differ in the last bit), and the
   largest relative difference of the STDP weights.
3. reference CUBA, IF_curr_exp, fixed fan-out, dt 0.1 ms, 1 s, at 4,000 (fan-out 80),
   40,000 and 400,000 neurons (fan-out 800) and 2,000,000 neurons (fan-out 1000: 2e9
   synapses, measured where the host has the memory to build it, else said so; weights
   scaled by 80 / fan-out), all spikes
   recorded, against a plain CuPy CUBA loop on the same connections and initial v (exact
   LIF, float32, one update and one delivery kernel per step): run times and the ratio
   (the issue's target: the engine within 1.5x of the peer), best of three each. Times
   exclude building and the JIT (a warm-up run, then reset()); the engine's time includes
   state transfers and its spike record (every spike) coming back; the peer records none.
4. Loihi, timing off, 1 s (1,000 steps of 1 ms): 1,000,000 compartments with 100
   synapses each, targets within blocks of 1,000 neurons (so cores' input axons fit),
   compiled with sequential placement onto as many chips as it needs (target: < 10 s).
5. The Potjans-Diesmann microcircuit (examples/microcircuit.py, through PyNN:
   `neurocosim run --target reference --set device=gpu`) at --scale 1 (0.02 with
   --tiny), 1.1 s with its 0.1 s transient: the run's seconds per simulated second (the
   issue's target: faster than real time, < 1) and the population rates. Needs PyNN
   (pyNN, neo, quantities, lazyarray: carried as wheels); said and skipped without it.

Runs from the repository as a plain folder: a temporary folder holding a symlink
`neurocosim` to the repository goes first on sys.path (removed at exit). Imports numpy,
numba (numba.cuda), CuPy (the peer only) and neurocosim's hw, sim.reference and
emulator.loihi, nothing of PyNN, neo, amaranth or brian2. Writes nothing; prints.
"""

from __future__ import annotations

import argparse
import atexit
import importlib.util
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _importable() -> None:
    """`import neurocosim` finds this repository, installed or not."""
    tmp = tempfile.mkdtemp(prefix="neurocosim-gpu-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    os.symlink(ROOT, os.path.join(tmp, "neurocosim"))
    sys.path.insert(0, tmp)
    sys.path.insert(1, str(ROOT / "tests"))        # nets.py: the agreement networks


_importable()
from neurocosim import hw  # noqa: E402
from neurocosim.hw import ir  # noqa: E402


@dataclass
class Sizes:
    """What each phase runs (full or --tiny)."""

    loihi_eq: tuple[int, int, int]          # compartments, fan-out, steps
    agreement: tuple[int, int, float]       # seeds, neurons, duration (ms)
    cuba_eq: tuple[int, float]              # neurons, duration (ms)
    cuba: tuple[tuple[int, int], ...]       # (neurons, fan-out)
    cuba_ms: float
    loihi_big: tuple[int, int, int]         # compartments, fan-out, steps
    microcircuit: tuple[float, float]       # scale, duration (ms)


FULL = Sizes((20_000, 50, 300), (4, 40, 300.0), (4000, 1000.0),
             ((4000, 80), (40_000, 800), (400_000, 800), (2_000_000, 1000)), 1000.0,
             (1_000_000, 100, 1000), (1.0, 1100.0))
TINY = Sizes((100, 10, 20), (1, 20, 2.0), (100, 2.0), ((100, 10),), 2.0, (200, 10, 20),
             (0.02, 110.0))


#: runs of each phase-3 measurement (best kept: the peer's launch-bound loop varies by 1.5x)
REPEAT = 3


def line(msg: str) -> None:
    print(msg, flush=True)


# --- networks ------------------------------------------------------------------------------
def cuba(n: int, fan_out: int, dt: float, seed: int = 19, block: int | None = None,
         stdp: bool = False):
    """CUBA with a fixed fan-out (80 % excitatory first; Vogels-Abbott weights times
    80 / fan-out, so the input per neuron is CUBA's); targets uniform over the network,
    or within blocks of `block` neurons; `stdp`: additive STDP on the excitatory synapses
    (weights between 0 and twice CUBA's). Returns the IR, the (n, fan_out) targets, v0."""
    rng = np.random.default_rng(seed)
    n_exc = int(round(0.8 * n))
    scale = 80.0 / fan_out
    if block is None:
        tgt = rng.integers(0, n, (n, fan_out), dtype=np.int32)
    else:
        lo = (np.arange(n, dtype=np.int64) // block * block)[:, None]
        tgt = np.minimum(lo + rng.integers(0, block, (n, fan_out)), n - 1).astype(np.int32)
    v0 = rng.uniform(-60.0, -50.0, n)
    params = dict(cm=0.2, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, tau_refrac=5.0,
                  v_rest=-49.0, v_reset=-60.0, v_thresh=-50.0, i_offset=0.0)
    pop = ir.Population("cuba", n, "IF_curr_exp", params, {"v": v0})
    prjs = []
    for name, lo, hi, w, receptor in (("exc", 0, n_exc, 0.0162 * scale, "excitatory"),
                                      ("inh", n_exc, n, 0.09 * scale, "inhibitory")):
        m = (hi - lo) * fan_out
        pre = np.repeat(np.arange(hi - lo, dtype=np.int64) + lo, fan_out)
        rule = (ir.Plasticity("stdp_additive", dict(
            tau_plus=16.8, tau_minus=33.7, A_plus=0.005, A_minus=0.006, w_min=0.0,
            w_max=2 * w)) if stdp and name == "exc" else None)
        prjs.append(ir.Projection(name, "cuba", "cuba", pre, tgt[lo:hi].reshape(-1),
                                  np.full(m, w), np.full(m, dt), receptor=receptor,
                                  plasticity=rule))
    net = ir.Network([pop], prjs, [], [ir.Recording("cuba", "spikes", np.arange(n))],
                     timestep=dt, seed=seed)
    return net, tgt, v0


def loihi_image(net, chips: int = 1, **overrides):
    """Compile for loihi, adding chips until the network fits."""
    while True:
        try:
            return hw.compile(net, "loihi", n_chips=chips, **overrides)
        except hw.LimitError as exc:
            if exc.limit != "cores" or chips >= 4096:
                raise
            chips = max(chips + 1, math.ceil(exc.value / hw.get_target("loihi").cores_per_chip))


def trains(res, dt: float) -> set[tuple[int, int]]:
    """Every recorded spike as (population:neuron key, step)."""
    out = set()
    for name, sp in res.spikes.items():
        out |= {(f"{name}:{i}", s) for i, s in zip(sp.ids.tolist(),
                                                   np.rint(sp.times / dt).astype(int).tolist())}
    return out


def within_one_step(cpu: set, gpu: set) -> tuple[int, int, int]:
    """(CPU spikes with a GPU spike of the same neuron within one step, CPU spikes,
    spikes in exactly one of the two)."""
    near = sum(1 for key, s in cpu if (key, s) in gpu or (key, s - 1) in gpu
               or (key, s + 1) in gpu)
    return near, len(cpu), len(cpu ^ gpu)


def _by_step(ids: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spikes sorted by (step, id) (the GPU engine leaves a step's ids unordered)."""
    order = np.lexsort((ids, steps))
    return ids[order], steps[order]


# --- phase 1: Loihi equality -----------------------------------------------------------------
def loihi_equality(size: Sizes) -> bool:
    from neurocosim.emulator.loihi import Engine
    n, k, steps = size.loihi_eq
    net, _, _ = cuba(n, k, 1.0, block=min(n, 1000))
    image = loihi_image(net, compartments_per_core=min(1024, 40_000 // k))
    ok = True
    for timing in (False, True):
        t = steps if not timing else max(steps // 3, 1)
        a = Engine(image, timing=timing)
        b = Engine(image, timing=timing, device="gpu")
        t0 = time.perf_counter()
        a.run(float(t))
        t1 = time.perf_counter()
        b.run(float(t))
        t2 = time.perf_counter()
        sa, sb = _by_step(*a.spikes()), _by_step(*b.spikes())
        same = (all(np.array_equal(x, y) for x, y in zip(sa, sb))
                and all(np.array_equal(a.state()[v], b.state()[v]) for v in a.state()))
        if timing:
            ma, mb = a.timing_report().metrics, b.timing_report().metrics
            same &= all(np.isclose(ma[m], mb[m], rtol=1e-9, atol=0) for m in ma)
        ok &= same
        line(f"loihi equality, timing {'on' if timing else 'off'}: {n} compartments, "
             f"{n * k} synapses, {t} steps, {len(sa[0])} spikes: "
             f"{'bit-exact' if same else 'DIFFERENT'} "
             f"(cpu {t1 - t0:.2f} s, gpu {t2 - t1:.2f} s)")
    return ok


# --- phase 2: reference agreement -----------------------------------------------------------
def reference_agreement(size: Sizes) -> float:
    from nets import random_network

    from neurocosim.sim.reference import Engine
    seeds, n, duration = size.agreement
    near = total = 0
    cases = [(f"{model} seed {s}", random_network(s, model, n=n, duration=max(duration, 50)),
              duration) for model in ("IF_curr_exp", "IF_cond_exp") for s in range(seeds)]
    n_eq = size.cuba_eq[0]
    cases.append((f"CUBA {n_eq}", cuba(n_eq, 80, 0.1)[0], size.cuba_eq[1]))
    cases.append((f"CUBA {n_eq} with STDP", cuba(n_eq, 80, 0.1, stdp=True)[0],
                  size.cuba_eq[1]))
    for name, net, ms in cases:
        a, b = Engine(net), Engine(net, device="gpu")
        a.run(ms)
        b.run(ms)
        for pr in net.projections:
            if pr.plasticity is not None:
                wa, wb = a.weights(pr.name), b.weights(pr.name)
                rel = float(np.max(np.abs(wa - wb) / np.maximum(np.abs(wa), 1e-300)))
                line(f"reference agreement, {name}: {pr.name} weights differ by at most "
                     f"{rel:.2g} (relative); {np.count_nonzero(wa != pr.weight)} of "
                     f"{len(wa)} moved")
        x, y = trains(a.result(), net.timestep), trains(b.result(), net.timestep)
        m, c, differ = within_one_step(x, y)
        near, total = near + m, total + c
        line(f"reference agreement, {name}, {ms:g} ms: {m} of {c} cpu spikes within one "
             f"step on the gpu, {differ} spike(s) not in both")
    frac = near / total if total else 1.0
    line(f"reference agreement, all: {near} of {total} ({100 * frac:.3f} %)")
    return frac


# --- phase 3: reference CUBA against the CuPy peer -------------------------------------------
_PEER = r"""
extern "C" __global__ void lif(float* v, float* ie, float* ii, float* buf, int* until,
        int n, int k, float p22, float p21e, float p21i, float pse, float psi, float vr,
        float vreset, float th, int ref, int* spk, int* cnt) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float* be = buf + (k & 1) * 2 * (long)n;
    float x = v[i], a = ie[i], b = ii[i];
    bool free = k >= until[i];
    if (free) x = vr + (x - vr) * p22 + a * p21e - b * p21i;
    ie[i] = a * pse + be[i];
    ii[i] = b * psi + be[n + i];
    be[i] = 0.0f;
    be[n + i] = 0.0f;
    if (free && x >= th) {
        x = vreset;
        until[i] = k + 1 + ref;
        spk[atomicAdd(cnt + k, 1)] = i;
    }
    v[i] = x;
}
extern "C" __global__ void deliver(const int* spk, const int* cnt, int k, const int* tgt,
        int fan_out, int n, int n_exc, float w_exc, float w_inh, float* buf) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    int lane = t & 31, warp = t >> 5, n_warps = (gridDim.x * blockDim.x) >> 5;
    float* nb = buf + ((k + 1) & 1) * 2 * (long)n;
    for (int q = warp; q < cnt[k]; q += n_warps) {
        int i = spk[q];
        float* dst = i < n_exc ? nb : nb + n;
        float w = i < n_exc ? w_exc : w_inh;
        for (int j = lane; j < fan_out; j += 32) atomicAdd(dst + tgt[(long)i * fan_out + j], w);
    }
}
"""


def peer_cuba(tgt: np.ndarray, v0: np.ndarray, dt: float, steps: int) -> tuple[float, int]:
    """The plain CuPy CUBA loop (exact LIF, float32, delay one step): run seconds, spikes."""
    import cupy as cp

    from neurocosim.sim.reference.build import propagators
    n, fan_out = tgt.shape
    p22, _, pse, p21e, _ = (float(x) for x in propagators(0.2, 20.0, 5.0, dt))
    _, _, psi, p21i, _ = (float(x) for x in propagators(0.2, 20.0, 10.0, dt))
    mod = cp.RawModule(code=_PEER)
    lif, deliver = mod.get_function("lif"), mod.get_function("deliver")
    f32, i32 = np.float32, np.int32
    v = cp.asarray(v0, dtype=cp.float32)
    ie, ii = cp.zeros(n, cp.float32), cp.zeros(n, cp.float32)
    buf = cp.zeros(4 * n, cp.float32)
    until, spk, cnt = cp.zeros(n, cp.int32), cp.zeros(n, cp.int32), cp.zeros(steps, cp.int32)
    d_tgt = cp.asarray(tgt)
    scale = 80.0 / fan_out
    blocks = ((n + 255) // 256,)
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    consts = (f32(p22), f32(p21e), f32(p21i), f32(pse), f32(psi), f32(-49.0), f32(-60.0),
              f32(-50.0), i32(round(5.0 / dt)))
    cp.cuda.Device().synchronize()
    t0 = time.perf_counter()
    for k in range(steps):
        lif(blocks, (256,), (v, ie, ii, buf, until, i32(n), i32(k), *consts, spk, cnt))
        deliver((sms * 8,), (256,), (spk, cnt, i32(k), d_tgt, i32(fan_out), i32(n),
                                     i32(int(round(0.8 * n))), f32(0.0162 * scale),
                                     f32(0.09 * scale), buf))
    cp.cuda.Device().synchronize()
    return time.perf_counter() - t0, int(cnt.sum())


#: peak host bytes per synapse while a CUBA network is built and its engine made (the IR's
#: arrays, the engine's tables and their temporaries): 136 measured (peak RSS) on CUBA
#: 100,000 x 100 on the CPU in December 2026; re-measure when the build's memory changes
HOST_BYTES_PER_SYNAPSE = 140


def _host_memory() -> int:
    """Bytes of memory this host has available now."""
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def reference_speed(size: Sizes) -> list[tuple[int, float, float | None]]:
    """Each CUBA size: (neurons, engine seconds, peer seconds or None)."""
    from neurocosim.sim.reference import Engine
    rows = []
    for n, fan_out in size.cuba:
        need, have = n * fan_out * HOST_BYTES_PER_SYNAPSE, _host_memory()
        if need > have:
            line(f"reference gpu CUBA {n} neurons x {fan_out}: not measured: building it "
                 f"needs about {need / 2**30:.0f} GiB of host memory, this host has "
                 f"{have / 2**30:.0f} GiB")
            continue
        t0 = time.perf_counter()
        net, tgt, v0 = cuba(n, fan_out, 0.1)
        eng = Engine(net, device="gpu")
        eng.run(0.1)                             # JIT and tables onto the device
        t1 = time.perf_counter()
        mine = math.inf
        for _ in range(REPEAT):
            eng.reset()
            t2 = time.perf_counter()
            eng.run(size.cuba_ms)
            mine = min(mine, time.perf_counter() - t2)
        spikes = len(eng.result().spikes["cuba"].ids)
        del eng, net
        line(f"reference gpu CUBA {n} neurons x {fan_out} = {n * fan_out:.3g} synapses, "
             f"{size.cuba_ms:g} ms: run {mine:.3f} s (best of {REPEAT}), "
             f"{spikes / n / size.cuba_ms * 1e3:.1f} Hz (build + upload + JIT {t1 - t0:.1f} s)")
        peer = None
        if importlib.util.find_spec("cupy") is None:
            line("  peer: CuPy is not installed here, not measured")
        else:
            peer_cuba(tgt, v0, 0.1, 10)          # compile the peer's kernels
            runs = [peer_cuba(tgt, v0, 0.1, round(size.cuba_ms / 0.1)) for _ in range(REPEAT)]
            peer, p_spikes = min(runs)
            line(f"  peer CuPy CUBA loop: run {peer:.3f} s (best of {REPEAT}), "
                 f"{p_spikes / n / size.cuba_ms * 1e3:.1f} Hz; engine / peer = "
                 f"{mine / peer:.2f} (target <= 1.5)")
        rows.append((n, mine, peer))
    return rows


# --- phase 4: Loihi at scale ------------------------------------------------------------------
def loihi_speed(size: Sizes) -> float:
    from neurocosim.emulator.loihi import Engine
    n, fan_out, steps = size.loihi_big
    t0 = time.perf_counter()
    net, _, _ = cuba(n, fan_out, 1.0, block=min(n, 1000))
    t1 = time.perf_counter()
    chips = math.ceil(n * fan_out / 20_000 / hw.get_target("loihi").cores_per_chip)
    image = loihi_image(net, max(chips, 1), compartments_per_core=min(1024, 40_000 // fan_out),
                        placement="sequential")   # ~20,000 synapses fit a core
    t2 = time.perf_counter()
    eng = Engine(image, timing=False, device="gpu")
    eng.run(1.0)
    eng.reset()
    t3 = time.perf_counter()
    eng.run(float(steps))
    t4 = time.perf_counter()
    spikes = len(eng.spikes()[0])
    line(f"loihi gpu {n} compartments, {n * fan_out:.3g} synapses, "
         f"{image.data['mapping']['n_cores']} cores on {image.target.n_chips} chips, "
         f"{steps} steps, timing off: run {t4 - t3:.2f} s (target < 10 s), "
         f"{spikes / n / steps * 1e3:.1f} Hz (build {t1 - t0:.1f} s, compile {t2 - t1:.1f} s, "
         f"engine + upload + JIT {t3 - t2:.1f} s)")
    return t4 - t3, size.loihi_big


# --- phase 5: the microcircuit through PyNN ---------------------------------------------------
def microcircuit(size: Sizes) -> "float | None":
    """Run seconds per simulated second of examples/microcircuit.py on the GPU (None when
    PyNN is missing), in a subprocess of the CLI as a user runs it."""
    import subprocess
    if importlib.util.find_spec("pyNN") is None:
        line("microcircuit: not measured: PyNN is not installed here")
        return None
    scale, ms = size.microcircuit
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [sys.path[0], os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "neurocosim.host.cli", "run", "--target", "reference",
               "--set", "device=gpu", "--out", out, str(ROOT / "examples/microcircuit.py"),
               "--", "--scale", str(scale), "--duration", str(ms)]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode:
        line(f"microcircuit: failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        return None
    rates = [ln for ln in r.stdout.splitlines() if ln.endswith(" Hz")]
    times = dict(ln.split()[:2] for ln in r.stdout.splitlines()
                 if ln.startswith(("build ", "run ")))
    factor = float(times["run"]) / (ms / 1000.0)
    line(f"microcircuit scale {scale:g}, {ms:g} ms on the gpu: build {times['build']} s, "
         f"run {times['run']} s = {factor:.2f} s per simulated second (target < 1); "
         f"rates: {', '.join(rates)}")
    return factor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true",
                    help="~100 neurons, 20 steps per phase (runs under NUMBA_ENABLE_CUDASIM=1)")
    ap.add_argument("--phases", default="12345", help="which phases to run (default all)")
    ap.add_argument("--cuba", help="phase 3's sizes, e.g. 4000:80,40000:800")
    ap.add_argument("--loihi", help="phase 4's size, e.g. 200000:100")
    args = ap.parse_args()
    size = TINY if args.tiny else FULL
    if args.cuba:
        size = replace(size, cuba=tuple(_pair(p) for p in args.cuba.split(",")))
    if args.loihi:
        size = replace(size, loihi_big=(*_pair(args.loihi), size.loihi_big[2]))
    from numba import cuda

    from neurocosim.hw import gpu
    gpu.require_cuda("reference")
    name = "numba's CUDA simulator" if gpu.simulated() else cuda.get_current_device().name
    line(f"device: {name}")
    out, start = {}, time.perf_counter()
    for key, phase in (("1", loihi_equality), ("2", reference_agreement),
                       ("3", reference_speed), ("4", loihi_speed), ("5", microcircuit)):
        if key in args.phases:
            t0 = time.perf_counter()
            out[key] = phase(size)
            line(f"phase {key} ({phase.__name__}): {time.perf_counter() - t0:.1f} s")
    summary(out, time.perf_counter() - start)


def _pair(text: str) -> tuple[int, int]:
    """"neurons:fan_out" as two ints."""
    n, k = text.split(":")
    return int(n), int(k)


def summary(out: dict, seconds: float) -> None:
    parts = []
    if "1" in out:
        parts.append(f"loihi bit-exact: {out['1']}")
    if "2" in out:
        parts.append(f"reference within one step: {100 * out['2']:.3f} % (>= 99 %: "
                     f"{out['2'] >= 0.99})")
    for n, mine, peer in out.get("3", []):
        ratio = f"{mine / peer:.2f}x peer" if peer else "no peer"
        parts.append(f"CUBA {n}: {mine:.3f} s, {ratio}")
    if "4" in out:
        n, k, _ = out["4"][1]
        steps = out["4"][1][2]
        parts.append(f"loihi {n} compartments x {k}, {steps} steps: {out['4'][0]:.2f} s")
    if out.get("5") is not None:
        parts.append(f"microcircuit: {out['5']:.2f} s per simulated second")
    line(f"summary ({seconds:.0f} s): " + "; ".join(parts))


if __name__ == "__main__":
    main()
