"""The network IR: populations, projections, stimuli and recordings as plain numpy records.

Target-independent and picklable. Units are PyNN's standard units throughout:
ms, mV, nA, nF, uS, Hz. Every record validates itself on construction so that a bad
value is reported where it entered, with its name, never clipped later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .errors import NetworkError

#: Neuron models the IR knows, with the parameters each needs (PyNN standard names).
NEURON_MODELS: dict[str, tuple[str, ...]] = {
    "IF_curr_exp": ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "tau_refrac",
                    "v_rest", "v_reset", "v_thresh", "i_offset"),
    "IF_curr_alpha": ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "tau_refrac",
                      "v_rest", "v_reset", "v_thresh", "i_offset"),
    "IF_curr_delta": ("cm", "tau_m", "tau_refrac", "v_rest", "v_reset", "v_thresh",
                      "i_offset"),
    "IF_cond_exp": ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "tau_refrac", "v_rest",
                    "v_reset", "v_thresh", "i_offset", "e_rev_E", "e_rev_I"),
    "IF_cond_alpha": ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "tau_refrac", "v_rest",
                      "v_reset", "v_thresh", "i_offset", "e_rev_E", "e_rev_I"),
    "Izhikevich": ("a", "b", "c", "d", "i_offset"),
    "EIF_cond_alpha_isfa_ista": ("cm", "tau_refrac", "v_spike", "v_reset", "v_rest",
                                 "tau_m", "i_offset", "a", "b", "delta_T", "tau_w",
                                 "v_thresh", "e_rev_E", "tau_syn_E", "e_rev_I",
                                 "tau_syn_I"),
    "EIF_cond_exp_isfa_ista": ("cm", "tau_refrac", "v_spike", "v_reset", "v_rest",
                               "tau_m", "i_offset", "a", "b", "delta_T", "tau_w",
                               "v_thresh", "e_rev_E", "tau_syn_E", "e_rev_I",
                               "tau_syn_I"),
    "HH_cond_exp": ("gbar_Na", "gbar_K", "g_leak", "cm", "v_offset", "e_rev_Na",
                    "e_rev_K", "e_rev_leak", "e_rev_E", "e_rev_I", "tau_syn_E",
                    "tau_syn_I", "i_offset"),
    "SpikeSourceArray": (),
    "SpikeSourcePoisson": ("rate", "start", "duration"),
}

#: Parameters that are time constants or durations: must be > 0 (or >= 0 for these).
_POSITIVE = {"cm", "tau_m", "tau_syn_E", "tau_syn_I", "tau_w", "gbar_Na", "gbar_K",
             "g_leak", "delta_T"}
_NON_NEGATIVE = {"tau_refrac", "rate", "start", "duration"}

RECEPTORS = ("excitatory", "inhibitory")
PLASTICITY_RULES = ("stdp_additive", "stdp_multiplicative", "tsodyks_markram")
CURRENT_SOURCES = ("dc", "step", "ac", "noisy")


def _same(a: Any, b: Any) -> bool:
    """Structural equality of IR records (dataclasses, dicts, lists, arrays)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "__dataclass_fields__"):
        return all(_same(_stored(a, f), _stored(b, f)) for f in a.__dataclass_fields__)
    return a == b


def _stored(obj: Any, name: str) -> Any:
    """Field `name` of a record as stored (a Projection's delays as held: StepDelays are
    compared as steps, not made into ms)."""
    return obj.stored_delay if name == "delay" and isinstance(obj, Projection) \
        else getattr(obj, name)


def is_source(model: str) -> bool:
    """True for populations that emit spikes but integrate nothing."""
    return model.startswith("SpikeSource")


def _as_array(name: str, value: Any, size: int, dtype=np.float64) -> np.ndarray:
    """Broadcast a scalar or check an array to shape (size,), refusing NaN."""
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        arr = np.full(size, arr, dtype=dtype)
    if arr.shape != (size,):
        raise NetworkError(f"{name}: expected {size} values, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)][0]
        raise NetworkError(f"{name}: value {bad} is not a finite number")
    return np.ascontiguousarray(arr)


def _as_index(name: str, value: Any, size: int) -> np.ndarray:
    """Neuron indices of a projection's synapses, kept without a copy when they already are
    int32 or int64 (a large network's builder hands int32 to save 4 bytes per synapse)."""
    arr = np.asarray(value)
    if arr.dtype not in (np.int32, np.int64):
        arr = arr.astype(np.int64)
    return _as_array(name, arr, size, arr.dtype)


@dataclass
class Population:
    """`size` neurons of one model, with per-neuron parameters and initial values."""

    name: str
    size: int
    model: str
    params: dict[str, np.ndarray] = field(default_factory=dict)
    initial: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.size, (int, np.integer)) or self.size < 1:
            raise NetworkError(f"population {self.name!r}: size {self.size!r} must be "
                               "a positive integer")
        self.size = int(self.size)
        if self.model not in NEURON_MODELS:
            raise NetworkError(f"population {self.name!r}: unknown model {self.model!r}; "
                               f"known models: {', '.join(NEURON_MODELS)}")
        wanted = NEURON_MODELS[self.model]
        unknown = set(self.params) - set(wanted)
        if unknown:
            raise NetworkError(f"population {self.name!r}: model {self.model} has no "
                               f"parameter(s) {sorted(unknown)}; it has {list(wanted)}")
        missing = set(wanted) - set(self.params)
        if missing:
            raise NetworkError(f"population {self.name!r}: missing parameter(s) "
                               f"{sorted(missing)} of model {self.model}")
        self.params = {k: _as_array(f"{self.name}.{k}", v, self.size)
                       for k, v in self.params.items()}
        self.initial = {k: _as_array(f"{self.name}.initial.{k}", v, self.size)
                        for k, v in self.initial.items()}
        for k, v in self.params.items():
            if k in _POSITIVE and np.any(v <= 0):
                raise NetworkError(f"population {self.name!r}: {k} = {v[v <= 0][0]} "
                                   "must be > 0")
            if k in _NON_NEGATIVE and np.any(v < 0):
                raise NetworkError(f"population {self.name!r}: {k} = {v[v < 0][0]} "
                                   "must be >= 0")


@dataclass
class Plasticity:
    """A synaptic plasticity rule and its parameters (scalars or per-synapse arrays).

    rules and their parameters:
      stdp_additive / stdp_multiplicative: tau_plus, tau_minus, A_plus, A_minus, w_min, w_max
      tsodyks_markram: U, tau_rec, tau_facil
    """

    rule: str
    params: dict[str, Any] = field(default_factory=dict)

    _WANTED = {
        "stdp_additive": ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max"),
        "stdp_multiplicative": ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min",
                                "w_max"),
        "tsodyks_markram": ("U", "tau_rec", "tau_facil"),
    }

    def __post_init__(self) -> None:
        if self.rule not in PLASTICITY_RULES:
            raise NetworkError(f"unknown plasticity rule {self.rule!r}; known: "
                               f"{', '.join(PLASTICITY_RULES)}")
        wanted = self._WANTED[self.rule]
        if set(self.params) != set(wanted):
            raise NetworkError(f"plasticity rule {self.rule}: needs parameters {list(wanted)}, "
                               f"got {sorted(self.params)}")
        for k, v in self.params.items():
            arr = np.asarray(v, dtype=np.float64)
            if not np.all(np.isfinite(arr)):
                raise NetworkError(f"plasticity {self.rule}.{k} = {v} is not finite")
            if k.startswith("tau") and np.any(arr < 0):
                raise NetworkError(f"plasticity {self.rule}.{k} = {v} must be >= 0")
            self.params[k] = arr


@dataclass
class StepDelays:
    """Delays held as whole steps: `steps[k] * unit` ms, computed so (float64), exactly the
    values meant. A builder whose delays are all such products (the PyNN backend, for
    delays drawn already rounded) hands these: 1 byte per synapse instead of 8."""

    steps: np.ndarray
    unit: float

    def __post_init__(self) -> None:
        self.steps = np.asarray(self.steps)
        if self.steps.dtype.kind != "u" or self.steps.ndim != 1:
            raise NetworkError(f"step delays: steps must be a 1-D unsigned integer array, "
                               f"got {self.steps.dtype} of shape {self.steps.shape}")
        self.unit = float(self.unit)
        if not (self.unit > 0 and np.isfinite(self.unit)):
            raise NetworkError(f"step delays: unit {self.unit} ms must be > 0")

    def ms(self) -> np.ndarray:
        """The delays in ms (a new float64 array)."""
        return self.steps * self.unit

    def min(self) -> float:
        return float(self.steps.min() * self.unit)

    def max(self) -> float:
        return float(self.steps.max() * self.unit)

    @property
    def size(self) -> int:
        return self.steps.size


class _Delay:
    """`Projection.delay`: the ms array. Held as StepDelays, it is made on the first read
    and kept (the reference target reads `stored_delay` and never makes it)."""

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        held = obj.__dict__["_delay"]
        if not isinstance(held, StepDelays):
            return held
        if "_delay_ms" not in obj.__dict__:
            obj.__dict__["_delay_ms"] = held.ms()
        return obj.__dict__["_delay_ms"]

    def __set__(self, obj, value) -> None:
        obj.__dict__["_delay"] = value
        obj.__dict__.pop("_delay_ms", None)


@dataclass
class Projection:
    """Sparse connections pre[pre_idx[k]] -> post[post_idx[k]] with weight and delay.

    Arrays are taken as given when their dtype fits (indices int32 or int64, float64
    weights and delays), not copied: a builder may share them, and must not write into
    them afterwards.

    Weights are nA (current synapses) or uS (conductance synapses), never negative:
    the sign comes from `receptor`. Delays are ms, given as an array or as StepDelays
    (`delay` reads ms either way; `stored_delay` is what was given).
    """

    name: str
    pre: str
    post: str
    pre_idx: np.ndarray
    post_idx: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    receptor: str = "excitatory"
    plasticity: Plasticity | None = None

    def __post_init__(self) -> None:
        n = len(np.asarray(self.pre_idx))
        self.pre_idx = _as_index(f"{self.name}.pre_idx", self.pre_idx, n)
        self.post_idx = _as_index(f"{self.name}.post_idx", self.post_idx, n)
        self.weight = _as_array(f"{self.name}.weight", self.weight, n)
        held = self.stored_delay
        if isinstance(held, StepDelays):
            if held.size != n:
                raise NetworkError(f"{self.name}.delay: expected {n} values, got shape "
                                   f"{held.steps.shape}")
        else:
            self.delay = _as_array(f"{self.name}.delay", held, n)
        if self.receptor not in RECEPTORS:
            raise NetworkError(f"projection {self.name!r}: receptor {self.receptor!r} "
                               f"is not one of {RECEPTORS}")
        if n and np.any(self.weight < 0):
            raise NetworkError(f"projection {self.name!r}: weight {self.weight.min()} < 0; "
                               "use receptor='inhibitory' for inhibition")
        if n and np.any(self.stored_delay.min() < 0):
            raise NetworkError(f"projection {self.name!r}: delay {self.delay.min()} ms "
                               "is negative")
        if self.plasticity is not None and not isinstance(self.plasticity, Plasticity):
            raise NetworkError(f"projection {self.name!r}: plasticity must be a Plasticity")

    @property
    def size(self) -> int:
        return len(self.pre_idx)

    @property
    def stored_delay(self) -> "np.ndarray | StepDelays":
        """The delays as held: the ms array, or StepDelays (read without making ms)."""
        return self.__dict__["_delay"]


Projection.delay = _Delay()      # after @dataclass: the field stays an __init__ argument


@dataclass
class SpikeTrains:
    """Ragged spike times, one train per neuron: times[offsets[i]:offsets[i+1]] (ms)."""

    times: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_lists(cls, trains) -> "SpikeTrains":
        arrays = [np.sort(np.asarray(t, dtype=np.float64).ravel()) for t in trains]
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(a) for a in arrays])
        times = np.concatenate(arrays) if arrays else np.zeros(0)
        return cls(times, offsets)

    def __post_init__(self) -> None:
        self.times = np.ascontiguousarray(self.times, dtype=np.float64)
        self.offsets = np.ascontiguousarray(self.offsets, dtype=np.int64)
        if not np.all(np.isfinite(self.times)):
            raise NetworkError("spike times contain a value that is not a finite number")
        if len(self.offsets) < 1 or self.offsets[-1] != len(self.times):
            raise NetworkError("spike train offsets do not match the number of times")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def train(self, i: int) -> np.ndarray:
        return self.times[self.offsets[i]:self.offsets[i + 1]]


@dataclass
class SpikeArray:
    """Given spike times for the neurons of a SpikeSourceArray population."""

    population: str
    trains: SpikeTrains


@dataclass
class PoissonSource:
    """Poisson spikes for the neurons of a SpikeSourcePoisson population.

    Rates, start and duration are the population's parameters; `seed` makes it repeatable.
    """

    population: str
    seed: int = 0


@dataclass
class CurrentSource:
    """A current injected into `indices` of `population`.

    kinds and parameters (nA, ms, Hz, deg):
      dc: amplitude, start, stop       step: times, amplitudes (arrays)
      ac: amplitude, offset, frequency, phase, start, stop
      noisy: mean, stdev, dt, start, stop (with `seed`)
    """

    kind: str
    population: str
    indices: np.ndarray
    params: dict[str, Any]
    seed: int = 0

    _WANTED = {
        "dc": ("amplitude", "start", "stop"),
        "step": ("times", "amplitudes"),
        "ac": ("amplitude", "offset", "frequency", "phase", "start", "stop"),
        "noisy": ("mean", "stdev", "dt", "start", "stop"),
    }

    def __post_init__(self) -> None:
        if self.kind not in CURRENT_SOURCES:
            raise NetworkError(f"unknown current source kind {self.kind!r}; known: "
                               f"{', '.join(CURRENT_SOURCES)}")
        wanted = self._WANTED[self.kind]
        if set(self.params) != set(wanted):
            raise NetworkError(f"current source {self.kind}: needs parameters "
                               f"{list(wanted)}, got {sorted(self.params)}")
        self.indices = np.ascontiguousarray(self.indices, dtype=np.int64)
        for k, v in self.params.items():
            arr = np.asarray(v, dtype=np.float64)
            if np.any(np.isnan(arr)):
                raise NetworkError(f"current source {self.kind}.{k} = {v} is NaN")
            self.params[k] = arr
        if self.kind == "step":
            t, a = self.params["times"], self.params["amplitudes"]
            if t.shape != a.shape:
                raise NetworkError(f"step current: {t.size} times but {a.size} amplitudes")
            if t.size > 1 and np.any(np.diff(t) < 0):
                raise NetworkError("step current: times must be increasing")
        if self.kind == "noisy" and float(self.params["dt"]) <= 0:
            raise NetworkError(f"noisy current: dt = {self.params['dt']} must be > 0")

    def waveform(self, first_step: int, n_steps: int, dt: float) -> np.ndarray:
        """Amplitude (nA) in force during steps first_step .. first_step+n_steps-1.

        Step k runs from k*dt to (k+1)*dt and carries the value the source has at k*dt
        (so a source starting at `start` first changes v at start + dt, as in NEST).
        The one definition every engine and the PyNN backend's current recording use.
        """
        k = np.arange(first_step, first_step + n_steps)
        p = self.params

        def on(start, stop):
            return (k >= np.rint(float(start) / dt)) & (k < np.rint(float(stop) / dt))

        if self.kind == "dc":
            return np.where(on(p["start"], p["stop"]), float(p["amplitude"]), 0.0)
        if self.kind == "step":
            steps = np.rint(np.atleast_1d(p["times"]) / dt).astype(np.int64)
            amps = np.atleast_1d(p["amplitudes"]).astype(np.float64)
            idx = np.searchsorted(steps, k, side="right") - 1
            return np.where(idx >= 0, amps[np.maximum(idx, 0)] if amps.size else 0.0, 0.0)
        if self.kind == "ac":
            t = k * dt
            val = float(p["offset"]) + float(p["amplitude"]) * np.sin(
                2e-3 * np.pi * float(p["frequency"]) * (t - float(p["start"]))
                + np.deg2rad(float(p["phase"])))
            return np.where(on(p["start"], p["stop"]), val, 0.0)
        # noisy: a new normal draw every `dt` ms from `start`, the same draws on every call
        start_step = int(np.rint(float(p["start"]) / dt))
        every = max(1, int(np.rint(float(p["dt"]) / dt)))
        if abs(every * dt - float(p["dt"])) > 1e-9 * max(1.0, float(p["dt"])):
            raise NetworkError(f"noisy current: dt = {float(p['dt'])} ms is not a multiple "
                               f"of the timestep {dt} ms")
        interval = np.maximum(k - start_step, 0) // every
        n_draws = int(interval.max()) + 1 if interval.size else 0
        draws = np.random.default_rng(self.seed).standard_normal(n_draws)
        val = float(p["mean"]) + float(p["stdev"]) * draws[interval] if n_draws else 0.0
        return np.where(on(p["start"], p["stop"]), val, 0.0)


@dataclass
class Recording:
    """Record `variable` ("spikes", "v", "gsyn_exc", ...) of `indices` of a population."""

    population: str
    variable: str
    indices: np.ndarray
    sampling_interval: float | None = None

    def __post_init__(self) -> None:
        self.indices = np.ascontiguousarray(self.indices, dtype=np.int64)


@dataclass
class Network:
    """A whole network: the one input of `hw.compile`."""

    populations: list[Population] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)
    stimuli: list[SpikeArray | PoissonSource | CurrentSource] = field(default_factory=list)
    recordings: list[Recording] = field(default_factory=list)
    timestep: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise NetworkError(f"no population named {name!r}")

    def validate(self) -> None:
        """Check cross-references: names, index ranges, delays against the timestep."""
        if not (self.timestep > 0 and np.isfinite(self.timestep)):
            raise NetworkError(f"timestep {self.timestep} ms must be > 0")
        names = [p.name for p in self.populations]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise NetworkError(f"duplicate population name(s) {sorted(dup)}")
        sizes = dict(zip(names, (p.size for p in self.populations)))

        def check_idx(what: str, pop: str, idx: np.ndarray) -> None:
            if pop not in sizes:
                raise NetworkError(f"{what}: no population named {pop!r}")
            if idx.size and (idx.min() < 0 or idx.max() >= sizes[pop]):
                bad = idx[(idx < 0) | (idx >= sizes[pop])][0]
                raise NetworkError(f"{what}: index {bad} out of range for population "
                                   f"{pop!r} of size {sizes[pop]}")

        for pr in self.projections:
            check_idx(f"projection {pr.name!r} (pre)", pr.pre, pr.pre_idx)
            check_idx(f"projection {pr.name!r} (post)", pr.post, pr.post_idx)
            if is_source(self.population(pr.post).model):
                raise NetworkError(f"projection {pr.name!r}: target {pr.post!r} is a "
                                   "spike source and cannot receive input")
        for st in self.stimuli:
            if isinstance(st, CurrentSource):
                check_idx(f"{st.kind} current source", st.population, st.indices)
                if is_source(self.population(st.population).model):
                    raise NetworkError(f"current source into spike source {st.population!r}")
            elif isinstance(st, SpikeArray):
                check_idx("spike array", st.population, np.zeros(0, np.int64))
                if len(st.trains) != sizes[st.population]:
                    raise NetworkError(f"spike array for {st.population!r}: "
                                       f"{len(st.trains)} trains for {sizes[st.population]} "
                                       "neurons")
            elif isinstance(st, PoissonSource):
                check_idx("Poisson source", st.population, np.zeros(0, np.int64))
        for rec in self.recordings:
            check_idx(f"recording of {rec.variable}", rec.population, rec.indices)
            if rec.variable != "spikes" and is_source(self.population(rec.population).model):
                raise NetworkError(f"population {rec.population!r} is a spike source: it "
                                   f"has no {rec.variable!r} to record")

    @property
    def size(self) -> int:
        return sum(p.size for p in self.populations)

    def same_as(self, other: "Network") -> bool:
        """True when `other` describes exactly this network (every array equal)."""
        return _same(self, other)

    def offsets(self) -> dict[str, int]:
        """First global neuron index of each population, in declaration order."""
        out, n = {}, 0
        for p in self.populations:
            out[p.name] = n
            n += p.size
        return out

    def summary(self) -> Mapping[str, int]:
        return {"populations": len(self.populations), "neurons": self.size,
                "synapses": sum(p.size for p in self.projections)}
