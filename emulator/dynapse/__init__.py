"""Emulator of the DynapSE-style target (DPI neurons and synapses at a fine sub-step).

`Engine` runs a compiled image (the runner named by `DynapseSpec.runner`); `substep` is
the one-sub-step Numba kernel and `substep_oracle` its plain-Python oracle; `circuit`
derives a sub-step's factors from bias currents. The image format is
`hw.layouts.dynapse`.
"""

from .circuit import Circuit, circuit, mismatch, neuron_currents
from .engine import Engine
from .kernels import substep
from .oracle import substep_oracle

__all__ = ["Engine", "Circuit", "circuit", "mismatch", "neuron_currents", "substep",
           "substep_oracle"]
