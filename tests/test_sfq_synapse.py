"""The stochastic synapse: its erf model, the bias inverse, and pass rates over 10^4 pulses
within statistical bounds of the model (seeded, reproducible)."""

import math

import numpy as np
import pytest

from neurocosim.hw.errors import LimitError
from neurocosim.hw.targets.sfq import SfqSpec
from neurocosim.sim.sfq import Circuit, Simulator

SPEC = SfqSpec()
N = 10_000


def passes(bias, seed, global_bias=0.0, n=N):
    c = Circuit()
    x = c.input("x")
    (q,) = c.add("synapse", x, bias=bias)
    c.probe(q, "q")
    sim = Simulator(c.netlist(), SPEC, seed=seed, global_bias_uA=global_bias)
    sim.schedule("x", np.arange(n) * 10.0 + 5.0)
    sim.run(n * 10.0 + 100.0)
    assert sim.stats.passed + sim.stats.blocked == n
    return sim.stats.passed, sim.pulses("q")


def test_model_is_the_documented_erf():
    for bias in (70.0, 95.0, 100.0, 104.0, 130.0):
        z = (bias - SPEC.synapse_i0_uA) / (math.sqrt(2) * SPEC.synapse_sigma_uA)
        assert SPEC.pass_probability(bias) == pytest.approx(0.5 * (1 + math.erf(z)))
    assert SPEC.pass_probability(100.0) == 0.5
    assert SPEC.pass_probability(92.0, global_bias_uA=8.0) == 0.5


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.77, 0.95])
def test_bias_inverse(p):
    assert SPEC.pass_probability(SPEC.synapse_bias(p), 0.0) == pytest.approx(p, abs=1e-9)


def test_weights_outside_0_1_are_refused():
    with pytest.raises(LimitError, match=r"synapse weight \(pass probability\): needs 1.5"):
        SPEC.synapse_bias(1.5)


@pytest.mark.parametrize("bias, seed", [(88.0, 1), (100.0, 2), (106.0, 3), (115.0, 4)])
def test_pass_rate_within_bounds_of_the_model(bias, seed):
    p = float(SPEC.pass_probability(bias))
    k, times = passes(bias, seed)
    sd = math.sqrt(N * p * (1 - p))
    assert abs(k - N * p) < 4.5 * sd, (k, N * p, sd)
    assert len(times) == k and np.all(np.diff(times) >= 10.0)


def test_global_bias_moves_every_synapse():
    k_lo, _ = passes(100.0, 5, global_bias=-8.0)
    k_hi, _ = passes(100.0, 5, global_bias=+8.0)
    p_lo, p_hi = (float(SPEC.pass_probability(100.0, g)) for g in (-8.0, 8.0))
    for k, p in ((k_lo, p_lo), (k_hi, p_hi)):
        assert abs(k - N * p) < 4.5 * math.sqrt(N * p * (1 - p))


def test_same_seed_same_pulses_other_seed_other_pulses():
    a, ta = passes(100.0, 11, n=2000)
    b, tb = passes(100.0, 11, n=2000)
    _, tc = passes(100.0, 12, n=2000)
    assert np.array_equal(ta, tb) and not np.array_equal(ta, tc)
