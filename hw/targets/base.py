"""Target specifications: frozen records of a target's limits, formats, timestep and costs.

A variant of a chip is `dataclasses.replace(spec, field=value)`; that is all a design-space
sweep or a user exploring a hypothetical chip needs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class TargetSpec:
    """What every target declares.

    `runner` and `compiler` are "module:function" paths, imported only when used, so that
    `hw` never imports the stages to its right (emulator, rtl, host, sim).
    `timestep` is the only timestep the target runs (ms), or None for any.
    """

    name: str
    description: str
    runner: str
    compiler: str
    models: tuple[str, ...]
    timestep: float | None = None
    #: capabilities, checked once by hw.compiler before the target's own compiler runs
    plasticity: tuple[str, ...] = ()            # rules of hw.ir.PLASTICITY_RULES it maps
    recordables: tuple[str, ...] = ("spikes",)  # variables it can record
    current_sources: tuple[str, ...] = ()       # kinds of hw.ir.CURRENT_SOURCES it maps
    input_multiplicity: bool = False            # delivers 2+ spikes of one source per step

    def limits(self) -> dict[str, object]:
        """The spec's fields other than the plumbing, for `neurocosim targets`."""
        skip = {"name", "description", "runner", "compiler"}
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in skip}

    def replace(self, **changes) -> "TargetSpec":
        """A variant of this spec; unknown field names are an error naming the field."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            from ..errors import TargetError
            raise TargetError(f"target {self.name!r} has no parameter(s) {sorted(unknown)}; "
                              f"it has {sorted(names)}")
        return dataclasses.replace(self, **changes)
