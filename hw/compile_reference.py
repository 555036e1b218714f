"""The reference target's compiler: the float IR itself, run as written, with the one
thing the reference changes named in the mapping report (delays rounded to whole steps)."""

from __future__ import annotations

import numpy as np

from .errors import NetworkError
from .image import HardwareImage
from .ir import Network
from .report import MappingReport
from .targets import TargetSpec


def delay_steps(name: str, delay: np.ndarray, dt: float) -> np.ndarray:
    """Delays (ms) rounded to the nearest whole step; a delay under one step is an error."""
    delay = np.asarray(delay, dtype=np.float64)
    if delay.size and delay.min() < dt * (1 - 1e-9):
        raise NetworkError(f"projection {name!r}: delay {delay.min()} ms is shorter than "
                           f"the timestep {dt} ms (the minimum delay is one timestep)")
    return np.maximum(np.rint(delay / dt), 1).astype(np.int64)


def report_delays(network: Network, dt: float, report: MappingReport) -> None:
    """Name each projection with delays that are not whole steps (they are rounded)."""
    for pr in network.projections:
        steps = delay_steps(pr.name, pr.delay, dt)
        err = np.abs(steps * dt - pr.delay)
        moved = err > 1e-9 * dt
        if moved.any():
            report.approximate("delay_rounded", f"projection {pr.name!r}",
                               f"{int(moved.sum())} of {pr.size} delay(s) are not whole "
                               f"steps of {dt} ms: rounded to the nearest step, by up to "
                               f"{float(err.max()):.4g} ms", int(moved.sum()))


def compile_reference(network: Network, spec: TargetSpec) -> HardwareImage:
    """The image of the reference target: the network, and what rounding its delays does."""
    image = HardwareImage(target=spec, network=network)
    report_delays(network, float(spec.timestep or network.timestep), image.report)
    return image
