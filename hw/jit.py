"""The one place Numba's compiler flags are set; every kernel uses `njit` from here."""

import os

import numba
import numpy as np

from .errors import TargetError

#: cache compiled kernels on disk (CI runs many processes); NEUROCOSIM_NO_JIT_CACHE=1 turns it off
CACHE = os.environ.get("NEUROCOSIM_NO_JIT_CACHE", "") == ""


def njit(*args, **kwargs):
    """numba.njit with the project's flags (cache, nogil); extra flags may be added per use."""
    kwargs.setdefault("cache", CACHE)
    kwargs.setdefault("nogil", True)
    return numba.njit(*args, **kwargs)


def check_threads(value, who: str) -> int:
    """A runner's `threads` option checked: a whole number from 1 to Numba's thread count
    (numba.config.NUMBA_NUM_THREADS: the cores Numba found, or its environment setting)."""
    most = numba.config.NUMBA_NUM_THREADS
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not whole or not 1 <= value <= most:
        raise TargetError(f"{who}: threads={value!r}; use a whole number from 1 to {most} "
                          "(numba.config.NUMBA_NUM_THREADS, the cores Numba uses)")
    return int(value)
