"""Compiler of the TrueNorth-style target: IR -> cores of 256 axons x 256 neuron slots.

What the chip changes is written into the mapping report (`image.report`), each entry
naming its population or projection:
- IF_curr_delta and IF_curr_exp become TrueNorth LIF neurons. V = 0 is v_ref (below); one
  V unit is `lsb` mV, chosen per neuron as the finest step at which its weights, threshold,
  reset, leak and initial V all fit their formats (quantised: v_thresh, v_reset, v_init).
  An IF_curr_exp weight w (nA) becomes the voltage jump of its whole charge,
  w * tau_syn / cm (mV): the synaptic current's shape is dropped ("synaptic_current_dropped").
- Leak ("leak_linearised", quantised: leak): a decaying neuron (v_rest below v_thresh,
  i_offset = 0) has V = 0 at v_rest and leak-reversal mode (V moves towards v_rest by
  |lambda| per tick), lambda = (v_thresh - v_rest) / 2 * dt / tau_m: the exponential
  decay's rate at half the threshold. A driven neuron (v_rest at or above v_thresh, or
  i_offset != 0) has V = 0 at v_reset and a plain leak lambda = ((v_rest - v_mid) / tau_m
  + i_offset / cm) * dt, the drive at the middle v_mid of [v_reset, v_thresh]. With
  spec.stochastic_leak a leak below one V unit per tick uses the stochastic leak mode
  ("leak_stochastic": its expected step equals the leak; the quantisation is the expected one).
- Refractory periods are dropped, TrueNorth has none ("refractory_dropped").
- V saturates at the negative threshold -beta ("v_floor", where inhibition or a negative
  drive can reach it).
- Weights (quantised: weight, per projection in IR units): per core, the input axons are
  clustered by their mean signed weight into at most 4 axon types (1-D k-means;
  "weights_clustered" wherever a synapse's realised weight is off by more than rounding,
  e.g. two axons of equal mean that carry different weights to one neuron); neuron j's
  weight s[j, G]
  is the mean of its weights from type-G axons, rounded to its lsb. Parallel synapses
  (same pre, post, delay) share one crossbar bit with their summed weight; the realised
  weight of each (image.data["weights"]) carries an equal share of the group's error.
  With spec.exact_axon_types more than 4 distinct weights on a core is a LimitError instead.
- Delays: round(delay / dt) ticks, halves up as the reference, at least 1
  ("delay_rounded", quantised: delay); more than 15 is a LimitError. Into IF_curr_exp
  the chip's delay is one tick longer (so at most 14 there): the chip adds a spike to V
  in the tick its delay ends, while exact integration's current first moves v one step
  after it arrives; with the extra tick a synfire chain's per-layer latency is d + 1
  ticks on both (docs/timing.md).
- Fan-out: a neuron sends each spike to ONE axon, so a neuron whose targets need k axons
  (distinct (destination core, delay)) gets k - 1 copies on its own core, with the same
  inputs and parameters (they spike identically); copies use neuron slots.
- Spike sources are off-chip inputs: each (source, destination core, delay) gets an input
  axon; their spikes (the one stimulus, `hw.stimulus`) reach the axon's scheduler directly.

The image format is `hw.layouts.truenorth`. Partitioning is a local greedy helper
(`_partition`): hw.mapping.partition counts input axons by presynaptic neuron id only, and
TrueNorth needs (source, delay) keys, sources that hold no slots, and fan-out copies as
slot units. Placement uses hw.mapping.place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .compile_reference import delay_steps
from .errors import LimitError, TargetError
from .image import Core, HardwareImage
from .ir import Network, Population, is_source
from .layouts import truenorth as L
from .mapping import (ProgressFn, Stage, place, placement_cost, sequential_xy,
                      unique_ints)
from .report import MappingReport
from .targets.truenorth import TrueNorthSpec

#: the per-neuron integer parameters the compiler computes (the rest of SLOT_PARAMS is routing)
_NEURON_INTS = tuple(k for k in L.NEURON_PARAMS if k not in L.TYPED_PARAMS) + ("v0",)


@dataclass
class _Synapses:
    """The IR's synapses as the chip sees them: merged per (pre, post, delay) into global
    neuron ids, signed voltage jumps (mV) and delays (ticks). `group` maps each IR synapse
    (projections concatenated in order) to its merged synapse, `count` counts the IR
    synapses of each merged one; `factor` is its mV jump per IR weight unit."""

    pre: np.ndarray
    post: np.ndarray
    delay: np.ndarray
    w_mv: np.ndarray
    group: np.ndarray
    count: np.ndarray
    factor: np.ndarray


@dataclass
class _Chip:
    """The chip's structure, filled step by step: the core of each IR neuron, the input
    axons (one per (source, destination core, delay), sorted by source), the neuron slots
    (each neuron once per destination axon it needs) and the placement."""

    core_of: np.ndarray
    n_cores: int
    dkey: np.ndarray | None = None
    d_pre: np.ndarray | None = None
    d_core: np.ndarray | None = None
    d_delay: np.ndarray | None = None
    axon_of: np.ndarray | None = None
    axon_rows: list | None = None          # per core: its axons' rows of dkey, by axon number
    slot_nrn: np.ndarray | None = None
    slot_dest: np.ndarray | None = None    # row of dkey each slot sends to, -1: none
    slot_core: np.ndarray | None = None
    core_xy: np.ndarray | None = None
    traffic: sparse.csr_array | None = None


def compile_truenorth(network: Network, spec: TrueNorthSpec,
                      progress: ProgressFn = None) -> HardwareImage:
    """Quantise, fan out, partition, place and route `network` for a TrueNorth-style chip;
    the mapping report names every change (module docstring); `progress(stage, done)`
    hears of the long steps (hw.mapping.progress)."""
    _check_spec(spec)
    report = MappingReport()
    syn = _synapses(network, spec, report)
    P = _neuron_params(network, spec, syn, report)
    src_mask = _source_mask(network)
    chip = _partition_chip(network, spec, syn, src_mask, progress)
    _input_axons(chip, spec, syn)
    _neuron_slots(chip, spec, network.size, src_mask)
    _place_cores(chip, spec, Stage.of(progress, "placement"))
    cores, mapped_mv = _build_cores(chip, spec, syn, P, network, report,
                                    Stage.of(progress, "synapse memory"))
    weights = _report_weights(network, syn, mapped_mv, report)
    routing = _routing(chip, cores, src_mask)
    data = {L.LSB_MV: P["lsb"], L.V_REF_MV: P["v_ref"], L.WEIGHTS: weights,
            L.MAPPING: _statistics(chip, spec, syn)}
    return HardwareImage(target=spec, network=network, cores=cores, placement=chip.core_xy,
                         routing=routing, data=data, report=report)


def _check_spec(spec: TrueNorthSpec) -> None:
    """Refuse a spec whose organisation cannot hold a network."""
    if spec.axon_types < 1 or spec.neurons_per_core < 1 or spec.axons_per_core < 1:
        raise TargetError(f"target {spec.name!r}: axon types, neurons and axons per core "
                          "must be >= 1")
    if spec.delay_max >= spec.scheduler_slots:
        raise TargetError(f"target {spec.name!r}: delay_max {spec.delay_max} needs a "
                          f"scheduler of more than {spec.scheduler_slots} slots")


def _source_mask(network: Network) -> np.ndarray:
    """True for every IR neuron of a spike source (off-chip, no slot)."""
    off = network.offsets()
    mask = np.zeros(network.size, bool)
    for pop in network.populations:
        if is_source(pop.model):
            mask[off[pop.name]:off[pop.name] + pop.size] = True
    return mask


def _span(values: np.ndarray, unit: str) -> str:
    """"5 ms" or "5..20 ms": the range of a parameter for a report line."""
    lo, hi = float(np.min(values)), float(np.max(values))
    return f"{lo:.4g} {unit}" if lo == hi else f"{lo:.4g}..{hi:.4g} {unit}"


# --- synapses ---------------------------------------------------------------------------------
def _delay_ticks(pr, spec: TrueNorthSpec, dt: float, report: MappingReport,
                 lag: int) -> np.ndarray:
    """A projection's delays in whole ticks (at least delay_min), halves up as the
    reference rounds them (`compile_reference.delay_steps`); rounding is reported,
    more than delay_max ticks is a LimitError. The chip's delays are `lag` ticks longer
    (1 into IF_curr_exp: the module docstring); the report compares the IR's delays with
    the rounded ones, which the chip realises."""
    d = delay_steps(pr.name, np.maximum(pr.delay, spec.delay_min * dt), dt)
    if d.size and d.max() + lag > spec.delay_max:
        i = int(np.argmax(d))
        raise LimitError("delay (ticks)", int(d[i]) + lag, spec.delay_max,
                         f"projection {pr.name!r}: delay {pr.delay[i]} ms at {dt} ms "
                         f"ticks{' (+1 tick into IF_curr_exp)' if lag else ''}, "
                         f"{int(d[i]) + lag - spec.delay_max} tick(s) too many")
    where = f"projection {pr.name!r}"
    report.rounded("delay_rounded", "delay", where, pr.delay, d * dt, dt)
    return d + lag


def _synapses(net: Network, spec: TrueNorthSpec, report: MappingReport) -> _Synapses:
    """Global ids, signed voltage jumps (mV) and delays (ticks) of every synapse, parallel
    ones (same pre, post, delay) merged into one crossbar bit with their summed jump."""
    dt = float(spec.timestep)
    off, n = net.offsets(), net.size
    pre, post, factor, delay = [], [], [], []
    for pr in net.projections:
        target = net.population(pr.post)
        sign = -1.0 if pr.receptor == "inhibitory" else 1.0
        f = np.full(pr.size, sign)
        lag = 1 if target.model == "IF_curr_exp" else 0
        if lag:
            tau = target.params["tau_syn_I" if sign < 0 else "tau_syn_E"][pr.post_idx]
            f = f * tau / target.params["cm"][pr.post_idx]
        pre.append(off[pr.pre] + pr.pre_idx)
        post.append(off[pr.post] + pr.post_idx)
        factor.append(f)
        delay.append(_delay_ticks(pr, spec, dt, report, lag))
    cat = (lambda xs, t: np.concatenate(xs).astype(t) if xs else np.zeros(0, t))
    pre, post, delay = cat(pre, np.int64), cat(post, np.int64), cat(delay, np.int64)
    factor = cat(factor, np.float64)
    w_ir = cat([pr.weight for pr in net.projections], np.float64)
    w_mv = w_ir * factor
    key = (pre * n + post) * (spec.delay_max + 1) + delay
    order = np.argsort(key, kind="stable")
    first = np.ones(len(key), bool)
    first[1:] = key[order][1:] != key[order][:-1]
    group = np.empty(len(key), np.int64)
    group[order] = np.cumsum(first) - 1
    sel = order[first]
    w_sum = np.bincount(group, weights=w_mv, minlength=len(sel))
    count = np.bincount(group, minlength=len(sel)).astype(np.int64)
    return _Synapses(pre[sel], post[sel], delay[sel], w_sum, group, count, factor)


# --- neurons --------------------------------------------------------------------------------
def _neuron_params(net: Network, spec: TrueNorthSpec, syn: _Synapses,
                   report: MappingReport) -> dict[str, np.ndarray]:
    """Integer neuron parameters, the mV per V unit (lsb) and the V = 0 level (v_ref, mV)
    of each IR neuron; each population's changes go into the report."""
    n = net.size
    P = {k: np.zeros(n, np.int64) for k in _NEURON_INTS}
    P["lsb"], P["v_ref"] = np.ones(n), np.zeros(n)
    wmax = np.zeros(n)
    if len(syn.post):
        np.maximum.at(wmax, syn.post, np.abs(syn.w_mv))
    neg_in = np.bincount(syn.post, weights=np.minimum(syn.w_mv, 0.0), minlength=n)
    off = net.offsets()
    for pop in net.populations:
        if is_source(pop.model):
            continue
        sl = slice(off[pop.name], off[pop.name] + pop.size)
        got = _population_params(pop, spec, wmax[sl], neg_in[sl], report)
        for k, v in got.items():
            P[k][sl] = v
    return P


def _population_params(pop: Population, spec: TrueNorthSpec, wmax: np.ndarray,
                       neg_in: np.ndarray, report: MappingReport) -> dict[str, np.ndarray]:
    """One population's integer parameters, lsb and v_ref (module docstring: decay or
    drive, the V unit, the linear leak), with its quantisations and approximations;
    `neg_in` is each neuron's inhibitory jump (mV) when all its inhibitory inputs fire."""
    dt, p = float(spec.timestep), pop.params
    drive = (p["v_rest"] >= p["v_thresh"]) | (p["i_offset"] != 0)
    v_ref = np.where(drive, p["v_reset"], p["v_rest"])
    theta = p["v_thresh"] - v_ref
    if np.any(theta <= 0):
        i = int(np.flatnonzero(theta <= 0)[0])
        raise TargetError(f"population {pop.name!r}[{i}]: v_thresh {p['v_thresh'][i]} mV "
                          f"must exceed v_reset {p['v_reset'][i]} mV for the TrueNorth "
                          "threshold (alpha > 0)")
    v_mid = (p["v_reset"] + p["v_thresh"]) / 2
    drive_mv = ((p["v_rest"] - v_mid) / p["tau_m"] + p["i_offset"] / p["cm"]) * dt
    leak_mv = np.where(drive, drive_mv, -theta / 2 * dt / p["tau_m"])
    reset_mv = p["v_reset"] - v_ref
    v_init = pop.initial.get("v", p["v_rest"]) * np.ones(pop.size)
    v0_mv = v_init - v_ref
    lsb = np.maximum.reduce([
        wmax / spec.weight_format.max_int, theta / spec.threshold_format.max_int,
        np.abs(leak_mv) / spec.leak_format.max_int, np.abs(reset_mv) / spec.reset_format.max_int,
        np.abs(v0_mv) / spec.v_format.max_int])
    lsb = np.where(lsb > 0, lsb, theta / spec.threshold_format.max_int)
    ones = np.ones(pop.size, np.int64)
    out = dict(lsb=lsb, v_ref=v_ref, alpha=np.maximum(np.rint(theta / lsb), 1),
               beta=spec.threshold_format.max_int * ones,   # floor far below: saturate
               kappa=L.KAPPA_SATURATE * ones, gamma=L.RESET_NORMAL * ones,
               reset=np.rint(reset_mv / lsb), v0=np.rint(v0_mv / lsb),
               leak_rev=(~drive).astype(np.int64))
    out["leak"], out["leak_stoch"], leak_eff = _leak(leak_mv / lsb, lsb, spec)
    where = f"population {pop.name!r}"
    report.quantized("v_thresh", where, p["v_thresh"], v_ref + out["alpha"] * lsb, "mV")
    report.quantized("v_reset", where, p["v_reset"], v_ref + out["reset"] * lsb, "mV")
    report.quantized("v_init", where, v_init, v_ref + out["v0"] * lsb, "mV")
    report.quantized("leak", where, leak_mv, leak_eff, "mV/tick")
    _report_population(pop, spec, drive, leak_mv, out, neg_in, report)
    return out


def _leak(units: np.ndarray, lsb: np.ndarray, spec: TrueNorthSpec):
    """(lambda, stochastic flag, leak the chip applies in mV per tick, on average) for a
    leak of `units` V units per tick: rounded, or with spec.stochastic_leak a leak below
    one unit in the stochastic mode: V moves by sgn(lambda) when |lambda| >= rho, i.e.
    with probability (|lambda| + 1) / 2**prng_bits."""
    lam = np.rint(units).astype(np.int64)
    eff = lam * lsb
    stoch = np.zeros(len(units), np.int64)
    if spec.stochastic_leak:
        frac = np.abs(units) < 1
        full = 1 << spec.prng_bits
        mag = np.clip(np.rint(np.abs(units) * full) - 1, 0, full - 1).astype(np.int64)
        lam = np.where(frac, np.sign(units).astype(np.int64) * mag, lam)
        stoch = frac.astype(np.int64)
        expected = np.where(mag > 0, (mag + 1) / full, 0.0) * np.sign(units) * lsb
        eff = np.where(frac, expected, eff)
    return lam, stoch, eff


def _report_population(pop: Population, spec: TrueNorthSpec, drive: np.ndarray,
                       leak_mv: np.ndarray, out: dict, neg_in: np.ndarray,
                       report: MappingReport) -> None:
    """The approximations of one population: refractory period, linear leak, synaptic
    current shape, stochastic leak and the V floor (where one tick of all its inhibition,
    a negative drive or the initial V reaches it)."""
    p, where = pop.params, f"population {pop.name!r}"
    refr = p.get("tau_refrac", np.zeros(pop.size)) > 0
    if refr.any():
        report.approximate("refractory_dropped", where,
                           f"TrueNorth has no refractory period: tau_refrac "
                           f"{_span(p['tau_refrac'][refr], 'ms')} dropped for "
                           f"{int(refr.sum())} of {pop.size} neuron(s)", int(refr.sum()))
    for mask, how in ((~drive, "a linear leak towards v_rest (the decay's rate at half "
                                "the threshold)"),
                      (drive, "a constant drive (the decay and i_offset at the middle of "
                              "[v_reset, v_thresh])")):
        if mask.any():
            report.approximate("leak_linearised", where,
                               f"exponential decay (tau_m {_span(p['tau_m'][mask], 'ms')}) "
                               f"replaced by {how} of "
                               f"{_span(leak_mv[mask], 'mV')} per tick", int(mask.sum()))
    if pop.model == "IF_curr_exp":
        report.approximate("synaptic_current_dropped", where,
                           f"synaptic currents (tau_syn_E {_span(p['tau_syn_E'], 'ms')}, "
                           f"tau_syn_I {_span(p['tau_syn_I'], 'ms')}) become one voltage "
                           "jump of their whole charge (w * tau_syn / cm), acting one tick "
                           "after arrival: a neuron the reference charges over several steps "
                           "fires earlier here (docs/timing.md)", pop.size)
    if out["leak_stoch"].any():
        k = int(out["leak_stoch"].sum())
        report.approximate("leak_stochastic", where,
                           f"a leak below one V unit per tick is applied at random (right "
                           f"on average) for {k} neuron(s)", k)
    beta = out["beta"]
    floor = out["v_ref"] - beta * out["lsb"]
    gap = out["v_ref"] - floor
    reach = (-neg_in >= gap) | (drive & (leak_mv < 0)) | (out["v0"] < -beta)
    if reach.any():
        gap = gap[reach]
        report.approximate("v_floor", where,
                           f"V saturates at the negative threshold -beta, "
                           f"{_span(gap, 'mV')} below V = 0 (v_rest or v_reset), for "
                           f"{int(reach.sum())} neuron(s) that one tick of inhibition, a "
                           "negative drive or the initial V can push there", int(reach.sum()))


# --- cores, axons, slots, placement -----------------------------------------------------------
def _partition_chip(net: Network, spec: TrueNorthSpec, syn: _Synapses,
                    src_mask: np.ndarray, progress: ProgressFn = None) -> _Chip:
    """The core of every chip neuron (fan-out copies counted as slots); more cores than
    the chip has is a LimitError."""
    neurons = np.flatnonzero(~src_mask)
    core_of = _map_cores(net, spec, neurons, syn, src_mask, progress)
    n_cores = int(core_of[neurons].max()) + 1 if neurons.size else 0
    if n_cores > spec.n_cores:
        raise LimitError("cores per chip", n_cores, spec.n_cores,
                         f"{n_cores - spec.n_cores} core(s) too many ({spec.n_chips} chip(s) "
                         f"of {spec.cores_x}x{spec.cores_y})")
    return _Chip(core_of=core_of, n_cores=n_cores)


def _input_axons(chip: _Chip, spec: TrueNorthSpec, syn: _Synapses) -> None:
    """One input axon per (source, destination core, delay), numbered per core."""
    D, nc1 = spec.delay_max + 1, max(chip.n_cores, 1)
    chip.dkey = unique_ints((syn.pre * nc1 + chip.core_of[syn.post]) * D + syn.delay)
    chip.d_pre = chip.dkey // D // nc1
    chip.d_core = chip.dkey // D % nc1
    chip.d_delay = chip.dkey % D
    by_core = np.argsort(chip.d_core, kind="stable")
    counts = np.bincount(chip.d_core, minlength=chip.n_cores)
    starts = np.cumsum(counts) - counts
    chip.axon_of = np.zeros(len(chip.dkey), np.int64)
    chip.axon_of[by_core] = np.arange(len(chip.dkey)) - np.repeat(starts, counts)
    if counts.size and counts.max() > spec.axons_per_core:      # partition guarantees this
        c = int(np.argmax(counts))
        raise LimitError("axons per core", int(counts[c]), spec.axons_per_core,
                         f"core {c}: {int(counts[c]) - spec.axons_per_core} too many")
    chip.axon_rows = [by_core[s:s + k] for s, k in zip(starts, counts)]


def _neuron_slots(chip: _Chip, spec: TrueNorthSpec, n: int, src_mask: np.ndarray) -> None:
    """Each neuron once per destination axon (the original, then its copies), cores in
    order; a neuron without destinations gets one slot."""
    neurons = np.flatnonzero(~src_mask)
    to_neuron = ~src_mask[chip.d_pre]
    n_dest = np.bincount(chip.d_pre[to_neuron], minlength=n)[neurons]
    first_row = np.searchsorted(chip.d_pre, neurons)     # dkey is sorted by source first
    per = np.maximum(n_dest, 1)
    chip.slot_nrn = np.repeat(neurons, per).astype(np.int64)
    within = np.arange(len(chip.slot_nrn)) - np.repeat(np.cumsum(per) - per, per)
    chip.slot_dest = np.where(np.repeat(n_dest, per) > 0,
                              np.repeat(first_row, per) + within, -1)
    chip.slot_core = chip.core_of[chip.slot_nrn]          # non-decreasing: cores fill in order
    per_core = np.bincount(chip.slot_core, minlength=chip.n_cores)
    if per_core.size and per_core.max() > spec.neurons_per_core:   # partition guarantees
        c = int(np.argmax(per_core))
        raise LimitError("neurons per core", int(per_core[c]), spec.neurons_per_core,
                         f"core {c} with fan-out copies")


def _place_cores(chip: _Chip, spec: TrueNorthSpec, progress: Stage | None = None) -> None:
    """Mesh position of each core from the slot -> axon traffic between cores."""
    has = chip.slot_dest >= 0
    # sparse counts per (source core, destination core): a dense matrix of 14k cores
    # takes 1.6 GB, and the placement of large chips works on the pairs that talk
    n = chip.n_cores
    chip.traffic = sparse.csr_array(
        (np.ones(int(has.sum())), (chip.slot_core[has], chip.d_core[chip.slot_dest[has]])),
        shape=(n, n))
    try:
        chip.core_xy = place(chip.traffic, spec.mesh_shape, strategy=spec.placement,
                             seed=spec.placement_seed, cores_per_router=1,
                             progress=progress)
    except ValueError as exc:
        raise TargetError(f"target {spec.name!r}: {exc}") from None
    if progress is not None:
        progress.finish()


# --- per-core tables --------------------------------------------------------------------------
@dataclass
class _CoreWeights:
    """A core's axon types, its neurons (ascending) and their weight table s[neuron, type]
    (V units), the mV jump each of its synapses gets, and how many distinct mean weights
    its axons carry."""

    types: np.ndarray
    uniq: np.ndarray
    s_int: np.ndarray
    mapped: np.ndarray
    distinct: int


def _build_cores(chip: _Chip, spec: TrueNorthSpec, syn: _Synapses, P: dict,
                 net: Network, report: MappingReport,
                 progress: Stage | None = None) -> tuple[list[Core], np.ndarray]:
    """Every core's tables, and the mV jump the chip realises for each merged synapse."""
    D, nc1 = spec.delay_max + 1, max(chip.n_cores, 1)
    syn_core = chip.core_of[syn.post]
    syn_axon = chip.axon_of[np.searchsorted(chip.dkey, (syn.pre * nc1 + syn_core) * D
                                            + syn.delay)]
    syn_order = np.argsort(syn_core, kind="stable")
    syn_cut = np.searchsorted(syn_core[syn_order], np.arange(chip.n_cores + 1))
    slot_cut = np.searchsorted(chip.slot_core, np.arange(chip.n_cores + 1))
    mapped = np.zeros(len(syn.w_mv))
    clustered = np.zeros(chip.n_cores, bool)
    cores = []
    for c in range(chip.n_cores):
        if progress is not None:
            progress(c / chip.n_cores)
        s = syn_order[syn_cut[c]:syn_cut[c + 1]]
        nrns = chip.slot_nrn[slot_cut[c]:slot_cut[c + 1]]
        w = _core_weights(c, spec, syn, P["lsb"], s, syn_axon[s], nrns,
                          len(chip.axon_rows[c]))
        mapped[s] = w.mapped
        # clustering is exact only when each neuron gets one weight from all axons of a
        # type: a synapse realised further than half its neuron's V unit from its weight
        # (two axons of equal mean but different weights per neuron) is clustered
        clustered[c] = bool(np.any(np.abs(w.mapped - syn.w_mv[s])
                                   > 0.5 * P["lsb"][syn.post[s]] * (1 + 1e-9)))
        n_ir = np.bincount(syn_axon[s], weights=syn.count[s], minlength=spec.axons_per_core)
        cores.append(_core(c, chip, spec, P, syn.post[s], syn_axon[s],
                           np.arange(slot_cut[c], slot_cut[c + 1]), w,
                           n_ir.astype(np.int64)))
    if progress is not None:
        progress.finish()
    _report_clustering(net, spec, syn, chip, clustered, report)
    return cores, mapped


def _core_weights(c: int, spec: TrueNorthSpec, syn: _Synapses, lsb: np.ndarray,
                  s: np.ndarray, ax: np.ndarray, nrns: np.ndarray, n_ax: int) -> _CoreWeights:
    """Axon types by clustering the mean weight each axon carries; neuron j's weight for
    type G is the mean of its weights from type-G axons, rounded to its lsb."""
    feat = np.zeros(n_ax)
    if s.size:
        feat = np.bincount(ax, weights=syn.w_mv[s], minlength=n_ax) / np.maximum(
            np.bincount(ax, minlength=n_ax), 1)
    types = _cluster(feat, spec.axon_types)
    distinct = len(np.unique(feat))
    if spec.exact_axon_types and distinct > spec.axon_types:
        raise LimitError("axon types per core", distinct, spec.axon_types,
                         f"core {c}: its input axons carry {distinct} distinct weights, "
                         f"{distinct - spec.axon_types} too many")
    uniq = np.unique(nrns)
    j_loc = np.searchsorted(uniq, syn.post[s])
    s_sum = np.zeros((len(uniq), spec.axon_types))
    s_cnt = np.zeros((len(uniq), spec.axon_types))
    np.add.at(s_sum, (j_loc, types[ax]), syn.w_mv[s])
    np.add.at(s_cnt, (j_loc, types[ax]), 1.0)
    lsb_loc = lsb[uniq]
    s_int = np.rint(s_sum / np.maximum(s_cnt, 1) / lsb_loc[:, None]).astype(np.int64)
    s_int = spec.weight_format.fit(s_int, "TrueNorth weight s[G]")
    return _CoreWeights(types, uniq, s_int, s_int[j_loc, types[ax]] * lsb_loc[j_loc],
                        distinct)


def _core(c: int, chip: _Chip, spec: TrueNorthSpec, P: dict, post: np.ndarray,
          ax: np.ndarray, slots: np.ndarray, w: _CoreWeights, n_ir: np.ndarray) -> Core:
    """Core c's image: slot parameters and routes, crossbar and axon tables (n_ir: the
    IR synapses each axon carries)."""
    nrns = chip.slot_nrn[slots]
    rows = chip.axon_rows[c]                      # axon a of core c is row rows[a] of dkey
    dest = chip.slot_dest[slots]
    ok = dest >= 0
    dcore = _pick(chip.d_core, dest, ok, -1)
    params = {k: P[k][nrns] for k in _NEURON_INTS}
    params["weights"] = w.s_int[np.searchsorted(w.uniq, nrns)]
    params["syn_stoch"] = np.zeros((len(slots), spec.axon_types), np.int64)
    params["dest_core"] = dcore
    params["dest_axon"] = _pick(chip.axon_of, dest, ok, -1)
    params["delay"] = _pick(chip.d_delay, dest, ok, 0)
    xy = chip.core_xy
    params["dx"] = np.where(ok, _pick(xy[:, 0], dcore, ok, 0) - xy[c, 0], 0)
    params["dy"] = np.where(ok, _pick(xy[:, 1], dcore, ok, 0) - xy[c, 1], 0)
    first_idx = np.searchsorted(nrns, nrns)          # nrns ascending: copies follow
    params["copy_of"] = np.where(first_idx == np.arange(len(nrns)), -1,
                                 first_idx).astype(np.int64)
    A, n_ax = spec.axons_per_core, len(rows)
    pad = (lambda x, fill: np.concatenate([x, np.full(A - n_ax, fill)]).astype(np.int64))
    memories = {L.CROSSBAR: _crossbar(spec, nrns, w.uniq, post, ax),
                L.AXON_TYPE: pad(w.types, 0), L.AXON_SOURCE: pad(chip.d_pre[rows], -1),
                L.AXON_DELAY: pad(chip.d_delay[rows], 0), L.AXON_SYNAPSES: n_ir,
                L.N_TYPES: np.asarray(int(w.types.max()) + 1 if w.types.size else 0)}
    return Core(index=c, neurons=nrns.astype(np.int64), params=params, memories=memories)


def _crossbar(spec: TrueNorthSpec, nrns: np.ndarray, uniq: np.ndarray, post: np.ndarray,
              ax: np.ndarray) -> np.ndarray:
    """Axons x slots, 0/1: synapse (axon, neuron) set in every slot of that neuron (its
    copies get the original's column)."""
    j_loc = np.searchsorted(uniq, post)
    cnt = np.bincount(np.searchsorted(uniq, nrns), minlength=len(uniq))
    start = np.searchsorted(nrns, uniq)
    per_syn = cnt[j_loc]
    rep = np.repeat(np.arange(len(post)), per_syn)
    col = np.repeat(start[j_loc], per_syn) + (np.arange(len(rep)) - np.repeat(
        np.cumsum(per_syn) - per_syn, per_syn))
    full = np.zeros((spec.axons_per_core, len(nrns)), np.uint8)
    full[ax[rep], col] = 1
    return full


# --- report, routing, statistics ------------------------------------------------------------
def _projection_slices(net: Network) -> list[slice]:
    """Each projection's IR synapses in the concatenated order of `_synapses`."""
    ptr = np.concatenate([[0], np.cumsum([pr.size for pr in net.projections])])
    return [slice(int(a), int(b)) for a, b in zip(ptr[:-1], ptr[1:])]


def _report_clustering(net: Network, spec: TrueNorthSpec, syn: _Synapses, chip: _Chip,
                       clustered: np.ndarray, report: MappingReport) -> None:
    """Name each projection that feeds a core with more distinct weights than types."""
    if not clustered.any():
        return
    core = chip.core_of[syn.post[syn.group]]       # per IR synapse: its target core
    for pr, sl in zip(net.projections, _projection_slices(net)):
        hit = clustered[core[sl]]
        if hit.any():
            n_cores = len(np.unique(core[sl][hit]))
            report.approximate("weights_clustered", f"projection {pr.name!r}",
                               f"{n_cores} target core(s) receive more distinct weights "
                               f"than its {spec.axon_types} axon types: each neuron's "
                               "weights are averaged per type (see the weight quantization)",
                               int(hit.sum()))


def _report_weights(net: Network, syn: _Synapses, mapped_mv: np.ndarray,
                    report: MappingReport) -> dict[str, np.ndarray]:
    """The weight each IR synapse gets (IR units, IR order; parallel synapses share their
    merged synapse's error equally), quantisation reported per projection."""
    err = mapped_mv - syn.w_mv
    share = syn.count
    out = {}
    for pr, sl in zip(net.projections, _projection_slices(net)):
        g, f = syn.group[sl], syn.factor[sl]
        out[pr.name] = (pr.weight * f + err[g] / share[g]) / f
        unit = "nA" if net.population(pr.post).model == "IF_curr_exp" else "mV"
        report.quantized("weight", f"projection {pr.name!r}", pr.weight, out[pr.name], unit)
    return out


def _routing(chip: _Chip, cores: list[Core], src_mask: np.ndarray) -> dict[str, np.ndarray]:
    """The chip's routing table: one row per slot (cores in order, slots in order), one per
    off-chip input axon."""
    table = {k: np.concatenate([c.params[k] for c in cores]) if cores else
             np.zeros(0, np.int64) for k in ("dest_core", "dx", "dy", "delay", "dest_axon")}
    src_rows = np.flatnonzero(src_mask[chip.d_pre])
    sizes = [len(c.neurons) for c in cores]
    return {L.CORE_XY: chip.core_xy,
            L.ROUTE_CORE: np.repeat(np.arange(chip.n_cores), sizes).astype(np.int64),
            L.ROUTE_DX: table["dx"], L.ROUTE_DY: table["dy"], L.ROUTE_DELAY: table["delay"],
            L.ROUTE_AXON: table["dest_axon"], L.ROUTE_DEST_CORE: table["dest_core"],
            L.SOURCE_NEURON: chip.d_pre[src_rows].astype(np.int64),
            L.SOURCE_CORE: chip.d_core[src_rows].astype(np.int64),
            L.SOURCE_AXON: chip.axon_of[src_rows].astype(np.int64),
            L.SOURCE_DELAY: chip.d_delay[src_rows].astype(np.int64)}


def _statistics(chip: _Chip, spec: TrueNorthSpec, syn: _Synapses) -> dict:
    """Size of the mapping: cores, slots, copies, axons, merged synapses, placement cost."""
    return dict(n_cores=chip.n_cores, mesh_shape=tuple(spec.mesh_shape),
                fanout_copies=int(len(chip.slot_nrn) - len(np.unique(chip.slot_nrn))),
                neuron_slots=int(len(chip.slot_nrn)), input_axons=int(len(chip.dkey)),
                synapses_merged=int(len(syn.group) - len(syn.pre)),
                placement=spec.placement,
                placement_cost=placement_cost(chip.traffic, chip.core_xy),
                sequential_cost=placement_cost(chip.traffic,
                                               sequential_xy(chip.n_cores, spec.mesh_shape)))


def _pick(values: np.ndarray, idx: np.ndarray, ok: np.ndarray, fill: int) -> np.ndarray:
    """values[idx] where ok, else fill (int64)."""
    out = np.full(len(idx), fill, np.int64)
    out[ok] = np.asarray(values)[idx[ok]]
    return out


# --- partitioning ---------------------------------------------------------------------------
def _map_cores(net: Network, spec: TrueNorthSpec, neurons: np.ndarray, syn: _Synapses,
               src_mask: np.ndarray, progress: ProgressFn = None) -> np.ndarray:
    """Core of every chip neuron with its fan-out copies counted as slots: partition with
    slot units, recount the (destination core, delay) targets of each neuron, repeat with
    the larger units until they fit (units only grow, so it ends)."""
    n, D = net.size, spec.delay_max + 1
    units = np.ones(n, np.int64)
    axon_key = syn.pre * D + syn.delay               # one input axon per (source, delay)
    for k in range(64):
        stage = Stage.of(progress, "partition" if k == 0 else f"partition (round {k + 1})")
        core_of = _partition(net, spec, units, syn.post, axon_key, stage)
        nc = int(core_of[neurons].max()) + 1 if neurons.size else 1
        keys = unique_ints((syn.pre * nc + core_of[syn.post]) * D + syn.delay)
        need = np.maximum(np.bincount(keys // D // nc, minlength=n), 1)
        need[src_mask] = 0
        if np.all(need <= units):
            return core_of
        units = np.maximum(units, need)
    raise TargetError("fan-out copies: partitioning did not settle in 64 rounds")


def _partition(net: Network, spec: TrueNorthSpec, units: np.ndarray, post: np.ndarray,
               axon_key: np.ndarray, progress: Stage | None = None) -> np.ndarray:
    """Greedy in-order fill (each population on fresh cores): a neuron joins the current
    core while its slots (with copies) and its new (source, delay) input axons fit."""
    n = net.size
    core_of = np.full(n, -1, np.int64)
    order = np.argsort(post, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    ptr[1:] = np.cumsum(np.bincount(post, minlength=n))
    keys_sorted = axon_key[order]
    core, used, axons = -1, spec.neurons_per_core, set()
    off = net.offsets()
    every = max(1, n // 200)
    for pop in net.populations:
        if is_source(pop.model):
            continue
        fresh_core = True
        for i in range(off[pop.name], off[pop.name] + pop.size):
            if progress is not None and i % every == 0:
                progress(i / n)
            mine = set(keys_sorted[ptr[i]:ptr[i + 1]].tolist())
            if len(mine) > spec.axons_per_core:
                raise LimitError("axons per core", len(mine), spec.axons_per_core,
                                 f"neuron {pop.name}[{i - off[pop.name]}] has {len(mine)} "
                                 f"distinct (source, delay) inputs, "
                                 f"{len(mine) - spec.axons_per_core} too many")
            if units[i] > spec.neurons_per_core:
                raise LimitError("neurons per core", int(units[i]), spec.neurons_per_core,
                                 f"neuron {pop.name}[{i - off[pop.name]}] needs {units[i]} "
                                 f"slots (itself + {units[i] - 1} fan-out copies), "
                                 f"{units[i] - spec.neurons_per_core} too many")
            new = mine - axons
            if fresh_core or used + units[i] > spec.neurons_per_core or \
                    len(axons) + len(new) > spec.axons_per_core:
                core, used, axons = core + 1, 0, set()
                new = mine
                fresh_core = False
            core_of[i] = core
            used += int(units[i])
            axons |= new
    if progress is not None:
        progress.finish()
    return core_of


def _cluster(values: np.ndarray, k: int) -> np.ndarray:
    """Label of each value after 1-D k-means into at most k clusters (exact for <= k
    distinct values); labels ordered by cluster centre."""
    values = np.asarray(values, np.float64)
    u = np.unique(values)
    if u.size <= k:
        return np.searchsorted(u, values).astype(np.int64)
    centres = np.quantile(u, (np.arange(k) + 0.5) / k)
    for _ in range(50):
        lab = np.argmin(np.abs(values[:, None] - centres[None, :]), axis=1)
        new = np.array([values[lab == c].mean() if np.any(lab == c) else centres[c]
                        for c in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    lab = np.argmin(np.abs(values[:, None] - centres[None, :]), axis=1)
    rank = np.argsort(np.argsort(centres))
    return rank[lab].astype(np.int64)
