"""Compile the IR for the DynapSE-style target (`hw.targets.dynapse`, image format
`hw.layouts.dynapse`).

Neurons: each population's PyNN parameters become one parameter group of DPI bias
currents (`_group`): time constants set the leak currents (tau = (Ut/kappa) C / Itau),
gains are Rockpool's default ratios, the threshold is the onset of the membrane's positive
feedback, and the input scale s (A per mV) maps a PyNN current I (nA) to the DPI current
s * R * I, so that the membrane's steady state g * s * R * I crosses the feedback onset
where R * I crosses v_thresh - v_base. The membrane rests and resets at Io, which stands
for v_base = min(v_rest, v_reset): a v_rest above it (even above threshold, as in CUBA) is
the constant drive R I = v_rest - v_base. Idc cancels the leak the DPI equation subtracts
twice and carries i_offset and that drive. Populations with equal groups share cores;
each group needs cores of its own (one parameter group per core), and when the groups
need more cores than the board has, the closest groups of one model are merged onto their
cluster's centre (`cluster_dynapse`), each merge and its parameter errors in the report.
Synapses: one CAM entry each (64 per neuron); excitatory -> AMPA, inhibitory -> GABA; the
weight is the DPI weight current quantised onto the post core's 4 base weights (a binary
ladder unit * (1, 2, 4, 8) fitted to the core's largest weight) as a 4-bit mask; each
type's synaptic gain is fitted so that its largest weight uses the whole ladder.
Routing: tags (distinct presynaptic neurons per core) and destinations (SRAM entries per
neuron) are checked. Every limit is a LimitError naming it and the excess; every
approximation goes into the mapping report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import cluster_dynapse as C
from .errors import LimitError, TargetError
from .image import Core, HardwareImage
from .ir import Network, Population, is_source
from .layouts import dynapse as L
from .report import MappingReport
from .targets.dynapse import DynapseSpec


@dataclass
class Group:
    """One population's parameter group and the maps between IR units and currents."""

    params: dict[str, np.ndarray]   # CORE_PARAMS, nominal (no mismatch)
    iw_per_weight: np.ndarray       # A of weight current per IR weight unit, per type
    v_base: float                   # mV at Imem = 0
    v_per_amp: float                # mV per A of Imem

    def key(self) -> tuple:
        return tuple((k, tuple(f"{x:.9g}" for x in np.atleast_1d(v)))
                     for k, v in sorted(self.params.items()))


def _itau(spec: DynapseSpec, tau_ms: float, c: float) -> float:
    """Leak current giving time constant tau: (Ut / kappa) C / tau."""
    return spec.ut_v / spec.kappa * c / (tau_ms * 1e-3)


def _in_range(spec: DynapseSpec, what: str, value: float) -> float:
    if not spec.current_min_a <= value <= spec.current_max_a:
        raise LimitError(f"current range ({what})", f"{value:.3g} A",
                         f"{spec.current_min_a:.3g}..{spec.current_max_a:.3g} A")
    return float(value)


def _mean(pop: Population, name: str, report: MappingReport) -> float:
    """The one value a parameter group holds: the population's mean (a spread is named)."""
    v = pop.params[name]
    m = float(v.mean())
    dev = float(np.abs(v - m).max())
    if dev > 1e-12 * max(1.0, abs(m)):
        report.approximate("parameters_shared", f"population {pop.name!r}",
                           f"{name} varies by up to {dev:.4g} around its mean {m:.4g}: a core "
                           "holds one parameter group", dev)
    return m


def _feedback_onset(spec: DynapseSpec, itau_mem: float) -> float:
    """The membrane current where the positive feedback Io (I / Io)**e equals the leak."""
    e = spec.kappa / (spec.kappa + 1.0)
    return spec.io_a * (itau_mem / spec.io_a) ** (1.0 / e)


def _passage_time(spec: DynapseSpec, itau: float, igain: float, drive: float,
                  iahp: float = 0.0) -> float:
    """Time (s) the DPI membrane takes from Io to the spike threshold under a constant
    drive g s R I (A) and AHP current `iahp` (A): the integral of dI / (dI/dt) over a log
    grid (inf if it stalls)."""
    io, e = spec.io_a, spec.kappa / (spec.kappa + 1.0)
    i_spk = spec.spkthr_ratio * _feedback_onset(spec, itau)
    cur = np.geomspace(io, i_spk, 4000)
    a = io + iahp
    ileak = itau + a
    g = igain / itau
    tau = spec.ut_v / spec.kappa * spec.c_mem_f / ileak
    rate = cur / (tau * (cur + igain)) * (drive - 2.0 * g * iahp
                                          + io * (cur / io) ** e / ileak * (cur + igain)
                                          - cur * (1.0 + a / itau))
    if np.any(rate <= 0):
        return np.inf
    inv = 1.0 / rate
    return float(np.sum(0.5 * (inv[1:] + inv[:-1]) * np.diff(cur)))


def _ahp_for_period(spec: DynapseSpec, itau: float, igain: float, drive: float,
                    period: float) -> float:
    """The AHP current (A) that stretches the passage under `drive` to `period` s."""
    lo, hi = 1e-6 * itau, 1e6 * itau
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if _passage_time(spec, itau, igain, drive, mid) < period else (lo, mid)
    return float(np.sqrt(lo * hi))


def _drive_for_period(spec: DynapseSpec, itau: float, igain: float, period: float) -> float:
    """The constant drive (A) whose passage time is `period` s (bisection in log)."""
    lo, hi = 1e-6 * itau, 1e6 * itau
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if _passage_time(spec, itau, igain, mid) > period else (lo, mid)
    return float(np.sqrt(lo * hi))


def _group(pop: Population, spec: DynapseSpec, report: MappingReport) -> Group:
    """The DPI currents of one population (IF_curr_exp or EIF_cond_exp_isfa_ista)."""
    p = {k: _mean(pop, k, report) for k in pop.params}
    where = f"population {pop.name!r}"
    v_base = min(p["v_rest"], p["v_reset"])
    if p["v_thresh"] <= v_base:
        raise TargetError(f"{where}: v_thresh {p['v_thresh']} mV must lie above v_rest and "
                          f"v_reset ({v_base} mV) to map onto a DPI membrane")
    itau_mem = _in_range(spec, f"{where} Itau_mem", _itau(spec, p["tau_m"], spec.c_mem_f))
    g = spec.gain_ratio_mem
    dv = p["v_thresh"] - v_base
    period = p["tau_m"] * 1e-3 * np.log(2.0)       # the LIF's at R I = 2 (v_thresh - v_base)
    drive = _drive_for_period(spec, itau_mem, g * itau_mem, period)
    s = drive / (g * 2.0 * dv)                          # A per mV of R I
    r = p["tau_m"] / p["cm"]                                  # MOhm
    h_s = spec.timestep * 1e-3 / spec.substeps
    taus = (p["tau_syn_E"], p["tau_syn_E"], p["tau_syn_I"], p["tau_syn_I"])
    itau_syn = np.array([_in_range(spec, f"{where} Itau_syn", _itau(spec, t, c))
                         for t, c in zip(taus, spec.c_syn_f)])
    f_ch = 1.0 - np.exp(-spec.t_pulse_s * itau_syn / (spec.ut_v / spec.kappa
                                                        * np.array(spec.c_syn_f)))
    iw_per = s * r / (f_ch * spec.gain_ratio_syn)             # A per nA of PSC jump
    t_ref = max(p["tau_refrac"], 0.0) * 1e-3
    iref = spec.current_max_a if t_ref == 0 else _in_range(
        spec, f"{where} Iref", spec.vth_v * spec.c_ref_f / t_ref)
    params = {"itau_syn": itau_syn, "igain_syn": spec.gain_ratio_syn * itau_syn,
              "syn_used": np.zeros(L.N_TYPES), "itau_mem": itau_mem, "igain_mem": g * itau_mem,
              "idc": 2.0 * (itau_mem + spec.io_a) + s * (r * p["i_offset"]
                                                         + p["v_rest"] - v_base),
              "ispkthr": _in_range(spec, f"{where} Ispkthr", spec.spkthr_ratio
                                   * _feedback_onset(spec, itau_mem)),
              "iref": iref, "itau_ahp": _itau(spec, 50.0, spec.c_ahp_f),
              "igain_ahp": _itau(spec, 50.0, spec.c_ahp_f), "iw_ahp": spec.current_min_a}
    if params["idc"] < spec.io_a:
        raise LimitError(f"current range ({where} Idc: i_offset {p['i_offset']} nA)",
                         f"{params['idc']:.3g} A", f">= {spec.io_a:.3g} A")
    realised = np.ceil(spec.vth_v * spec.c_ref_f / iref / h_s - 1e-9) * h_s * 1e3
    report.quantized("tau_refrac", where, p["tau_refrac"], realised, "ms")
    if p["v_reset"] > p["v_rest"] + 1e-9:
        report.approximate("reset_to_rest", where, f"the DPI membrane resets to Io, i.e. "
                           f"v_rest {p['v_rest']} mV, not v_reset {p['v_reset']} mV",
                           p["v_reset"] - p["v_rest"])
    report.approximate("membrane_log_domain", where,
                       "the DPI membrane (log-domain, exponential positive feedback) stands "
                       f"in for {pop.model}: its drive is scaled so that R I = 2 (v_thresh - "
                       f"v_base), v_base {v_base:g} mV, fires at the LIF's rate "
                       f"({1 / period:.3g} Hz); other drives fire at other rates (the DPI's "
                       "rheobase lies lower)")
    per_weight = iw_per
    if pop.model == "EIF_cond_exp_isfa_ista":
        per_weight = iw_per * np.abs(np.array([p["e_rev_E"], p["e_rev_E"], p["e_rev_I"],
                                               p["e_rev_I"]]) - p["v_rest"])
        # an adaptation current w with R w = (v_thresh - v_base) / 2 leaves R I = 1.5 dv
        # of the operating drive: the LIF fires every tau ln 3; the AHP current that
        # does the same, per nA of w, scales b's jump
        iahp = _ahp_for_period(spec, itau_mem, g * itau_mem, drive,
                               p["tau_m"] * 1e-3 * np.log(3.0))
        _adaptation(pop, p, spec, iahp / (dv / (2.0 * r)), params, report)
    return Group(params, per_weight, v_base, 1.0 / (g * s))


def _adaptation(pop: Population, p: dict, spec: DynapseSpec, per_na: float, params: dict,
                report: MappingReport) -> None:
    """AdExp's spike-triggered adaptation b (nA) and tau_w onto the AHP block; a
    conductance synapse becomes a current one at v_rest; a and delta_T are named.
    `per_na`: the AHP current (A) that slows the membrane as an adaptation current of
    1 nA slows the LIF at the operating point; a spike adds b * per_na."""
    where = f"population {pop.name!r}"
    itau = _in_range(spec, f"{where} Itau_ahp", _itau(spec, p["tau_w"], spec.c_ahp_f))
    f_ch = 1.0 - np.exp(-spec.t_pulse_ahp_s * itau / (spec.ut_v / spec.kappa * spec.c_ahp_f))
    # the jump is f_ch (Igain / Itau) Iw_ahp: Iw_ahp at 1 nA, the gain carries the rest
    iw, igain = spec.current_min_a, itau
    if p["b"] > 0:
        iw = 1e-9
        igain = _in_range(spec, f"{where} Igain_ahp", itau * per_na * p["b"] / (f_ch * iw))
    params.update(itau_ahp=itau, igain_ahp=igain, iw_ahp=iw)
    report.approximate("conductance_as_current", where, "conductance synapses act as current "
                       "synapses with the driving force at v_rest (DPI synapses are current "
                       "mode)")
    if p["a"] != 0:
        report.approximate("adaptation_a_dropped", where, f"subthreshold adaptation a = "
                           f"{p['a']} uS has no DPI counterpart", abs(p["a"]))
    report.approximate("delta_T_fixed", where, f"delta_T {p['delta_T']} mV: the feedback "
                       f"slope is set by the transistors (kappa {spec.kappa:.3g})",
                       p["delta_T"])


def _unit(name: str) -> str:
    """PyNN's unit of a neuron parameter (for the mapping report)."""
    if name.startswith(("v_", "e_rev", "delta_T")):
        return "mV"
    if name.startswith("tau"):
        return "ms"
    return {"cm": "nF", "i_offset": "nA", "b": "nA", "a": "uS"}.get(name, "")


def _flat(pop: Population, params: dict[str, float]) -> Population:
    """The population with one value per parameter (what a core's group holds)."""
    return Population(pop.name, pop.size, pop.model, dict(params))


def _clusters(pops: list[Population], means: dict[str, dict[str, float]],
              spec: DynapseSpec) -> list[list[list[Population]]]:
    """Populations whose DPI currents are equal share a group; when the groups need more
    cores than the board has, the closest groups of the same model are merged
    (`cluster_dynapse`). Returns the clusters, each a list of groups of populations. A
    model whose neurons fill more cores than the board has, even on one group, is a
    LimitError."""
    scratch = MappingReport()
    by_key: dict[tuple, list[Population]] = {}
    for pop in pops:
        key = (pop.model, _group(_flat(pop, means[pop.name]), spec, scratch).key())
        by_key.setdefault(key, []).append(pop)
    groups = list(by_key.values())
    sizes = np.array([sum(p.size for p in g) for g in groups])
    kinds = [g[0].model for g in groups]
    per_model = {m: int(sizes[[k == m for k in kinds]].sum()) for m in dict.fromkeys(kinds)}
    least = C.cores_needed(per_model.values(), spec.neurons_per_core)
    if least > spec.n_cores:
        listed = ", ".join(f"{n} {m}" for m, n in per_model.items())
        raise LimitError("cores (one parameter group per core)", least, spec.n_cores,
                         f"{least - spec.n_cores} too many even with one parameter group "
                         f"per model ({listed} neurons, {spec.neurons_per_core} per core); "
                         f"n_chips goes up to {spec.max_chips}")
    names = sorted({k for p in pops for k in p.params})
    rows = np.array([C.centre([[means[p.name].get(k, 0.0) for k in names] for p in g],
                              [p.size for p in g]) for g in groups])
    merged = C.merge_groups(C.normalise(rows), sizes, kinds, spec.n_cores,
                            spec.neurons_per_core)
    return [[groups[i] for i in c] for c in merged]


def _shared(cluster: list[list[Population]], means: dict[str, dict[str, float]],
            spec: DynapseSpec, report: MappingReport) -> dict[str, Group]:
    """The groups of one cluster's populations: their own when the cluster is one group
    (equal currents), else every member on the cluster's centre, each merge and the
    parameter errors it causes in the report."""
    members = [p for g in cluster for p in g]
    if len(cluster) == 1:
        return {p.name: _group(_flat(p, means[p.name]), spec, report) for p in members}
    names = list(means[members[0].name])
    mid = C.centre([[means[p.name][k] for k in names] for p in members],
                   [p.size for p in members])
    centre = dict(zip(names, mid.tolist()))
    joint = "+".join(p.name for p in members)
    out = {}
    for pop in members:
        where = f"population {pop.name!r}"
        report.approximate("parameters_shared", where,
                           f"shares one core parameter group with {joint}: the network has "
                           f"more parameter groups than the {spec.n_cores} cores; the group "
                           "is the cluster's centre (neuron-weighted mean)", len(cluster))
        for k in names:
            report.quantized(k, where, means[pop.name][k], centre[k], _unit(k))
        out[pop.name] = _group(_flat(pop, centre), spec, report)
    return out


def _place(network: Network, spec: DynapseSpec, report: MappingReport):
    """Cores in order: populations sharing a group (equal, or merged to fit) share cores,
    256 neurons each. Returns (cores, groups by population, core of every global id
    (-1: source))."""
    if spec.n_chips > spec.max_chips:
        raise LimitError("chips per board", spec.n_chips, spec.max_chips)
    pops = [p for p in network.populations if not is_source(p.model)]
    means = {p.name: {k: _mean(p, k, report) for k in p.params} for p in pops}
    off = network.offsets()
    neuron_core = np.full(network.size, -1, np.int64)
    groups: dict[str, Group] = {}
    cores: list[Core] = []
    for cluster in _clusters(pops, means, spec):
        groups.update(_shared(cluster, means, spec, report))
        members = [p for g in cluster for p in g]
        ids = np.concatenate([off[p.name] + np.arange(p.size) for p in members])
        for lo in range(0, len(ids), spec.neurons_per_core):
            chunk = ids[lo:lo + spec.neurons_per_core]
            neuron_core[chunk] = len(cores)
            params = {k: np.atleast_1d(np.asarray(v, np.float64)).copy()
                      for k, v in groups[members[0].name].params.items()}
            cores.append(Core(len(cores), chunk, params))
    return cores, groups, neuron_core


def _synapses(network: Network, groups: dict[str, Group], neuron_core: np.ndarray,
              report: MappingReport):
    """Every IR synapse as (pre, post, type, required weight current in A, projection)."""
    off = network.offsets()
    pre, post, typ, iw, proj = [], [], [], [], []
    for j, pr in enumerate(network.projections):
        t = L.AMPA if pr.receptor == "excitatory" else L.GABA
        pre.append(off[pr.pre] + pr.pre_idx)
        post.append(off[pr.post] + pr.post_idx)
        typ.append(np.full(pr.size, t, np.int64))
        iw.append(pr.weight * groups[pr.post].iw_per_weight[t])
        proj.append(np.full(pr.size, j, np.int64))
        if pr.size and pr.delay.max() > 0:
            report.approximate("delays_dropped", f"projection {pr.name!r}",
                               f"the chip has no programmable delays: delays "
                               f"{pr.delay.min():g}..{pr.delay.max():g} ms become the routing "
                               "latency (the next integration sub-step)", pr.size)
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
    return (cat(pre, np.int64), cat(post, np.int64), cat(typ, np.int64),
            cat(iw, np.float64), cat(proj, np.int64))


def _check_cam(network: Network, spec: DynapseSpec, post: np.ndarray) -> None:
    """Fan-in: one CAM entry per synapse, `cam_per_neuron` per neuron."""
    fan_in = np.bincount(post, minlength=network.size)
    if fan_in.size and fan_in.max() > spec.cam_per_neuron:
        g = int(fan_in.argmax())
        over = int((fan_in > spec.cam_per_neuron).sum())
        raise LimitError("CAM entries per neuron", int(fan_in.max()), spec.cam_per_neuron,
                         f"{_name(network, g)} needs {int(fan_in.max()) - spec.cam_per_neuron}"
                         f" more; {over} neuron(s) over the limit")


def _name(network: Network, g: int) -> str:
    for pop in network.populations:
        lo = network.offsets()[pop.name]
        if lo <= g < lo + pop.size:
            return f"neuron {g - lo} of population {pop.name!r}"
    return f"neuron {g}"


def _quantise(spec: DynapseSpec, cores: list[Core], post_core: np.ndarray, typ: np.ndarray,
              iw: np.ndarray):
    """Per core: each synapse type's gain lowered by gain_scale so that its largest
    weight current reaches the core's largest (every type uses all 4 bits), then the base
    weights unit * 2**b fitted to that, and every synapse's 4-bit mask. Returns the masks
    and the realised currents in the unscaled gain's units."""
    levels = 2 ** spec.weight_bits - 1
    mask = np.zeros(len(iw), np.int64)
    realised = np.zeros(len(iw))
    for core in cores:
        sel = post_core == core.index
        tops = np.array([iw[sel & (typ == t)].max(initial=0.0) for t in range(L.N_TYPES)])
        top = float(tops.max())
        scale = np.where(tops > 0, top / np.where(tops > 0, tops, 1.0), 1.0)
        core.params["igain_syn"] = np.maximum(core.params["igain_syn"] / scale, spec.io_a)
        unit = max(top / levels, spec.current_min_a)
        base = unit * 2.0 ** np.arange(spec.base_weights)
        if base[-1] > spec.current_max_a:
            raise LimitError(f"current range (base weight Iw_{spec.base_weights - 1} of "
                             f"core {core.index})", f"{base[-1]:.3g} A",
                             f"{spec.current_max_a:.3g} A", "weights too large")
        core.params[L.IW_BASE] = base
        mask[sel] = np.clip(np.rint(iw[sel] * scale[typ[sel]] / unit), 0, levels)
        realised[sel] = mask[sel] * unit / scale[typ[sel]]
    return mask, realised


def _routing(network: Network, spec: DynapseSpec, pre: np.ndarray, post_core: np.ndarray,
             neuron_core: np.ndarray) -> dict[str, np.ndarray]:
    """Tags per core (distinct presynaptic neurons whose events its CAMs match) and SRAM
    destinations per neuron (one entry per destination chip, with a core mask); returns
    each neuron's destination cores (CSR)."""
    pairs = np.unique(np.stack([post_core, pre]), axis=1) if len(pre) else np.zeros((2, 0),
                                                                                    np.int64)
    tags = np.bincount(pairs[0], minlength=max(len(neuron_core), 1))
    if tags.size and tags.max() > spec.tags:
        c = int(tags.argmax())
        raise LimitError("tags per core", int(tags.max()), spec.tags,
                         f"core {c} is fed by {int(tags.max()) - spec.tags} presynaptic "
                         "neurons too many")
    src, dst = pairs[1], pairs[0]
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    chips = dst // spec.cores_per_chip
    neuron = ~np.isin(src, np.flatnonzero(neuron_core < 0))
    entries = np.unique(np.stack([src[neuron], chips[neuron]]), axis=1)[0] if neuron.any() \
        else np.zeros(0, np.int64)
    per = np.bincount(entries, minlength=network.size)
    if per.size and per.max() > spec.destinations:
        g = int(per.argmax())
        raise LimitError("SRAM destinations per neuron", int(per.max()), spec.destinations,
                         f"{_name(network, g)} reaches {int(per.max())} chips")
    ptr = np.zeros(network.size + 1, np.int64)
    ptr[1:] = np.cumsum(np.bincount(src, minlength=network.size))
    return {L.DEST_PTR: ptr, L.DEST_CORE: dst.astype(np.int64),
            "tags_max": np.array([int(tags.max()) if tags.size else 0])}


def compile_dynapse(network: Network, spec: DynapseSpec) -> HardwareImage:
    """Map the IR onto DPI parameter groups, CAM entries, base weights and routing."""
    report = MappingReport()
    cores, groups, neuron_core = _place(network, spec, report)
    pre, post, typ, iw, proj = _synapses(network, groups, neuron_core, report)
    _check_cam(network, spec, post)
    post_core = neuron_core[post]
    for core in cores:
        used = np.unique(typ[post_core == core.index])
        core.params["syn_used"][used] = 1.0
    mask, realised_iw = _quantise(spec, cores, post_core, typ, iw)
    routes = _routing(network, spec, pre, post_core, neuron_core)
    order = np.argsort(pre, kind="stable")
    ptr = np.zeros(network.size + 1, np.int64)
    ptr[1:] = np.cumsum(np.bincount(pre, minlength=network.size))
    weights = {}
    for j, pr in enumerate(network.projections):
        sel = proj == j
        per = groups[pr.post].iw_per_weight[typ[sel]]
        weights[pr.name] = realised_iw[sel] / per
        report.quantized("weight", f"projection {pr.name!r}", pr.weight, weights[pr.name])
        zero = int(((mask[sel] == 0) & (pr.weight > 0)).sum())
        if zero:
            report.approximate("synapses_zeroed", f"projection {pr.name!r}",
                               f"{zero} weight(s) below half the smallest base weight of "
                               "their core become 0", zero)
    off = network.offsets()
    v_rest = np.zeros(network.size)
    v_per = np.zeros(network.size)
    for name, grp in groups.items():
        sl = slice(off[name], off[name] + network.population(name).size)
        v_rest[sl], v_per[sl] = grp.v_base, grp.v_per_amp
    tags_max = int(routes.pop("tags_max")[0])
    routing = {L.SYN_PTR: ptr, L.SYN_POST: post[order], L.SYN_TYPE: typ[order],
               L.SYN_MASK: mask[order], L.NEURON_CORE: neuron_core, **routes}
    fan_in = np.bincount(post, minlength=1)
    mapping = {"cores": len(cores), "chips": spec.n_chips, "cam_max": int(fan_in.max()),
               "tags_max": tags_max, "synapses": int(len(pre))}
    return HardwareImage(spec, network, cores=cores, routing=routing, report=report,
                         data={L.V_BASE_MV: v_rest, L.V_PER_AMP: v_per, L.WEIGHTS: weights,
                               L.MAPPING: mapping})
