"""Cycle-accurate emulator of the TrueNorth-style target (crossbar cores, 1 ms ticks).

`core_tick` is the public one-tick update of one core over integer arrays;
`core_tick_oracle` its pure-Python oracle; `Engine` runs a compiled image (the runner named
by `TrueNorthSpec.runner`). The image format is `hw.layouts.truenorth`.
"""

from .engine import Engine
from .neuron import core_tick
from .oracle import core_tick_oracle

__all__ = ["Engine", "core_tick", "core_tick_oracle"]
