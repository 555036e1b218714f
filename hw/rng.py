"""The counter-based random numbers every target draws Poisson spikes with.

SplitMix64 over (seed, stamp): a draw depends only on its seed and its step, so continued
runs and different targets give the same input spikes. Python-int form here; the Numba
form the kernels call is `emulator.rng`.
"""

from __future__ import annotations

import numpy as np

MASK64 = (1 << 64) - 1


def splitmix64(x: int) -> int:
    """One round of SplitMix64 on a Python int."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def uniform(seed: int, stamp: int) -> float:
    """The uniform number in [0, 1) for (seed, stamp), as the kernels draw it."""
    return (splitmix64(seed ^ splitmix64(stamp)) >> 11) / 9007199254740992.0


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
