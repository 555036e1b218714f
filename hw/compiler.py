"""`compile(network, target) -> HardwareImage`, dispatched to the target's own compiler."""

from __future__ import annotations

import importlib
from typing import Any, Callable

from .errors import TargetError
from .image import HardwareImage
from .ir import Network
from .targets import TargetSpec, get_target


def load_entry(path: str) -> Callable[..., Any]:
    """Import "module:attribute" lazily (runners live in stages right of hw)."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def check_models(network: Network, spec: TargetSpec) -> None:
    """Refuse a neuron model the target cannot map, naming population and model."""
    for pop in network.populations:
        if pop.model not in spec.models:
            raise TargetError(f"target {spec.name!r} cannot map population {pop.name!r} "
                              f"of model {pop.model}; it supports {', '.join(spec.models)}")


def compile(network: Network, target: "str | TargetSpec", **overrides) -> HardwareImage:
    """Compile the IR for one target (by name or spec, with spec fields overridden)."""
    spec = get_target(target, **overrides)
    network.validate()
    check_models(network, spec)
    return load_entry(spec.compiler)(network, spec)


def compile_identity(network: Network, spec: TargetSpec) -> HardwareImage:
    """The reference target runs the float IR itself: the image only wraps it."""
    return HardwareImage(target=spec, network=network)


def runner_for(image_or_spec: "HardwareImage | TargetSpec") -> Any:
    """The runner class of a target; `runner(image)` then `.run(duration)`."""
    spec = image_or_spec.target if isinstance(image_or_spec, HardwareImage) else image_or_spec
    try:
        return load_entry(spec.runner)
    except (ImportError, AttributeError) as exc:
        raise TargetError(f"target {spec.name!r}: runner {spec.runner} unavailable ({exc})")


def whole_steps(duration_ms: float, dt: float, target: str) -> int:
    """The number of timesteps in `duration_ms`, which must be a whole, non-negative number
    of `dt` (ms); every runner's `run` uses this one rule."""
    duration_ms = float(duration_ms)
    steps = round(duration_ms / dt)
    if duration_ms < 0 or abs(steps * dt - duration_ms) > 1e-9 * max(abs(duration_ms), dt):
        raise TargetError(f"run duration {duration_ms} ms is not a whole, non-negative "
                          f"number of {target} timesteps of {dt} ms")
    return int(steps)


def run(image: HardwareImage, duration: float, **options: Any):
    """Run an image for `duration` ms on its target and return the Result."""
    engine = runner_for(image)(image, **options)
    engine.run(duration)
    return engine.result()
