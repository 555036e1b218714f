"""TrueNorth-style neuron: each mode against a hand-derived trace; kernel vs oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.emulator.truenorth import core_tick, core_tick_oracle
from neurocosim.hw.layouts.truenorth import NEURON_PARAMS, lfsr_seed
from neurocosim.emulator.truenorth.oracle import Lfsr


def neuron(**kw):
    """Parameters of one neuron (arrays of length 1): deterministic, no leak, alpha 100."""
    p = dict(weights=[[0, 0, 0, 0]], syn_stoch=[[0, 0, 0, 0]], leak=[0], leak_rev=[0],
             leak_stoch=[0], alpha=[100], beta=[1000], tm=[0], gamma=[0], kappa=[1],
             reset=[0])
    p.update({k: [v] if np.ndim(v) == 0 else v for k, v in kw.items()})
    return {k: np.array(v, np.int64) for k, v in p.items()}


def tick(p, v0, active=(0,), types=(0,), lfsr=1):
    xbar = np.ones((len(types), 1), np.uint8)
    act = np.zeros(len(types), bool)
    act[list(active)] = True
    v = np.array([v0], np.int64)
    fired, state = core_tick(act, xbar, np.array(types), p, v, lfsr)
    f2, v2, s2 = core_tick_oracle(act, xbar, types, p, [v0], lfsr)
    assert [bool(fired[0])] == f2 and [int(v[0])] == v2 and state == s2
    return bool(fired[0]), int(v[0])


def test_integrate_by_axon_type():
    p = neuron(weights=[[3, -2, 7, 5]])
    assert tick(p, 0, active=(0, 1, 2), types=(0, 1, 1)) == (False, 3 - 2 - 2)
    assert tick(p, 10, active=(1,), types=(0, 3)) == (False, 15)
    assert tick(p, 10, active=(), types=(0,)) == (False, 10)


def test_leak_modes():
    assert tick(neuron(leak=-2), 5, active=()) == (False, 3)
    # leak reversal: V moves by sgn(V) * lambda
    assert tick(neuron(leak=-2, leak_rev=1), -5, active=()) == (False, -3)
    assert tick(neuron(leak=-2, leak_rev=1), 5, active=()) == (False, 3)
    assert tick(neuron(leak=-2, leak_rev=1), 0, active=()) == (False, 0)
    assert tick(neuron(leak=3, leak_rev=1), -5, active=()) == (False, -8)


def test_reset_modes():
    # integrate to 13 >= alpha 10
    for gamma, v_after in ((0, 2), (1, 3), (2, 13)):
        p = neuron(weights=[[13, 0, 0, 0]], alpha=10, gamma=gamma, reset=2)
        assert tick(p, 0) == (True, v_after)
    # exactly at threshold fires
    assert tick(neuron(weights=[[10, 0, 0, 0]], alpha=10), 0) == (True, 0)


def test_negative_threshold():
    base = dict(weights=[[-8, 0, 0, 0]], beta=5, reset=2)
    assert tick(neuron(**base, kappa=1), 0) == (False, -5)                 # saturate
    assert tick(neuron(**base, kappa=0, gamma=0), 0) == (False, -2)        # V = -R
    assert tick(neuron(**base, kappa=0, gamma=1), 0) == (False, -3)        # V += beta
    assert tick(neuron(**base, kappa=0, gamma=2), 0) == (False, -8)        # unchanged
    assert tick(neuron(weights=[[-5, 0, 0, 0]], beta=5, kappa=1), 0) == (False, -5)  # not <


def test_saturation_at_v_format():
    p = neuron(weights=[[255, 0, 0, 0]], alpha=(1 << 18), gamma=2)
    v = np.array([(1 << 19) - 100], np.int64)
    core_tick(np.array([True]), np.ones((1, 1)), np.array([0]), p, v, 1)
    assert v[0] == (1 << 19) - 1


def test_lfsr_matches_bitwise_oracle():
    state = np.array([lfsr_seed(7, 3)], np.int64)
    ref = Lfsr(int(state[0]))
    from neurocosim.emulator.truenorth.neuron import _draw
    for _ in range(200):
        assert _draw(state, 0, 8) == ref.draw()
    assert int(state[0]) == ref.state
    wide = Lfsr(ref.state, 12)
    for _ in range(50):
        assert _draw(state, 0, 12) == wide.draw()


def _rate(p, v0, n, active=(0,)):
    lfsr, hits = lfsr_seed(3, 0), 0
    for _ in range(n):
        v = np.array([v0], np.int64)
        act = np.zeros(1, bool)
        act[list(active)] = True
        fired, lfsr = core_tick(act, np.ones((1, 1)), np.array([0]), p, v, lfsr)
        hits += int(v[0] != v0) if not fired[0] else 1
    return hits / n


def test_stochastic_modes_are_statistically_right():
    n = 4000
    # synapse: +1 when |s| = 64 >= rho (uniform 0..255): p = 65/256
    r = _rate(neuron(weights=[[64, 0, 0, 0]], syn_stoch=[[1, 0, 0, 0]], gamma=2), 0, n)
    assert abs(r - 65 / 256) < 4 * np.sqrt(0.25 * 0.75 / n)
    # leak: -1 when |lambda| = 128 >= rho: p = 129/256
    r = _rate(neuron(leak=-128, leak_stoch=1, gamma=2), 0, n, active=())
    assert abs(r - 129 / 256) < 4 * np.sqrt(0.25 / n)
    # threshold: alpha 10 + (rho & 3), V = 11 fires when eta <= 1: p = 1/2
    r = _rate(neuron(alpha=10, tm=2, gamma=2), 11, n, active=())
    assert abs(r - 0.5) < 4 * np.sqrt(0.25 / n)


def test_stochastic_runs_repeat_for_a_seed_and_differ_across_seeds():
    p = neuron(weights=[[100, 0, 0, 0]], syn_stoch=[[1, 0, 0, 0]], leak=-50, leak_stoch=1,
               alpha=3, tm=3, gamma=1)

    def trace(seed):
        lfsr, v, out = lfsr_seed(seed, 0), np.zeros(1, np.int64), []
        for _ in range(200):
            f, lfsr = core_tick(np.array([True]), np.ones((1, 1)), np.array([0]), p, v, lfsr)
            out.append((bool(f[0]), int(v[0])))
        return out

    assert trace(5) == trace(5)
    assert trace(5) != trace(6)


@st.composite
def cores(draw):
    n = draw(st.integers(1, 10))
    a = draw(st.integers(1, 10))
    small = st.integers(-20, 20)
    p = {"weights": [[draw(small) for _ in range(4)] for _ in range(n)],
         "syn_stoch": [[draw(st.integers(0, 1)) for _ in range(4)] for _ in range(n)]}
    for key, strat in (("leak", st.integers(-10, 10)), ("leak_rev", st.integers(0, 1)),
                       ("leak_stoch", st.integers(0, 1)), ("alpha", st.integers(0, 40)),
                       ("beta", st.integers(0, 40)), ("tm", st.integers(0, 8)),
                       ("gamma", st.integers(0, 2)), ("kappa", st.integers(0, 1)),
                       ("reset", st.integers(-10, 10))):
        p[key] = [draw(strat) for _ in range(n)]
    xbar = [[draw(st.integers(0, 1)) for _ in range(n)] for _ in range(a)]
    types = [draw(st.integers(0, 3)) for _ in range(a)]
    ticks = [[draw(st.booleans()) for _ in range(a)] for _ in range(draw(st.integers(1, 6)))]
    v0 = [draw(st.integers(-60, 60)) for _ in range(n)]
    return ({k: np.array(v, np.int64) for k, v in p.items()}, np.array(xbar, np.uint8),
            np.array(types, np.int64), ticks, v0, draw(st.integers(1, 2**32 - 1)),
            draw(st.integers(8, 12)))


@settings(max_examples=150, deadline=None)
@given(cores())
def test_kernel_matches_oracle_on_generated_cores(case):
    p, xbar, types, ticks, v0, seed, bits = case
    assert set(p) == set(NEURON_PARAMS)
    v = np.array(v0, np.int64)
    ov, lfsr, olfsr = list(v0), seed, seed
    vmin, vmax = -200, 200                  # a narrow V so saturation is exercised too
    for act in ticks:
        fired, lfsr = core_tick(np.array(act), xbar, types, p, v, lfsr, vmin, vmax, bits)
        of, ov, olfsr = core_tick_oracle(act, xbar, types, p, ov, olfsr, vmin, vmax, bits)
        assert fired.tolist() == of
        assert v.tolist() == ov
        assert lfsr == olfsr


def test_core_tick_refuses_bad_input():
    with pytest.raises(ValueError, match="int64 array of 1"):
        core_tick(np.array([True]), np.ones((1, 1)), np.array([0]), neuron(),
                  np.zeros(1, np.int32), 1)
    with pytest.raises(ValueError, match="tm 9 outside 0..8"):
        core_tick(np.array([True]), np.ones((1, 1)), np.array([0]), neuron(tm=9),
                  np.zeros(1, np.int64), 1)


def trace(p, v0, ticks, active=(0,)):
    """(fired, v) per tick of one neuron, through the kernel (checked against the oracle)."""
    out, v = [], v0
    for _ in range(ticks):
        f, v = tick(p, v, active=active)
        out.append((f, v))
    return [f for f, _ in out], [v for _, v in out]


def test_traces_by_hand():
    # integrate 4, leak -1, threshold 6, reset to 0: 3, 6 -> spike -> 0, 3, 6 -> spike -> 0
    assert trace(neuron(weights=[[4, 0, 0, 0]], leak=-1, alpha=6), 0, 4) == (
        [False, True, False, True], [3, 0, 3, 0])
    # linear reset keeps the remainder: 7, 14-10, 11-10, 8, 15-10, 12-10, 9
    assert trace(neuron(weights=[[7, 0, 0, 0]], alpha=10, gamma=1), 0, 7) == (
        [False, True, True, False, True, True, False], [7, 4, 1, 8, 5, 2, 9])
    # leak reversal towards 0 overshoots and then oscillates around it
    assert trace(neuron(leak=-3, leak_rev=1), 10, 6, active=()) == (
        [False] * 6, [7, 4, 1, -2, 1, -2])
    # negative saturation holds V at -beta under steady inhibition, then integrates back
    f, v = trace(neuron(weights=[[-4, 0, 0, 0]], beta=6), 0, 3)
    assert v == [-4, -6, -6] and trace(neuron(weights=[[5, 0, 0, 0]]), -6, 2)[1] == [-1, 4]
