"""PyNN standard models for neurocosim, declared as translation tables.

The IR speaks PyNN's standard names and units, so every translation is the identity; the
fixed-point conversions of hardware targets live in the compiler, not here.
"""

from __future__ import annotations

import numpy as np
from pyNN import errors
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, cells, check_weights, electrodes, synapses

from .simulator import state


def _identity(base):
    return build_translations(*[(n, n) for n in base.default_parameters])


def _cell(base):
    """A backend cell class: the standard class with identity translations."""
    return type(base.__name__, (base,), {"__doc__": base.__doc__,
                                         "translations": _identity(base)})


IF_curr_exp = _cell(cells.IF_curr_exp)
IF_curr_alpha = _cell(cells.IF_curr_alpha)
IF_curr_delta = _cell(cells.IF_curr_delta)
IF_cond_exp = _cell(cells.IF_cond_exp)
IF_cond_alpha = _cell(cells.IF_cond_alpha)
Izhikevich = _cell(cells.Izhikevich)
EIF_cond_alpha_isfa_ista = _cell(cells.EIF_cond_alpha_isfa_ista)
EIF_cond_exp_isfa_ista = _cell(cells.EIF_cond_exp_isfa_ista)
HH_cond_exp = _cell(cells.HH_cond_exp)
SpikeSourceArray = _cell(cells.SpikeSourceArray)
SpikeSourcePoisson = _cell(cells.SpikeSourcePoisson)

CELL_TYPES = [IF_curr_exp, IF_curr_alpha, IF_curr_delta, IF_cond_exp, IF_cond_alpha,
              Izhikevich, EIF_cond_alpha_isfa_ista, EIF_cond_exp_isfa_ista, HH_cond_exp,
              SpikeSourceArray, SpikeSourcePoisson]


def _check_weights(weights, projection):
    """NaN is named as NaN (PyNN's own check would report a sign error), then PyNN's check."""
    w = np.asarray(weights, dtype=float)
    if np.any(np.isnan(w)):
        raise errors.ConnectionError(f"projection {projection.label!r}: weight is NaN")
    check_weights(weights, projection)


_CHECKS = {"weight": _check_weights}


def _minimum_delay(self):
    d = state.min_delay
    return state.dt if d == "auto" else d


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = _identity(synapses.StaticSynapse)
    _get_minimum_delay = _minimum_delay
    parameter_checks = _CHECKS


class TsodyksMarkramSynapse(synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = _identity(synapses.TsodyksMarkramSynapse)
    _get_minimum_delay = _minimum_delay
    parameter_checks = _CHECKS


class STDPMechanism(synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = build_translations(("weight", "weight"), ("delay", "delay"),
                                           ("dendritic_delay_fraction",
                                            "dendritic_delay_fraction"))
    _get_minimum_delay = _minimum_delay
    parameter_checks = _CHECKS


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = _identity(synapses.AdditiveWeightDependence)
    ir_rule = "stdp_additive"


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = _identity(synapses.MultiplicativeWeightDependence)
    ir_rule = "stdp_multiplicative"


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = _identity(synapses.SpikePairRule)


class _CurrentSource:
    """Shared behaviour of the backend's current sources: parameters kept natively, the
    cells they go into, and recording of the injected current (computed by the same
    `CurrentSource.waveform` the engines use)."""

    def __init__(self, **parameters):
        object.__setattr__(self, "_native", {})
        object.__setattr__(self, "targets", [])   # list of (population, index array)
        object.__setattr__(self, "_recording", False)
        super().__init__(**parameters)
        ps = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        ps.update(**parameters)
        self.set_native_parameters(self.translate(ps))
        state.current_sources.append(self)
        object.__setattr__(self, "seed", len(state.current_sources) + 1000 * state.seed)

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        new = {}
        for name, value in parameters.items():
            if isinstance(value, Sequence):
                value = value.value
            new[name] = np.array(value, dtype=float)
        if self.ir_kind == "step" and ("times" in new or "amplitudes" in new):
            new.update(self._grid_steps(new.get("times", self._native.get("times")),
                                        new.get("amplitudes", self._native.get("amplitudes"))))
        self._native.update(new)

    @staticmethod
    def _grid_steps(times, amplitudes) -> dict:
        """Step times checked (>= 0, increasing), put on the time grid; of several steps
        that land on one grid point the last wins."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        amplitudes = np.atleast_1d(np.asarray(amplitudes, dtype=float))
        if times.shape != amplitudes.shape:
            raise ValueError(f"StepCurrentSource: {times.size} times but {amplitudes.size} "
                             "amplitudes")
        if np.any(times < 0):
            raise ValueError(f"StepCurrentSource: time {times[times < 0][0]} ms is negative")
        if np.any(np.diff(times) <= 0):
            raise ValueError(f"StepCurrentSource: times {times.tolist()} are not increasing")
        dt = state.dt
        grid = np.rint(times / dt) * dt
        keep = np.append(np.diff(grid) > dt / 2, True)
        return {"times": grid[keep], "amplitudes": amplitudes[keep]}

    def get_native_parameters(self):
        return ParameterSpace({k: (Sequence(v) if v.ndim else float(v))
                               for k, v in self._native.items()}, shape=(1,))

    def get_parameters(self):
        """Parameters as plain numbers and arrays (the translations are the identity)."""
        return {k: (v.copy() if v.ndim else float(v)) for k, v in self._native.items()}

    def inject_into(self, cells):
        from pyNN import common
        if isinstance(cells, (common.Population, common.PopulationView, common.Assembly)):
            groups = cells.populations if isinstance(cells, common.Assembly) else [cells]
            pairs = []
            for g in groups:
                if not g.celltype.injectable:
                    raise TypeError("Can't inject current into a spike source.")
                parent = g.grandparent if isinstance(g, common.PopulationView) else g
                idx = (g.index_in_grandparent(np.arange(g.size))
                       if isinstance(g, common.PopulationView) else np.arange(g.size))
                pairs.append((parent, np.asarray(idx, dtype=np.int64)))
        else:
            pairs = []
            for cell in cells:
                if not cell.celltype.injectable:
                    raise TypeError("Can't inject current into a spike source.")
                pairs.append((cell.parent, np.array([cell.parent.id_to_index(cell)])))
        self.targets.extend(pairs)

    def to_ir(self, population: str, indices):
        from ..hw.ir import CurrentSource
        p = dict(self._native)
        if self.ir_kind == "noisy" and not (np.isfinite(p.get("dt", np.nan)) and float(p["dt"]) > 0):
            p["dt"] = np.array(state.dt)
        return CurrentSource(self.ir_kind, population, indices, p, seed=int(self.seed))

    def record(self):
        object.__setattr__(self, "_recording", True)

    def _get_data(self):
        n = int(round(state.t / state.dt))
        src = self.to_ir("_", np.zeros(0, np.int64))
        # the value recorded at time t is the one in force during the step from t to t+dt
        return np.arange(n + 1) * state.dt, src.waveform(0, n + 1, state.dt)


def _electrode(base, kind):
    return type(base.__name__, (_CurrentSource, base),
                {"__doc__": base.__doc__, "translations": _identity(base), "ir_kind": kind})


DCSource = _electrode(electrodes.DCSource, "dc")
StepCurrentSource = _electrode(electrodes.StepCurrentSource, "step")
ACSource = _electrode(electrodes.ACSource, "ac")
NoisyCurrentSource = _electrode(electrodes.NoisyCurrentSource, "noisy")
