"""Turns the objects of a PyNN script (the backend's State) into the network IR."""

from __future__ import annotations

import numpy as np
from lazyarray import larray
from pyNN.parameters import Sequence

from ..hw import ir
from . import simulator


def _evaluated(value, size):
    if isinstance(value, larray):
        value.shape = (size,)
        return np.asarray(value.evaluate(simplify=False), dtype=float)
    return np.broadcast_to(np.asarray(value, dtype=float), (size,)).copy()


def _population(p, stimuli, recordings) -> ir.Population:
    model = type(p.celltype).__name__
    params = {}
    for name, value in p._parameters.items():
        if name == "spike_times":
            continue
        params[name] = _evaluated(value, p.size)
    initial = {}
    for var, value in p.initial_values.items():
        arr = _evaluated(value, p.size)
        if isinstance(value, larray) and not value.is_homogeneous:
            p.initial_values[var] = larray(arr)   # a random initial value is drawn once
        initial[var] = arr
    if model == "SpikeSourceArray":
        times = p._parameters["spike_times"]
        if isinstance(times, larray):
            times.shape = (p.size,)
            times = times.evaluate(simplify=False)
        trains = [t.value if isinstance(t, Sequence) else np.asarray(t, float)
                  for t in np.broadcast_to(np.asarray(times, dtype=object), (p.size,))]
        for i, t in enumerate(trains):
            if np.any(np.diff(t) < 0):
                raise ValueError(f"population {p._ir_name!r}: spike times of neuron {i} "
                                 "are not increasing")
        stimuli.append(ir.SpikeArray(p._ir_name, ir.SpikeTrains.from_lists(trains)))
    elif model == "SpikeSourcePoisson":
        seed = simulator.state.seed * 7919 + simulator.state.populations.index(p) + 1
        stimuli.append(ir.PoissonSource(p._ir_name, seed=int(seed)))
    for variable, idx, interval in p.recorder.ir_recordings():
        recordings.append(ir.Recording(p._ir_name, variable, idx, interval))
    return ir.Population(p._ir_name, p.size, model, params, initial)


def _plasticity(prj, arrays, order) -> "ir.Plasticity | None":
    syn = prj.synapse_type
    if prj.plastic:
        rule = getattr(syn.weight_dependence, "ir_rule", None)
        if rule is None or type(syn.timing_dependence).__name__ != "SpikePairRule":
            raise ValueError(f"projection {prj._ir_name!r}: neurocosim supports STDP with "
                             "SpikePairRule and Additive/MultiplicativeWeightDependence, not "
                             f"{type(syn.timing_dependence).__name__} with "
                             f"{type(syn.weight_dependence).__name__}")
        names = ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max")
        params = {n: arrays[n][order] for n in names}
        if prj.receptor_type == "inhibitory":
            params["w_min"], params["w_max"] = np.abs(params["w_max"]), np.abs(params["w_min"])
            lo = np.minimum(params["w_min"], params["w_max"])
            hi = np.maximum(params["w_min"], params["w_max"])
            params["w_min"], params["w_max"] = lo, hi
        return ir.Plasticity(rule, params)
    if type(syn).__name__ == "TsodyksMarkramSynapse":
        return ir.Plasticity("tsodyks_markram",
                             {n: arrays[n][order] for n in ("U", "tau_rec", "tau_facil")})
    return None


def _projections(prj) -> list[ir.Projection]:
    """The IR projections of a PyNN projection. They share its index, delay and
    non-negative weight arrays (the projection copies an array before writing into it),
    and are built again only after a change (`prj.ir_cache`)."""
    prj._pull_weights()
    if prj.ir_cache is not None:
        return prj.ir_cache
    arrays = prj._arrays()
    magnitude = prj._ir_weights()
    out = []
    for name, order, ppop, pidx, qpop, qidx in prj._pieces():
        out.append(ir.Projection(name, ppop._ir_name, qpop._ir_name, pidx, qidx,
                                 magnitude[order], prj._ir_delays(order),
                                 prj.receptor_type, _plasticity(prj, arrays, order)))
    prj._weights_set_by_user = False
    prj._shared_with_ir(out)
    return out


def build_network(st) -> ir.Network:
    """The IR of everything the script has created so far."""
    stimuli, recordings = [], []
    pops = [_population(p, stimuli, recordings) for p in st.populations]
    prjs = [piece for prj in st.projections for piece in _projections(prj)]
    for source in st.current_sources:
        for pop, idx in source.targets:
            stimuli.append(source.to_ir(pop._ir_name, idx))
    return ir.Network(pops, prjs, stimuli, recordings, timestep=st.dt, seed=st.seed)
