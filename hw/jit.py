"""The one place Numba's compiler flags are set; every kernel uses `njit` from here."""

import os

import numba

#: cache compiled kernels on disk (CI runs many processes); NEUROCOSIM_NO_JIT_CACHE=1 turns it off
CACHE = os.environ.get("NEUROCOSIM_NO_JIT_CACHE", "") == ""


def njit(*args, **kwargs):
    """numba.njit with the project's flags (cache, nogil); extra flags may be added per use."""
    kwargs.setdefault("cache", CACHE)
    kwargs.setdefault("nogil", True)
    return numba.njit(*args, **kwargs)
