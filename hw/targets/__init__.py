"""The one registry of targets, used by the PyNN backend, the CLI, compare and sweep."""

from __future__ import annotations

from ..errors import TargetError
from .base import TargetSpec
from .reference import ReferenceSpec

_REGISTRY: dict[str, TargetSpec] = {}


def register_target(spec: TargetSpec) -> TargetSpec:
    """Add (or replace) a target under `spec.name`."""
    _REGISTRY[spec.name] = spec
    return spec


def target_names() -> list[str]:
    return list(_REGISTRY)


def get_target(target: "str | TargetSpec", **overrides) -> TargetSpec:
    """The spec registered as `target` (or `target` itself), with fields overridden."""
    if isinstance(target, TargetSpec):
        spec = target
    else:
        try:
            spec = _REGISTRY[target]
        except KeyError:
            raise TargetError(f"unknown target {target!r}; known targets: "
                              f"{', '.join(_REGISTRY)}") from None
    return spec.replace(**overrides) if overrides else spec


register_target(ReferenceSpec())
from .board import BoardSpec  # noqa: E402  (the FPGA core on a board over UART)
register_target(BoardSpec())
from .loihi import LoihiSpec; register_target(LoihiSpec())  # noqa: E402,E702  (Loihi-style chip)
from .sfq import SfqSpec; register_target(SfqSpec())  # noqa: E402,E702  (SFQ pulse level)
from .truenorth import TrueNorthSpec; register_target(TrueNorthSpec())  # noqa: E402,E702  (TrueNorth-style chip)
from .fpga import FpgaSpec; register_target(FpgaSpec())  # noqa: E402,E702  (Amaranth LIF/STDP core)
from .dynapse import DynapseSpec; register_target(DynapseSpec())  # noqa: E402,E702  (DynapSE-style analog chip)

__all__ = ["TargetSpec", "ReferenceSpec", "register_target", "get_target", "target_names"]
