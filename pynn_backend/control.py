"""setup, run, reset and the state queries, built from PyNN's factories."""

from __future__ import annotations

import inspect
import os
import warnings

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from ..hw import compiler as hw_compiler
from ..hw.targets import get_target
from . import simulator


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, target="reference",
          **extra_params):
    """Start a new network. `target` names where it runs (see `neurocosim targets`);
    other keyword arguments that the target's runner accepts (e.g. `port` for "board",
    `timing` for emulators) are passed on to it. `rng_seed` seeds Poisson sources and
    noisy currents."""
    max_delay = extra_params.pop("max_delay", DEFAULT_MAX_DELAY)
    seed = extra_params.pop("rng_seed", 0)
    for k in ("rank", "num_processes", "threads", "spike_precision", "verbosity"):
        extra_params.pop(k, None)
    common.setup(timestep, min_delay, max_delay=max_delay)
    if not timestep > 0:
        raise ValueError(f"timestep {timestep} ms must be > 0")
    # `neurocosim run --target T` overrides the script's own choice
    spec = get_target(os.environ.get("NEUROCOSIM_TARGET") or target)
    if spec.timestep is not None and abs(spec.timestep - timestep) > 1e-12:
        warnings.warn(f"target {spec.name!r} runs at a fixed timestep of {spec.timestep} ms; "
                      f"the script's timestep of {timestep} ms is replaced", stacklevel=2)
    st = simulator.state
    st.clear()
    st.dt = spec.timestep if spec.timestep is not None else timestep
    st.min_delay = st.dt if min_delay == "auto" else min_delay
    st.min_delay_auto = min_delay == "auto"   # then the smallest delay in the network
    st.max_delay = 1e9 if max_delay == "auto" else max_delay
    st.target = spec.name
    st.target_options = _runner_options(spec, extra_params)
    st.seed = int(seed)
    return 0


def _runner_options(spec, extra: dict) -> dict:
    """The setup() keywords the target's runner names; others (meant for other PyNN
    backends, e.g. NEST's t_flush) are dropped with a warning that names them."""
    runner = hw_compiler.runner_for(spec)
    params = inspect.signature(runner.__init__).parameters
    named = {n for n, p in params.items()
             if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and n not in ("self", "image")}
    dropped = sorted(set(extra) - named)
    if dropped:
        warnings.warn(f"setup(): target {spec.name!r} does not use {dropped}; ignored",
                      stacklevel=3)
    return {k: v for k, v in extra.items() if k in named}


def end(compatible_output=True):
    """Write the files requested with `write_on_end` and drop the engine."""
    st = simulator.state
    for population, variables, filename in st.write_on_end:
        population.write_data(get_io(filename), variables)
    st.write_on_end = []


run, run_until = common.build_run(simulator)
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)


def get_hardware_report():
    """The TimingReport of the run so far (None for targets without timing)."""
    return simulator.state.hardware_report()


def get_result():
    """The target's raw Result (spikes, signals, weights, timing) of the run so far."""
    return simulator.state.result()
