"""The counter-based random numbers of the project: SplitMix64 over (seed, stamp).

A draw depends only on its seed and its stamp, so continued runs and every target give
the same numbers. Written once, in Numba; the functions are callable from Python too
(`splitmix64(int)`, `uniform(seed, stamp)`), which is what the oracles use.
"""

from __future__ import annotations

import numpy as np

from .jit import njit

MASK64 = (1 << 64) - 1


@njit
def splitmix(x):
    """One round of SplitMix64 on a uint64."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit
def uniform(seed, stamp):
    """Uniform in [0, 1) fixed by (seed, stamp)."""
    x = splitmix(np.uint64(seed) ^ splitmix(np.uint64(stamp)))
    return float(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def splitmix64(x: int) -> int:
    """SplitMix64 of a Python int (taken modulo 2**64)."""
    return int(splitmix(np.uint64(int(x) & MASK64)))


def poisson_steps(params: dict, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per neuron of a SpikeSourcePoisson: spike probability per step, and the first and
    last stamps (step k emits stamp k + 1) of its [start, start + duration] window."""
    p_spike = -np.expm1(-params["rate"] * dt / 1000.0)
    first = (np.floor(params["start"] / dt + 1e-9) + 1).astype(np.int64)
    last = np.floor((params["start"] + params["duration"]) / dt + 1e-9).astype(np.int64)
    return p_spike, first, last


def poisson_neuron_seeds(network_seed: int, source_seed: int, size: int) -> np.ndarray:
    """One uint64 seed per neuron of a Poisson source population."""
    base = splitmix64((int(network_seed) & MASK64) ^ splitmix64(int(source_seed) & MASK64))
    return np.array([splitmix64(base ^ i) for i in range(size)], dtype=np.uint64)
