"""Fixed-point helpers shared by the chip compilers: decay constants, mantissa/exponent splits."""

from __future__ import annotations

import numpy as np

from ..errors import LimitError
from ..formats import NumberFormat


def decay_constant(tau, dt: float, fmt: NumberFormat, offset: int = 0,
                   what: str = "decay") -> tuple[np.ndarray, np.ndarray]:
    """Integer decay d with `(2**bits - offset - d) / 2**bits` closest to exp(-dt/tau).

    Returns (d, effective factor). `offset` is lava's ds_offset (1 for Loihi's du: the
    largest value then removes everything in one step). Values are clipped to the
    format's range; that clipping shows in the effective factor the caller reports.
    """
    one = 1 << fmt.bits
    tau = np.asarray(tau, np.float64)
    keep = np.exp(-dt / tau)
    d = np.rint(one * (1.0 - keep)).astype(np.int64) - offset
    d = np.clip(d, fmt.min_int, fmt.max_int)
    return d, (one - offset - d) / one


def split_mantissa_exponent(values, mant: NumberFormat, exp_lo: int, exp_hi: int,
                            what: str = "value", step: int = 1) -> tuple[np.ndarray, int]:
    """Integers `m * 2**e` nearest to real `values`, one shared exponent e in exp_lo..exp_hi.

    Chooses the smallest e for which every |value| / 2**e fits the mantissa format (the
    finest resolution); mantissas are multiples of `step` (2 for Loihi's mixed-sign mode).
    Raises LimitError naming the exponent needed when even exp_hi is too small.
    """
    v = np.asarray(values, np.float64)
    big = float(np.max(np.abs(v))) if v.size else 0.0
    hi_m = (mant.max_int // step) * step
    lo_m = -((-mant.min_int // step) * step) if mant.signed else 0
    limit = min(hi_m, -lo_m) if mant.signed and np.any(v < 0) and np.any(v > 0) else \
        (hi_m if not np.any(v < 0) else -lo_m)
    if big == 0.0 or limit == 0:
        return np.zeros(v.shape, np.int64), exp_lo
    need = int(np.ceil(np.log2(big / limit))) if big > limit else exp_lo
    e = max(exp_lo, need)
    while e <= exp_hi:
        m = np.rint(v / (2.0 ** e) / step).astype(np.int64) * step
        if m.max(initial=0) <= hi_m and m.min(initial=0) >= lo_m:
            return m, e
        e += 1
    raise LimitError(f"{what} exponent", need, exp_hi,
                     f"largest {what} {big:g} needs 2**{need} x {limit} mantissa")
