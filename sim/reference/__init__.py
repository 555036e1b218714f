"""The floating-point reference target: every IR model run in float64 by one Numba loop."""

from .engine import Engine

__all__ = ["Engine"]
