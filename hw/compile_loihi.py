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
current, so the integer run follows the exact solution up to rounding, with input
acting in the step it arrives: one step earlier than exact integration (the float
reference), which the compiler makes up with one more step of synaptic delay.
When tau_syn_E != tau_syn_I and both receptors are used, the inhibitory current lives in
an auxiliary compartment whose u joins the soma's v: such a neuron takes 2 compartments.
IF_curr_delta uses du = 4095 (u cleared each step), a weight in mV becoming S * w.
Weights: one exponent per (population, channel), 8-bit magnitudes; each projection has
its own sign mode (excitatory 0..255, inhibitory -255..0).

The mapping report (image.report) holds every parameter's quantisation error and names
every approximation: delays and refractory periods rounded to whole steps, weights that
round to zero, STDP parameters rounded (and steps under the weight resolution).
u's register wraps (24 bits) and v's saturates: where the inputs can drive u past its
range, or v below -(2**23 - 1), the report names the population, its projections and the
numbers (`_check_overflow`); the network is still compiled (strict mode refuses it).
Capabilities (models, plasticity rule, recordables, current sources) are checked by
hw.compiler before this runs; input spikes are not in the image (the runner is handed
the one stimulus).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .compile_reference import delay_steps
from .errors import LimitError, NetworkError, TargetError
from .formats import NumberFormat
from .image import Core, HardwareImage
from .ir import Network, Population, Projection, is_source
from .jit import njit
from .layouts import loihi as L
from .lif import p21
from .mapping import (ProgressFn, Stage, decay_constant, fan_in, partition, place,
                      placement_cost, routing_table, sequential_xy, split_mantissa_exponent,
                      synapse_pairs, traffic_matrix)
from .report import MappingReport
from .stimulus import Stimulus
from .targets.loihi import LoihiSpec

#: relative change below which a mapped value counts as exact (float noise)
_EXACT = 1e-9


@dataclass
class _Proj:
    """One projection on its way to the chip: global ids, delay steps, receptor."""

    pr: Projection
    k: int
    pre: np.ndarray
    post: np.ndarray
    delay: np.ndarray
    inh: bool
    mant: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    chan: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    lsb: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class _Neurons:
    """Per global neuron: integer parameters, compartments, raw units per mV, and the raw
    u per unit weight of each channel; per population its record for image.data."""

    P: dict[str, np.ndarray]
    units: np.ndarray
    scale: np.ndarray
    gain: np.ndarray
    pops: list[dict] = field(default_factory=list)


def compile_loihi(network: Network, spec: LoihiSpec,
                  progress: ProgressFn = None) -> HardwareImage:
    """Quantise, partition, place and route `network` for a Loihi-style chip;
    `progress(stage, done)` hears of the long steps (hw.mapping.progress)."""
    _check_chip(spec)
    report = MappingReport(target=spec.name)
    stage = Stage.of(progress, "quantisation")
    projs = _projections(network, spec, report)
    neurons = _neurons(network, spec, projs, report)
    _weights(network, spec, projs, neurons, report)
    stdp = {q.pr.name: _stdp(q, spec, report) for q in projs if q.pr.plasticity is not None}
    _check_overflow(network, spec, projs, neurons, stdp, report)
    if stage:
        stage.finish()
    pre, post = synapse_pairs(network)
    core_of, slot_of, routes, core_xy, traffic, n_cores = _map(network, spec, pre, post,
                                                                neurons.units, progress)
    cores = _cores(n_cores, core_of, slot_of, neurons.P, _synapse_table(projs, pre, post),
                   Stage.of(progress, "synapse memory"))
    routing = routes.as_dict()
    routing[L.CORE_XY] = core_xy
    seq_cost = placement_cost(traffic, sequential_xy(n_cores, spec.mesh_shape,
                                                     spec.cores_per_tile))
    data = {L.POPULATIONS: neurons.pops, L.STDP: stdp,
            L.PROJECTIONS: {q.pr.name: dict(index=q.k, lsb=q.lsb) for q in projs},
            L.MAPPING: dict(n_cores=n_cores, mesh_shape=tuple(spec.mesh_shape),
                            placement=spec.placement,
                            placement_cost=placement_cost(traffic, core_xy),
                            sequential_cost=seq_cost,
                            compartments=int(neurons.units.sum()))}
    return HardwareImage(target=spec, network=network, cores=cores, placement=core_xy,
                         routing=routing, data=data, report=report)


def _check_chip(spec: LoihiSpec) -> None:
    if spec.n_cores > spec.tiles_x * spec.tiles_y * spec.cores_per_tile * spec.n_chips:
        raise TargetError(f"target {spec.name!r}: {spec.cores_per_chip} cores per chip do "
                          f"not fit {spec.tiles_x}x{spec.tiles_y} tiles of "
                          f"{spec.cores_per_tile} cores")


def _changed(exact, mapped) -> np.ndarray:
    """Where a mapped value differs from the exact one by more than float noise."""
    exact, mapped = np.asarray(exact, np.float64), np.asarray(mapped, np.float64)
    return np.abs(mapped - exact) > _EXACT * np.maximum(np.abs(exact), 1e-12)


def _tau_of(factor, dt: float) -> np.ndarray:
    """The time constant a per-step decay factor realises (inf for 1, 0 for 0)."""
    f = np.asarray(factor, np.float64)
    with np.errstate(divide="ignore"):
        return np.where(f >= 1.0, np.inf, np.where(f <= 0.0, 0.0, -dt / np.log(
            np.clip(f, 1e-300, 1.0 - 1e-16))))


# --- synapses ---------------------------------------------------------------------------------
def _projections(network: Network, spec: LoihiSpec, report: MappingReport) -> list[_Proj]:
    """Global ids and delays in whole steps (at least one: Loihi's minimum latency); a
    delay that is not a whole number of steps is rounded as the reference rounds it
    (halves up, `compile_reference.delay_steps`) and reported. Into IF_curr_exp
    the chip's delay is one step longer: its u acts on v in the step it arrives, one step
    before exact integration's current does (the module docstring)."""
    dt = float(spec.timestep)
    off = network.offsets()
    projs = []
    for k, pr in enumerate(network.projections):
        d = delay_steps(pr.name, np.maximum(pr.delay, dt), dt)
        lag = 1 if network.population(pr.post).model == "IF_curr_exp" else 0
        where = f"projection {pr.name!r}"
        if d.size and d.max() + lag - 1 > spec.delay_max:
            extra = int(d.max() + lag - 1)
            raise LimitError("synaptic delay (extra steps)", extra, spec.delay_max,
                             f"{where}: delay {pr.delay.max()} ms at {dt} ms steps"
                             f"{' (+1 step into IF_curr_exp)' if lag else ''}, "
                             f"{extra - spec.delay_max} too many")
        report.rounded("delay_rounded", "delay", where, pr.delay, d * dt, dt)
        projs.append(_Proj(pr=pr, k=k, pre=off[pr.pre] + pr.pre_idx,
                           post=off[pr.post] + pr.post_idx, delay=d + lag,
                           inh=pr.receptor == "inhibitory"))
    return projs


# --- neurons ----------------------------------------------------------------------------------
def _neurons(network: Network, spec: LoihiSpec, projs: list[_Proj],
             report: MappingReport) -> _Neurons:
    """Integer compartment parameters of every population (sources: only a model code)."""
    n = network.size
    nr = _Neurons(P={name: np.zeros(n, np.int64) for name in L.NEURON_PARAMS},
                  units=np.ones(n, np.int64), scale=np.zeros(n), gain=np.zeros((2, n)))
    off = network.offsets()
    for pop in network.populations:
        lo, hi = off[pop.name], off[pop.name] + pop.size
        nr.P["model"][lo:hi] = L.MODEL_CODES[pop.model]
        info = dict(name=pop.name, offset=lo, size=pop.size, model=pop.model, scale=0.0,
                    v_reset=0.0, channels=1)
        nr.pops.append(info)
        if not is_source(pop.model):
            incoming = [q for q in projs if q.pr.post == pop.name]
            _population(pop, lo, hi, incoming, spec, nr, info, report)
    return nr


def _population(pop: Population, lo: int, hi: int, incoming: list[_Proj], spec: LoihiSpec,
                nr: _Neurons, info: dict, report: MappingReport) -> None:
    """One integrating population: decays, scale, threshold, bias, refractory, initial v."""
    p, where = pop.params, f"population {pop.name!r}"
    thr = p["v_thresh"] - p["v_reset"]
    if np.any(thr <= 0):
        raise NetworkError(f"{where}: v_thresh {p['v_thresh'].min()} mV must be above "
                           "v_reset (Loihi spikes on v > vth >= 0)")
    two, f_v = _decays(pop, lo, hi, incoming, spec, nr, report)
    nr.units[lo:hi] = 2 if two else 1
    bias_mv = (1.0 - f_v) * (p["v_rest"] - p["v_reset"] + p["tau_m"] / p["cm"] * p["i_offset"])
    s = _scale(pop, thr, bias_mv, incoming, two, spec, nr.gain)
    P = nr.P
    vth = np.rint(thr * s / 2.0 ** spec.state_shift).astype(np.int64)
    if vth.min() < 1:
        raise LimitError("weight range", f"threshold mantissa {int(vth.min())}", ">= 1",
                         f"{where}: its largest weight or bias is so large against "
                         "v_thresh - v_reset that the threshold rounds to 0")
    P["vth"][lo:hi] = spec.vth_format.fit(vth, f"{pop.name} threshold mantissa")
    report.quantized("v_thresh", where, p["v_thresh"],
                     p["v_reset"] + vth * 2.0 ** spec.state_shift / s, "mV")
    bm, be = _bias(bias_mv * s, spec)
    P["bias_mant"][lo:hi], P["bias_exp"][lo:hi] = bm, be
    report.quantized("bias", where, bias_mv, (bm << be) / s, "mV/step")
    P["refract"][lo:hi] = _refractory(pop, spec, report)
    v0 = pop.initial.get("v", p["v_rest"])
    P["v0"][lo:hi] = spec.v_format.fit(np.rint((v0 - p["v_reset"]) * s), "initial v")
    report.quantized("v_init", where, v0, p["v_reset"] + P["v0"][lo:hi] / s, "mV")
    nr.scale[lo:hi] = s
    info.update(scale=s, v_reset=float(p["v_reset"][0]), channels=2 if two else 1,
                v_reset_values=np.asarray(p["v_reset"], np.float64))


def _decays(pop: Population, lo: int, hi: int, incoming: list[_Proj], spec: LoihiSpec,
            nr: _Neurons, report: MappingReport) -> tuple[bool, np.ndarray]:
    """dv from tau_m, du per channel from tau_syn, and each channel's raw u per unit
    weight (before the scale); returns (two channels?, effective v decay factor)."""
    p, where, dt = pop.params, f"population {pop.name!r}", float(spec.timestep)
    fmt = spec.decay_format
    one = fmt.max_int + 1
    dv, f_v = decay_constant(p["tau_m"], dt, fmt)
    report.quantized("tau_m", where, p["tau_m"], _tau_of(f_v, dt), "ms")
    has_e = any(not q.inh for q in incoming)
    has_i = any(q.inh for q in incoming)
    if pop.model == "IF_curr_exp":
        taus = (p["tau_syn_E"] if has_e or not has_i else p["tau_syn_I"], p["tau_syn_I"])
        du = [decay_constant(t, dt, fmt, spec.du_offset)[0] for t in taus]
        two = bool(has_e and has_i and np.any(du[0] != du[1]))
        for c in range(2):
            nr.gain[c, lo:hi] = p21(p["cm"], p["tau_m"], taus[c], dt)
        if not two:
            nr.gain[1, lo:hi] = nr.gain[0, lo:hi]
            du[1] = du[0]
        f_u = [(one - spec.du_offset - d) / one for d in du]
        for name, used, c in (("tau_syn_E", has_e, 0), ("tau_syn_I", has_i, 1)):
            if used:
                report.quantized(name, where, p[name], _tau_of(f_u[c], dt), "ms")
    else:   # IF_curr_delta: u is cleared every step, a weight is a jump of v in mV
        two = False
        du = [np.full(pop.size, fmt.max_int, np.int64)] * 2
        nr.gain[:, lo:hi] = 1.0
    nr.P["du0"][lo:hi], nr.P["du1"][lo:hi], nr.P["dv"][lo:hi] = du[0], du[1], dv
    return two, f_v


def _scale(pop: Population, thr: np.ndarray, bias_mv: np.ndarray, incoming: list[_Proj],
           two: bool, spec: LoihiSpec, gain: np.ndarray) -> float:
    """Raw v units per mV: threshold headroom, lowered until the largest weight and bias
    fit their formats."""
    mag = NumberFormat(spec.weight_format.bits, signed=False)
    s = min(2.0 ** (spec.v_format.bits - 1 - spec.headroom_bits),
            spec.vth_format.max_int * 2.0 ** spec.state_shift) / float(thr.max())
    w_top = mag.max_int * 2.0 ** (spec.weight_exp_max + spec.state_shift)
    for q in incoming:
        c = 1 if (q.inh and two) else 0
        raw = q.pr.weight * gain[c, q.post]
        if raw.size and raw.max() > 0:
            s = min(s, w_top / float(raw.max()))
    if np.any(bias_mv != 0):
        big = float(np.abs(bias_mv).max())
        top = min(spec.bias_format.max_int, -spec.bias_format.min_int) * 2.0 ** spec.bias_exp_max
        s = min(s, top / big)
    return s


def _refractory(pop: Population, spec: LoihiSpec, report: MappingReport) -> np.ndarray:
    """tau_refrac in whole steps; a period that is not whole steps is reported."""
    dt, where = float(spec.timestep), f"population {pop.name!r}"
    t_ref = pop.params["tau_refrac"]
    ref = np.rint(t_ref / dt).astype(np.int64)
    if ref.max() > spec.refractory_max:
        raise LimitError("refractory period (steps)", int(ref.max()), spec.refractory_max,
                         f"{where}: tau_refrac {t_ref.max()} ms")
    report.rounded("refractory_rounded", "tau_refrac", where, t_ref, ref * dt, dt)
    return ref


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


# --- weights ----------------------------------------------------------------------------------
def _weights(network: Network, spec: LoihiSpec, projs: list[_Proj], nr: _Neurons,
             report: MappingReport) -> None:
    """Signed mantissas, one exponent per (population, channel); fills each projection's
    mant, chan and lsb (IR units per mantissa step, per synapse)."""
    mag = NumberFormat(spec.weight_format.bits, signed=False)
    for q in projs:
        q.mant = np.zeros(q.pr.size, np.int64)
        q.chan = np.zeros(q.pr.size, np.int64)
        q.lsb = np.zeros(q.pr.size)
    for info in nr.pops:
        if is_source(info["model"]):
            continue
        for c in range(2):
            group = [q for q in projs if q.pr.post == info["name"]
                     and (1 if (q.inh and info["channels"] == 2) else 0) == c]
            if not group:
                continue
            raw = [q.pr.weight * nr.gain[c, q.post] * nr.scale[q.post]
                   / 2.0 ** spec.state_shift for q in group]
            m, e = split_mantissa_exponent(np.concatenate(raw), mag, spec.weight_exp_min,
                                           spec.weight_exp_max, f"{info['name']} weight")
            nr.P[f"wexp{c}"][info["offset"]:info["offset"] + info["size"]] = e
            at = 0
            for q in group:
                mk = m[at:at + q.pr.size]
                at += q.pr.size
                q.mant = -mk if q.inh else mk
                q.chan[:] = c
                q.lsb = 2.0 ** (e + spec.state_shift) / (nr.gain[c, q.post] * nr.scale[q.post])
                _report_weights(q, info["model"], mk, report)


def _report_weights(q: _Proj, model: str, mk: np.ndarray, report: MappingReport) -> None:
    where, w = f"projection {q.pr.name!r}", q.pr.weight
    report.quantized("weight", where, w, mk * q.lsb,
                     "mV" if model == "IF_curr_delta" else "nA")
    zeroed = int(np.count_nonzero((w > 0) & (mk == 0)))
    if zeroed:
        report.approximate("weights_zeroed", where,
                           f"{zeroed} of {q.pr.size} non-zero weights are below half a "
                           "mantissa step and map to 0", zeroed)


# --- plasticity -------------------------------------------------------------------------------
def _stdp(q: _Proj, spec: LoihiSpec, report: MappingReport) -> dict:
    """The learning engine's integer rule of one plastic projection (layout STDP_PARAMS),
    its parameters' quantisation and the rounding named in the report."""
    vals = {}
    for key, v in q.pr.plasticity.params.items():
        u = np.unique(np.asarray(v, np.float64))
        if u.size != 1:
            raise TargetError(f"projection {q.pr.name!r}: STDP {key} differs between "
                              "synapses; the learning engine has one rule per projection")
        vals[key] = float(u[0])
    dt = float(spec.timestep)
    mag_max = NumberFormat(spec.weight_format.bits, signed=False).max_int
    unit = float(np.median(q.lsb)) if q.lsb.size else 1.0
    one = 2 ** spec.stdp_frac_bits
    coef = vals["w_max"] / (unit * spec.trace_impulse) * one
    tdf = spec.trace_decay_format

    def decay(tau: float) -> int:
        d = round(2 ** tdf.frac_bits * math.exp(-dt / tau)) if tau > 0 else 0
        return int(tdf.fit(np.array([d]), "STDP trace decay")[0])

    rule = dict(a_plus=int(round(vals["A_plus"] * coef)),
                a_minus=int(round(vals["A_minus"] * coef)),
                x_decay=decay(vals["tau_plus"]), y_decay=decay(vals["tau_minus"]),
                w_lo=int(min(round(vals["w_min"] / unit), mag_max)),
                w_hi=int(min(round(vals["w_max"] / unit), mag_max)),
                impulse=int(spec.trace_impulse))
    _report_stdp(q, vals, rule, spec, report)
    return dict(index=q.k, **{k: rule[k] for k in L.STDP_PARAMS})


def _report_stdp(q: _Proj, vals: dict, rule: dict, spec: LoihiSpec,
                 report: MappingReport) -> None:
    """What the integer rule realises per synapse (its weight unit is q.lsb), against the
    IR's parameters; rounded ones and steps under the weight resolution are named."""
    where, dt, lsb = f"projection {q.pr.name!r}", float(spec.timestep), q.lsb
    one = 2 ** spec.stdp_frac_bits
    w_max = vals["w_max"]
    per_trace = rule["impulse"] * lsb / one / w_max if w_max else np.zeros_like(lsb)
    tdf_one = 2.0 ** spec.trace_decay_format.frac_bits
    mapped = {"A_plus": rule["a_plus"] * per_trace, "A_minus": rule["a_minus"] * per_trace,
              "tau_plus": _tau_of(rule["x_decay"] / tdf_one, dt),
              "tau_minus": _tau_of(rule["y_decay"] / tdf_one, dt),
              "w_min": rule["w_lo"] * lsb, "w_max": rule["w_hi"] * lsb}
    changed = []
    for key, got in mapped.items():
        exact = np.full(np.shape(got), vals[key])
        report.quantized(key, where, exact, got, "ms" if key.startswith("tau") else "")
        if np.any(_changed(exact, got)):
            changed.append(f"{key} {vals[key]:g} -> {float(np.median(got)):.4g}")
    if changed:
        report.approximate("stdp_rounded", where, "the learning engine's integer rule "
                           f"rounds {', '.join(changed)}", len(changed))
    top = min(rule["impulse"], spec.trace_format.max_int)
    for key, coef in (("A_plus", rule["a_plus"]), ("A_minus", rule["a_minus"])):
        if vals[key] > 0 and (coef * top + (one >> 1)) >> spec.stdp_frac_bits == 0:
            report.approximate("stdp_below_resolution", where,
                               f"{key} {vals[key]:g}: a pairing at the largest trace moves "
                               "a weight by less than half a mantissa step, so never", 1)


# --- register overflow ------------------------------------------------------------------------
@dataclass
class _Inputs:
    """Every synapse as the kernel applies it: target, channel, signed raw u per delivery
    (the largest mantissa it can hold, plastic ones up to w_hi, x 2**(wexp + state_shift)),
    projection index, pre neuron, delay steps, and the fewest steps between two spikes of
    its pre neuron (0 for a spike array, whose spikes are known)."""

    post: np.ndarray
    chan: np.ndarray
    raw: np.ndarray
    proj: np.ndarray
    pre: np.ndarray
    delay: np.ndarray
    period: np.ndarray
    wexp: np.ndarray


def _check_overflow(network: Network, spec: LoihiSpec, projs: list[_Proj], nr: _Neurons,
                    stdp: dict, report: MappingReport) -> None:
    """Bound u per compartment and channel from its inputs, and v from u; report every
    population whose u can wrap (24-bit register, silently) or whose v can saturate at
    -(2**23 - 1) under spike-array input. v's top is never seen: vth << state_shift is below 2**23 - 1, so a v
    that reaches it fires and resets to 0."""
    if not projs:
        return
    syn = _synapse_inputs(network, spec, projs, nr, stdp)
    one = float(1 << spec.decay_format.bits)
    f = np.stack([(one - nr.P[f"du{c}"] - spec.du_offset) / one for c in range(2)])
    hi, lo = _u_bounds(network, spec, syn, f)
    # v's floor from spike arrays only: their spikes are known, so the bound is tight; a
    # bound that lets neurons fire at their refractory limit forever would flag every
    # inhibitory network (CUBA's v "reaching" -666 mV), so those drives are not bounded
    arrays = syn.period == 0
    _, lo_arr = _u_bounds(network, spec, _Inputs(**{k: getattr(syn, k)[arrays] for k in
                                                      _Inputs.__dataclass_fields__}), f)
    names = [q.pr.name for q in projs]
    for info in nr.pops:
        if is_source(info["model"]):
            continue
        for c in range(info["channels"]):
            _report_u(info, c, hi[c], lo[c], syn, names, spec, report)
        _report_v(info, lo_arr, nr, names, syn, spec, report)


def _synapse_inputs(network: Network, spec: LoihiSpec, projs: list[_Proj], nr: _Neurons,
                    stdp: dict) -> _Inputs:
    """The synapses of every projection as `_Inputs`."""
    mant = []
    for q in projs:
        m = np.abs(q.mant)
        if q.pr.name in stdp:
            m = np.maximum(m, stdp[q.pr.name]["w_hi"])
        mant.append(-m if q.inh else m)
    post = np.concatenate([q.post for q in projs])
    chan = np.concatenate([q.chan for q in projs])
    pre = np.concatenate([q.pre for q in projs])
    wexp = np.where(chan == 0, nr.P["wexp0"][post], nr.P["wexp1"][post])
    raw = np.concatenate(mant) * 2.0 ** (wexp + spec.state_shift)
    model = nr.P["model"][pre]
    period = np.where(model == L.MODEL_POISSON, 1,
                      np.where(model == L.MODEL_ARRAY, 0, nr.P["refract"][pre] + 1))
    return _Inputs(post=post, chan=chan, raw=raw, pre=pre, period=period,
                   proj=np.concatenate([np.full(q.pr.size, i) for i, q in enumerate(projs)]),
                   delay=np.concatenate([q.delay for q in projs]), wexp=wexp)


def _u_bounds(network: Network, spec: LoihiSpec, syn: _Inputs,
              f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel and compartment, bounds hi >= u >= lo over any run (u unwrapped): the
    kernel's decay truncates toward zero, so |decay(u)| <= f |u| and each sign's inputs
    pass through the leaky integrator u <- f u + input. A spike array's known spikes are
    filtered exactly (`_train_extremes`); any other source is taken to fire as often as it
    can (a Poisson neuron every step, the chip's merged input; a compartment every
    refractory + 1 steps): x / (1 - f**period) for a delivery x. The floor of a negative
    input's right shift (wexp < 0) can add one 2**state_shift per step."""
    n = network.size
    key = syn.chan * n + syn.post
    fk = f.ravel()[key]
    hi, lo = np.zeros(2 * n), np.zeros(2 * n)
    per = syn.period > 0
    with np.errstate(divide="ignore"):
        steady = syn.raw[per] / (1.0 - fk[per] ** syn.period[per])
    hi += np.bincount(key[per], np.maximum(steady, 0.0), minlength=2 * n)
    lo += np.bincount(key[per], np.minimum(steady, 0.0), minlength=2 * n)
    t_hi, t_lo = _train_bounds(network, spec, syn, key, f.ravel())
    hi, lo = hi + t_hi, lo + t_lo
    floor = np.zeros(2 * n, bool)
    floor[key[(syn.raw < 0) & (syn.wexp < 0)]] = True
    with np.errstate(divide="ignore"):
        lo[floor] -= 2.0 ** spec.state_shift / (1.0 - f.ravel()[floor])
    return hi.reshape(2, n), lo.reshape(2, n)


def _train_bounds(network: Network, spec: LoihiSpec, syn: _Inputs, key: np.ndarray,
                  f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel-compartment key, the largest and smallest u the spike arrays' known
    spikes (merged to one per step, as the chip takes them) reach on their own: every
    delivery at its stamp + delay, filtered in step order."""
    n2 = 2 * network.size
    arr = np.flatnonzero(syn.period == 0)
    spikes = Stimulus(network, float(spec.timestep)).array_spikes().merged()
    if not arr.size or not len(spikes):
        return np.zeros(n2), np.zeros(n2)
    ptr, stamps = spikes.per_neuron(network.size)
    starts, counts = ptr[syn.pre[arr]], ptr[syn.pre[arr] + 1] - ptr[syn.pre[arr]]
    which = np.repeat(arr, counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    at = np.repeat(starts, counts) + np.arange(int(counts.sum())) - first
    step = stamps[at] + syn.delay[which]
    ev_key = key[which]
    order = np.lexsort((step, ev_key))
    return _train_extremes(ev_key[order], step[order], syn.raw[which][order], f, n2)


@njit
def _train_extremes(key, step, val, f, n_keys):
    """Leaky integration of deliveries sorted by (key, step), each sign on its own:
    per key the largest positive and the smallest negative sum reached."""
    hi = np.zeros(n_keys)
    lo = np.zeros(n_keys)
    bp, bn, last_key, last_step = 0.0, 0.0, -1, 0
    for e in range(len(key)):
        k = key[e]
        if k != last_key:
            bp, bn, last_key, last_step = 0.0, 0.0, k, step[e]
        g = f[k] ** (step[e] - last_step)
        last_step = step[e]
        bp, bn = bp * g, bn * g
        if val[e] > 0:
            bp += val[e]
        else:
            bn += val[e]
        hi[k] = max(hi[k], bp)
        lo[k] = min(lo[k], bn)
    return hi, lo


def _largest_together(raw: np.ndarray, half: int) -> int:
    """How many of the largest deliveries `raw` (one sign, as magnitudes) wrap u arriving
    in one step (0: not even all of them)."""
    total = np.cumsum(np.sort(raw)[::-1])
    over = np.flatnonzero(total > half)
    return int(over[0]) + 1 if over.size else 0


def _feeding(sel: np.ndarray, syn: _Inputs, names: list[str]) -> str:
    """'20 of projection 'x', 3 of projection 'y'' for the synapses `sel`."""
    counts = np.bincount(syn.proj[sel], minlength=len(names))
    return ", ".join(f"{int(c)} of projection {names[k]!r}" for k, c in enumerate(counts) if c)


def _report_u(info: dict, c: int, hi: np.ndarray, lo: np.ndarray, syn: _Inputs,
              names: list[str], spec: LoihiSpec, report: MappingReport) -> None:
    """The u_may_wrap entries of one population and channel (one per direction)."""
    half = 1 << (spec.u_format.bits - 1)
    lo_id, size = info["offset"], info["size"]
    for sign, bound, over in ((1, hi, hi[lo_id:lo_id + size] > half),
                              (-1, lo, lo[lo_id:lo_id + size] <= -half)):
        if not over.any():
            continue
        i = lo_id + int(np.argmax(sign * bound[lo_id:lo_id + size]))
        sel = (syn.post == i) & (syn.chan == c) & (sign * syn.raw > 0)
        mags = np.abs(syn.raw[sel])
        j = _largest_together(mags, half - (sign < 0))
        once = (f"more than {j - 1} of them arriving in one step wrap it" if j else
                "no single step wraps it, repeated spikes can")
        report.approximate(
            "u_may_wrap", f"population {info['name']!r}",
            f"u (channel {c}) wraps at {'' if sign > 0 else '-'}2**{spec.u_format.bits - 1} "
            f"({spec.u_format.bits}-bit register) in {int(over.sum())} of {size} neurons; neuron "
            f"{i - lo_id}'s {int(sel.sum())} {'excitatory' if sign > 0 else 'inhibitory'} "
            f"inputs ({_feeding(sel, syn, names)}) add {mags.sum() / half:.3g} * 2**23 in "
            f"one step: {once}; over a run (spike arrays as given, other sources firing "
            f"as often as they can) u can reach "
            f"{sign * bound[i] / half:.3g} * 2**23", int(over.sum()))


def _report_v(info: dict, lo: np.ndarray, nr: _Neurons, names: list[str], syn: _Inputs,
              spec: LoihiSpec, report: MappingReport) -> None:
    """The v_may_saturate entry of one population: v's lower bound, the leaky integral of
    the most negative u of both channels and of a negative bias, below -(2**23 - 1)."""
    a, size = info["offset"], info["size"]
    sl = slice(a, a + size)
    one = float(1 << spec.decay_format.bits)
    bias = np.minimum(nr.P["bias_mant"][sl] << nr.P["bias_exp"][sl], 0)
    drive = lo[0, sl] + (lo[1, sl] if info["channels"] == 2 else 0.0) + bias
    with np.errstate(divide="ignore", invalid="ignore"):
        v_lo = np.where(drive < 0, drive / (nr.P["dv"][sl] / one), 0.0)
    vmax = spec.v_format.max_int
    over = v_lo < -vmax
    if not over.any():
        return
    k = int(np.argmin(v_lo))
    sel = (syn.post == a + k) & (syn.raw < 0)
    mv = info["v_reset"] + v_lo[k] / nr.scale[a + k]
    report.approximate(
        "v_may_saturate", f"population {info['name']!r}",
        f"v saturates (does not wrap) at -(2**23 - 1) in {int(over.sum())} of {size} "
        f"neurons: neuron {k}'s inhibition ({_feeding(sel, syn, names)}) can drive it to "
        f"{v_lo[k] / (1 << 23):.3g} * 2**23 ({mv:.4g} mV); held at the floor it recovers "
        "sooner than exact integration", int(over.sum()))


# --- partition, place, route, memories ---------------------------------------------------------
def _map(network: Network, spec: LoihiSpec, pre: np.ndarray, post: np.ndarray,
         units: np.ndarray, progress: ProgressFn = None):
    """Partition, place, route; when a core has too many output axons (its neurons reach
    too many (neuron, core) destinations), partition again with fewer compartments per
    core for the populations on that core."""
    core_of, slot_of, n_cores = _partition(network, spec, pre, post, units, progress)
    stage = Stage.of(progress, "placement")
    traffic = traffic_matrix(core_of, pre, post, n_cores)
    try:
        core_xy = place(traffic, spec.mesh_shape, strategy=spec.placement,
                        seed=spec.placement_seed, cores_per_router=spec.cores_per_tile,
                        progress=stage)
    except ValueError as exc:
        raise TargetError(f"target {spec.name!r}: {exc}") from None
    if stage:
        stage.finish()
    stage = Stage.of(progress, "routing")
    routes = routing_table(core_of, pre, post, core_xy, spec.mesh_shape, progress=stage)
    if stage:
        stage.finish()
    return core_of, slot_of, routes, core_xy, traffic, n_cores


def _partition(network: Network, spec: LoihiSpec, pre: np.ndarray, post: np.ndarray,
               units: np.ndarray,
               progress: ProgressFn = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Partition under every per-core limit, shrinking the cores of the populations on a
    core with too many output axons until none has (each round its own progress stage)."""
    n = network.size
    sizes = [p.size for p in network.populations]
    pop_of = np.repeat(np.arange(len(sizes)), sizes)
    caps = np.full(len(sizes), spec.compartments_per_core, np.int64)
    fans = fan_in(pre, post, n)
    # the distinct (pre, post) pairs by pre, once: each round counts output axons in O(S)
    targets = np.repeat(np.arange(n), np.diff(fans.ptr))
    by_pre = np.argsort(fans.src, kind="stable")
    pre_ptr = np.zeros(n + 1, np.int64)
    pre_ptr[1:] = np.cumsum(np.bincount(fans.src, minlength=n))
    targets = targets[by_pre]
    for k in range(64):
        stage = Stage.of(progress, "partition" if k == 0 else f"partition (round {k + 1})")
        core_of, slot_of = partition(
            sizes, caps, cores=spec.n_cores, fans=fans,
            axons_per_core=spec.input_axons_per_core,
            synapse_bytes_per_core=spec.synapse_memory_bytes,
            bytes_per_synapse=spec.synapse_bits / 8, bytes_per_axon=spec.axon_header_bits / 8,
            units=units, progress=stage)
        n_cores = int(core_of.max()) + 1 if n else 0
        out_axons = np.bincount(core_of, _distinct_cores(pre_ptr, targets, core_of, n_cores),
                                minlength=n_cores).astype(np.int64)
        if stage:
            stage.finish()
        worst = int(out_axons.max()) if out_axons.size else 0
        if worst <= spec.output_axons_per_core:
            return core_of, slot_of, n_cores
        c = int(np.argmax(out_axons))
        on = core_of == c
        used = int(units[on].sum())
        for q in np.unique(pop_of[on]):
            caps[q] = min(caps[q] - 1, used * spec.output_axons_per_core // worst)
        if caps.min() < int(units.max()):
            raise LimitError("output axons per core", worst, spec.output_axons_per_core,
                             f"core {c}: its neurons reach {worst} (neuron, core) "
                             f"destinations, {worst - spec.output_axons_per_core} too many")
    raise LimitError("output axons per core", worst, spec.output_axons_per_core,
                     f"core {c}: {worst - spec.output_axons_per_core} too many after "
                     "repartitioning")


@njit
def _distinct_cores(ptr, targets, core_of, n_cores):
    """Per source neuron i, how many distinct cores hold targets[ptr[i]:ptr[i + 1]]
    (its output axons): one pass, a stamp per core."""
    stamp = np.full(n_cores, -1, np.int64)
    out = np.zeros(len(ptr) - 1, np.float64)
    for i in range(len(ptr) - 1):
        count = 0
        for k in range(ptr[i], ptr[i + 1]):
            c = core_of[targets[k]]
            if stamp[c] != i:
                stamp[c] = i
                count += 1
        out[i] = count
    return out


def _synapse_table(projs: list[_Proj], pre: np.ndarray, post: np.ndarray) -> dict:
    """Every synapse of the network, projections one after another (IR order)."""
    def cat(parts):
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
    return {"pre": pre, "post": post,
            L.SYN_CHAN: cat([q.chan for q in projs]),
            L.SYN_WEIGHT: cat([q.mant for q in projs]),
            L.SYN_DELAY: cat([q.delay for q in projs]),
            L.SYN_PROJ: cat([np.full(q.pr.size, q.k) for q in projs]),
            L.SYN_INDEX: cat([np.arange(q.pr.size) for q in projs])}


def _cores(n_cores: int, core_of: np.ndarray, slot_of: np.ndarray,
           P: dict[str, np.ndarray], syn: dict[str, np.ndarray],
           progress: Stage | None = None) -> list[Core]:
    """Per core: neuron parameters in slot order, synapse lists grouped by input axon."""
    cores = []
    dst = core_of[syn["post"]] if syn["post"].size else np.zeros(0, np.int64)
    order = np.lexsort((syn["post"], syn["pre"], dst))
    cuts = np.searchsorted(dst[order], np.arange(n_cores + 1))
    by_core = np.lexsort((slot_of, core_of))        # neurons by core, then slot: O(n log n)
    bounds = np.searchsorted(core_of[by_core], np.arange(n_cores + 1))
    for c in range(n_cores):
        if progress is not None:
            progress(c / n_cores)
        ids = by_core[bounds[c]:bounds[c + 1]]
        sel = order[cuts[c]:cuts[c + 1]]
        src = syn["pre"][sel]
        axons, first = np.unique(src, return_index=True)
        mem = {L.AXON_SRC: axons.astype(np.int64),
               L.AXON_PTR: np.append(first, len(src)).astype(np.int64),
               L.SYN_SLOT: slot_of[syn["post"][sel]]}
        mem.update({k: syn[k][sel] for k in L.SYNAPSE_MEMORIES if k != L.SYN_SLOT})
        cores.append(Core(index=c, neurons=ids.astype(np.int64),
                          params={k: P[k][ids] for k in L.NEURON_PARAMS}, memories=mem))
    if progress is not None:
        progress.finish()
    return cores
