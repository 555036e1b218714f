"""Loihi-style compiler: u's 24-bit wrap and v's saturation are named in the mapping
report (never silent), checked against the bit-accurate oracle's own wraps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neurocosim import hw
from neurocosim.emulator.loihi import oracle
from neurocosim.hw import Network, Population, Projection, Recording, TargetError
from neurocosim.hw.ir import SpikeArray, SpikeTrains
from neurocosim.hw.stimulus import Stimulus

CELL = dict(cm=0.5, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=0.0,
            v_rest=-65.0, v_reset=-70.0, v_thresh=-50.0, i_offset=0.0)


def volley(weight: float, n: int = 20, t: float = 5.0) -> Network:
    """n sources all spiking at t, all-to-all into one IF_curr_exp cell."""
    pops = [Population("src", n, "SpikeSourceArray", {}),
            Population("cell", 1, "IF_curr_exp", dict(CELL))]
    projs = [Projection("x", "src", "cell", np.arange(n), np.zeros(n, int),
                        np.full(n, weight), np.full(n, 1.0))]
    return Network(pops, projs, stimuli=[SpikeArray("src", SpikeTrains.from_lists([[t]] * n))],
                   recordings=[Recording("cell", "spikes", np.arange(1))], timestep=1.0)


def entries(image, kind: str = "u_may_wrap") -> list:
    return [a for a in image.report.approximations if a.kind == kind]


def test_a_volley_that_wraps_u_is_reported_and_strict_refuses_it():
    image = hw.compile(volley(5.0), "loihi")
    [entry] = entries(image)
    assert entry.where == "population 'cell'"
    assert "20 of projection 'x'" in entry.detail and "2**23" in entry.detail
    assert "more than 18 of them" in entry.detail
    # what the entry warns of: the wrapped u is negative and the cell stays silent
    ref = hw.run(hw.compile(volley(5.0), "reference"), 30.0).spikes["cell"]
    assert len(ref) > 5 and len(hw.run(image, 30.0).spikes["cell"]) == 0
    with pytest.raises(TargetError, match="u_may_wrap"):
        hw.compile(volley(5.0), "loihi", strict=True)


def test_a_volley_that_fits_has_no_entry_and_matches_the_reference():
    image = hw.compile(volley(4.0), "loihi", strict=True)
    assert not entries(image) and not entries(image, "v_may_saturate")
    ours = hw.run(image, 30.0).spikes["cell"].times
    ref = hw.run(hw.compile(volley(4.0), "reference"), 30.0).spikes["cell"].times
    np.testing.assert_array_equal(ours, ref)


def test_strong_inhibition_saturating_v_is_reported():
    net = volley(6.0, n=10)
    net.projections[0].receptor = "inhibitory"
    net.stimuli = [SpikeArray("src", SpikeTrains.from_lists([np.arange(1.0, 40.0)] * 10))]
    [entry] = entries(hw.compile(net, "loihi"), "v_may_saturate")
    assert "10 of projection 'x'" in entry.detail


def wraps(image, steps: int) -> bool:
    """Whether u's register wrapped in the oracle's run (its wrap function, observed)."""
    seen = []
    real = oracle.wrap_register

    def watch(x, half):
        y = real(x, half)
        seen.append(y != x)
        return y

    oracle.wrap_register = watch
    try:
        inputs = Stimulus(image.network, 1.0).window(0, steps).merged()
        oracle.run_oracle(image, steps, inputs)
    finally:
        oracle.wrap_register = real
    return any(seen)


@st.composite
def small_nets(draw) -> Network:
    """A few spike-array, Poisson and recurrent inputs of random weights into 1-3 cells."""
    n_src, n_cell = draw(st.integers(1, 30)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    trains = [np.sort(rng.choice(np.arange(0.0, 8.0), rng.integers(0, 4), replace=False))
              for _ in range(n_src)]
    cell = dict(CELL, tau_syn_I=draw(st.sampled_from([5.0, 10.0])),
                tau_refrac=float(draw(st.integers(0, 3))))
    rate = draw(st.sampled_from([0.0, 300.0]))
    pops = [Population("src", n_src, "SpikeSourceArray", {}),
            Population("poi", 3, "SpikeSourcePoisson",
                       dict(rate=rate, start=0.0, duration=1e9)),
            Population("cell", n_cell, "IF_curr_exp", cell)]
    projs = []
    for name, pre, size in (("x", "src", n_src), ("y", "src", n_src), ("p", "poi", 3),
                            ("r", "cell", n_cell)):
        a, b = np.nonzero(rng.random((size, n_cell)) < draw(st.floats(0.0, 1.0)))
        top = draw(st.sampled_from([1.0, 4.0, 12.0, 30.0]))
        projs.append(Projection(name, pre, "cell", a, b, rng.uniform(0.5, 1.0, len(a)) * top,
                                rng.integers(1, 4, len(a)).astype(float),
                                "inhibitory" if name == "y" else "excitatory"))
    return Network(pops, projs, stimuli=[SpikeArray("src", SpikeTrains.from_lists(trains))],
                   recordings=[Recording("cell", "spikes", np.arange(n_cell))], timestep=1.0)


@settings(max_examples=60, deadline=None)
@given(net=small_nets())
def test_no_wrap_goes_unreported(net):
    image = hw.compile(net, "loihi")
    if wraps(image, 30):
        assert entries(image)
