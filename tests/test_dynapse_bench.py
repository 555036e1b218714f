"""Heavy: the DynapSE-style emulator against DynapSim on one network (256 neurons, 50
Poisson sources, fan-in 50, mismatch off, 1 s at h = 50 us), same currents, same input,
both timed on this machine after their JIT compile; and a mismatch sweep (20 chips).
Run with NEUROCOSIM_HEAVY=1 pytest -s tests/test_dynapse_bench.py."""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np
import pytest

from neurocosim import hw
from neurocosim.hw.ir import Network, PoissonSource, Population, Projection, Recording
from neurocosim.hw.layouts import dynapse as L

N, S, DURATION = 256, 50, 1000.0
LIF = dict(cm=1.0, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=8.0, tau_refrac=2.0, v_rest=-65.0,
           v_reset=-65.0, v_thresh=-55.0, i_offset=0.0)


def _network(seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)

    def proj(name, pre, n_pre, k, w):
        post = np.repeat(np.arange(N), k)
        pre_idx = np.concatenate([rng.choice(n_pre, k, replace=False) for _ in range(N)])
        return Projection(name, pre, "a", pre_idx, post, np.full(post.size, w),
                          np.zeros(post.size))

    return Network([Population("src", S, "SpikeSourcePoisson",
                               dict(rate=20.0, start=0.0, duration=1e9)),
                    Population("a", N, "IF_curr_exp", LIF)],
                   [proj("sa", "src", S, 20, 1.0), proj("aa", "a", N, 30, 0.2)],
                   [PoissonSource("src", seed=1)], [Recording("a", "spikes", np.arange(N))],
                   timestep=1.0)


def _dynapsim(eng):
    """DynapSim with the engine's currents, its CAM as w_rec and the inputs per sub-step."""
    from rockpool.devices.dynapse import DynapSim
    spec, cur, image = eng.spec, eng.chip_currents, eng.image
    r, ids = image.routing, np.arange(S, S + N)
    w = np.zeros((S + N, S + N))
    for pre in range(S + N):
        q = slice(r[L.SYN_PTR][pre], r[L.SYN_PTR][pre + 1])
        np.add.at(w[pre], r[L.SYN_POST][q], eng.syn_w[q])
    x = np.zeros((int(DURATION) * spec.substeps, N))
    inp = eng.stimulus.window(0, int(DURATION) + 1)
    for n, s in zip(inp.neuron, inp.stamp):
        if s < DURATION:
            x[s * spec.substeps] += w[n, S:]
    scale = 1e-8
    mod = DynapSim(
        (N, N), Idc=cur["idc"][ids], Igain_ahp=cur["igain_ahp"][ids],
        Igain_mem=cur["igain_mem"][ids], Igain_syn=cur["igain_syn"][ids, L.AMPA],
        Ipulse_ahp=spec.vth_v * spec.c_pulse_ahp_f / spec.t_pulse_ahp_s,
        Ipulse=spec.vth_v * spec.c_pulse_f / spec.t_pulse_s, Iref=cur["iref"][ids],
        Ispkthr=cur["ispkthr"][ids], Itau_ahp=cur["itau_ahp"][ids],
        Itau_mem=cur["itau_mem"][ids], Itau_syn=cur["itau_syn"][ids, L.AMPA],
        Iw_ahp=cur["iw_ahp"][ids], C_ahp=spec.c_ahp_f, C_syn=spec.c_syn_f[L.AMPA],
        C_pulse_ahp=spec.c_pulse_ahp_f, C_pulse=spec.c_pulse_f, C_ref=spec.c_ref_f,
        C_mem=spec.c_mem_f, Io=spec.io_a, kappa_n=spec.kappa_n, kappa_p=spec.kappa_p,
        Ut=spec.ut_v, Vth=spec.vth_v, Iscale=scale, w_rec=w[S:, S:] / scale, has_rec=True,
        dt=eng.cir.consts[4], percent_mismatch=None)
    return mod, x / scale


@pytest.mark.heavy
def test_speed_against_dynapsim():
    pytest.importorskip("jax", reason="jax is not installed: pip install .[test]")
    logging.getLogger().setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("rockpool.devices.dynapse", reason="rockpool is not installed")
    image = hw.compile(_network(), "dynapse", mismatch_std=0.0)
    eng = hw.runner_for(image)(image, timing=False)
    eng.run(10.0)
    eng.reset()
    t0 = time.perf_counter()
    eng.run(DURATION)
    ours = time.perf_counter() - t0
    n_ours = len(eng.result().spikes["a"])
    mod, x = _dynapsim(eng)
    mod(x, record=False)                       # JAX compiles for this shape
    t0 = time.perf_counter()
    out = np.asarray(mod(x, record=False)[0])
    peer = time.perf_counter() - t0
    print(f"\nemulator {ours:.3f} s ({n_ours} spikes), DynapSim {peer:.3f} s "
          f"({int(out.sum())} spikes): DynapSim / emulator = {peer / ours:.1f}")
    assert abs(out.sum() - n_ours) < 0.05 * n_ours


@pytest.mark.heavy
def test_mismatch_sweep_over_20_chips():
    """Rates of the same network on 20 chips (seeds): mismatch spreads them."""
    rates = []
    for seed in range(20):
        image = hw.compile(_network(), "dynapse", mismatch_seed=seed)
        res = hw.run(image, 500.0, timing=False)
        rates.append(len(res.spikes["a"]) / N / 0.5)
    rates = np.array(rates)
    print(f"\nmean rate over 20 chips: {rates.mean():.2f} Hz, std {rates.std():.2f} Hz "
          f"(min {rates.min():.2f}, max {rates.max():.2f})")
    assert rates.std() > 0
