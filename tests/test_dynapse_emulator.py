"""The DynapSE-style emulator: the Numba sub-step against its plain-Python oracle, the
engine's windows and routing against an oracle loop, mismatch (spread, seed, frozen or
per run) and the hierarchical routing timing."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.emulator.dynapse import (circuit, mismatch, neuron_currents, substep,
                                         substep_oracle)
from neurocosim.hw.ir import (Network, PoissonSource, Population, Projection, Recording,
                              SpikeArray, SpikeTrains)
from neurocosim.hw.layouts import dynapse as L

SPEC = hw.get_target("dynapse")
LIF = dict(cm=1.0, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=8.0, tau_refrac=2.0, v_rest=-65.0,
           v_reset=-65.0, v_thresh=-55.0, i_offset=0.0)
STATE = ("isyn", "iahp", "imem", "vmem", "timer", "spk")


def _random_circuit(rng, n):
    io = SPEC.io_a
    itau = rng.uniform(2e-12, 2e-11, n)
    cur = {"itau_syn": rng.uniform(1e-11, 1e-9, (n, 4)), "igain_syn": rng.uniform(1e-9, 1e-7, (n, 4)),
           "syn_used": (rng.random((n, 4)) < 0.7).astype(float), "itau_mem": itau,
           "igain_mem": itau * rng.uniform(1, 6, n), "idc": rng.uniform(io, 5e-11, n),
           "ispkthr": rng.uniform(1e-9, 1e-7, n), "iref": rng.uniform(1e-10, 1e-8, n),
           "itau_ahp": rng.uniform(1e-13, 1e-11, n), "igain_ahp": rng.uniform(1e-12, 1e-10, n),
           "iw_ahp": rng.uniform(1e-12, 1e-9, n)}
    return circuit(cur, SPEC)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 40))
def test_substep_kernel_equals_the_oracle(seed, steps):
    rng = np.random.default_rng(seed)
    n = 6
    cir = _random_circuit(rng, n)
    io = SPEC.io_a
    state = {"isyn": rng.uniform(io, 1e-9, (n, 4)), "iahp": rng.uniform(io, 1e-10, n),
             "imem": np.exp(rng.uniform(np.log(io), np.log(1e-7), n)),
             "vmem": rng.uniform(0, 0.3, n), "timer": rng.choice([0.0, 1e-4, 2e-3], n),
             "spk": rng.choice([0.0, 1.0], n)}
    mine = {k: v.copy() for k, v in state.items()}
    for _ in range(steps):
        win = rng.uniform(0, 3e-10, (n, 4)) * (rng.random((n, 4)) < 0.3)
        state = substep_oracle(win, state, cir)
        substep(win, *(mine[k] for k in STATE), *cir.args(), np.arange(n, dtype=np.int64))
        for k in STATE:
            np.testing.assert_allclose(mine[k], state[k], rtol=1e-9, atol=0, err_msg=k)


def _network(seed=0, n_chips=1, mismatch_std=0.0):
    pops = [Population("src", 6, "SpikeSourcePoisson", dict(rate=150.0, start=0.0, duration=1e9)),
            Population("arr", 2, "SpikeSourceArray"),
            Population("e", 5, "IF_curr_exp", dict(LIF, i_offset=0.3)),
            Population("i", 3, "IF_curr_exp", dict(LIF, tau_m=15.0))]
    rng = np.random.default_rng(seed)

    def proj(name, pre, post, n_pre, n_post, receptor="excitatory"):
        pre_idx, post_idx = np.divmod(np.arange(n_pre * n_post), n_post)
        return Projection(name, pre, post, pre_idx, post_idx,
                          rng.uniform(0.2, 2.0, n_pre * n_post), np.ones(n_pre * n_post),
                          receptor)

    projs = [proj("se", "src", "e", 6, 5), proj("ae", "arr", "e", 2, 5),
             proj("ei", "e", "i", 5, 3), proj("ie", "i", "e", 3, 5, "inhibitory"),
             proj("ee", "e", "e", 5, 5)]
    trains = SpikeTrains.from_lists([[3.0, 3.2, 20.0], [7.0]])
    return Network(pops, projs, [PoissonSource("src", seed=seed), SpikeArray("arr", trains)],
                   [Recording("e", "spikes", np.arange(5)), Recording("i", "spikes", np.arange(3)),
                    Recording("e", "imem", np.arange(5))], timestep=1.0, seed=seed)


def _oracle_run(image, engine, steps):
    """The engine's schedule written out with the oracle: sources of stamp s in the first
    sub-step of step s, neuron spikes one sub-step later; imem sampled at step starts."""
    net, spec = image.network, image.target
    n, io = net.size, spec.io_a
    r = image.routing
    cir = engine.cir
    w = engine.syn_w
    state = {"isyn": np.full((n, 4), io), "iahp": np.full(n, io), "imem": np.full(n, io),
             "vmem": np.zeros(n), "timer": np.zeros(n), "spk": np.zeros(n)}
    active = r[L.NEURON_CORE] >= 0
    inputs = engine.stimulus.window(0, steps + 1)
    spikes, samples = [], []
    for k in range(steps):
        samples.append(state["imem"].copy())
        for j in range(spec.substeps):
            count = np.zeros(n)
            if j == 0:
                np.add.at(count, inputs.neuron[np.maximum(inputs.stamp, 0) == k], 1.0)
                if k == 0:
                    np.add.at(count, inputs.neuron[inputs.stamp == 0], 1.0)
            count[active] += state["spk"][active]
            win = np.zeros((n, 4))
            for pre in np.flatnonzero(count):
                q = slice(r[L.SYN_PTR][pre], r[L.SYN_PTR][pre + 1])
                np.add.at(win, (r[L.SYN_POST][q], r[L.SYN_TYPE][q]), count[pre] * w[q])
            new = substep_oracle(win, state, cir)
            state = {k2: np.where(active[:, None] if v.ndim == 2 else active, v, state[k2])
                     for k2, v in new.items()}
            for g in np.flatnonzero(state["spk"] > 0):
                spikes += [(g, k + 1)] * int(state["spk"][g])
    return sorted(spikes), np.array(samples)


def test_engine_windows_and_routing_equal_the_oracle_loop():
    net = _network(3, mismatch_std=0.1)
    image = hw.compile(net, "dynapse")
    eng = hw.runner_for(image)(image)
    eng.run(17.0)
    eng.run(23.0)
    res = eng.result()
    want_spikes, want_imem = _oracle_run(image, eng, 40)
    off = net.offsets()
    got = sorted((off[p] + i, int(round(t))) for p in ("e", "i")
                 for i, t in zip(res.spikes[p].ids, res.spikes[p].times))
    assert len(got) > 10
    assert got == want_spikes
    sig = res.signals["e"]["imem"]
    np.testing.assert_allclose(sig.data, want_imem[:, off["e"]:off["e"] + 5], rtol=1e-9)


def test_mismatch_spread_matches_the_configured_std_and_the_seed_is_the_chip():
    net = Network([Population("a", 256, "IF_curr_exp", LIF)], [], [], [], timestep=1.0)
    image = hw.compile(net, "dynapse", mismatch_std=0.2)
    nominal = neuron_currents(image)
    chip = mismatch(nominal, 0.2, np.random.default_rng(5), SPEC.io_a)
    above_floor = [k for k in L.MISMATCHED if nominal[k].min() > 5 * SPEC.io_a]
    assert len(above_floor) >= 8        # a current at the Io floor stays there (clipped)
    for k in above_floor:
        ratio = (chip[k] / nominal[k]).ravel()
        assert abs(ratio.std() - 0.2) < 0.03 and abs(ratio.mean() - 1) < 0.03, k
    eng = hw.runner_for(image)(image)
    again = hw.runner_for(image)(image)
    np.testing.assert_array_equal(eng.chip_currents["itau_mem"], again.chip_currents["itau_mem"])
    other_image = hw.compile(net, "dynapse", mismatch_std=0.2, mismatch_seed=1)
    other = hw.runner_for(other_image)(other_image)
    assert not np.allclose(other.chip_currents["itau_mem"], eng.chip_currents["itau_mem"],
                           rtol=1e-6, atol=0)
    spread = eng.chip_currents["itau_mem"] / nominal["itau_mem"]
    assert abs(spread.std() - 0.2) < 0.03


def test_frozen_mismatch_survives_reset_and_per_run_redraws_it():
    net = Network([Population("a", 8, "IF_curr_exp", LIF)], [], [], [], timestep=1.0)
    for mode, same in (("frozen", True), ("per_run", False)):
        image = hw.compile(net, "dynapse", mismatch_mode=mode)
        eng = hw.runner_for(image)(image)
        before = eng.chip_currents["itau_mem"].copy()
        eng.run(2.0)
        eng.reset()
        assert np.array_equal(before, eng.chip_currents["itau_mem"]) == same, mode
        assert np.std(before / neuron_currents(image)["itau_mem"]) > 0.05


def test_routing_latency_follows_the_hierarchy():
    spec = hw.get_target("dynapse", cores_per_chip=1, n_chips=2, mismatch_std=0.0)
    pops = [Population("a", 1, "IF_curr_exp", dict(LIF, i_offset=2.0)),
            Population("b", 1, "IF_curr_exp", dict(LIF, tau_m=30.0))]
    projs = [Projection("ab", "a", "b", [0], [0], [0.1], [0.0]),
             Projection("aa", "a", "a", [0], [0], [0.1], [0.0])]
    net = Network(pops, projs, [], [Recording("a", "spikes", np.arange(1))], timestep=1.0)
    image = hw.compile(net, spec)
    eng = hw.runner_for(image)(image)
    eng.run(100.0)
    tm = eng.result().timing
    n_spk = len(eng.result().spikes["a"])
    assert n_spk > 2 and tm.metrics["packets"] == 2 * n_spk
    lat = tm.arrays["latency_ns"]
    dst = tm.arrays["packet_dst_core"]
    local = spec.encode_latency_ns + spec.core_latency_ns
    np.testing.assert_allclose(lat[dst == 0], local)     # first event of each spike
    remote = lat[dst == 1]
    # the second event of a spike waits one encoder slot, then crosses a chip
    np.testing.assert_allclose(remote, local + spec.encode_latency_ns
                               + spec.chip_hop_latency_ns + spec.board_hop_latency_ns)
    assert tm.metrics["energy_total_pJ"] > tm.metrics["energy_mesh_pJ"] > 0
    assert tm.metrics["synaptic_events"] == 2 * n_spk


def test_adex_adaptation_lengthens_the_intervals():
    eif = dict(cm=0.28, tau_refrac=1.0, v_spike=0.0, v_reset=-70.6, v_rest=-70.6, tau_m=9.4,
               i_offset=1.0, a=0.0, b=0.08, delta_T=2.0, tau_w=144.0, v_thresh=-50.4,
               e_rev_E=0.0, tau_syn_E=5.0, e_rev_I=-80.0, tau_syn_I=5.0)
    net = Network([Population("x", 1, "EIF_cond_exp_isfa_ista", eif)], [], [],
                  [Recording("x", "spikes", np.arange(1))], timestep=1.0)
    res = hw.run(hw.compile(net, "dynapse", mismatch_std=0.0), 300.0)
    isi = np.diff(res.spikes["x"].times)
    assert len(isi) >= 3 and isi[-1] > isi[0], isi
