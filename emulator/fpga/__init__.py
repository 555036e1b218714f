"""The fpga target's golden model: the naive oracle (oracle.ChipModel), the Numba kernels
and the runner `Engine`, bit-exact and cycle-exact with the RTL (neurocosim.rtl)."""

from .oracle import ChipModel

__all__ = ["ChipModel"]
