"""`compile(network, target) -> HardwareImage`, dispatched to the target's own compiler."""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable

from .errors import TargetError
from .image import HardwareImage
from .ir import CurrentSource, Network
from .report import MappingReport
from .stimulus import Stimulus
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


def check_capabilities(network: Network, spec: TargetSpec) -> None:
    """Refuse what the spec does not declare (models, plasticity rules, recorded variables,
    current sources), naming the population or projection and what the target has."""
    check_models(network, spec)
    for pr in network.projections:
        if pr.plasticity is not None and pr.plasticity.rule not in spec.plasticity:
            has = ", ".join(spec.plasticity) or "no plasticity"
            raise TargetError(f"target {spec.name!r} cannot map projection {pr.name!r} "
                              f"with plasticity {pr.plasticity.rule}; it has {has}")
    for rec in network.recordings:
        if rec.variable not in spec.recordables:
            raise TargetError(f"target {spec.name!r} cannot record {rec.variable!r} of "
                              f"population {rec.population!r}; it records "
                              f"{', '.join(spec.recordables)}")
    for st in network.stimuli:
        if isinstance(st, CurrentSource) and st.kind not in spec.current_sources:
            has = ", ".join(spec.current_sources) or "no current sources"
            raise TargetError(f"target {spec.name!r} cannot inject a {st.kind} current into "
                              f"population {st.population!r}; it has {has}")


def report_input(network: Network, spec: TargetSpec, report: MappingReport) -> None:
    """Name the input spikes a target without multiplicity merges (two spikes of one
    source neuron in one step become one)."""
    if spec.input_multiplicity:
        return
    dt = spec.timestep or network.timestep
    stimulus = Stimulus(network, dt)
    for pop, n in stimulus.multiple().items():
        report.approximate("input_spikes_merged", f"population {pop!r}",
                           f"{n} spike(s) share a {dt} ms step with another spike of the "
                           "same source neuron and are merged into it", n)
    for pop, frac in stimulus.poisson_merged_fraction().items():
        if frac >= 1e-6:
            report.approximate("input_spikes_merged", f"population {pop!r}",
                               f"a Poisson neuron's 2+ spikes in one {dt} ms step are "
                               f"merged into one: about {100 * frac:.2g}% of its spikes at "
                               "its highest rate", frac)


def compile(network: Network, target: "str | TargetSpec", strict: bool = False,
            progress: Callable[[str, float], None] | None = None,
            **overrides) -> HardwareImage:
    """Compile the IR for one target (by name or spec, with spec fields overridden).

    The image's mapping report names every approximation; `strict=True` makes any of
    them an error. `progress(stage, done)` hears of the long steps of the compilers that
    take it (hw.mapping.progress); the others ignore it."""
    spec = get_target(target, **overrides)
    network.validate()
    check_capabilities(network, spec)
    compile_fn = load_entry(spec.compiler)
    takes = progress is not None and "progress" in inspect.signature(compile_fn).parameters
    image = compile_fn(network, spec, **({"progress": progress} if takes else {}))
    image.report.target = spec.name
    report_input(network, spec, image.report)
    if strict:
        image.report.strict = True
        image.report.check_strict()
    return image


def runner_for(image_or_spec: "HardwareImage | TargetSpec") -> Any:
    """The runner class of a target; `runner(image)` then `.run(duration)`."""
    spec = image_or_spec.target if isinstance(image_or_spec, HardwareImage) else image_or_spec
    try:
        return load_entry(spec.runner)
    except (ImportError, AttributeError) as exc:
        raise TargetError(f"target {spec.name!r}: runner {spec.runner} unavailable ({exc})")


def run(image: HardwareImage, duration: float, **options: Any):
    """Run an image for `duration` ms on its target and return the Result."""
    engine = runner_for(image)(image, **options)
    engine.run(duration)
    return engine.result()
