"""Compiler of the TrueNorth-style target: IR -> cores of 256 axons x 256 neuron slots.

Approximations (each reported in `image.quantization` or `image.data["mapping"]`):
- IF_curr_delta and IF_curr_exp become TrueNorth LIF neurons. V = 0 is v_rest; one V unit
  is `lsb` mV, chosen per neuron as the finest step at which its weights, threshold, reset
  and leak all fit their formats. An IF_curr_exp weight w (nA) becomes the voltage jump of
  its whole charge, w * tau_syn / cm (mV): the synaptic current's shape is dropped.
- Leak: a decaying neuron (v_rest below v_thresh, i_offset = 0) has V = 0 at v_rest and
  leak-reversal mode (V moves towards v_rest by |lambda| per tick), lambda =
  (v_thresh - v_rest) / 2 * dt / tau_m: the exponential decay's rate at half the threshold.
  A driven neuron (v_rest at or above v_thresh, or i_offset != 0) has V = 0 at v_reset and
  a plain leak lambda = ((v_rest - v_mid) / tau_m + i_offset / cm) * dt, the drive at the
  middle v_mid of [v_reset, v_thresh]. `data["v_ref_mV"]` holds each neuron's V = 0 level.
  With spec.stochastic_leak, a leak below one V unit per tick uses the stochastic leak mode
  (its expected step equals the leak; the error reported is the expected one).
  Refractory periods are dropped (TrueNorth has none).
- Weights: per core, the input axons are clustered by their mean signed weight into at
  most 4 axon types (1-D k-means, exact when there are <= 4 distinct values); neuron j's
  weight s[j, G] is the mean of its weights from type-G axons, rounded to its lsb.
  With spec.exact_axon_types more than 4 distinct weights on a core is a LimitError instead.
- Delays: round(delay / dt) ticks, at least 1; more than 15 is a LimitError.
- Fan-out: a neuron sends each spike to ONE axon, so a neuron whose targets need k axons
  (distinct (destination core, delay)) gets k - 1 copies on its own core, with the same
  inputs and parameters (they spike identically); copies use neuron slots.
- Spike sources are off-chip inputs: each (source, destination core, delay) gets an input
  axon; their spikes reach the axon's scheduler directly (no mesh hops).

Partitioning is a local greedy helper (`_partition`): hw.mapping.partition counts input
axons by presynaptic neuron id only, and TrueNorth needs (source, delay) keys, sources
that hold no slots, and fan-out copies as slot units. Placement uses hw.mapping.place.
"""

from __future__ import annotations

import numpy as np

from .errors import LimitError, TargetError
from .image import Core, HardwareImage
from .ir import CurrentSource, Network, PoissonSource, SpikeArray, is_source
from .mapping import place, placement_cost, sequential_xy, unique_ints
from .rng import poisson_steps
from .targets.truenorth import TrueNorthSpec

#: per-slot neuron parameters stored in each Core.params (the emulator's NEURON_PARAMS + more)
SLOT_PARAMS = ("weights", "syn_stoch", "leak", "leak_rev", "leak_stoch", "alpha", "beta",
               "tm", "gamma", "kappa", "reset", "v0", "dest_core", "dest_axon", "delay",
               "dx", "dy", "copy_of")


def compile_truenorth(network: Network, spec: TrueNorthSpec) -> HardwareImage:
    """Quantise, fan out, partition, place and route `network` for a TrueNorth-style chip."""
    _check_network(network, spec)
    dt = float(spec.timestep)
    off, n = network.offsets(), network.size
    quant: dict[str, float] = {}
    src_mask = np.zeros(n, bool)
    for pop in network.populations:
        if is_source(pop.model):
            src_mask[off[pop.name]:off[pop.name] + pop.size] = True

    # --- synapses: global ids, signed voltage jumps (mV), delays (ticks) -------------------
    pre, post, w_mv, delay = [], [], [], []
    for pr in network.projections:
        target = network.population(pr.post)
        d = np.maximum(np.rint(pr.delay / dt), spec.delay_min).astype(np.int64)
        if d.size and d.max() > spec.delay_max:
            i = int(np.argmax(d))
            raise LimitError("delay (ticks)", int(d[i]), spec.delay_max,
                             f"projection {pr.name!r}: delay {pr.delay[i]} ms at {dt} ms "
                             f"ticks, {int(d[i]) - spec.delay_max} tick(s) too many")
        _worst(quant, "delay_max_abs_error_ms", np.abs(d * dt - pr.delay))
        sign = -1.0 if pr.receptor == "inhibitory" else 1.0
        w = sign * pr.weight
        if target.model == "IF_curr_exp":
            tau = target.params["tau_syn_I" if sign < 0 else "tau_syn_E"][pr.post_idx]
            w = w * tau / target.params["cm"][pr.post_idx]
        pre.append(off[pr.pre] + pr.pre_idx)
        post.append(off[pr.post] + pr.post_idx)
        w_mv.append(w)
        delay.append(d)
    cat = (lambda xs, t: np.concatenate(xs).astype(t) if xs else np.zeros(0, t))
    pre, post, delay = cat(pre, np.int64), cat(post, np.int64), cat(delay, np.int64)
    w_mv = cat(w_mv, np.float64)
    # merge parallel synapses (same pre, post, delay): one crossbar bit
    key = (pre * n + post) * (spec.delay_max + 1) + delay
    order = np.argsort(key, kind="stable")
    key_s = key[order]
    first = np.ones(len(key_s), bool)
    first[1:] = key_s[1:] != key_s[:-1]
    grp = np.cumsum(first) - 1
    quant["synapses_merged"] = float(len(key_s) - first.sum())
    w_sum = np.bincount(grp, weights=w_mv[order]) if len(grp) else np.zeros(0)
    sel = order[first]
    pre, post, delay, w_mv = pre[sel], post[sel], delay[sel], w_sum
    axon_key = pre * (spec.delay_max + 1) + delay       # one input axon per (source, delay)

    # --- neuron parameters and the V unit (mV) per neuron -----------------------------------
    P = _neuron_params(network, spec, post, w_mv, dt, quant)

    # --- fan-out copies, partition ------------------------------------------------------------
    neurons = np.flatnonzero(~src_mask)
    core_of, need = _map_cores(network, spec, neurons, pre, post, axon_key, src_mask)
    n_cores = int(core_of[neurons].max()) + 1 if neurons.size else 0
    if n_cores > spec.n_cores:
        raise LimitError("cores per chip", n_cores, spec.n_cores,
                         f"{n_cores - spec.n_cores} core(s) too many ({spec.n_chips} chip(s) "
                         f"of {spec.cores_x}x{spec.cores_y})")

    # destinations: (pre, dest core, delay) -> one axon on that core; neurons' dests -> slots
    dkey = unique_ints((pre * max(n_cores, 1) + core_of[post]) * (spec.delay_max + 1) + delay)
    d_pre = dkey // (spec.delay_max + 1) // max(n_cores, 1)
    d_core = dkey // (spec.delay_max + 1) % max(n_cores, 1)
    d_delay = dkey % (spec.delay_max + 1)
    # axon numbers: per destination core, in dkey order
    axon_of = np.zeros(len(dkey), np.int64)
    by_core = np.argsort(d_core, kind="stable")
    counts = np.bincount(d_core, minlength=n_cores)
    starts = np.cumsum(counts) - counts
    axon_of[by_core] = np.arange(len(dkey)) - np.repeat(starts, counts)
    if counts.size and counts.max() > spec.axons_per_core:      # partition guarantees this
        c = int(np.argmax(counts))
        raise LimitError("axons per core", int(counts[c]), spec.axons_per_core,
                         f"core {c}: {int(counts[c]) - spec.axons_per_core} too many")

    # --- slots: each neuron once per destination row (originals then copies), per core ----
    is_nrn_dest = ~src_mask[d_pre]
    n_dest = np.bincount(d_pre[is_nrn_dest], minlength=n)[neurons]
    first_row = np.searchsorted(d_pre, neurons)          # dkey is sorted by source first
    per = np.maximum(n_dest, 1)
    slot_nrn = np.repeat(neurons, per).astype(np.int64)
    within = np.arange(len(slot_nrn)) - np.repeat(np.cumsum(per) - per, per)
    slot_dest = np.where(np.repeat(n_dest, per) > 0, np.repeat(first_row, per) + within, -1)
    slot_core = core_of[slot_nrn]                        # non-decreasing: cores fill in order
    copies = len(slot_nrn) - len(neurons)
    per_core = np.bincount(slot_core, minlength=n_cores)
    if per_core.size and per_core.max() > spec.neurons_per_core:   # partition guarantees
        c = int(np.argmax(per_core))
        raise LimitError("neurons per core", int(per_core[c]), spec.neurons_per_core,
                         f"core {c} with fan-out copies")

    # --- placement -------------------------------------------------------------------------------
    traffic = np.zeros((n_cores, n_cores))
    has = slot_dest >= 0
    np.add.at(traffic, (slot_core[has], d_core[slot_dest[has]]), 1.0)
    try:
        core_xy = place(traffic, spec.mesh_shape, strategy=spec.placement,
                        seed=spec.placement_seed, cores_per_router=1)
    except ValueError as exc:
        raise TargetError(f"target {spec.name!r}: {exc}") from None
    seq_cost = placement_cost(traffic, sequential_xy(n_cores, spec.mesh_shape))

    # --- per-core weights: axon types by clustering -------------------------------------------
    nc1 = max(n_cores, 1)
    syn_axon = axon_of[np.searchsorted(
        dkey, (pre * nc1 + core_of[post]) * (spec.delay_max + 1) + delay)]
    syn_order = np.argsort(core_of[post], kind="stable")
    syn_cut = np.searchsorted(core_of[post][syn_order], np.arange(n_cores + 1))
    slot_cut = np.searchsorted(slot_core, np.arange(n_cores + 1))
    row_cut = np.concatenate([[0], np.cumsum(counts)])
    cores = []
    w_err_abs, w_err_rel = [], []
    for c in range(n_cores):
        slots = np.arange(slot_cut[c], slot_cut[c + 1])
        nrns = slot_nrn[slots]
        rows = by_core[row_cut[c]:row_cut[c + 1]]        # axon a of core c is rows[a]
        n_ax = len(rows)
        syn = syn_order[syn_cut[c]:syn_cut[c + 1]]
        ax = syn_axon[syn]
        feat = np.zeros(n_ax)
        if syn.size:
            feat = np.bincount(ax, weights=w_mv[syn], minlength=n_ax) / np.maximum(
                np.bincount(ax, minlength=n_ax), 1)
        types = _cluster(feat, spec.axon_types)
        n_types = int(types.max()) + 1 if types.size else 0
        distinct = len(np.unique(feat))
        if spec.exact_axon_types and distinct > spec.axon_types:
            raise LimitError("axon types per core", distinct, spec.axon_types,
                             f"core {c}: its input axons carry {distinct} distinct weights, "
                             f"{distinct - spec.axon_types} too many")
        # weights per (neuron, type): mean of that neuron's weights from that type
        uniq = np.unique(nrns)
        m = len(uniq)
        j_loc = np.searchsorted(uniq, post[syn])
        s_sum = np.zeros((m, spec.axon_types))
        s_cnt = np.zeros((m, spec.axon_types))
        np.add.at(s_sum, (j_loc, types[ax]), w_mv[syn])
        np.add.at(s_cnt, (j_loc, types[ax]), 1.0)
        lsb_loc = P["lsb"][uniq]
        s_int = np.rint(s_sum / np.maximum(s_cnt, 1) / lsb_loc[:, None]).astype(np.int64)
        s_int = spec.weight_format.fit(s_int, "TrueNorth weight s[G]")
        err = np.abs(s_int[j_loc, types[ax]] * lsb_loc[j_loc] - w_mv[syn])
        w_err_abs.append(err)
        w_err_rel.append(err / np.maximum(np.abs(w_mv[syn]), 1e-300))
        # crossbar: axons x slots; every copy gets its original's column
        first_idx = np.searchsorted(nrns, nrns)          # nrns ascending: copies follow
        cnt = np.bincount(np.searchsorted(uniq, nrns), minlength=m)
        start = np.searchsorted(nrns, uniq)
        per_syn = cnt[j_loc]
        rep = np.repeat(np.arange(len(syn)), per_syn)
        col = np.repeat(start[j_loc], per_syn) + (np.arange(len(rep)) - np.repeat(
            np.cumsum(per_syn) - per_syn, per_syn))
        full = np.zeros((spec.axons_per_core, len(slots)), np.uint8)
        full[ax[rep], col] = 1
        dest = slot_dest[slots]
        ok = dest >= 0
        dcore = _pick(d_core, dest, ok, -1)
        params = {k: P[k][nrns] for k in ("leak", "leak_rev", "leak_stoch", "alpha", "beta",
                                          "tm", "gamma", "kappa", "reset", "v0")}
        params["weights"] = s_int[np.searchsorted(uniq, nrns)]
        params["syn_stoch"] = np.zeros((len(slots), spec.axon_types), np.int64)
        params["dest_core"] = dcore.astype(np.int64)
        params["dest_axon"] = _pick(axon_of, dest, ok, -1)
        params["delay"] = _pick(d_delay, dest, ok, 0)
        params["dx"] = np.where(ok, _pick(core_xy[:, 0], dcore, ok, 0) - core_xy[c, 0], 0)
        params["dy"] = np.where(ok, _pick(core_xy[:, 1], dcore, ok, 0) - core_xy[c, 1], 0)
        params["copy_of"] = np.where(first_idx == np.arange(len(nrns)), -1,
                                     first_idx).astype(np.int64)
        atype = np.zeros(spec.axons_per_core, np.int64)
        atype[:n_ax] = types
        axon_src = np.full(spec.axons_per_core, -1, np.int64)
        axon_src[:n_ax] = d_pre[rows]
        cores.append(Core(index=c, neurons=nrns.astype(np.int64), params=params,
                          memories=dict(crossbar=full, axon_type=atype, axon_source=axon_src,
                                        axon_delay=np.pad(d_delay[rows],
                                                          (0, spec.axons_per_core - n_ax)),
                                        n_types=np.asarray(n_types))))
    if w_err_abs:
        ea, er = np.concatenate(w_err_abs), np.concatenate(w_err_rel)
        _worst(quant, "weight_max_abs_error_mV", ea)
        _worst(quant, "weight_max_rel_error", er)
        quant["weight_rms_error_mV"] = float(np.sqrt(np.mean(ea ** 2))) if ea.size else 0.0

    # --- sources: input axons reached directly -----------------------------------------------
    src_rows = np.flatnonzero(~is_nrn_dest)
    # the chip's routing table, one row per neuron slot (cores in order, slots in order)
    table = {k: np.concatenate([c.params[k] for c in cores]) if cores else
             np.zeros(0, np.int64) for k in ("dest_core", "dx", "dy", "delay", "dest_axon")}
    routing = dict(core_xy=core_xy, slot_core=np.repeat(
                       np.arange(n_cores), [len(c.neurons) for c in cores]).astype(np.int64),
                   slot_dx=table["dx"], slot_dy=table["dy"], slot_delay=table["delay"],
                   slot_axon=table["dest_axon"], slot_dest_core=table["dest_core"],
                   source_neuron=d_pre[src_rows].astype(np.int64),
                   source_core=d_core[src_rows].astype(np.int64),
                   source_axon=axon_of[src_rows].astype(np.int64),
                   source_delay=d_delay[src_rows].astype(np.int64))
    pops_info = [dict(name=p.name, offset=off[p.name], size=p.size, model=p.model)
                 for p in network.populations]
    data = dict(populations=pops_info, sources=_sources(network, dt),
                lsb_mV=P["lsb"], v_ref_mV=P["v_ref"],
                mapping=dict(n_cores=n_cores, mesh_shape=tuple(spec.mesh_shape),
                             fanout_copies=int(copies), neuron_slots=int(len(slot_nrn)),
                             input_axons=int(len(dkey)), placement=spec.placement,
                             placement_cost=placement_cost(traffic, core_xy),
                             sequential_cost=seq_cost))
    quant["fanout_copies"] = float(copies)
    return HardwareImage(target=spec, network=network, cores=cores, placement=core_xy,
                         routing=routing, data=data, quantization=quant)


def _pick(values: np.ndarray, idx: np.ndarray, ok: np.ndarray, fill: int) -> np.ndarray:
    """values[idx] where ok, else fill (int64)."""
    out = np.full(len(idx), fill, np.int64)
    out[ok] = np.asarray(values)[idx[ok]]
    return out


def _worst(q: dict, key: str, values) -> None:
    v = float(np.max(values)) if np.size(values) else 0.0
    q[key] = max(q.get(key, 0.0), v)


def _check_network(net: Network, spec: TrueNorthSpec) -> None:
    for st in net.stimuli:
        if isinstance(st, CurrentSource):
            raise TargetError(f"target {spec.name!r} has no current sources (a {st.kind} "
                              f"source into {st.population!r}); use i_offset (the leak)")
    for pr in net.projections:
        if pr.plasticity is not None:
            raise TargetError(f"target {spec.name!r}: projection {pr.name!r} is plastic "
                              f"({pr.plasticity.rule}); TrueNorth cores do not learn")
    for rec in net.recordings:
        if rec.variable not in ("spikes", "v"):
            raise TargetError(f"target {spec.name!r} cannot record {rec.variable!r} of "
                              f"{rec.population!r}; it records spikes and v")
    if spec.axon_types < 1 or spec.neurons_per_core < 1 or spec.axons_per_core < 1:
        raise TargetError(f"target {spec.name!r}: axon types, neurons and axons per core "
                          "must be >= 1")
    if spec.delay_max >= spec.scheduler_slots:
        raise TargetError(f"target {spec.name!r}: delay_max {spec.delay_max} needs a "
                          f"scheduler of more than {spec.scheduler_slots} slots")


def _neuron_params(net: Network, spec: TrueNorthSpec, post: np.ndarray, w_mv: np.ndarray,
                   dt: float, quant: dict) -> dict[str, np.ndarray]:
    """Integer neuron parameters, the mV per V unit (lsb) and the V = 0 level (v_ref, mV)
    of each neuron."""
    n = net.size
    off = net.offsets()
    P = {k: np.zeros(n, np.int64) for k in ("leak", "leak_rev", "leak_stoch", "alpha", "beta",
                                            "tm", "gamma", "kappa", "reset", "v0")}
    P["lsb"] = np.ones(n)
    P["v_ref"] = np.zeros(n)
    wmax = np.zeros(n)
    if len(post):
        np.maximum.at(wmax, post, np.abs(w_mv))
    refr = 0.0
    for pop in net.populations:
        if is_source(pop.model):
            continue
        lo, hi = off[pop.name], off[pop.name] + pop.size
        p = pop.params
        # decay: V = 0 at v_rest, leak reversal towards it; drive (v_rest at or above
        # threshold, or a bias current): V = 0 at v_reset, a constant leak linearised
        # about the middle of [v_reset, v_thresh]
        drive = (p["v_rest"] >= p["v_thresh"]) | (p["i_offset"] != 0)
        v_ref = np.where(drive, p["v_reset"], p["v_rest"])
        theta = p["v_thresh"] - v_ref
        if np.any(theta <= 0):
            i = int(np.flatnonzero(theta <= 0)[0])
            raise TargetError(f"population {pop.name!r}[{i}]: v_thresh "
                              f"{p['v_thresh'][i]} mV must exceed v_reset {p['v_reset'][i]} "
                              "mV for the TrueNorth threshold (alpha > 0)")
        v_mid = (p["v_reset"] + p["v_thresh"]) / 2
        drive_mv = ((p["v_rest"] - v_mid) / p["tau_m"] + p["i_offset"] / p["cm"]) * dt
        leak_mv = np.where(drive, drive_mv, -theta / 2 * dt / p["tau_m"])
        reset_mv = p["v_reset"] - v_ref
        v0_mv = pop.initial.get("v", p["v_rest"]) - v_ref
        P["v_ref"][lo:hi] = v_ref
        lsb = np.maximum.reduce([
            wmax[lo:hi] / spec.weight_format.max_int,
            theta / spec.threshold_format.max_int,
            np.abs(leak_mv) / spec.leak_format.max_int,
            np.abs(reset_mv) / spec.reset_format.max_int,
            np.abs(v0_mv) / spec.v_format.max_int])
        lsb = np.where(lsb > 0, lsb, theta / spec.threshold_format.max_int)
        P["lsb"][lo:hi] = lsb
        P["alpha"][lo:hi] = np.maximum(np.rint(theta / lsb), 1)
        P["beta"][lo:hi] = spec.threshold_format.max_int          # floor far below: saturate
        P["kappa"][lo:hi] = 1
        P["gamma"][lo:hi] = 0
        P["reset"][lo:hi] = np.rint(reset_mv / lsb)
        units = leak_mv / lsb
        P["leak"][lo:hi] = np.rint(units)
        P["leak_rev"][lo:hi] = (~drive).astype(np.int64)
        eff = P["leak"][lo:hi] * lsb                      # the leak the chip applies (mV)
        if spec.stochastic_leak:
            # below one unit: V moves by sgn(lambda) when |lambda| >= rho, i.e. with
            # probability (|lambda| + 1) / 2**prng_bits; |lambda| = that fraction's numerator
            frac = np.abs(units) < 1
            full = 1 << spec.prng_bits
            mag = np.clip(np.rint(np.abs(units) * full) - 1, 0, full - 1).astype(np.int64)
            P["leak"][lo:hi] = np.where(frac, np.sign(units).astype(np.int64) * mag,
                                        P["leak"][lo:hi])
            P["leak_stoch"][lo:hi] = frac.astype(np.int64)
            expected = np.where(mag > 0, (mag + 1) / full, 0.0) * np.sign(units) * lsb
            eff = np.where(frac, expected, eff)
        P["v0"][lo:hi] = np.rint(v0_mv / lsb)
        _worst(quant, "threshold_max_rel_error",
               np.abs(P["alpha"][lo:hi] * lsb - theta) / theta)
        _worst(quant, "leak_max_abs_error_mV_per_tick", np.abs(eff - leak_mv))
        if "tau_refrac" in p:
            refr = max(refr, float(p["tau_refrac"].max()))
    quant["refractory_dropped_max_ms"] = refr
    return P


def _map_cores(net: Network, spec: TrueNorthSpec, neurons: np.ndarray, pre: np.ndarray,
               post: np.ndarray, axon_key: np.ndarray, src_mask: np.ndarray):
    """Core of every chip neuron with its fan-out copies counted as slots: partition with
    slot units, recount the (destination core, delay) targets of each neuron, repeat with
    the larger units until they fit (units only grow, so it ends)."""
    n = net.size
    units = np.ones(n, np.int64)
    for _ in range(64):
        core_of = _partition(net, spec, units, post, axon_key, src_mask)
        nc = int(core_of[neurons].max()) + 1 if neurons.size else 1
        keys = unique_ints((pre * nc + core_of[post]) * (spec.delay_max + 1)
                           + axon_key % (spec.delay_max + 1))
        src = keys // (spec.delay_max + 1) // nc
        need = np.maximum(np.bincount(src, minlength=n), 1)
        need[src_mask] = 0
        if np.all(need <= units):
            return core_of, need
        units = np.maximum(units, need)
    raise TargetError("fan-out copies: partitioning did not settle in 64 rounds")


def _partition(net: Network, spec: TrueNorthSpec, units: np.ndarray, post: np.ndarray,
               axon_key: np.ndarray, src_mask: np.ndarray) -> np.ndarray:
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
    for pop in net.populations:
        if is_source(pop.model):
            continue
        fresh_core = True
        for i in range(off[pop.name], off[pop.name] + pop.size):
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


def _sources(net: Network, dt: float) -> dict:
    """Spike-array stamps (tick k emits stamp k + 1) and Poisson parameters per source."""
    off = net.offsets()
    out = {}
    arrays = {st.population: st for st in net.stimuli if isinstance(st, SpikeArray)}
    seeds = {st.population: st.seed for st in net.stimuli if isinstance(st, PoissonSource)}
    for pop in net.populations:
        if pop.model == "SpikeSourcePoisson":
            p_spike, first, last = poisson_steps(pop.params, dt)
            out[pop.name] = dict(kind="poisson", offset=off[pop.name], p_spike=p_spike,
                                 first=first, last=last,
                                 seed=int(net.seed) * 1000003 + int(seeds.get(pop.name, 0)))
        elif pop.model == "SpikeSourceArray":
            tr = arrays[pop.name].trains if pop.name in arrays else None
            stamps, ids = [], []
            for i in range(pop.size):
                t = tr.train(i) if tr is not None else np.zeros(0)
                s = np.unique(np.maximum(np.rint(t / dt).astype(np.int64), 1))
                stamps.append(s)
                ids.append(np.full(len(s), i, np.int64))
            out[pop.name] = dict(kind="array", offset=off[pop.name],
                                 stamps=np.concatenate(stamps) if stamps else np.zeros(0, np.int64),
                                 ids=np.concatenate(ids) if ids else np.zeros(0, np.int64))
    return out
