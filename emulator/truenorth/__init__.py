"""Cycle-accurate emulator of the TrueNorth-style target (crossbar cores, 1 ms ticks).

`core_tick` is the public one-tick update of one core over integer arrays;
`core_tick_oracle` its pure-Python oracle; `Engine` runs a compiled image (the runner named
by `TrueNorthSpec.runner`).
"""

from .engine import Engine
from .neuron import NEURON_PARAMS, core_tick, lfsr_seed
from .oracle import core_tick_oracle

__all__ = ["Engine", "NEURON_PARAMS", "core_tick", "core_tick_oracle", "lfsr_seed"]
