"""Numba form of `hw.rng`: the per-(seed, stamp) uniform draw of Poisson sources."""

import numpy as np

from .jit import njit


@njit
def splitmix(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit
def uniform(seed, stamp):
    """Uniform in [0, 1) fixed by (seed, stamp); equals hw.rng.uniform."""
    x = splitmix(seed ^ splitmix(np.uint64(stamp)))
    return float(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)
