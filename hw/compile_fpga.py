"""IR -> integer memories of the Amaranth LIF/STDP core (target "fpga", hw.targets.fpga).

Per neuron (v in raw units of `lsb` mV, relative to v_rest), NEST's exact propagators:
    v'    = sat(((v * dm) >> F) + isyn + bias)         (refractory: v' = v_reset, count down)
    isyn' = sat(((isyn * ds) >> F) + ring[t mod D][j])
    spike when v' >= theta, then v' = v_reset, refractory = refrac
isyn is kept in units of its effect on v over one step: a weight w (nA) into neuron j is
stored as round(w * P21_j / lsb / 2**w_shift) and added as `stored << w_shift`, with
P21 = (exp(-dt/tau_syn) - exp(-dt/tau_m)) / (cm (1/tau_m - 1/tau_syn)); the bias is
i_offset * P20, P20 = tau_m/cm * (1 - exp(-dt/tau_m)).

Hardware numbering: neurons fill cores in order (axon id = core * neurons_per_core + slot),
spike sources follow (axon id = n_neurons + source index). Everything the runners need
beyond the per-core memories sits in `image.data["fpga"]` (a dict, not a board region).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import LimitError, TargetError
from .image import Core, HardwareImage
from .lif import p21
from .ir import CurrentSource, Network, PoissonSource, SpikeArray, is_source
from .targets.fpga import FpgaSpec

#: per-core scalar parameters, stored as shape (1,) arrays in core.params
CORE_SCALARS = ("n", "w_shift", "stdp", "a_plus", "a_minus", "w_min", "w_max", "dx", "dy")
#: per-neuron parameters in core.params
NEURON_PARAMS = ("theta", "u_reset", "bias", "dm", "ds", "refrac", "u0")
#: per-core memories
MEMORIES = ("row_ptr", "syn_post", "syn_w", "syn_delay", "syn_plastic",
            "col_ptr", "col_syn", "col_pre")


def _decay(tau, dt: float, fmt) -> np.ndarray:
    one = 1 << fmt.frac_bits
    return np.minimum(np.rint(np.exp(-dt / np.asarray(tau, np.float64)) * one),
                      one - 1).astype(np.int64)


def _check(net: Network, spec: FpgaSpec) -> None:
    for st in net.stimuli:
        if isinstance(st, CurrentSource):
            raise TargetError(f"target {spec.name!r} has no current-source input (a {st.kind} "
                              f"source into {st.population!r}); use i_offset (the bias)")
    for rec in net.recordings:
        if rec.variable != "spikes":
            raise TargetError(f"target {spec.name!r} records only spikes, not "
                              f"{rec.variable!r} of {rec.population!r}")
    for pr in net.projections:
        if pr.plasticity is None:
            continue
        if pr.plasticity.rule != "stdp_additive":
            raise TargetError(f"target {spec.name!r}: projection {pr.name!r} uses "
                              f"{pr.plasticity.rule}; the core implements stdp_additive only")
        if pr.receptor != "excitatory":
            raise TargetError(f"target {spec.name!r}: projection {pr.name!r} is plastic and "
                              "inhibitory; the core's STDP acts on excitatory synapses only")
        if is_source(net.population(pr.post).model):
            raise TargetError(f"projection {pr.name!r} targets a spike source")


def compile_fpga(network: Network, spec: FpgaSpec) -> HardwareImage:
    """Quantise and map `network` onto the core's integer memories."""
    _check(network, spec)
    dt = float(spec.timestep)
    F = spec.decay_bits
    quant: dict[str, float] = {}

    def worst(key: str, value) -> None:
        value = float(np.max(value)) if np.size(value) else 0.0
        quant[key] = max(quant.get(key, 0.0), value)

    # --- numbering -------------------------------------------------------------------------
    off = network.offsets()
    neuron_pops = [p for p in network.populations if not is_source(p.model)]
    source_pops = [p for p in network.populations if is_source(p.model)]
    n_neurons = sum(p.size for p in neuron_pops)
    n_sources = sum(p.size for p in source_pops)
    if n_neurons == 0:
        raise TargetError(f"target {spec.name!r}: the network has no neurons to map")
    npc = spec.neurons_per_core
    n_cores = -(-n_neurons // npc)
    if n_cores > spec.n_cores:
        raise LimitError("neurons", n_neurons, spec.n_cores * npc,
                         f"{spec.n_cores} core(s) of {npc} neurons")
    n_axons = n_neurons + n_sources
    axon_of = np.empty(network.size, np.int64)     # IR global id -> axon id
    k = 0
    for p in neuron_pops:
        axon_of[off[p.name]:off[p.name] + p.size] = np.arange(k, k + p.size)
        k += p.size
    for p in source_pops:
        axon_of[off[p.name]:off[p.name] + p.size] = np.arange(k, k + p.size)
        k += p.size
    ir_of_axon = np.empty(n_axons, np.int64)
    ir_of_axon[axon_of] = np.arange(network.size)

    # --- neuron parameters (hardware order) ------------------------------------------------
    def gather(name: str) -> np.ndarray:
        return np.concatenate([p.params[name] for p in neuron_pops])

    prm = {name: gather(name) for name in ("cm", "tau_m", "tau_syn_E", "tau_syn_I",
                                           "tau_refrac", "v_rest", "v_reset", "v_thresh",
                                           "i_offset")}
    v_init = np.concatenate([p.initial.get("v", p.params["v_rest"]) for p in neuron_pops])
    span = float(np.max(np.abs(np.concatenate([prm["v_thresh"] - prm["v_rest"],
                                               prm["v_reset"] - prm["v_rest"],
                                               v_init - prm["v_rest"]]))))
    span = span if span > 0 else 1.0
    lsb = span / 2.0 ** (spec.state_bits - 1 - spec.headroom_bits)
    gain = prm["tau_m"] / prm["cm"] * -np.expm1(-dt / prm["tau_m"])     # mV per nA per step
    vf = spec.v_format
    theta = vf.quantize((prm["v_thresh"] - prm["v_rest"]) / lsb * vf.scale, "v_thresh")
    u_reset = vf.quantize((prm["v_reset"] - prm["v_rest"]) / lsb * vf.scale, "v_reset")
    u0 = vf.quantize((v_init - prm["v_rest"]) / lsb * vf.scale, "initial v")
    bias = vf.quantize(prm["i_offset"] * gain / lsb * vf.scale, "i_offset")
    worst("threshold_abs_error_mV", np.abs(theta * lsb - (prm["v_thresh"] - prm["v_rest"])))
    worst("bias_abs_error_mV", np.abs(bias * lsb - prm["i_offset"] * gain))
    refrac = np.rint(prm["tau_refrac"] / dt).astype(np.int64)
    if refrac.max() > spec.refrac_format.max_int:
        raise LimitError("refractory period (steps)", int(refrac.max()),
                         spec.refrac_format.max_int, f"tau_refrac {prm['tau_refrac'].max()} ms")
    dm = _decay(prm["tau_m"], dt, spec.decay_format)
    worst("decay_abs_error", np.abs(dm / 2.0 ** F - np.exp(-dt / prm["tau_m"])))

    # --- synapses --------------------------------------------------------------------------
    pre_ax, post_hw, w_real, dly, plastic, proj_id = [], [], [], [], [], []
    has_exc = np.zeros(n_neurons, bool)
    has_inh = np.zeros(n_neurons, bool)
    stdp_rules: dict[int, dict] = {}
    for q, pr in enumerate(network.projections):
        pre = axon_of[off[pr.pre] + pr.pre_idx]
        post = axon_of[off[pr.post] + pr.post_idx]
        if is_source(network.population(pr.post).model):
            raise TargetError(f"projection {pr.name!r} targets spike source {pr.post!r}")
        d = np.maximum(np.rint(pr.delay / dt), 1).astype(np.int64)
        if d.size and d.max() > spec.max_delay:
            raise LimitError("synaptic delay (steps)", int(d.max()), spec.max_delay,
                             f"projection {pr.name!r}: delay {pr.delay.max()} ms")
        worst("delay_max_abs_error_ms", np.abs(d * dt - pr.delay))
        sign = 1.0 if pr.receptor == "excitatory" else -1.0
        (has_exc if sign > 0 else has_inh)[post] = True
        pre_ax.append(pre)
        post_hw.append(post)
        w_real.append(sign * pr.weight)
        dly.append(d)
        plastic.append(np.full(pr.size, pr.plasticity is not None))
        proj_id.append(np.full(pr.size, q))
    cat = (lambda xs, dt_: np.concatenate(xs).astype(dt_) if xs else np.zeros(0, dt_))
    pre_ax, post_hw = cat(pre_ax, np.int64), cat(post_hw, np.int64)
    w_real, dly = cat(w_real, np.float64), cat(dly, np.int64)
    plastic, proj_id = cat(plastic, bool), cat(proj_id, np.int64)

    # one synaptic current per neuron: its time constant from the receptors it receives
    both = has_exc & has_inh & ~np.isclose(prm["tau_syn_E"], prm["tau_syn_I"])
    if both.any():
        j = int(np.flatnonzero(both)[0])
        raise LimitError("synaptic time constants per neuron", 2, 1,
                         f"hardware neuron {j} receives excitation (tau_syn_E "
                         f"{prm['tau_syn_E'][j]} ms) and inhibition (tau_syn_I "
                         f"{prm['tau_syn_I'][j]} ms); the core has one current per neuron")
    tau_syn = np.where(has_inh & ~has_exc, prm["tau_syn_I"], prm["tau_syn_E"])
    ds = _decay(tau_syn, dt, spec.decay_format)
    wgain = p21(prm["cm"], prm["tau_m"], tau_syn, dt)               # mV per nA of weight
    w_lsb = w_real * wgain[post_hw] / lsb if w_real.size else w_real  # v-LSB units

    # --- per core --------------------------------------------------------------------------
    wf = spec.weight_format
    core_of_syn = post_hw // npc
    cores: list[Core] = []
    syn_core = np.zeros(pre_ax.size, np.int64)
    syn_index = np.zeros(pre_ax.size, np.int64)
    syn_scale = np.zeros(pre_ax.size, np.float64)      # stored weight -> nA
    for c in range(n_cores):
        lo, hi = c * npc, min((c + 1) * npc, n_neurons)
        n = hi - lo
        sel = np.flatnonzero(core_of_syn == c)
        order = sel[np.lexsort((sel, pre_ax[sel]))]
        if order.size > spec.synapses_per_core:
            raise LimitError("synapses per core", int(order.size), spec.synapses_per_core,
                             f"core {c}")
        # STDP parameters of the core (one rule per core)
        pl = order[plastic[order]]
        rule = None
        if pl.size:
            names = sorted({network.projections[q].name for q in np.unique(proj_id[pl])})
            vals = {}
            for key in ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max"):
                u = np.unique(np.concatenate([np.ravel(network.projections[q].plasticity
                                                       .params[key])
                                              for q in np.unique(proj_id[pl])]))
                if u.size != 1:
                    raise LimitError(f"STDP rules on core {c}", int(u.size), 1,
                                     f"{key} differs between plastic synapses of "
                                     f"{', '.join(names)}")
                vals[key] = float(u[0])
            g = wgain[post_hw[pl]]
            if not np.allclose(g, g[0], rtol=1e-9):
                raise LimitError(f"membrane gains of plastic targets on core {c}",
                                 int(np.unique(g).size), 1,
                                 "STDP weight bounds need one tau_m, tau_syn, cm per core")
            rule = vals
            rule["unit"] = g[0] / lsb            # v-LSB per nA
        mags = [np.abs(w_lsb[order])]
        if rule is not None:
            mags.append(np.array([rule["w_max"], rule["w_min"]]) * rule["unit"])
        mx = float(np.max(np.concatenate(mags))) if order.size or rule else 0.0
        shift = 0
        while np.rint(mx / 2.0 ** shift) > wf.max_int:
            shift += 1
        if shift > spec.max_weight_shift:
            raise LimitError("weight shift", shift, spec.max_weight_shift, f"core {c}")
        stored = np.rint(w_lsb[order] / 2.0 ** shift).astype(np.int64)
        scale = 2.0 ** shift / (wgain[post_hw[order]] / lsb)
        if order.size:
            err = np.abs(stored * scale - w_real[order])
            worst("weight_max_abs_error_nA", err)
            nz = w_real[order] != 0
            worst("weight_max_rel_error", err[nz] / np.abs(w_real[order][nz]))
        syn_core[order] = c
        syn_index[order] = np.arange(order.size)
        syn_scale[order] = scale
        row_ptr = np.zeros(n_axons + 1, np.int64)
        np.add.at(row_ptr, pre_ax[order] + 1, 1)
        row_ptr = np.cumsum(row_ptr)
        local_post = post_hw[order] - lo
        # plastic inputs of each neuron (column lists)
        ploc = np.flatnonzero(plastic[order])
        pord = ploc[np.lexsort((ploc, local_post[ploc]))]
        col_ptr = np.zeros(n + 1, np.int64)
        np.add.at(col_ptr, local_post[pord] + 1, 1)
        col_ptr = np.cumsum(col_ptr)
        sc = dict(n=n, w_shift=shift, stdp=int(rule is not None), a_plus=0, a_minus=0,
                  w_min=0, w_max=0, dx=0, dy=0)
        if rule is not None:
            unit_w = rule["unit"] / 2.0 ** shift   # stored LSB per nA
            sf = spec.stdp_format
            coef = rule["w_max"] * unit_w / spec.trace_impulse
            sc["a_plus"] = int(sf.quantize(rule["A_plus"] * coef, "STDP A_plus")[()])
            sc["a_minus"] = int(sf.quantize(rule["A_minus"] * coef, "STDP A_minus")[()])
            sc["w_min"] = int(np.rint(rule["w_min"] * unit_w))
            sc["w_max"] = int(np.rint(rule["w_max"] * unit_w))
            sc["dx"] = int(_decay(rule["tau_plus"], dt, spec.decay_format)) \
                if rule["tau_plus"] > 0 else 0
            sc["dy"] = int(_decay(rule["tau_minus"], dt, spec.decay_format)) \
                if rule["tau_minus"] > 0 else 0
            stored[plastic[order]] = np.clip(stored[plastic[order]], sc["w_min"], sc["w_max"])
        params = {k: np.array([v], np.int64) for k, v in sc.items()}
        params.update(theta=theta[lo:hi], u_reset=u_reset[lo:hi], bias=bias[lo:hi],
                      dm=dm[lo:hi], ds=ds[lo:hi], refrac=refrac[lo:hi], u0=u0[lo:hi])
        mem = dict(row_ptr=row_ptr, syn_post=local_post, syn_w=wf.fit(stored, "weight"),
                   syn_delay=dly[order] - 1, syn_plastic=plastic[order].astype(np.int64),
                   col_ptr=col_ptr, col_syn=pord.astype(np.int64),
                   col_pre=pre_ax[order][pord].astype(np.int64))
        cores.append(Core(index=c, neurons=ir_of_axon[lo:hi].copy(), params=params,
                          memories=mem))

    # --- stimulus --------------------------------------------------------------------------
    stim_step, stim_axon, merged = _stimulus(network, spec, axon_of, dt)
    if stim_step.size > spec.stimulus_depth:
        raise LimitError("stimulus spikes", int(stim_step.size), spec.stimulus_depth)
    quant["input_spikes_merged"] = float(merged)

    projections = {}
    for q, pr in enumerate(network.projections):
        sel = proj_id == q
        projections[pr.name] = dict(core=syn_core[sel], index=syn_index[sel],
                                    scale=syn_scale[sel])
    data = dict(n_neurons=n_neurons, n_axons=n_axons, neurons_per_core=npc,
                ring_depth=spec.max_delay, lsb_mV=lsb, axon_of=axon_of,
                ir_of_axon=ir_of_axon, stim_step=stim_step, stim_axon=stim_axon,
                projections=projections)
    image = HardwareImage(target=spec, network=network, cores=cores,
                          placement=np.arange(n_cores), data={"fpga": data},
                          quantization=quant)
    return image


def _stimulus(net: Network, spec: FpgaSpec, axon_of: np.ndarray, dt: float):
    """Sorted (step, axon) pairs of every source spike; a spike at ts is sent in step
    max(round(ts/dt), 1) - 1. Poisson sources are drawn here up to the horizon."""
    off = net.offsets()
    arrays = {st.population: st for st in net.stimuli if isinstance(st, SpikeArray)}
    seeds = {st.population: st.seed for st in net.stimuli if isinstance(st, PoissonSource)}
    steps, axons = [], []
    merged = 0
    horizon = int(math.floor(spec.stimulus_horizon_ms / dt + 1e-9))
    for pop in net.populations:
        base = off[pop.name]
        if pop.model == "SpikeSourceArray" and pop.name in arrays:
            tr = arrays[pop.name].trains
            for i in range(pop.size):
                s = np.maximum(np.rint(tr.train(i) / dt).astype(np.int64), 1) - 1
                u = np.unique(s)
                merged += len(s) - len(u)
                steps.append(u)
                axons.append(np.full(u.size, axon_of[base + i]))
        elif pop.model == "SpikeSourcePoisson":
            rng = np.random.default_rng([int(net.seed), int(seeds.get(pop.name, 0)),
                                         base])
            p = pop.params
            prob = -np.expm1(-p["rate"] * dt / 1000.0)
            first = np.floor(p["start"] / dt + 1e-9).astype(np.int64)
            last = np.minimum(np.floor((p["start"] + p["duration"]) / dt + 1e-9),
                              horizon).astype(np.int64)
            for i in range(pop.size):
                k = np.arange(first[i], max(first[i], last[i]))
                s = k[rng.random(k.size) < prob[i]]
                steps.append(s)
                axons.append(np.full(s.size, axon_of[base + i]))
    if not steps:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    s, a = np.concatenate(steps).astype(np.int64), np.concatenate(axons).astype(np.int64)
    order = np.lexsort((a, s))
    return s[order], a[order], merged
