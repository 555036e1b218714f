"""The reference target's compiler: the float IR itself, run as written, with what the
reference changes named in the mapping report (delays and refractory periods that are not
whole steps, rounded as NEST rounds them; docs/conventions.md)."""

from __future__ import annotations

import numpy as np

from .errors import NetworkError
from .image import HardwareImage
from .ir import Network, StepDelays
from .report import MappingReport, moved_off_grid
from .targets import TargetSpec


#: Relative slack when a time in ms is counted in steps: 0.15 / 0.1 is 1.4999999999999998
#: in floats, and counts as the 1.5 steps it means.
_SLACK = 1e-9


#: Delays are rounded this many at a time: the rounding's float temporaries stay small (a
#: full-scale microcircuit projection's delays are 0.36 GB; whole-array temporaries were
#: two to three times that, at every projection, in the report and again in the build).
_BLOCK = 1 << 16


def _check_delays(name: str, delay: np.ndarray, dt: float) -> None:
    if delay.size and delay.min() < dt * (1 - _SLACK):
        raise NetworkError(f"projection {name!r}: delay {delay.min()} ms is shorter than "
                           f"the timestep {dt} ms (the minimum delay is one timestep)")


def delay_steps(name: str, delay: np.ndarray, dt: float, dtype=np.int64) -> np.ndarray:
    """Delays (ms) rounded to the nearest whole step, halves up (NEST's
    `Time::delay_ms_to_steps`: 0.15 ms at 0.1 ms is 2 steps); under one step is an error.
    `dtype`: of the steps (int64), or "compact": the smallest unsigned type that holds the
    largest (the steps are rounded block by block, without whole-array temporaries).
    StepDelays whose unit is `dt` are their steps (no copy where the dtype is theirs)."""
    if isinstance(delay, StepDelays):
        exact = _exact_steps(delay, dt)
        if exact is not None:
            top = int(exact.max()) if exact.size else 1
            want = np.min_scalar_type(top) if isinstance(dtype, str) else dtype
            return exact.astype(want, copy=False)
        delay = delay.ms()
    delay = np.asarray(delay, dtype=np.float64)
    _check_delays(name, delay, dt)
    src = delay.reshape(-1)
    if isinstance(dtype, str) and dtype == "compact":
        top = _rounded(src[np.argmax(src)], dt) if src.size else 1.0
        dtype = np.min_scalar_type(int(top))
    out = np.empty(delay.shape, dtype)
    flat = out.reshape(-1)
    for a in range(0, src.size, _BLOCK):
        flat[a:a + _BLOCK] = _rounded(src[a:a + _BLOCK], dt)
    return out[()] if out.ndim == 0 else out


def _exact_steps(delay: StepDelays, dt: float) -> "np.ndarray | None":
    """The steps of delays held in steps of `dt`, none under one step (rounding them as
    ms gives these steps: floor(k dt / dt + 0.5 + slack) = k); else None."""
    if delay.unit != dt or (delay.size and delay.steps.min() < 1):
        return None
    return delay.steps


def _rounded(delay, dt: float):
    """max(floor(delay / dt + 0.5 + slack), 1), as floats (the rounding of delay_steps)."""
    return np.maximum(np.floor(delay / dt + 0.5 + _SLACK), 1)


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
    """Name each projection with delays that are not whole steps (they are rounded). The
    whole-array report is made only for those: the check runs block by block."""
    for pr in network.projections:
        held = pr.stored_delay
        if isinstance(held, StepDelays) and _exact_steps(held, dt) is not None:
            continue                              # whole steps of dt: nothing rounded
        _check_delays(pr.name, pr.delay, dt)
        if not any(_off_grid(pr.delay[a:a + _BLOCK], dt)
                   for a in range(0, pr.delay.size, _BLOCK)):
            continue
        steps = delay_steps(pr.name, pr.delay, dt)
        report.rounded("delay_rounded", "delay", f"projection {pr.name!r}", pr.delay,
                       steps * dt, dt, record_error=False)


def _off_grid(delay: np.ndarray, dt: float) -> bool:
    """Any delay that rounding moves by more than float noise (`MappingReport.rounded`'s
    test, on the same values)."""
    return bool(np.any(moved_off_grid(delay, _rounded(delay, dt).astype(np.int64) * dt, dt)))


def compile_reference(network: Network, spec: TargetSpec) -> HardwareImage:
    """The image of the reference target: the network, and what rounding its delays does."""
    image = HardwareImage(target=spec, network=network)
    dt = float(spec.timestep or network.timestep)
    report_delays(network, dt, image.report)
    report_refractory(network, dt, image.report)
    return image
