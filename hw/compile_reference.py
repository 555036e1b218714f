"""The reference target's compiler: the float IR itself, run as written, with what the
reference changes named in the mapping report (delays and refractory periods that are not
whole steps, rounded as NEST rounds them; docs/conventions.md)."""

from __future__ import annotations

import numpy as np

from .errors import NetworkError
from .image import HardwareImage
from .ir import Network
from .report import MappingReport
from .targets import TargetSpec


#: Relative slack when a time in ms is counted in steps: 0.15 / 0.1 is 1.4999999999999998
#: in floats, and counts as the 1.5 steps it means.
_SLACK = 1e-9


def delay_steps(name: str, delay: np.ndarray, dt: float) -> np.ndarray:
    """Delays (ms) rounded to the nearest whole step, halves up (NEST's
    `Time::delay_ms_to_steps`: 0.15 ms at 0.1 ms is 2 steps); under one step is an error."""
    delay = np.asarray(delay, dtype=np.float64)
    if delay.size and delay.min() < dt * (1 - _SLACK):
        raise NetworkError(f"projection {name!r}: delay {delay.min()} ms is shorter than "
                           f"the timestep {dt} ms (the minimum delay is one timestep)")
    return np.maximum(np.floor(delay / dt + 0.5 + _SLACK), 1).astype(np.int64)


def refractory_steps(tau_refrac: np.ndarray, dt: float) -> np.ndarray:
    """Refractory periods (ms) in whole steps, rounded up (NEST's `Time::get_steps` of
    t_ref: 0.04 ms at 0.1 ms clamps one step, 1.05 ms eleven)."""
    return np.ceil(np.asarray(tau_refrac, dtype=np.float64) / dt - _SLACK).astype(np.int64)


def report_refractory(network: Network, dt: float, report: MappingReport) -> None:
    """Name each population with refractory periods that are not whole steps: a
    quantisation of tau_refrac (rounded up, as NEST; not refused by strict mode, as other
    targets' parameter quantisation is not)."""
    for pop in network.populations:
        tau = pop.params.get("tau_refrac") if pop.params else None
        if tau is None:
            continue
        tau = np.broadcast_to(np.asarray(tau, dtype=np.float64), (pop.size,))
        mapped = refractory_steps(tau, dt) * dt
        if np.any(mapped - tau > _SLACK * dt):
            report.quantized("tau_refrac", f"population {pop.name!r}", tau, mapped, "ms")


def report_delays(network: Network, dt: float, report: MappingReport) -> None:
    """Name each projection with delays that are not whole steps (they are rounded)."""
    for pr in network.projections:
        steps = delay_steps(pr.name, pr.delay, dt)
        report.rounded("delay_rounded", "delay", f"projection {pr.name!r}", pr.delay,
                       steps * dt, dt, record_error=False)


def compile_reference(network: Network, spec: TargetSpec) -> HardwareImage:
    """The image of the reference target: the network, and what rounding its delays does."""
    image = HardwareImage(target=spec, network=network)
    dt = float(spec.timestep or network.timestep)
    report_delays(network, dt, image.report)
    report_refractory(network, dt, image.report)
    return image
