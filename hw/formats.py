"""Fixed-point number formats: the one place a width, a scale or an overflow rule is written."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import NetworkError

OVERFLOW_RULES = ("wrap", "saturate", "error")


@dataclass(frozen=True)
class NumberFormat:
    """A two's-complement (or unsigned) fixed-point format.

    `bits` total bits, `frac_bits` of them fractional. `overflow` says what the hardware
    does with a result outside the range: wrap, saturate, or (for the compiler) refuse.
    """

    bits: int
    frac_bits: int = 0
    signed: bool = True
    overflow: str = "wrap"

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 63:
            raise ValueError(f"NumberFormat bits={self.bits} must be in 1..63")
        if not 0 <= self.frac_bits <= self.bits:
            raise ValueError(f"NumberFormat frac_bits={self.frac_bits} must be in 0..{self.bits}")
        if self.overflow not in OVERFLOW_RULES:
            raise ValueError(f"NumberFormat overflow={self.overflow!r} must be one of "
                             f"{OVERFLOW_RULES}")

    @property
    def min_int(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def scale(self) -> float:
        """Value of one least significant bit."""
        return 2.0 ** -self.frac_bits

    def fit(self, values, what: str = "value") -> np.ndarray:
        """Apply the overflow rule to integers (int64 array in, int64 array out)."""
        v = np.asarray(values, dtype=np.int64)
        lo, hi = self.min_int, self.max_int
        if self.overflow == "saturate":
            return np.clip(v, lo, hi)
        if self.overflow == "wrap":
            span = 1 << self.bits
            return ((v - lo) % span) + lo
        out = v[(v < lo) | (v > hi)]
        if out.size:
            raise NetworkError(f"{what} {int(out[0])} does not fit {self.describe()} "
                               f"(range {lo}..{hi})")
        return v

    def quantize(self, values, what: str = "value") -> np.ndarray:
        """Round real values to this format's integers, refusing any that do not fit."""
        v = np.rint(np.asarray(values, dtype=np.float64) / self.scale)
        lo, hi = self.min_int, self.max_int
        bad = v[(v < lo) | (v > hi)]
        if bad.size:
            raise NetworkError(f"{what} {bad[0] * self.scale} does not fit {self.describe()} "
                               f"(range {lo * self.scale}..{hi * self.scale})")
        return v.astype(np.int64)

    def describe(self) -> str:
        kind = "signed" if self.signed else "unsigned"
        return f"{kind} {self.bits}-bit Q{self.bits - self.frac_bits}.{self.frac_bits}"
