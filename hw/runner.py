"""The runner contract: the one base class every target's runner subclasses.

Modelled on Brian2's `Device`: the base owns what must be the same on every target, so
`compare` compares hardware, not bookkeeping:
- options: a runner declares `OPTIONS` (name -> default); an unknown option is an error
  naming the target's options; `device` ("cpu", or what `DEVICES` adds) is one of them;
- time: `run(duration)` takes whole timesteps only (`whole_steps`), `t` is steps * dt;
- input: the one stimulus (`hw.stimulus`), window by window, handed to `_advance`; a
  target without input multiplicity gets it merged (its mapping report says how much);
  a runner that `draws_poisson` gets only the spike arrays' spikes and draws the Poisson
  spikes in its kernels by the stimulus's one rule (`poisson_draw`);
- recording: exactly what the network records, one time base (spike stamps (k+1)*dt,
  signal samples at k*dt from t = 0), a source population's spikes being the stimulus
  the target was given;
- the Result: the same keys everywhere (`info["steps"]`, the mapping report, timing
  metrics from `hw.metrics`);
- `reset()` (time 0, initial state, recordings cleared, learned weights kept) and
  `update(network)` (a changed network: recompiled at t = 0, else refused by name).

A subclass implements `_advance(k0, k1, inputs)`, `_collect()` and `_reset()`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .errors import TargetError
from .image import HardwareImage
from .ir import Network, is_source
from .result import Result, Signal, Spikes, TimingReport
from .stimulus import InputSpikes, Stimulus


@dataclass
class Recorded:
    """What a subclass hands the base at `result()`: every spike of the integrating
    neurons (global index, stamp in steps), the signals it sampled, weights, timing."""

    neuron: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    stamp: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    signals: dict[tuple[str, str], Signal] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    timing: TimingReport | None = None
    info: dict[str, Any] = field(default_factory=dict)


def whole_steps(duration_ms: float, dt: float, target: str) -> int:
    """The number of timesteps in `duration_ms`, which must be a whole, non-negative number
    of `dt` (ms); every runner's `run` uses this one rule."""
    duration_ms = float(duration_ms)
    steps = round(duration_ms / dt)
    if duration_ms < 0 or abs(steps * dt - duration_ms) > 1e-9 * max(abs(duration_ms), dt):
        raise TargetError(f"run duration {duration_ms} ms is not a whole, non-negative "
                          f"number of {target} timesteps of {dt} ms")
    return int(steps)


_PLUMBING = {"name", "description", "runner", "compiler"}


def setting_names(spec, runner_cls=None) -> set[str]:
    """The settings a target has: its spec's fields and its runner's options."""
    if runner_cls is None:
        from .compiler import runner_for
        runner_cls = runner_for(spec)
    fields = {f.name for f in dataclasses.fields(spec)} - _PLUMBING
    return fields | set(getattr(runner_cls, "OPTIONS", {})) | {"device"}


def split_overrides(spec, runner_cls, settings: dict) -> tuple[dict, dict]:
    """Split `setup(target=..., **settings)` / `--set k=v` into spec fields and runner
    options; a name that is neither is an error naming both lists."""
    fields = {f.name for f in dataclasses.fields(spec)} - _PLUMBING
    options = setting_names(spec, runner_cls) - fields
    unknown = sorted(set(settings) - fields - options)
    if unknown:
        raise TargetError(f"target {spec.name!r} has no setting(s) {unknown}; its runner "
                          f"options are {sorted(options)} and its spec fields "
                          f"{sorted(fields)}")
    spec_part = {k: v for k, v in settings.items() if k in fields}
    return spec_part, {k: v for k, v in settings.items() if k not in fields}


class Runner:
    """Base of every target's runner (see the module docstring for the contract)."""

    #: runner options of this target and their defaults (`device` is always accepted)
    OPTIONS: ClassVar[dict[str, Any]] = {}
    #: devices this runner has; "gpu" engines add themselves here
    DEVICES: ClassVar[tuple[str, ...]] = ("cpu",)

    def __init__(self, image: "HardwareImage | Network", **options: Any) -> None:
        if isinstance(image, Network):
            from .compiler import compile as hw_compile
            image = hw_compile(image, self.target_name())
        self.image = image
        self.spec = image.target
        self.network = image.network
        self.options = self._check_options(options)
        self.device = self.options.pop("device")
        self.dt = float(self.spec.timestep or self.network.timestep)
        self.stimulus = Stimulus(self.network, self.dt)
        self._k = 0
        self._plan_recording()

    @classmethod
    def target_name(cls) -> str:
        return getattr(cls, "target", cls.__name__)

    def _check_options(self, options: dict) -> dict:
        known = dict(self.OPTIONS, device="cpu")
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise TargetError(f"target {self.spec.name!r} has no runner option(s) {unknown}; "
                              f"its options are {sorted(known)}")
        out = {**known, **options}
        if out["device"] not in self.DEVICES:
            raise TargetError(f"target {self.spec.name!r}: device={out['device']!r} is not "
                              f"available; it runs on {', '.join(self.DEVICES)}")
        return out

    def _plan_recording(self) -> None:
        """Which neurons' spikes the Result holds (per population, local indices)."""
        self._spike_rec: dict[str, np.ndarray] = {}
        for rec in self.network.recordings:
            if rec.variable == "spikes":
                prev = self._spike_rec.get(rec.population, np.zeros(0, np.int64))
                self._spike_rec[rec.population] = np.union1d(prev, rec.indices)
        self._src_rec: list[tuple[int, int, np.ndarray]] = []
        off = self.network.offsets()
        for pop in self.network.populations:
            if is_source(pop.model) and pop.name in self._spike_rec:
                self._src_rec.append((off[pop.name], pop.size, self._spike_rec[pop.name]))
        self._inputs: list[InputSpikes] = []

    # --- the contract -----------------------------------------------------------------------
    @property
    def t(self) -> float:
        """Time reached (ms)."""
        return round(self._k * self.dt, 10)

    @property
    def steps(self) -> int:
        return self._k

    @property
    def draws_poisson(self) -> bool:
        """Whether the runner draws the stimulus's Poisson spikes in its own kernels, by
        `hw.stimulus.poisson_draw` (the same spikes): `run` then hands `_advance` only the
        spike arrays' spikes, and no window of Poisson spikes is made."""
        return False

    def run(self, duration_ms: float) -> None:
        """Advance by `duration_ms`, a whole number of timesteps."""
        steps = whole_steps(duration_ms, self.dt, self.spec.name)
        if not steps:
            return
        k0, k1 = self._k, self._k + steps
        inputs = self.stimulus.window(k0, k1, poisson=not self.draws_poisson)
        if not self.spec.input_multiplicity:
            inputs = inputs.merged()
        self._advance(k0, k1, inputs)
        self._keep_inputs(k0, k1, inputs)   # after: a window the target refused is not reported
        self._k = k1

    def reset(self) -> None:
        """Back to t = 0 and the initial state; recordings cleared; weights kept."""
        self._k = 0
        self._inputs = []
        self._reset()

    def update(self, network: Network) -> None:
        """Adopt a changed network. The base recompiles it at t = 0 (after `reset()`);
        later it refuses, naming the target (a subclass may do better)."""
        if self._k != 0:
            raise TargetError(f"target {self.spec.name!r} cannot change the network between "
                              "runs; call reset() first")
        from .compiler import compile as hw_compile
        options = dict(self.options, device=self.device)
        self.__init__(hw_compile(network, self.spec, strict=self.image.report.strict),
                      **options)

    def result(self) -> Result:
        """Exactly what the network records, in the one time base and vocabulary."""
        rec = self._collect()
        res = Result(target=self.spec.name, t_stop=self.t, timestep=self.dt,
                     weights=dict(rec.weights), timing=rec.timing,
                     info={"steps": self._k, **rec.info}, mapping=self.image.report)
        off = self.network.offsets()
        inputs = InputSpikes.concat(self._inputs)
        for pop in self.network.populations:
            if pop.name not in self._spike_rec:
                continue
            lo, idx = off[pop.name], self._spike_rec[pop.name]
            if is_source(pop.model):
                ids, stamps = inputs.neuron, inputs.stamp
            else:
                ids, stamps = rec.neuron, rec.stamp
            sel = (ids >= lo) & (ids < lo + pop.size)
            local, st = ids[sel] - lo, stamps[sel]
            keep = np.isin(local, idx)
            local, st = local[keep], st[keep]
            order = np.lexsort((local, st))
            res.spikes[pop.name] = Spikes(local[order], np.round(st[order] * self.dt, 10))
        for r in self.network.recordings:
            if r.variable == "spikes":
                continue
            sig = rec.signals.get((r.population, r.variable))
            if sig is None:
                raise TargetError(f"target {self.spec.name!r} did not record {r.variable!r} "
                                  f"of population {r.population!r}")
            res.signals.setdefault(r.population, {})[r.variable] = sig
        return res

    # --- for subclasses -----------------------------------------------------------------------
    def _keep_inputs(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        """Keep the delivered spikes of recorded source neurons (the Result reports them);
        when the runner drew the Poisson spikes itself, the recorded ones are drawn again
        here by the same rule (`Stimulus.poisson_spikes`)."""
        if not self._src_rec:
            return
        recorded = np.concatenate([lo + idx for lo, _, idx in self._src_rec])
        if self.draws_poisson:
            drawn = self.stimulus.poisson_spikes(k0, k1, recorded)
            if not self.spec.input_multiplicity:
                drawn = drawn.merged()
            if len(drawn):
                inputs = InputSpikes.union([inputs, drawn])
        keep = np.isin(inputs.neuron, recorded)
        if keep.any():
            self._inputs.append(InputSpikes(inputs.neuron[keep], inputs.stamp[keep]))

    def _advance(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        """Run steps k0 .. k1-1, delivering `inputs` (stamp s is emitted in step s - 1;
        stamp 0, only in the first window, before step 0)."""
        raise NotImplementedError

    def _collect(self) -> Recorded:
        """Spikes, signals, weights and timing of the run so far."""
        raise NotImplementedError

    def _reset(self) -> None:
        """Restore the initial state and clear recordings (weights are kept)."""
        raise NotImplementedError
