"""The floating-point reference target: the IR run as written, at any timestep."""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import CURRENT_SOURCES, NEURON_MODELS, PLASTICITY_RULES
from .base import TargetSpec


@dataclass(frozen=True)
class ReferenceSpec(TargetSpec):
    """Float64 state, exact integration where the model allows; no hardware limits."""

    name: str = "reference"
    description: str = "float64 reference engine (Numba), any timestep, every IR model"
    runner: str = "neurocosim.sim.reference:Engine"
    compiler: str = "neurocosim.hw.compile_reference:compile_reference"
    models: tuple[str, ...] = tuple(NEURON_MODELS)
    timestep: float | None = None
    plasticity: tuple[str, ...] = PLASTICITY_RULES
    recordables: tuple[str, ...] = ("spikes", "v", "isyn_exc", "isyn_inh", "gsyn_exc",
                                    "gsyn_inh", "u", "w", "m", "h", "n")
    current_sources: tuple[str, ...] = CURRENT_SOURCES
    input_multiplicity: bool = True
