"""The fpga target's golden model: the naive oracle (oracle.ChipModel), the Numba kernels
(engine.FastChip) and the runner `Engine`, bit-exact and cycle-exact with the RTL."""

from .engine import Engine, FastChip
from .oracle import ChipModel

__all__ = ["ChipModel", "Engine", "FastChip"]
