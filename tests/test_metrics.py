"""van Rossum distance against its definition, integrated numerically."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.sim.metrics import van_rossum

trains = st.lists(st.floats(0, 200, allow_nan=False), max_size=12)


def _numeric(a, b, tau, dt=0.005, t_end=400.0):
    t = np.arange(0, t_end, dt)
    f = lambda s: sum(np.where(t >= x, np.exp(-(t - x) / tau), 0.0) for x in s) if len(s) \
        else np.zeros_like(t)
    return np.sqrt(np.sum((f(a) - f(b)) ** 2) * dt / tau)


@settings(max_examples=30, deadline=None)
@given(trains, trains, st.floats(2.0, 20.0))
def test_matches_numerical_integral(a, b, tau):
    exact = van_rossum(a, b, tau)
    assert abs(exact - _numeric(a, b, tau)) < 2e-2 * (1 + exact)


@given(trains, st.floats(1.0, 50.0))
def test_identical_trains_have_zero_distance(a, tau):
    assert van_rossum(a, a, tau) < 1e-6


def test_one_extra_spike():
    assert abs(van_rossum([10.0], [], 5.0) - np.sqrt(0.5)) < 1e-12
