"""setup, run, reset and the state queries, built from PyNN's factories.

`setup(target=..., strict=..., **settings)` chooses where the network runs; each extra
setting is a field of the target's spec (passed to `hw.compile`) or an option of its
runner (`hw.runner.split_overrides`), and any other name is an error naming both lists.
`neurocosim run|compare` impose their `--target`, `--set`, `--port` and `--strict` on the
script's setup() through `forced_setup`.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from ..hw import compiler as hw_compiler
from ..hw.runner import setting_names, split_overrides
from ..hw.targets import get_target
from . import simulator

#: setup() keywords of other PyNN backends (as pyNN 0.13's backends read them): how those
#: simulators execute, seed or export; they do not describe the network and are ignored here
OTHER_BACKENDS: dict[str, str] = {
    "rank": "MPI rank (NEST, NEURON)",
    "num_processes": "MPI processes (NEST, NEURON)",
    "threads": "threads (NEST)",
    "verbosity": "log level (NEST)",
    "spike_precision": "off-grid spike times (NEST); neurocosim spikes are on the step grid",
    "t_flush": "recording buffer flush (NEST)",
    "rng_type": "random generator (NEST)",
    "rng_seeds": "per-thread seeds (NEST)",
    "rng_seeds_seed": "seed of the per-thread seeds (NEST)",
    "grng_seed": "global seed (NEST)",
    "native_rng_baseseed": "native generator seed (NEST)",
    "quit_on_end": "interpreter exit at end() (NEURON)",
    "debug": "debug output (NEURON)",
    "use_cvode": "variable-step integration (NEURON)",
    "rtol": "variable-step tolerance (NEURON)",
    "atol": "variable-step tolerance (NEURON)",
    "default_maxstep": "variable-step limit (NEURON)",
    "filename": "model file to write (NeuroML, NineML export)",
    "file": "model file to write (NeuroML export)",
    "label": "model name in the exported file (NeuroML, NineML export)",
    "save_format": "export format (NineML)",
    "reference": "model name in the exported file (NineML)",
}


@dataclass
class Forced:
    """What the command line imposes on a script's setup(): the target (None: the
    script's choice), settings that win over the script's, and strict mode."""

    target: "str | None" = None
    settings: dict[str, Any] = field(default_factory=dict)
    strict: bool = False


_forced = Forced()


@contextlib.contextmanager
def forced_setup(target: "str | None" = None, settings: "dict | None" = None,
                 strict: bool = False) -> Iterator[None]:
    """While active, every setup() runs on `target` with `settings` and `strict` imposed
    (`neurocosim run|compare`: --target, --set, --port, --strict)."""
    global _forced
    saved = _forced
    _forced = Forced(target, dict(settings or {}), strict)
    try:
        yield
    finally:
        _forced = saved


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, target="reference",
          strict=False, **extra_params):
    """Start a new network. `target` names where it runs (see `neurocosim targets`);
    other keywords are the target's settings: spec fields (`neurons_per_core=512`, passed
    to the compiler) or runner options (`port` for "board", `timing` for emulators); an
    unknown name is an error listing both. `strict=True` makes any approximation of the
    mapping an error. `rng_seed` seeds Poisson sources and noisy currents; the keywords of
    other PyNN backends (OTHER_BACKENDS) are ignored."""
    max_delay = extra_params.pop("max_delay", DEFAULT_MAX_DELAY)
    seed = extra_params.pop("rng_seed", 0)
    common.setup(timestep, min_delay, max_delay=max_delay)
    if not timestep > 0:
        raise ValueError(f"timestep {timestep} ms must be > 0")
    name = _forced.target or target
    known = setting_names(get_target(name))
    settings = {k: v for k, v in extra_params.items()
                if k in known or k not in OTHER_BACKENDS}
    if _forced.target and target != name and settings:
        warnings.warn(f"setup(): the script's settings {sorted(settings)} are for target "
                      f"{target!r}; it runs on {name!r}, so they are not used", stacklevel=2)
        settings = {}
    settings.update(_forced.settings)
    spec = get_target(name)
    overrides, options = split_overrides(spec, hw_compiler.runner_for(spec), settings)
    spec = get_target(spec, **overrides)
    if spec.timestep is not None and abs(spec.timestep - timestep) > 1e-12:
        warnings.warn(f"target {spec.name!r} runs at a fixed timestep of {spec.timestep} ms; "
                      f"the script's timestep of {timestep} ms is replaced", stacklevel=2)
    st = simulator.state
    st.clear()
    _restart_labels()
    st.dt = spec.timestep if spec.timestep is not None else timestep
    st.min_delay = st.dt if min_delay == "auto" else min_delay
    st.min_delay_auto = min_delay == "auto"   # then the smallest delay in the network
    st.max_delay = 1e9 if max_delay == "auto" else max_delay
    st.target = spec.name
    st.spec = spec
    st.target_options = options
    st.strict = bool(strict or _forced.strict)
    st.seed = int(seed)
    return 0


def _restart_labels() -> None:
    """PyNN numbers unlabeled populations, projections and assemblies with class-wide
    counters; restarting them at each setup() gives a script the same labels on every run
    (and so on every target `compare` runs it on)."""
    common.Population._nPop = 0
    common.Projection._nProj = 0
    common.Assembly._count = 0


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
