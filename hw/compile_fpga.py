"""IR -> integer memories of the Amaranth LIF/STDP core (target "fpga", hw.targets.fpga;
the image format is hw.layouts.fpga).

Per neuron (v in raw units of `lsb` mV, relative to v_rest), NEST's exact propagators:
    v'    = sat(((v * dm) >> F) + isyn + bias)         (refractory: v' = v_reset, count down)
    isyn' = sat(((isyn * ds) >> F) + ring[t mod D][j])
    spike when v' >= theta, then v' = v_reset, refractory = refrac
isyn is kept in units of its effect on v over one step: a weight w (nA) into neuron j is
stored as round(w * P21_j / lsb / 2**w_shift) and added as `stored << w_shift`, with
P21 = (exp(-dt/tau_syn) - exp(-dt/tau_m)) / (cm (1/tau_m - 1/tau_syn)); the bias is
i_offset * P20, P20 = tau_m/cm * (1 - exp(-dt/tau_m)).

The compile runs as named steps: numbering (axons), neuron parameters, synapses, the
synaptic current per neuron, each core's memories (STDP rule, weight shift), the
stimulus memory. Every rounding goes into the mapping report (`image.report`): each
parameter's quantisation error per population or projection, and as approximations the
delays and refractory periods rounded to whole steps, weights clipped into an STDP rule's
bounds, STDP amplitudes under the weight resolution (weights that can never move) or
rounded by more than STDP_ROUNDING_LIMIT, and input spikes at t = 0 sent one step late.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import LimitError, TargetError
from .image import Core, HardwareImage
from .ir import Network, Population, is_source
from .layouts import fpga as L
from .lif import p21
from .report import MappingReport
from .stimulus import Stimulus
from .targets.fpga import FpgaSpec

#: an STDP amplitude whose quantisation changes it by more than this is an approximation
STDP_ROUNDING_LIMIT = 0.10
#: the IF_curr_exp parameters the core maps
LIF_PARAMS = ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "tau_refrac", "v_rest", "v_reset",
              "v_thresh", "i_offset")


def _decay(tau, dt: float, fmt) -> np.ndarray:
    """exp(-dt/tau) as Q0.frac_bits integers (at most one LSB under 1)."""
    one = 1 << fmt.frac_bits
    return np.minimum(np.rint(np.exp(-dt / np.asarray(tau, np.float64)) * one),
                      one - 1).astype(np.int64)


def _tau_of(decay: np.ndarray, dt: float, frac_bits: int) -> np.ndarray:
    """The time constant a stored decay realises (0 where the decay is 0)."""
    d = np.asarray(decay, np.float64) / (1 << frac_bits)
    return np.where(d > 0, -dt / np.log(np.where(d > 0, d, 0.5)), 0.0)


def _projection_names(names) -> str:
    names = sorted(names)
    return (f"projection {names[0]!r}" if len(names) == 1
            else "projections " + ", ".join(repr(n) for n in names))


@dataclass
class Numbering:
    """Hardware numbering: axon ids of IR neurons and back, counts."""

    neuron_pops: list[Population]
    n_neurons: int
    n_axons: int
    n_cores: int
    axon_of: np.ndarray      # IR global id -> axon id
    ir_of_axon: np.ndarray   # axon id -> IR global id


@dataclass
class Neurons:
    """Per-neuron integer parameters (hardware order) and the float ones they came from."""

    prm: dict[str, np.ndarray]
    lsb: float
    theta: np.ndarray
    u_reset: np.ndarray
    u0: np.ndarray
    bias: np.ndarray
    refrac: np.ndarray
    dm: np.ndarray


@dataclass
class Synapses:
    """Every synapse in IR projection order: axons, hardware targets, weights, delays."""

    pre: np.ndarray
    post: np.ndarray
    w_real: np.ndarray      # signed nA
    delay: np.ndarray       # steps, >= 1
    plastic: np.ndarray
    proj: np.ndarray        # projection index
    has_exc: np.ndarray     # per neuron: receives excitation / inhibition
    has_inh: np.ndarray


@dataclass
class Placed:
    """Where each synapse went: core, index in its memory, stored weight, scale to nA."""

    core: np.ndarray
    index: np.ndarray
    stored: np.ndarray
    scale: np.ndarray
    clipped: np.ndarray     # moved into an STDP rule's w_min..w_max


# --- numbering -----------------------------------------------------------------------------
def _numbering(network: Network, spec: FpgaSpec) -> Numbering:
    """Neurons fill cores in order, the spike sources follow."""
    off = network.offsets()
    neuron_pops = [p for p in network.populations if not is_source(p.model)]
    source_pops = [p for p in network.populations if is_source(p.model)]
    n_neurons = sum(p.size for p in neuron_pops)
    if n_neurons == 0:
        raise TargetError(f"target {spec.name!r}: the network has no neurons to map")
    npc = spec.neurons_per_core
    n_cores = -(-n_neurons // npc)
    if n_cores > spec.n_cores:
        raise LimitError("neurons", n_neurons, spec.n_cores * npc,
                         f"{spec.n_cores} core(s) of {npc} neurons")
    axon_of = np.empty(network.size, np.int64)
    k = 0
    for p in neuron_pops + source_pops:
        axon_of[off[p.name]:off[p.name] + p.size] = np.arange(k, k + p.size)
        k += p.size
    ir_of_axon = np.empty(k, np.int64)
    ir_of_axon[axon_of] = np.arange(network.size)
    return Numbering(neuron_pops, n_neurons, k, n_cores, axon_of, ir_of_axon)


# --- neuron parameters ---------------------------------------------------------------------
def _per_population(report: MappingReport, pops, parameter: str, exact, mapped,
                    unit: str) -> None:
    """Report a hardware-order parameter's quantisation, population by population."""
    lo = 0
    for p in pops:
        report.quantized(parameter, f"population {p.name!r}", exact[lo:lo + p.size],
                         mapped[lo:lo + p.size], unit)
        lo += p.size


def _neurons(network: Network, spec: FpgaSpec, num: Numbering,
             report: MappingReport) -> Neurons:
    """Thresholds, reset, initial v and bias in v-LSBs; refractory steps; membrane decay."""
    dt, pops = float(spec.timestep), num.neuron_pops
    prm = {k: np.concatenate([np.broadcast_to(p.params[k], p.size) for p in pops])
           .astype(np.float64) for k in LIF_PARAMS}
    v_init = np.concatenate([np.broadcast_to(p.initial.get("v", p.params["v_rest"]), p.size)
                             for p in pops]).astype(np.float64)
    rest = prm["v_rest"]
    span = float(np.max(np.abs(np.concatenate([prm["v_thresh"] - rest, prm["v_reset"] - rest,
                                               v_init - rest]))))
    lsb = (span if span > 0 else 1.0) / 2.0 ** (spec.state_bits - 1 - spec.headroom_bits)
    gain = prm["tau_m"] / prm["cm"] * -np.expm1(-dt / prm["tau_m"])     # mV per nA per step
    vf = spec.v_format
    theta = vf.quantize((prm["v_thresh"] - rest) / lsb, "v_thresh")
    u_reset = vf.quantize((prm["v_reset"] - rest) / lsb, "v_reset")
    u0 = vf.quantize((v_init - rest) / lsb, "initial v")
    bias = vf.quantize(prm["i_offset"] * gain / lsb, "i_offset")
    refrac = np.rint(prm["tau_refrac"] / dt).astype(np.int64)
    if refrac.max() > spec.refrac_format.max_int:
        raise LimitError("refractory period (steps)", int(refrac.max()),
                         spec.refrac_format.max_int, f"tau_refrac {prm['tau_refrac'].max()} ms")
    dm = _decay(prm["tau_m"], dt, spec.decay_format)
    for name, exact, mapped, unit in (
            ("v_thresh", prm["v_thresh"], rest + theta * lsb, "mV"),
            ("v_reset", prm["v_reset"], rest + u_reset * lsb, "mV"),
            ("initial v", v_init, rest + u0 * lsb, "mV"),
            ("i_offset", prm["i_offset"], bias * lsb / gain, "nA"),
            ("tau_m", prm["tau_m"], _tau_of(dm, dt, spec.decay_bits), "ms"),
            ("tau_refrac", prm["tau_refrac"], refrac * dt, "ms")):
        _per_population(report, pops, name, exact, mapped, unit)
    _report_refractory(report, pops, prm["tau_refrac"], refrac, dt)
    return Neurons(prm, lsb, theta, u_reset, u0, bias, refrac, dm)


def _report_refractory(report: MappingReport, pops, tau_refrac, refrac, dt: float) -> None:
    """Refractory periods that are not whole steps are rounded: an approximation."""
    lo = 0
    for p in pops:
        report.rounded("refractory_rounded", "tau_refrac", f"population {p.name!r}",
                       tau_refrac[lo:lo + p.size], refrac[lo:lo + p.size] * dt, dt,
                       record_error=False)
        lo += p.size


# --- synapses ------------------------------------------------------------------------------
def _synapses(network: Network, spec: FpgaSpec, num: Numbering,
              report: MappingReport) -> Synapses:
    """Every projection's synapses as axons and hardware targets; delays in whole steps."""
    dt, off = float(spec.timestep), network.offsets()
    parts: dict[str, list] = {k: [] for k in ("pre", "post", "w", "d", "plastic", "proj")}
    has_exc = np.zeros(num.n_neurons, bool)
    has_inh = np.zeros(num.n_neurons, bool)
    for q, pr in enumerate(network.projections):
        if pr.plasticity is not None and pr.receptor != "excitatory":
            raise TargetError(f"target {spec.name!r}: projection {pr.name!r} is plastic and "
                              "inhibitory; the core's STDP acts on excitatory synapses only")
        post = num.axon_of[off[pr.post] + pr.post_idx]
        d = np.maximum(np.rint(pr.delay / dt), 1).astype(np.int64)
        if d.size and d.max() > spec.max_delay:
            raise LimitError("synaptic delay (steps)", int(d.max()), spec.max_delay,
                             f"projection {pr.name!r}: delay {pr.delay.max()} ms")
        _report_delays(report, pr.name, pr.delay, d, dt)
        sign = 1.0 if pr.receptor == "excitatory" else -1.0
        (has_exc if sign > 0 else has_inh)[post] = True
        parts["pre"].append(num.axon_of[off[pr.pre] + pr.pre_idx])
        parts["post"].append(post)
        parts["w"].append(sign * pr.weight)
        parts["d"].append(d)
        parts["plastic"].append(np.full(pr.size, pr.plasticity is not None))
        parts["proj"].append(np.full(pr.size, q))
    cat = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in parts.items()}
    return Synapses(cat["pre"].astype(np.int64), cat["post"].astype(np.int64),
                    cat["w"].astype(np.float64), cat["d"].astype(np.int64),
                    cat["plastic"].astype(bool), cat["proj"].astype(np.int64),
                    has_exc, has_inh)


def _report_delays(report: MappingReport, name: str, delay, steps, dt: float) -> None:
    """A delay that is not a whole number of steps (or under one step) is rounded."""
    report.rounded("delay_rounded", "delay", f"projection {name!r}", delay, steps * dt, dt)


def _synaptic_currents(syn: Synapses, neu: Neurons, spec: FpgaSpec, num: Numbering,
                       report: MappingReport) -> tuple[np.ndarray, np.ndarray]:
    """One synaptic current per neuron: its decay and weight gain (mV per nA)."""
    prm, dt = neu.prm, float(spec.timestep)
    both = syn.has_exc & syn.has_inh & ~np.isclose(prm["tau_syn_E"], prm["tau_syn_I"])
    if both.any():
        j = int(np.flatnonzero(both)[0])
        raise LimitError("synaptic time constants per neuron", 2, 1,
                         f"hardware neuron {j} receives excitation (tau_syn_E "
                         f"{prm['tau_syn_E'][j]} ms) and inhibition (tau_syn_I "
                         f"{prm['tau_syn_I'][j]} ms); the core has one current per neuron")
    tau_syn = np.where(syn.has_inh & ~syn.has_exc, prm["tau_syn_I"], prm["tau_syn_E"])
    ds = _decay(tau_syn, dt, spec.decay_format)
    _per_population(report, num.neuron_pops, "tau_syn", tau_syn,
                    _tau_of(ds, dt, spec.decay_bits), "ms")
    return ds, p21(prm["cm"], prm["tau_m"], tau_syn, dt)


# --- cores ---------------------------------------------------------------------------------
def _core_rule(network: Network, syn: Synapses, pl: np.ndarray, wgain: np.ndarray,
               lsb: float, c: int) -> "dict | None":
    """The one STDP rule of core c's plastic synapses `pl` (None without any), with
    `unit` (v-LSB per nA) and `names` (its projections)."""
    if not pl.size:
        return None
    projs = [network.projections[q] for q in np.unique(syn.proj[pl])]
    names = [pr.name for pr in projs]
    rule: dict = {"names": names}
    for key in ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max"):
        u = np.unique(np.concatenate([np.ravel(pr.plasticity.params[key]) for pr in projs]))
        if u.size != 1:
            raise LimitError(f"STDP rules on core {c}", int(u.size), 1,
                             f"{key} differs between plastic synapses of {', '.join(names)}")
        rule[key] = float(u[0])
    g = wgain[syn.post[pl]]
    if not np.allclose(g, g[0], rtol=1e-9):
        raise LimitError(f"membrane gains of plastic targets on core {c}",
                         int(np.unique(g).size), 1,
                         "STDP weight bounds need one tau_m, tau_syn, cm per core")
    rule["unit"] = g[0] / lsb
    return rule


def _weight_shift(magnitudes: np.ndarray, spec: FpgaSpec, c: int) -> int:
    """The least shift that fits the core's largest weight magnitude in weight_bits."""
    mx = float(magnitudes.max()) if magnitudes.size else 0.0
    shift = 0
    while np.rint(mx / 2.0 ** shift) > spec.weight_format.max_int:
        shift += 1
    if shift > spec.max_weight_shift:
        raise LimitError("weight shift", shift, spec.max_weight_shift, f"core {c}")
    return shift


def _stdp_scalars(rule: dict, shift: int, spec: FpgaSpec, c: int,
                  report: MappingReport) -> dict[str, int]:
    """The core's integer STDP registers; their rounding goes into the report."""
    dt, F = float(spec.timestep), spec.decay_bits
    where = f"{_projection_names(rule['names'])} (core {c})"
    unit_w = rule["unit"] / 2.0 ** shift            # stored LSB per nA
    coef = rule["w_max"] * unit_w / spec.trace_impulse
    sc = {}
    for key, reg in (("A_plus", "a_plus"), ("A_minus", "a_minus")):
        sc[reg] = int(spec.stdp_format.quantize(rule[key] * coef, f"STDP {key}")[()])
        mapped = sc[reg] * spec.stdp_format.scale / coef if coef else 0.0
        report.quantized(key, where, rule[key], mapped)
        _report_stdp_step(report, where, key, rule[key], mapped, sc[reg], spec, 1 / unit_w)
    for key in ("w_min", "w_max"):
        sc[key] = int(np.rint(rule[key] * unit_w))
        report.quantized(key, where, rule[key], sc[key] / unit_w, "nA")
    for key, reg in (("tau_plus", "dx"), ("tau_minus", "dy")):
        sc[reg] = int(_decay(rule[key], dt, spec.decay_format)) if rule[key] > 0 else 0
        report.quantized(key, where, rule[key], _tau_of(sc[reg], dt, F), "ms")
    return sc


def _report_stdp_step(report: MappingReport, where: str, key: str, exact: float,
                      mapped: float, reg: int, spec: FpgaSpec, lsb_nA: float) -> None:
    """STDP amplitudes the weight resolution cannot realise: weights that never move
    on one pairing (a pre or post trace of trace_impulse), or a rounding > the limit."""
    sf, imp, top = spec.stdp_frac_bits, spec.trace_impulse, spec.trace_format.max_int
    if exact > 0 and (reg * imp) >> sf == 0:
        never = (reg * top) >> sf == 0
        report.approximate(
            "stdp_below_resolution", where,
            f"{key}={exact:g} is {reg}/2**{sf} weight LSB per trace LSB: one pairing "
            f"(trace {imp}) moves a weight by {(reg * imp) >> sf} LSB (1 LSB = "
            f"{lsb_nA:.3g} nA), " + ("so weights can never move this way" if never else
                                     f"only a trace of at least {-(-(1 << sf) // reg)} "
                                     "moves one"), 1)
    elif exact > 0 and abs(mapped - exact) > STDP_ROUNDING_LIMIT * exact:
        report.approximate("stdp_amplitude_rounded", where,
                           f"{key}={exact:g} is realised as {mapped:.4g} "
                           f"({100 * abs(mapped - exact) / exact:.3g}% off)", 1)


def _core(c: int, network: Network, spec: FpgaSpec, num: Numbering, neu: Neurons,
          syn: Synapses, ds: np.ndarray, wgain: np.ndarray, w_lsb: np.ndarray,
          placed: Placed, report: MappingReport) -> Core:
    """Core c: its scalars, neuron parameters and synapse memories (CSR by axon)."""
    npc = spec.neurons_per_core
    lo, hi = c * npc, min((c + 1) * npc, num.n_neurons)
    sel = np.flatnonzero(syn.post // npc == c)
    order = sel[np.lexsort((sel, syn.pre[sel]))]
    if order.size > spec.synapses_per_core:
        raise LimitError("synapses per core", int(order.size), spec.synapses_per_core,
                         f"core {c}")
    plastic = syn.plastic[order]
    rule = _core_rule(network, syn, order[plastic], wgain, neu.lsb, c)
    mags = [np.abs(w_lsb[order])]
    if rule is not None:
        mags.append(np.array([rule["w_max"], rule["w_min"]]) * rule["unit"])
    shift = _weight_shift(np.concatenate(mags), spec, c)
    stored = np.rint(w_lsb[order] / 2.0 ** shift).astype(np.int64)
    sc = dict.fromkeys(L.CORE_SCALARS, 0)
    sc.update(n=hi - lo, w_shift=shift, stdp=int(rule is not None))
    if rule is not None:
        sc.update(_stdp_scalars(rule, shift, spec, c, report))
        bounded = np.clip(stored[plastic], sc["w_min"], sc["w_max"])
        placed.clipped[order[plastic]] = bounded != stored[plastic]
        stored[plastic] = bounded
    placed.core[order], placed.index[order], placed.stored[order] = c, np.arange(order.size), stored
    placed.scale[order] = 2.0 ** shift / (wgain[syn.post[order]] / neu.lsb)
    params = {k: np.array([v], np.int64) for k, v in sc.items()}
    params.update(theta=neu.theta[lo:hi], u_reset=neu.u_reset[lo:hi], bias=neu.bias[lo:hi],
                  dm=neu.dm[lo:hi], ds=ds[lo:hi], refrac=neu.refrac[lo:hi], u0=neu.u0[lo:hi])
    return Core(index=c, neurons=num.ir_of_axon[lo:hi].copy(), params=params,
                memories=_core_memories(syn, order, stored, lo, hi - lo, num.n_axons, spec))


def _core_memories(syn: Synapses, order: np.ndarray, stored: np.ndarray, lo: int, n: int,
                   n_axons: int, spec: FpgaSpec) -> dict[str, np.ndarray]:
    """The synapse rows (by axon) and the plastic-input columns (by neuron) of a core."""
    row_ptr = np.zeros(n_axons + 1, np.int64)
    np.add.at(row_ptr, syn.pre[order] + 1, 1)
    local_post = syn.post[order] - lo
    ploc = np.flatnonzero(syn.plastic[order])
    pord = ploc[np.lexsort((ploc, local_post[ploc]))]
    col_ptr = np.zeros(n + 1, np.int64)
    np.add.at(col_ptr, local_post[pord] + 1, 1)
    return dict(row_ptr=np.cumsum(row_ptr), syn_post=local_post,
                syn_w=spec.weight_format.fit(stored, "weight"),
                syn_delay=syn.delay[order] - 1,
                syn_plastic=syn.plastic[order].astype(np.int64),
                col_ptr=np.cumsum(col_ptr), col_syn=pord.astype(np.int64),
                col_pre=syn.pre[order][pord].astype(np.int64))


def _report_weights(network: Network, syn: Synapses, placed: Placed,
                    report: MappingReport) -> None:
    """Each projection's weight error, and weights clipped into an STDP rule's bounds."""
    for q, pr in enumerate(network.projections):
        sel = syn.proj == q
        report.quantized("weight", f"projection {pr.name!r}", pr.weight,
                         np.abs(placed.stored[sel] * placed.scale[sel]), "nA")
        n = int(np.count_nonzero(placed.clipped[sel]))
        if n:
            report.approximate("weight_clipped", f"projection {pr.name!r}",
                               f"{n} weight(s) lie outside the rule's w_min..w_max and are "
                               "clipped into it", n)


# --- stimulus ------------------------------------------------------------------------------
def _stimulus(network: Network, spec: FpgaSpec, num: Numbering,
              report: MappingReport) -> tuple[np.ndarray, np.ndarray, int]:
    """The stimulus memory: hw.stimulus over [0, stimulus_horizon_ms), one entry per
    (step, axon); returns (steps, axons, steps covered)."""
    dt = float(spec.timestep)
    covered = max(0, int(math.floor(spec.stimulus_horizon_ms / dt + 1e-9)))
    win = Stimulus(network, dt).window(0, covered).merged() if covered else None
    if win is None or not len(win):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), covered
    step, axon = L.stimulus_entries(win.neuron, win.stamp, num.axon_of)
    if step.size > spec.stimulus_depth:
        raise LimitError("stimulus spikes", int(step.size), spec.stimulus_depth,
                         f"the input of [0, {spec.stimulus_horizon_ms:g}) ms "
                         "(stimulus_horizon_ms)")
    _report_stamp_zero(network, win.neuron, win.stamp, dt, report)
    return step, axon, covered


def _report_stamp_zero(network: Network, neuron: np.ndarray, stamp: np.ndarray, dt: float,
                       report: MappingReport) -> None:
    """Input spikes at t < dt/2 (stamp 0) go out in step 0 with those of stamp 1: they
    arrive one step late, merged with a stamp-1 spike of the same source if there is one."""
    zero = neuron[stamp == 0]
    if not zero.size:
        return
    one = set(neuron[stamp == 1].tolist())
    off = network.offsets()
    for pop in network.populations:
        lo = off[pop.name]
        mine = zero[(zero >= lo) & (zero < lo + pop.size)]
        if mine.size:
            both = sum(int(j) in one for j in mine)
            report.approximate("input_spike_delayed", f"population {pop.name!r}",
                               f"{mine.size} spike(s) at t < {dt / 2:g} ms are sent at "
                               f"t = {dt:g} ms (the core has no event list before step 0)"
                               + (f"; {both} of them merge with a spike at t = {dt:g} ms"
                                  if both else ""), mine.size)


# --- the compiler --------------------------------------------------------------------------
def compile_fpga(network: Network, spec: FpgaSpec) -> HardwareImage:
    """Quantise and map `network` onto the core's integer memories."""
    report = MappingReport(target=spec.name)
    num = _numbering(network, spec)
    neu = _neurons(network, spec, num, report)
    syn = _synapses(network, spec, num, report)
    ds, wgain = _synaptic_currents(syn, neu, spec, num, report)
    w_lsb = syn.w_real * wgain[syn.post] / neu.lsb            # v-LSB units
    n_syn = syn.pre.size
    placed = Placed(np.zeros(n_syn, np.int64), np.zeros(n_syn, np.int64),
                    np.zeros(n_syn, np.int64), np.zeros(n_syn, np.float64),
                    np.zeros(n_syn, bool))
    cores = [_core(c, network, spec, num, neu, syn, ds, wgain, w_lsb, placed, report)
             for c in range(num.n_cores)]
    _report_weights(network, syn, placed, report)
    stim_step, stim_axon, covered = _stimulus(network, spec, num, report)
    projections = {pr.name: dict(core=placed.core[syn.proj == q],
                                 index=placed.index[syn.proj == q],
                                 scale=placed.scale[syn.proj == q])
                   for q, pr in enumerate(network.projections)}
    data = dict(n_neurons=num.n_neurons, n_axons=num.n_axons,
                neurons_per_core=spec.neurons_per_core, ring_depth=spec.max_delay,
                lsb_mV=neu.lsb, axon_of=num.axon_of, ir_of_axon=num.ir_of_axon,
                stim_step=stim_step, stim_axon=stim_axon, stimulus_steps=covered,
                projections=projections)
    return HardwareImage(target=spec, network=network, cores=cores,
                         placement=np.arange(num.n_cores), data={L.DATA: data},
                         report=report)
