"""The DynapSE-style emulator's circuit against its peer, Rockpool's DynapSim (JAX).

The same small recurrent network (4 neurons, input events at the sub-step, excitatory
recurrent weights, AHP adaptation, refractory period), the same bias currents, mismatch
off, the same step h: DynapSim (float32) and `emulator.dynapse.substep` (float64) must
give the same spikes (within one integration step) and membrane, synapse and AHP current
traces within 1 % relative up to the end or the first spike that differs. DynapSim folds
the chip's synapse types into one DPI; our AMPA DPI is that one (the other types off).
Skipped, with the reason, where rockpool or jax is not installed (pip install .[test]).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

from neurocosim.emulator.dynapse import circuit, substep
from neurocosim.hw import get_target
from neurocosim.hw.layouts import dynapse as L

pytest.importorskip("jax", reason="jax is not installed: pip install .[test]")
logging.getLogger().setLevel(logging.ERROR)       # rockpool warns about samna / torch
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    dynapsim = pytest.importorskip("rockpool.devices.dynapse",
                                   reason="rockpool is not installed: pip install .[test]")

SPEC = get_target("dynapse", mismatch_std=0.0, substeps=20)
N, M, T = 4, 3, 2000            # neurons, input channels, sub-steps (100 ms at 50 us)
H = SPEC.timestep * 1e-3 / SPEC.substeps
ISCALE = 1e-8


def _draw(seed: int) -> dict:
    """One random parameter set: per-neuron currents (A), weights (A), input events."""
    rng = np.random.default_rng(seed)
    io, ut_k = SPEC.io_a, SPEC.ut_v / SPEC.kappa

    def itau(tau_ms, c, size=N):
        return ut_k * c / (rng.uniform(*tau_ms, size=size) * 1e-3)

    itau_mem = itau((10, 40), SPEC.c_mem_f)
    itau_syn = itau((3, 15), SPEC.c_syn_f[L.AMPA])
    itau_ahp = itau((30, 150), SPEC.c_ahp_f)
    p = {"itau_mem": itau_mem, "igain_mem": itau_mem * rng.uniform(2, 6, N),
         "itau_syn": itau_syn, "igain_syn": itau_syn * rng.uniform(50, 150, N),
         "itau_ahp": itau_ahp, "igain_ahp": itau_ahp * rng.uniform(0.5, 2, N),
         "iw_ahp": rng.uniform(1e-12, 2e-10, N),
         "idc": 2 * itau_mem + rng.uniform(0, 3e-11, N),
         "ispkthr": rng.uniform(1e-8, 1e-7, N),
         "iref": SPEC.vth_v * SPEC.c_ref_f / (rng.uniform(0.2, 3.0, N) * 1e-3)}
    w_in = rng.uniform(0, 15, (M, N)).round() * rng.uniform(5e-11, 2e-10)
    w_rec = rng.uniform(0, 15, (N, N)).round() * rng.uniform(1e-12, 2e-11) * \
        (rng.random((N, N)) < 0.5)
    events = (rng.random((T, M)) < rng.uniform(0.005, 0.02)).astype(np.float64)
    assert io < itau_mem.min()
    return {"p": p, "w_in": w_in, "w_rec": w_rec, "events": events}


def _ours(case: dict) -> dict:
    p = case["p"]
    cur = {"itau_syn": np.tile(p["itau_syn"][:, None], (1, 4)),
           "igain_syn": np.tile(p["igain_syn"][:, None], (1, 4)),
           "syn_used": np.tile([1.0, 0.0, 0.0, 0.0], (N, 1)),
           **{k: p[k] for k in ("itau_mem", "igain_mem", "idc", "ispkthr", "iref",
                                "itau_ahp", "igain_ahp", "iw_ahp")}}
    cir = circuit(cur, SPEC)
    io = SPEC.io_a
    isyn, iahp, imem = np.full((N, 4), io), np.full(N, io), np.full(N, io)
    vmem, timer, spk = np.zeros(N), np.zeros(N), np.zeros(N)
    neurons = np.arange(N, dtype=np.int64)
    out = {k: np.zeros((T, N)) for k in ("imem", "isyn", "iahp", "spikes")}
    ext = case["events"] @ case["w_in"]
    for t in range(T):
        win = np.zeros((N, 4))
        win[:, L.AMPA] = ext[t] + spk @ case["w_rec"]
        substep(win, isyn, iahp, imem, vmem, timer, spk, *cir.args(), neurons)
        out["imem"][t], out["isyn"][t], out["iahp"][t] = imem, isyn[:, L.AMPA], iahp
        out["spikes"][t] = spk
    return out


def _peer(case: dict) -> dict:
    p = case["p"]
    mod = dynapsim.DynapSim(
        (N, N), Idc=p["idc"], Igain_ahp=p["igain_ahp"], Igain_mem=p["igain_mem"],
        Igain_syn=p["igain_syn"], Ipulse_ahp=SPEC.vth_v * SPEC.c_pulse_ahp_f / SPEC.t_pulse_ahp_s,
        Ipulse=SPEC.vth_v * SPEC.c_pulse_f / SPEC.t_pulse_s, Iref=p["iref"],
        Ispkthr=p["ispkthr"], Itau_ahp=p["itau_ahp"], Itau_mem=p["itau_mem"],
        Itau_syn=p["itau_syn"], Iw_ahp=p["iw_ahp"], C_ahp=SPEC.c_ahp_f,
        C_syn=SPEC.c_syn_f[L.AMPA], C_pulse_ahp=SPEC.c_pulse_ahp_f, C_pulse=SPEC.c_pulse_f,
        C_ref=SPEC.c_ref_f, C_mem=SPEC.c_mem_f, Io=SPEC.io_a, kappa_n=SPEC.kappa_n,
        kappa_p=SPEC.kappa_p, Ut=SPEC.ut_v, Vth=SPEC.vth_v, Iscale=ISCALE,
        w_rec=case["w_rec"] / ISCALE, has_rec=True, dt=H, percent_mismatch=None)
    out, _, rec = mod(case["events"] @ case["w_in"] / ISCALE, record=True)
    return {"imem": np.asarray(rec["imem"])[0], "isyn": np.asarray(rec["isyn"])[0],
            "iahp": np.asarray(rec["iahp"])[0], "spikes": np.asarray(rec["spikes"])[0]}


def _compare(ours: dict, peer: dict) -> tuple[int, float]:
    """(sub-steps compared: up to the first spike that differs, largest relative error
    of the current traces over them); spikes must lie within one sub-step."""
    t_ours = [np.flatnonzero(ours["spikes"][:, i]) for i in range(N)]
    t_peer = [np.flatnonzero(peer["spikes"][:, i]) for i in range(N)]
    first = T
    for a, b in zip(t_ours, t_peer):
        assert len(a) == len(b), (a, b)
        assert np.all(np.abs(a - b) <= 1), (a, b)
        diff = np.flatnonzero(a != b)
        if diff.size:
            first = min(first, int(min(a[diff[0]], b[diff[0]])))
    err = 0.0
    for k in ("imem", "isyn", "iahp"):
        x, y = ours[k][:first], peer[k][:first]
        err = max(err, float(np.max(np.abs(x - y) / np.abs(y))) if first else 0.0)
    return first, err


@pytest.mark.parametrize("seed", range(3))
def test_traces_and_spikes_agree_with_dynapsim(seed):
    case = _draw(seed)
    ours, peer = _ours(case), _peer(case)
    first, err = _compare(ours, peer)
    assert ours["spikes"].sum() > 0, "the case must spike"
    assert first > T // 2 and err < 0.01, (first, err)


@pytest.mark.heavy
def test_twenty_parameter_sets_agree_with_dynapsim():
    worst = 0.0
    for seed in range(100, 120):
        case = _draw(seed)
        first, err = _compare(_ours(case), _peer(case))
        assert first > T // 2 and err < 0.01, (seed, first, err)
        worst = max(worst, err)
    print(f"worst relative current error over 20 sets: {worst:.2e}")
