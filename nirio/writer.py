"""IR -> NIR graph: `write(network, path)`, the inverse of `read` (docs/nir.md).

Spike sources become Input nodes, IF_curr_delta LIF (IF without leak, LI/I as readouts),
IF_curr_exp CubaLIF (CubaLI as readout); the static projections between two populations
one Linear node per distinct delay, behind a Delay node when the delay exceeds the one
step an edge takes. What NIR cannot express is refused by name: refractory periods,
plasticity, conductance or alpha synapses, two synaptic time constants in one node,
current sources, other models. What it expresses only approximately goes into the
returned report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..hw.errors import NetworkError
from ..hw.ir import CurrentSource, Network, Population, is_source
from ..hw.report import MappingReport
from . import neurons


def to_graph(network: Network, time_unit: float = 1000.0):
    """The NIR graph of `network` and the report of what it approximates."""
    import nir
    network.validate()
    report = MappingReport(target="nir")
    _refuse_what_nir_lacks(network)
    nodes, edges = {}, []
    for pop in network.populations:
        if "/" in pop.name:
            raise NetworkError(f"population {pop.name!r}: '/' cannot be part of a NIR name")
        nodes[pop.name] = (nir.Input(np.array([pop.size])) if is_source(pop.model)
                           else _neuron_node(pop, network.timestep, time_unit, report))
    for pop in network.populations:
        if not is_source(pop.model):
            _connect(network, pop.name, nodes, edges, time_unit)
    for pop in dict.fromkeys(r.population for r in network.recordings):
        name = f"{pop}_output"
        nodes[name] = nir.Output(np.array([network.population(pop).size]))
        edges.append((pop, name))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False), report


def write(network: Network, path: "str | Path", time_unit: float = 1000.0) -> MappingReport:
    """Write `network` as a NIR file; returns the report of what NIR approximates."""
    import nir
    graph, report = to_graph(network, time_unit)
    nir.write(str(path), graph)
    return report


def _refuse_what_nir_lacks(network: Network) -> None:
    for pop in network.populations:
        if pop.model not in ("IF_curr_delta", "IF_curr_exp") and not is_source(pop.model):
            raise NetworkError(f"population {pop.name!r}: NIR has no node for model "
                               f"{pop.model} (it has LIF/IF/LI/I and CubaLIF/CubaLI: "
                               "IF_curr_delta and IF_curr_exp)")
        if "tau_refrac" in pop.params and np.any(pop.params["tau_refrac"] > 0):
            raise NetworkError(f"population {pop.name!r}: NIR has no refractory period "
                               f"(tau_refrac = {pop.params['tau_refrac'].max()} ms)")
        if pop.model == "IF_curr_exp" and not np.array_equal(pop.params["tau_syn_E"],
                                                             pop.params["tau_syn_I"]):
            raise NetworkError(f"population {pop.name!r}: NIR's CubaLIF has one synaptic "
                               "time constant; tau_syn_E differs from tau_syn_I")
    for pr in network.projections:
        if pr.plasticity is not None:
            raise NetworkError(f"projection {pr.name!r}: NIR has no plasticity "
                               f"({pr.plasticity.rule})")
    for st in network.stimuli:
        if isinstance(st, CurrentSource):
            raise NetworkError(f"{st.kind} current source into {st.population!r}: NIR "
                               "has no current sources")


def _neuron_node(pop: Population, dt: float, unit: float, report: MappingReport):
    """A NIR neuron node whose import (`neurons.convert`) gives back pop's dynamics."""
    import nir
    p = pop.params
    readout = np.all(p["v_thresh"] >= neurons.READOUT_THRESHOLD)
    thr = np.nextafter(p["v_thresh"], -np.inf)
    tau = p["tau_m"] / unit
    v0 = pop.initial.get("v", p["v_rest"])
    if np.any(v0 != 0):
        report.approximate("initial_v", f"population {pop.name!r}",
                           "NIR has no initial state; v starts at 0 mV on import")
    if pop.model == "IF_curr_exp":
        ts = p["tau_syn_E"] / unit
        r = tau * unit
        if np.any(p["i_offset"] != 0):
            report.approximate("bias_filtered", f"population {pop.name!r}",
                               "i_offset becomes an input NIR filters through tau_syn")
        kw = dict(tau_syn=ts, tau_mem=tau, r=r, v_leak=p["v_rest"], w_in=np.ones(pop.size))
        return nir.CubaLI(**kw) if readout else nir.CubaLIF(**kw, v_threshold=thr,
                                                            v_reset=p["v_reset"])
    no_leak = np.all(np.exp(-dt / p["tau_m"]) == 1.0)
    r = np.ones(pop.size) if no_leak else tau.copy()
    if no_leak:
        return nir.I(r=r) if readout else nir.IF(r=r, v_threshold=thr, v_reset=p["v_reset"])
    kw = dict(tau=tau, r=r, v_leak=p["v_rest"])
    return nir.LI(**kw) if readout else nir.LIF(**kw, v_threshold=thr, v_reset=p["v_reset"])


def _connect(network: Network, post: str, nodes: dict, edges: list, unit: float) -> None:
    """All projections into `post` as one Linear per (pre, extra delay), a Delay node
    before it when the delay exceeds one step; i_offset as the first one's Affine bias."""
    import nir
    dt, target = network.timestep, network.population(post)
    conv = neurons.convert(nodes[post], dt, unit)
    bias = target.params["i_offset"] / (target.params["cm"] * conv.bias_gain)
    # NIR weight per IR weight: a jump of v (IF_curr_delta) is the same at any cm, a
    # current (IF_curr_exp) moves v by 1 / cm of it, and the import's cm is 1
    scale = conv.gain * (target.params["cm"] if target.model == "IF_curr_exp" else 1.0)
    into = [p for p in network.projections if p.post == post]
    bias = bias if np.any(bias != 0) else None
    if not into and bias is not None:
        raise NetworkError(f"population {post!r}: an i_offset without any projection "
                           "into it has no NIR edge to carry it")
    for pre in dict.fromkeys(p.pre for p in into):
        projs = [p for p in into if p.pre == pre]
        post_idx = np.concatenate([p.post_idx for p in projs])
        pre_idx = np.concatenate([p.pre_idx for p in projs])
        sign = np.concatenate([np.full(p.size, 1.0 if p.receptor == "excitatory" else -1.0)
                               for p in projs])
        w = np.concatenate([p.weight for p in projs]) * sign / scale[post_idx]
        extra = np.rint(np.concatenate([p.delay for p in projs]) / dt) - 1
        pre_n = network.population(pre).size
        for steps in np.unique(extra):
            sel = extra == steps
            mat = np.zeros((target.size, pre_n))
            np.add.at(mat, (post_idx[sel], pre_idx[sel]), w[sel])
            name = f"{pre}_to_{post}" + (f"_d{int(steps)}" if steps else "")
            nodes[name] = nir.Affine(mat, bias) if bias is not None else nir.Linear(mat)
            bias = None
            edges.append((name, post))
            if steps:
                nodes[f"{name}_delay"] = nir.Delay(np.full(pre_n, steps * dt / unit))
                edges += [(pre, f"{name}_delay"), (f"{name}_delay", name)]
            else:
                edges.append((pre, name))
