"""Compiler of the Loihi-style target: quantise PyNN floats, partition, place, route.

Mapping of IF_curr_exp onto a Loihi CUBA compartment (x = v - v_reset, so that Loihi's
reset to 0 is PyNN's reset to v_reset):

    u[k] = decay(u[k-1], du) + (a_in << wexp) << 6        (one u per synaptic channel)
    v[k] = decay(v[k-1], dv) + u_E[k] + u_I[k] + bias      spike when v > vth << 6

with S raw units per mV chosen per population (threshold 2**headroom_bits below the top
of v's 24 bits, lowered if the largest weight or bias would not fit), dv from tau_m, du
from tau_syn (lava's ds_offset), bias = (1 - f_v) (v_rest - v_reset + tau_m/cm i_offset)
with f_v the effective decay factor (so the resting level is exact), and a weight w (nA)
becoming S * P21 * w raw units of u: P21 is the exact one-step response of v to a unit
current, so the integer run follows the exact solution up to rounding and with input
acting in the step it arrives (one step earlier than the float reference).
When tau_syn_E != tau_syn_I and both receptors are used, the inhibitory current lives in
an auxiliary compartment whose u joins the soma's v: such a neuron takes 2 compartments.
IF_curr_delta uses du = 4095 (u cleared each step), a weight in mV becoming S * w.
Weights: one exponent per (population, channel), 8-bit magnitudes; each projection has
its own sign mode (excitatory 0..255, inhibitory -255..0).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import LimitError, NetworkError, TargetError
from .formats import NumberFormat
from .image import Core, HardwareImage
from .ir import CurrentSource, Network, PoissonSource, SpikeArray, is_source
from .mapping import (core_traffic, partition, place, placement_cost, routing_table,
                      sequential_xy, split_mantissa_exponent, unique_ints)
from .lif import p21
from .mapping.quantize import decay_constant
from .rng import poisson_neuron_seeds, poisson_steps
from .targets.loihi import LoihiSpec

#: model codes stored in the image (the emulator reads them)
MODEL_CODES = {"IF_curr_exp": 0, "IF_curr_delta": 1, "SpikeSourceArray": 2,
               "SpikeSourcePoisson": 3}
#: per-neuron integer parameters of a core, in this order
NEURON_PARAMS = ("du0", "du1", "dv", "vth", "bias_mant", "bias_exp", "refract", "wexp0",
                 "wexp1", "v0", "model")
#: per-synapse memories of a core (synapse lists grouped by input axon)
SYNAPSE_MEMORIES = ("syn_slot", "syn_chan", "syn_weight", "syn_delay", "syn_proj",
                    "syn_index")
RECORDABLE = ("spikes", "v")
def _check_network(net: Network, spec: LoihiSpec) -> None:
    for st in net.stimuli:
        if isinstance(st, CurrentSource):
            raise TargetError(f"target {spec.name!r} has no current sources (a {st.kind} "
                              f"source into {st.population!r}); use i_offset, which maps "
                              "onto the compartment bias")
    for rec in net.recordings:
        if rec.variable not in RECORDABLE:
            raise TargetError(f"target {spec.name!r} cannot record {rec.variable!r} of "
                              f"{rec.population!r}; it records {list(RECORDABLE)}")
    for pr in net.projections:
        if pr.plasticity is not None and pr.plasticity.rule != "stdp_additive":
            raise TargetError(f"target {spec.name!r}: projection {pr.name!r} uses "
                              f"{pr.plasticity.rule}; the learning engine maps only "
                              "stdp_additive (pair STDP on traces)")
    if spec.n_cores > spec.tiles_x * spec.tiles_y * spec.cores_per_tile * spec.n_chips:
        raise TargetError(f"target {spec.name!r}: {spec.cores_per_chip} cores per chip do "
                          f"not fit {spec.tiles_x}x{spec.tiles_y} tiles of "
                          f"{spec.cores_per_tile} cores")


class _Quant:
    """Collects the worst errors the compiler makes (image.quantization)."""

    def __init__(self) -> None:
        self.q: dict[str, float] = {}

    def worst(self, key: str, value) -> None:
        value = float(np.max(value)) if np.size(value) else 0.0
        self.q[key] = max(self.q.get(key, 0.0), value)

    def add(self, key: str, value) -> None:
        self.q[key] = self.q.get(key, 0.0) + float(value)


def compile_loihi(network: Network, spec: LoihiSpec) -> HardwareImage:
    """Quantise, partition, place and route `network` for a Loihi-style chip."""
    _check_network(network, spec)
    dt = float(spec.timestep)
    off, n = network.offsets(), network.size
    quant = _Quant()
    mag = NumberFormat(spec.weight_format.bits, signed=False)

    # --- synapses: global ids, delays, receptors -------------------------------------------
    projs = []
    for k, pr in enumerate(network.projections):
        d = np.maximum(np.rint(pr.delay / dt), 1).astype(np.int64)
        if d.size and d.max() - 1 > spec.delay_max:
            raise LimitError("synaptic delay (extra steps)", int(d.max() - 1), spec.delay_max,
                             f"projection {pr.name!r}: delay {pr.delay.max()} ms at "
                             f"{dt} ms steps, {int(d.max() - 1 - spec.delay_max)} too many")
        quant.worst("delay_max_abs_error_ms", np.abs(d * dt - pr.delay))
        projs.append(dict(pr=pr, k=k, pre=off[pr.pre] + pr.pre_idx,
                          post=off[pr.post] + pr.post_idx, delay=d,
                          inh=pr.receptor == "inhibitory"))

    # --- neurons: per population scale and integer parameters ----------------------------
    P = {name: np.zeros(n, np.int64) for name in NEURON_PARAMS}
    units = np.ones(n, np.int64)
    scale = np.zeros(n)                      # raw v units per mV, per neuron
    gain = np.zeros((2, n))                  # raw u per nA (or per mV for delta), per channel
    pops_info = []
    for pop in network.populations:
        lo, hi = off[pop.name], off[pop.name] + pop.size
        P["model"][lo:hi] = MODEL_CODES[pop.model]
        info = dict(name=pop.name, offset=lo, size=pop.size, model=pop.model, scale=0.0,
                    v_reset=0.0, channels=1)
        pops_info.append(info)
        if is_source(pop.model):
            continue
        p = pop.params
        thr = p["v_thresh"] - p["v_reset"]
        if np.any(thr <= 0):
            raise NetworkError(f"population {pop.name!r}: v_thresh {p['v_thresh'].min()} mV "
                               f"must be above v_reset (Loihi spikes on v > vth >= 0)")
        incoming = [q for q in projs if q["pr"].post == pop.name]
        has_e = any(not q["inh"] for q in incoming)
        has_i = any(q["inh"] for q in incoming)
        dv, f_v = decay_constant(p["tau_m"], dt, spec.decay_format)
        quant.worst("tau_m_max_rel_error",
                    np.abs(-dt / np.log(np.maximum(f_v, 1e-300)) / p["tau_m"] - 1)
                    if np.all(f_v > 0) else np.inf)
        if pop.model == "IF_curr_exp":
            taus = (p["tau_syn_E"] if has_e or not has_i else p["tau_syn_I"], p["tau_syn_I"])
            du = [decay_constant(t, dt, spec.decay_format, spec.du_offset)[0] for t in taus]
            two = has_e and has_i and np.any(du[0] != du[1])
            for c in range(2):
                g = p21(p["cm"], p["tau_m"], taus[c], dt)
                gain[c, lo:hi] = g
                f_u = (spec.decay_format.max_int + 1 - spec.du_offset - du[c]) / (
                    spec.decay_format.max_int + 1)
                if np.all(f_u > 0):
                    quant.worst("tau_syn_max_rel_error",
                                np.abs(-dt / np.log(f_u) / taus[c] - 1))
            if not two:
                gain[1, lo:hi] = gain[0, lo:hi]
                du[1] = du[0]
        else:   # IF_curr_delta: u is cleared every step, a weight is a jump of v in mV
            two = False
            du = [np.full(pop.size, spec.decay_format.max_int, np.int64)] * 2
            gain[:, lo:hi] = 1.0
        units[lo:hi] = 2 if two else 1
        info["channels"] = 2 if two else 1
        P["du0"][lo:hi], P["du1"][lo:hi], P["dv"][lo:hi] = du[0], du[1], dv
        bias_mv = (1.0 - f_v) * (p["v_rest"] - p["v_reset"] + p["tau_m"] / p["cm"]
                                 * p["i_offset"])
        # scale: threshold headroom, then the largest weight and bias must fit
        s = min(2.0 ** (spec.v_format.bits - 1 - spec.headroom_bits),
                spec.vth_format.max_int * 2.0 ** spec.state_shift) / float(thr.max())
        w_top = mag.max_int * 2.0 ** (spec.weight_exp_max + spec.state_shift)
        for q in incoming:
            c = 1 if (q["inh"] and two) else 0
            raw = q["pr"].weight * gain[c, q["post"]]
            if raw.size and raw.max() > 0:
                s = min(s, w_top / float(raw.max()))
        b_top = -spec.bias_format.min_int * 2.0 ** spec.bias_exp_max
        if np.any(bias_mv != 0):
            s = min(s, (spec.bias_format.max_int * 2.0 ** spec.bias_exp_max)
                    / float(np.abs(bias_mv).max()), b_top / float(np.abs(bias_mv).max()))
        vth = np.rint(thr * s / 2.0 ** spec.state_shift).astype(np.int64)
        if vth.min() < 1:
            raise LimitError("weight range", f"threshold mantissa {int(vth.min())}", ">= 1",
                             f"population {pop.name!r}: its largest weight or bias is so "
                             "large against v_thresh - v_reset that the threshold rounds to 0")
        P["vth"][lo:hi] = spec.vth_format.fit(vth, f"{pop.name} threshold mantissa")
        quant.worst("vth_max_rel_error", np.abs(vth * 2.0 ** spec.state_shift / s - thr) / thr)
        bm, be = _bias(bias_mv * s, spec)
        P["bias_mant"][lo:hi], P["bias_exp"][lo:hi] = bm, be
        quant.worst("bias_max_abs_error_mV", np.abs((bm << be) / s - bias_mv))
        ref = np.rint(p["tau_refrac"] / dt).astype(np.int64)
        if ref.max() > spec.refractory_max:
            raise LimitError("refractory period (steps)", int(ref.max()), spec.refractory_max,
                             f"population {pop.name!r}: tau_refrac {p['tau_refrac'].max()} ms")
        quant.worst("refractory_max_abs_error_ms", np.abs(ref * dt - p["tau_refrac"]))
        P["refract"][lo:hi] = ref
        v0 = pop.initial.get("v", p["v_rest"])
        P["v0"][lo:hi] = spec.v_format.fit(np.rint((v0 - p["v_reset"]) * s), "initial v")
        scale[lo:hi] = s
        info.update(scale=s, v_reset=float(p["v_reset"][0]),
                    v_reset_values=np.asarray(p["v_reset"], np.float64))

    # --- weights: one exponent per (population, channel) ----------------------------------
    mant = [np.zeros(q["pr"].size, np.int64) for q in projs]
    chan = [np.zeros(q["pr"].size, np.int64) for q in projs]
    lsb = [np.zeros(q["pr"].size) for q in projs]
    for info in pops_info:
        if is_source(info["model"]):
            continue
        for c in range(2):
            group = [q for q in projs if q["pr"].post == info["name"]
                     and (1 if (q["inh"] and info["channels"] == 2) else 0) == c]
            if not group:
                continue
            raw = [q["pr"].weight * gain[c, q["post"]] * scale[q["post"]]
                   / 2.0 ** spec.state_shift for q in group]
            m, e = split_mantissa_exponent(np.concatenate(raw), mag, spec.weight_exp_min,
                                           spec.weight_exp_max, f"{info['name']} weight")
            P[f"wexp{c}"][info["offset"]:info["offset"] + info["size"]] = e
            at = 0
            for q, r in zip(group, raw):
                k, size = q["k"], q["pr"].size
                mk = m[at:at + size]
                at += size
                mant[k] = -mk if q["inh"] else mk
                chan[k][:] = c
                lsb[k] = 2.0 ** (e + spec.state_shift) / (gain[c, q["post"]] * scale[q["post"]])
                w = q["pr"].weight
                nz = w > 0
                quant.worst("weight_max_rel_error", np.abs(mk * lsb[k] - w)[nz] / w[nz])
                quant.add("weights_zeroed", np.count_nonzero(nz & (mk == 0)))
    quant.q.setdefault("weight_max_rel_error", 0.0)
    quant.q.setdefault("weights_zeroed", 0.0)

    # --- plasticity: integer STDP parameters per projection -------------------------------
    stdp = {}
    for q in projs:
        pl = q["pr"].plasticity
        if pl is None:
            continue
        vals = {}
        for key, v in pl.params.items():
            u = np.unique(np.asarray(v, np.float64))
            if u.size != 1:
                raise TargetError(f"projection {q['pr'].name!r}: STDP {key} differs between "
                                  "synapses; the learning engine has one rule per projection")
            vals[key] = float(u[0])
        k = q["k"]
        unit = float(np.median(lsb[k])) if lsb[k].size else 1.0
        one = 2 ** spec.stdp_frac_bits
        coef = vals["w_max"] / (unit * spec.trace_impulse) * one
        stdp[q["pr"].name] = dict(
            index=k, a_plus=int(round(vals["A_plus"] * coef)),
            a_minus=int(round(vals["A_minus"] * coef)),
            x_decay=int(round(4096 * math.exp(-dt / vals["tau_plus"])))
            if vals["tau_plus"] > 0 else 0,
            y_decay=int(round(4096 * math.exp(-dt / vals["tau_minus"])))
            if vals["tau_minus"] > 0 else 0,
            w_lo=int(min(round(vals["w_min"] / unit), mag.max_int)),
            w_hi=int(min(round(vals["w_max"] / unit), mag.max_int)),
            impulse=int(spec.trace_impulse))

    # --- sources -----------------------------------------------------------------------------
    sources = _sources(network, dt, quant)

    # --- partition, place, route ------------------------------------------------------------
    pre = np.concatenate([q["pre"] for q in projs]) if projs else np.zeros(0, np.int64)
    post = np.concatenate([q["post"] for q in projs]) if projs else np.zeros(0, np.int64)
    core_of, slot_of, routes, core_xy, traffic, n_cores = _map(network, spec, pre, post,
                                                                units)
    seq_cost = placement_cost(traffic, sequential_xy(n_cores, spec.mesh_shape,
                                                     spec.cores_per_tile))

    # --- per-core memories --------------------------------------------------------------------
    syn = dict(pre=pre, post=post,
               chan=np.concatenate(chan) if projs else np.zeros(0, np.int64),
               weight=np.concatenate(mant) if projs else np.zeros(0, np.int64),
               delay=np.concatenate([q["delay"] for q in projs]) if projs
               else np.zeros(0, np.int64),
               proj=np.concatenate([np.full(q["pr"].size, q["k"], np.int64) for q in projs])
               if projs else np.zeros(0, np.int64),
               index=np.concatenate([np.arange(q["pr"].size) for q in projs])
               if projs else np.zeros(0, np.int64))
    cores = _cores(n_cores, core_of, slot_of, P, syn)
    routing = routes.as_dict()
    routing["core_xy"] = core_xy
    data = dict(populations=pops_info, sources=sources, stdp=stdp,
                projections={q["pr"].name: dict(index=q["k"], lsb=lsb[q["k"]],
                                                plastic=q["pr"].plasticity is not None)
                             for q in projs},
                recordings=[dict(population=r.population, variable=r.variable,
                                 indices=r.indices) for r in network.recordings],
                mapping=dict(n_cores=n_cores, mesh_shape=tuple(spec.mesh_shape),
                             placement=spec.placement, placement_cost=placement_cost(
                                 traffic, core_xy), sequential_cost=seq_cost,
                             compartments=int(units.sum())))
    return HardwareImage(target=spec, network=network, cores=cores, placement=core_xy,
                         routing=routing, data=data, quantization=dict(quant.q))


def _map(network: Network, spec: LoihiSpec, pre: np.ndarray, post: np.ndarray,
         units: np.ndarray):
    """Partition, place, route; when a core has too many output axons (its neurons reach
    too many (neuron, core) destinations), partition again with fewer compartments per
    core for the populations on that core."""
    n = network.size
    sizes = [p.size for p in network.populations]
    pop_of = np.repeat(np.arange(len(sizes)), sizes)
    caps = np.full(len(sizes), spec.compartments_per_core, np.int64)
    for _ in range(64):
        core_of, slot_of = partition(
            sizes, caps, cores=spec.n_cores, pre=pre, post=post,
            axons_per_core=spec.input_axons_per_core,
            synapse_bytes_per_core=spec.synapse_memory_bytes,
            bytes_per_synapse=spec.synapse_bits / 8, bytes_per_axon=spec.axon_header_bits / 8,
            units=units)
        n_cores = int(core_of.max()) + 1 if n else 0
        keys = unique_ints(pre * max(n_cores, 1) + core_of[post])
        out_axons = np.bincount(core_of[keys // max(n_cores, 1)], minlength=n_cores)
        worst = int(out_axons.max()) if out_axons.size else 0
        if worst <= spec.output_axons_per_core:
            break
        # shrink the cores of the populations on the worst core, in proportion
        c = int(np.argmax(out_axons))
        on = core_of == c
        used = int(units[on].sum())
        for q in np.unique(pop_of[on]):
            caps[q] = min(caps[q] - 1, used * spec.output_axons_per_core // worst)
        if caps.min() < int(units.max()):
            raise LimitError("output axons per core", worst, spec.output_axons_per_core,
                             f"core {c}: its neurons reach {worst} (neuron, core) "
                             f"destinations, {worst - spec.output_axons_per_core} too many")
    else:
        raise LimitError("output axons per core", worst, spec.output_axons_per_core,
                         f"core {c}: {worst - spec.output_axons_per_core} too many after "
                         "repartitioning")
    traffic = core_traffic(core_of, pre, post, n_cores)
    try:
        core_xy = place(traffic, spec.mesh_shape, strategy=spec.placement,
                        seed=spec.placement_seed, cores_per_router=spec.cores_per_tile)
    except ValueError as exc:
        raise TargetError(f"target {spec.name!r}: {exc}") from None
    routes = routing_table(core_of, pre, post, core_xy, spec.mesh_shape)
    return core_of, slot_of, routes, core_xy, traffic, n_cores


def _bias(raw: np.ndarray, spec: LoihiSpec) -> tuple[np.ndarray, np.ndarray]:
    """bias_mant << bias_exp nearest to `raw`, smallest exponent per neuron (finest step)."""
    fmt = spec.bias_format
    mant = np.zeros(raw.shape, np.int64)
    exp = np.zeros(raw.shape, np.int64)
    todo = np.ones(raw.shape, bool)
    for e in range(spec.bias_exp_max + 1):
        m = np.rint(raw / 2.0 ** e).astype(np.int64)
        ok = todo & (m >= fmt.min_int) & (m <= fmt.max_int)
        mant[ok], exp[ok] = m[ok], e
        todo &= ~ok
    if todo.any():
        big = float(np.abs(raw[todo]).max())
        raise LimitError("bias", int(big), fmt.max_int << spec.bias_exp_max,
                         "bias mantissa x 2**bias_exp out of range")
    return mant, exp


def _sources(net: Network, dt: float, quant: _Quant) -> dict:
    """Poisson parameters and spike-array stamps (step k emits stamp k + 1)."""
    off = net.offsets()
    out = {}
    arrays = {st.population: st for st in net.stimuli if isinstance(st, SpikeArray)}
    seeds = {st.population: st.seed for st in net.stimuli if isinstance(st, PoissonSource)}
    for pop in net.populations:
        if pop.model == "SpikeSourcePoisson":
            p_spike, first, last = poisson_steps(pop.params, dt)
            out[pop.name] = dict(
                kind="poisson", offset=off[pop.name], p_spike=p_spike, first=first, last=last,
                seed=poisson_neuron_seeds(net.seed, seeds.get(pop.name, 0), pop.size))
        elif pop.model == "SpikeSourceArray":
            stamps, ptr = [], [0]
            tr = arrays[pop.name].trains if pop.name in arrays else None
            for i in range(pop.size):
                t = tr.train(i) if tr is not None else np.zeros(0)
                s = np.maximum(np.rint(t / dt).astype(np.int64), 1)
                u = np.unique(s)
                quant.add("input_spikes_merged", len(s) - len(u))
                stamps.append(u)
                ptr.append(ptr[-1] + len(u))
            out[pop.name] = dict(kind="array", offset=off[pop.name],
                                 ptr=np.array(ptr, np.int64),
                                 stamps=np.concatenate(stamps) if stamps else
                                 np.zeros(0, np.int64))
    return out


def _cores(n_cores: int, core_of: np.ndarray, slot_of: np.ndarray,
           P: dict[str, np.ndarray], syn: dict[str, np.ndarray]) -> list[Core]:
    """Per core: neuron parameters in slot order, synapse lists grouped by input axon."""
    cores = []
    dst = core_of[syn["post"]] if syn["post"].size else np.zeros(0, np.int64)
    order = np.lexsort((syn["post"], syn["pre"], dst))
    cuts = np.searchsorted(dst[order], np.arange(n_cores + 1))
    for c in range(n_cores):
        ids = np.flatnonzero(core_of == c)
        ids = ids[np.argsort(slot_of[ids], kind="stable")]
        sel = order[cuts[c]:cuts[c + 1]]
        src = syn["pre"][sel]
        axons, first = np.unique(src, return_index=True)
        ptr = np.append(first, len(src)).astype(np.int64)
        mem = dict(axon_src=axons.astype(np.int64), axon_ptr=ptr,
                   syn_slot=slot_of[syn["post"][sel]], syn_chan=syn["chan"][sel],
                   syn_weight=syn["weight"][sel], syn_delay=syn["delay"][sel],
                   syn_proj=syn["proj"][sel], syn_index=syn["index"][sel])
        cores.append(Core(index=c, neurons=ids.astype(np.int64),
                          params={k: P[k][ids] for k in NEURON_PARAMS}, memories=mem))
    return cores
