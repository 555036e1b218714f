"""Spike-train comparison: firing rates and the van Rossum distance, per neuron and per
population. The one place these metrics are defined (compare, sweep and tests use it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hw.jit import njit
from ..hw.result import Result


@njit
def _one_sided(x: np.ndarray, y: np.ndarray, tau: float, inclusive: bool) -> float:
    """sum over i, and j with y_j <= x_i (or < when not inclusive), of exp(-(x_i-y_j)/tau);
    x and y sorted. One pass with a decaying running sum."""
    total, acc, last, j = 0.0, 0.0, 0.0, 0
    for i in range(x.size):
        while j < y.size and (y[j] < x[i] or (inclusive and y[j] == x[i])):
            acc = acc * np.exp(-(y[j] - last) / tau) + 1.0
            last = y[j]
            j += 1
        total += acc * np.exp(-(x[i] - last) / tau)
    return total


def _kernel_sum(a: np.ndarray, b: np.ndarray, tau: float) -> float:
    """sum_ij exp(-|a_i - b_j| / tau) for sorted a, b, in O(n + m)."""
    if a.size == 0 or b.size == 0:
        return 0.0
    return _one_sided(a, b, tau, True) + _one_sided(b, a, tau, False)


def van_rossum(a: np.ndarray, b: np.ndarray, tau: float) -> float:
    """van Rossum distance between two spike trains (ms) with an exponential kernel of
    `tau` ms: D^2 = (1/tau) * integral (f_a - f_b)^2 dt, so one unmatched spike is 1/sqrt(2)."""
    if tau <= 0:
        raise ValueError(f"van Rossum tau = {tau} ms must be > 0")
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    d2 = 0.5 * (_kernel_sum(a, a, tau) + _kernel_sum(b, b, tau) - 2 * _kernel_sum(a, b, tau))
    return float(np.sqrt(max(d2, 0.0)))


@dataclass
class PopulationComparison:
    """How target `b` differs from target `a` on one population."""

    population: str
    rate_a: float                 # mean rate, spikes/s per neuron
    rate_b: float
    van_rossum_mean: float        # mean over neurons
    van_rossum_max: float
    spikes_a: int
    spikes_b: int


def compare_results(a: Result, b: Result, sizes: dict[str, int],
                    tau: float = 10.0) -> list[PopulationComparison]:
    """Per-population rates and van Rossum distances between two Results of one network."""
    t_stop = min(a.t_stop, b.t_stop)
    if t_stop <= 0:
        raise ValueError("cannot compare results of runs of zero length")
    out = []
    for pop, size in sizes.items():
        if pop not in a.spikes or pop not in b.spikes:
            continue
        ta = a.spikes[pop].trains(size)
        tb = b.spikes[pop].trains(size)
        ta = [t[t <= t_stop] for t in ta]
        tb = [t[t <= t_stop] for t in tb]
        d = np.array([van_rossum(x, y, tau) for x, y in zip(ta, tb)])
        na, nb = sum(map(len, ta)), sum(map(len, tb))
        out.append(PopulationComparison(pop, 1000.0 * na / size / t_stop,
                                        1000.0 * nb / size / t_stop, float(d.mean()),
                                        float(d.max()), na, nb))
    return out
