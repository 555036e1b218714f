"""Turns a Network (IR) into the flat arrays the reference kernels read.

All populations share one global neuron index space (declaration order, as
`Network.offsets()`); every per-neuron quantity is a column of a parameter or state matrix.
Propagators of the exactly integrable models are computed here once per timestep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...hw.compile_reference import delay_steps, refractory_steps
from ...hw.errors import NetworkError
from ...hw.ir import CurrentSource, Network, StepDelays, is_source
from ...hw.jit import njit
from . import layout as L


def steps_of(value: float, dt: float, what: str) -> int:
    """`value` ms as a whole number of steps of `dt`, refusing a value off the grid."""
    n = round(value / dt)
    if abs(n * dt - value) > 1e-9 * max(abs(value), dt):
        raise NetworkError(f"{what} = {value} ms is not a whole number of timesteps "
                           f"of {dt} ms")
    return int(n)


def _phi(x: np.ndarray) -> np.ndarray:
    """expm1(x)/x, equal to 1 at x = 0."""
    out = np.ones_like(x)
    nz = np.abs(x) > 1e-12
    out[nz] = np.expm1(x[nz]) / x[nz]
    return out


def _g2(x: np.ndarray) -> np.ndarray:
    """(e^x (x - 1) + 1) / x^2, equal to 1/2 at x = 0 (series near 0)."""
    out = np.empty_like(x)
    small = np.abs(x) < 1e-2
    xs = x[small]
    out[small] = 0.5 + xs / 3 + xs**2 / 8 + xs**3 / 30 + xs**4 / 144 + xs**5 / 840
    xl = x[~small]
    out[~small] = (np.exp(xl) * (xl - 1) + 1) / xl**2
    return out


def propagators(cm, tau_m, tau_syn, dt):
    """Exact one-step propagators of a leaky membrane driven by exp or alpha currents.

    Returns (P22, P20, Psyn, P21, P31): v decay, constant current -> v, synaptic decay,
    exp/alpha current state I -> v, alpha auxiliary y -> v (alpha current e*y*t/tau e^-t/tau).
    Valid for tau_m == tau_syn (the series branches take over).
    """
    cm, tau_m, tau_syn = (np.asarray(a, dtype=np.float64) for a in (cm, tau_m, tau_syn))
    p22 = np.exp(-dt / tau_m)
    p20 = -np.expm1(-dt / tau_m) * tau_m / cm
    psyn = np.exp(-dt / tau_syn)
    x = dt * (1.0 / tau_m - 1.0 / tau_syn)
    p21 = p22 * dt * _phi(x) / cm
    p31 = (math.e / tau_syn) * p22 * dt * dt * _g2(x) / cm
    return p22, p20, psyn, p21, p31


def hh_rates(v, v_offset):
    """Traub-Miles rate functions (1/ms) of HH_cond_exp, as PyNN defines them."""
    u = np.asarray(v, dtype=np.float64) - v_offset

    def xexp(x, s):
        x = np.asarray(x, dtype=np.float64)
        small = np.abs(x / s) < 1e-6
        safe = np.where(small, 1.0, x)
        return np.where(small, s * (1 - x / (2 * s)), safe / np.expm1(safe / s))

    am = 0.32 * xexp(13 - u, 4.0)
    bm = 0.28 * xexp(u - 40, 5.0)
    ah = 0.128 * np.exp((17 - u) / 18)
    bh = 4.0 / (1 + np.exp((40 - u) / 5))
    an = 0.032 * xexp(15 - u, 5.0)
    bn = 0.5 * np.exp((10 - u) / 40)
    return am, bm, ah, bh, an, bn


@dataclass
class Neurons:
    """Per-neuron arrays: population ranges, parameters, initial state."""

    n: int
    offsets: dict[str, int]
    pop_lo: np.ndarray
    pop_hi: np.ndarray
    pop_model: np.ndarray
    Q: np.ndarray
    ref_steps: np.ndarray
    S0: np.ndarray
    #: per population: every parameter (and refractory count) equal across its neurons
    pop_homogeneous: np.ndarray


@dataclass
class StaticRows:
    """A static projection's presynaptic neurons: `pre` (IR order) in a population of
    `size` neurons that starts at global index `lo`; its synapses' ring places are
    delay steps * 2n + `tgt0` + `post`, the delays its `delay` (the IR's: ms, or
    StepDelays) rounded at `dt`."""

    name: str
    lo: int
    size: int
    pre: np.ndarray
    post: np.ndarray
    delay: "np.ndarray | StepDelays"
    tgt0: int
    dt: float


@dataclass
class Synapses:
    """Static synapses (CSR by pre) and plastic synapses (CSR by pre, by delay; CSC by post)."""

    st_ptr: np.ndarray
    #: per static synapse: delay * 2n + receptor * n + target, its place in the input ring
    #: relative to the sending step's slot (int32 when the ring is small enough)
    st_off: np.ndarray
    st_w: np.ndarray
    n_slots: int
    pl_ptr: np.ndarray
    pl_tgt: np.ndarray
    pl_delay: np.ndarray
    pl_w: np.ndarray
    pl_rule: np.ndarray
    pl_par: np.ndarray
    pl_in_ptr: np.ndarray
    pl_in_syn: np.ndarray
    plastic_out: np.ndarray
    n_hist: int
    #: plastic projection name -> (True, places of its synapses, IR order, in pl_*)
    where: dict[str, tuple[bool, np.ndarray]] = field(default_factory=dict)
    #: the static projections' presynaptic rows, in build order (their places are found
    #: again on demand rather than kept: 4 bytes per synapse less)
    static: list[StaticRows] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self.where or any(src.name == name for src in self.static)

    def places(self, name: str) -> tuple[bool, np.ndarray]:
        """(plastic?, places of the projection's synapses, IR order, in st_* or pl_*);
        a static projection's found again in its rows (sorted by target and ring place:
        a binary search, then the next place not taken by a synapse of equal place that
        the build put first, one of this or an earlier projection onto the same targets)."""
        if name in self.where:
            return self.where[name]
        mine = [i for i, src in enumerate(self.static) if src.name == name]
        if not mine:
            raise NetworkError(f"no projection named {name!r}")
        me = self.static[mine[0]]
        two_n = 2 * (len(self.st_ptr) - 1)
        taken = np.zeros(len(self.st_w), dtype=np.bool_)
        pos = np.empty(0, dtype=np.int64)
        for src in self.static[:mine[0] + 1]:     # the last is `me`: its places returned
            if src.lo == me.lo and src.tgt0 == me.tgt0:       # places it could share
                pos = np.empty(src.pre.size, dtype=_index_dtype(len(self.st_w)))
                key = delay_steps(src.name, src.delay, src.dt) * two_n + src.tgt0 + src.post
                lost = _place(src.pre, src.lo, key, self.st_ptr, self.st_off, taken, pos,
                              two_n // 2)
                if lost >= 0:
                    raise NetworkError(f"projection {src.name!r}: synapse {lost} is not in "
                                       "the tables (its arrays changed after the build)")
        return False, pos


@dataclass
class RecordingPlan:
    """What to sample: per recording its state row, interval in steps and global neurons."""

    keys: list[tuple[str, str]]
    rows: np.ndarray
    every: np.ndarray
    ptr: np.ndarray
    idx: np.ndarray
    local: list[np.ndarray]
    units: list[str]
    spike_flags: np.ndarray


def build_neurons(net: Network, dt: float) -> Neurons:
    """Parameter matrix (PyNN parameters + derived propagators) and initial state."""
    offsets = net.offsets()
    n = net.size
    Q = np.zeros((L.N_PARAM, n))
    S0 = np.zeros((L.N_STATE, n))
    ref_steps = np.zeros(n, dtype=np.int64)
    pop_lo, pop_hi, pop_model = [], [], []
    for pop in net.populations:
        lo, hi = offsets[pop.name], offsets[pop.name] + pop.size
        code = L.MODEL_CODES[pop.model]
        pop_lo.append(lo), pop_hi.append(hi), pop_model.append(code)
        cols = slice(lo, hi)
        unknown = set(pop.initial) - set(L.INITIAL_NAMES[pop.model])
        if unknown:
            raise NetworkError(f"population {pop.name!r}: model {pop.model} has no state "
                               f"variable(s) {sorted(unknown)} to initialise; it has "
                               f"{list(L.INITIAL_NAMES[pop.model])}")
        if is_source(pop.model):      # its spikes are the stimulus the runner hands in
            continue
        for name, values in pop.params.items():
            if name != "tau_refrac":
                Q[L.PARAM_ROWS.index(name), cols] = values
        p = pop.params
        if code in (L.CURR_EXP, L.CURR_ALPHA, L.CURR_DELTA, L.COND_EXP, L.COND_ALPHA,
                    L.EIF_ALPHA, L.EIF_EXP):
            p22, p20, pse, p21e, p31e = propagators(p["cm"], p["tau_m"],
                                                    p.get("tau_syn_E", p["tau_m"]), dt)
            _, _, psi, p21i, p31i = propagators(p["cm"], p["tau_m"],
                                                p.get("tau_syn_I", p["tau_m"]), dt)
            for row, val in ((L.P22, p22), (L.P20, p20), (L.PSE, pse), (L.PSI, psi),
                             (L.P21E, p21e), (L.P21I, p21i), (L.P31E, p31e),
                             (L.P31I, p31i)):
                Q[row, cols] = val
            if "tau_syn_E" in p:
                Q[L.AE, cols] = math.e * dt / p["tau_syn_E"]
                Q[L.AI, cols] = math.e * dt / p["tau_syn_I"]
            ref_steps[cols] = refractory_steps(p["tau_refrac"], dt)
            S0[L.V, cols] = p["v_rest"]
        if code == L.HH:
            Q[L.PSE, cols] = np.exp(-dt / p["tau_syn_E"])
            Q[L.PSI, cols] = np.exp(-dt / p["tau_syn_I"])
            ref_steps[cols] = int(round(L.HH_REFRACTORY / dt))
            S0[L.V, cols] = -65.0
        if code == L.IZHIKEVICH:
            S0[L.V, cols], S0[L.W, cols] = -70.0, -14.0
        if code in L.RK4_MAX_STEP:
            nsub = max(1, math.ceil(dt / L.RK4_MAX_STEP[code] - 1e-9))
            Q[L.NSUB, cols] = nsub
            Q[L.DHE, cols] = np.exp(-dt / nsub / 2 / p["tau_syn_E"])
            Q[L.DHI, cols] = np.exp(-dt / nsub / 2 / p["tau_syn_I"])
        for var, values in pop.initial.items():
            S0[L.RECORDABLE[pop.model][var][0], cols] = values
        if code == L.HH:
            am, bm, ah, bh, an, bn = hh_rates(S0[L.V, cols], p["v_offset"])
            for var, row, (a, b) in (("m", L.GM, (am, bm)), ("h", L.GH, (ah, bh)),
                                     ("n", L.GN, (an, bn))):
                if var not in pop.initial:
                    S0[row, cols] = a / (a + b)
    homogeneous = np.array([bool(np.all(Q[:, lo:hi] == Q[:, lo:lo + 1]))
                            and bool(np.all(ref_steps[lo:hi] == ref_steps[lo]))
                            for lo, hi in zip(pop_lo, pop_hi)], dtype=np.bool_)
    return Neurons(n, offsets, np.array(pop_lo, np.int64), np.array(pop_hi, np.int64),
                   np.array(pop_model, np.int64), Q, ref_steps, S0, homogeneous)


def _ptr(keys: np.ndarray, n: int) -> np.ndarray:
    ptr = np.zeros(n + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(keys, minlength=n))
    return ptr


@njit
def _scatter(pre, post, delay, w, pre0, tgt0, two_n, cursor, st_off, st_w):
    """Synapse k of one projection goes to the next free place of its pre neuron's row
    (rows were sized beforehand): a counting sort, stable in (projection, IR order)."""
    for k in range(pre.size):
        row = pre0 + pre[k]
        at = cursor[row]
        cursor[row] = at + 1
        st_off[at] = delay[k] * two_n + tgt0 + post[k]
        st_w[at] = w[k]


@njit
def _sort_rows(ptr, st_off, st_w, n):
    """Each row (a pre neuron's synapses) sorted by target, then ring place (delay,
    receptor), stably (multapses keep the build's order): a thread owning a range of
    targets finds its synapses of a row, one run, by binary search."""
    total = (st_off.max() + 1) if len(st_off) else 1
    for j in range(len(ptr) - 1):
        a, b = ptr[j], ptr[j + 1]
        key = np.empty(b - a, dtype=np.int64)
        for s in range(a, b):
            key[s - a] = st_off[s] % n * total + st_off[s]
        ordered = True
        for s in range(1, b - a):
            if key[s] < key[s - 1]:
                ordered = False
                break
        if not ordered:
            idx = a + np.argsort(key, kind="mergesort")
            st_off[a:b] = st_off[idx]
            st_w[a:b] = st_w[idx]


@njit
def _place(pre, pre0, key, ptr, st_off, taken, pos, n):
    """The places of a projection's synapses (ring places `key`) in rows sorted by
    `_sort_rows`: the first place of the key in the row not yet `taken`. Returns -1, or
    the first synapse whose key has no free place in its row."""
    for k in range(pre.size):
        row = pre0 + pre[k]
        lo, hi = ptr[row], ptr[row + 1]
        tgt = key[k] % n
        while lo < hi:
            mid = (lo + hi) >> 1
            t = st_off[mid] % n
            if t < tgt or (t == tgt and st_off[mid] < key[k]):
                lo = mid + 1
            else:
                hi = mid
        while lo < ptr[row + 1] and taken[lo] and st_off[lo] == key[k]:
            lo += 1
        if lo == ptr[row + 1] or st_off[lo] != key[k]:
            return k
        taken[lo] = True
        pos[k] = lo
    return -1


def _index_dtype(limit: int):
    """int32 when every value stays under `limit` <= 2**31 - 1, else int64."""
    return np.int32 if limit < 2**31 - 1 else np.int64


def _static_tables(net: Network, dt: float) -> dict:
    """CSR by pre of the static synapses, built projection by projection into arrays of
    their final size (no concatenated temporaries): 12 bytes per synapse (int32 ring place,
    float64 weight); each row then sorted by target (`_sort_rows`)."""
    offsets, n = net.offsets(), net.size
    static = [pr for pr in net.projections if pr.plasticity is None]
    counts = np.zeros(n, dtype=np.int64)
    rows = [StaticRows(pr.name, offsets[pr.pre], net.population(pr.pre).size, pr.pre_idx,
                       pr.post_idx, pr.stored_delay,
                       (pr.receptor != "excitatory") * n + offsets[pr.post], dt)
            for pr in static]
    top = 0
    for src, pr in zip(rows, static):
        counts[src.lo:src.lo + src.size] += np.bincount(src.pre, minlength=src.size)
        if pr.size:     # rounding is monotonic: the longest delay has the most steps
            held = pr.stored_delay              # ms, or StepDelays (not made into ms)
            ends = delay_steps(pr.name, np.array([held.min(), held.max()]), dt)
            top = max(top, int(ends[1]))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    # a step's slot is read and cleared before that step's spikes are delivered, so the
    # longest delay lands in the slot just cleared: as many slots as its steps suffice
    n_slots = max(top, 1)
    st_off = np.empty(int(ptr[-1]), dtype=_index_dtype((top + 1) * 2 * n))
    st_w = np.empty(int(ptr[-1]), dtype=np.float64)
    cursor = ptr[:-1].copy()
    for pr in static:   # steps one projection at a time, in 1-2 bytes: no list of them all
        d = delay_steps(pr.name, pr.stored_delay, dt, "compact")
        rec = 0 if pr.receptor == "excitatory" else 1
        _scatter(pr.pre_idx, pr.post_idx, d, pr.weight, offsets[pr.pre],
                 rec * n + offsets[pr.post], 2 * n, cursor, st_off, st_w)
    _sort_rows(ptr, st_off, st_w, n)
    return dict(st_ptr=ptr, st_off=st_off, st_w=st_w, n_slots=n_slots, static=rows)


def _plastic_tables(net: Network, dt: float, where: dict) -> dict:
    """Plastic synapses: CSR by pre, delay and target (receptor * n + post), and CSC by
    post of the STDP ones."""
    offsets, n = net.offsets(), net.size
    parts = []
    for pr in net.projections:
        if pr.plasticity is None:
            continue
        post = offsets[pr.post] + pr.post_idx
        rec = 0 if pr.receptor == "excitatory" else 1
        par = np.zeros((len(L.PLASTIC_PARAM_ROWS), pr.size))
        for k, v in pr.plasticity.params.items():
            par[L.PLASTIC_PARAM_ROWS.index(k)] = np.broadcast_to(v, (pr.size,))
        parts.append(dict(name=pr.name, pre=offsets[pr.pre] + pr.pre_idx, post=post,
                          tgt=rec * n + post, delay=delay_steps(pr.name, pr.stored_delay, dt),
                          w=pr.weight, par=par,
                          rule=np.full(pr.size, L.RULE_CODES[pr.plasticity.rule], np.int64)))

    def cat(key, dtype, shape0=None):
        if not parts:
            return np.zeros((shape0, 0) if shape0 else 0, dtype=dtype)
        return np.concatenate([p[key] for p in parts], axis=-1).astype(dtype)

    pre, delay, tgt = cat("pre", np.int64), cat("delay", np.int64), cat("tgt", np.int64)
    order = np.lexsort((tgt, delay, pre))     # a thread's targets: one run per receptor
    inv = np.empty(len(order), dtype=np.int64)
    inv[order] = np.arange(len(order))
    start = 0
    for p in parts:
        where[p["name"]] = (True, inv[start:start + len(p["pre"])])
        start += len(p["pre"])
    post = cat("post", np.int64)[order]
    rule = cat("rule", np.int64)[order]
    stdp = np.flatnonzero((rule == L.STDP_ADD) | (rule == L.STDP_MULT))
    in_order = stdp[np.argsort(post[stdp], kind="stable")]
    plastic_out = np.zeros(n, dtype=np.bool_)
    plastic_out[pre] = True
    return dict(pl_ptr=_ptr(pre, n), pl_tgt=tgt[order],
                pl_delay=delay[order], pl_w=cat("w", np.float64)[order], pl_rule=rule,
                pl_par=np.ascontiguousarray(
                    cat("par", np.float64, len(L.PLASTIC_PARAM_ROWS))[:, order]),
                pl_in_ptr=_ptr(post[stdp], n), pl_in_syn=in_order.astype(np.int64),
                plastic_out=plastic_out, n_hist=int(delay.max()) + 1 if delay.size else 1)


def build_synapses(net: Network, dt: float) -> Synapses:
    """Static and plastic synapse tables, sorted for delivery, with each projection's map."""
    where: dict[str, tuple[bool, np.ndarray]] = {}
    return Synapses(**_static_tables(net, dt), **_plastic_tables(net, dt, where), where=where)


def initial_plastic_state(syn: Synapses) -> np.ndarray:
    """STDP traces 0; Tsodyks-Markram x = 1, u = 0 (nothing used yet), times 0."""
    state = np.zeros((L.N_PLASTIC_STATE, len(syn.pl_w)))
    tm = syn.pl_rule == L.TSODYKS
    state[L.X_PRE, tm] = 1.0
    return state


def build_recordings(net: Network, dt: float) -> RecordingPlan:
    """Sampled variables (state row, interval in steps, neurons) and the integrating
    neurons whose spikes are recorded."""
    offsets = net.offsets()
    flags = np.zeros(net.size, dtype=np.bool_)
    keys, rows, every, idx, local, units = [], [], [], [], [], []
    for rec in net.recordings:
        pop = net.population(rec.population)
        off = offsets[pop.name]
        if rec.variable == "spikes":
            if not is_source(pop.model):   # a source's spikes are the stimulus (hw.runner)
                flags[off + rec.indices] = True
            continue
        table = L.RECORDABLE[pop.model]
        if rec.variable not in table:
            raise NetworkError(f"population {pop.name!r} ({pop.model}) cannot record "
                               f"{rec.variable!r}; it records {['spikes', *table]}")
        key = (pop.name, rec.variable)
        if key in keys:
            raise NetworkError(f"population {pop.name!r}: {rec.variable!r} is recorded twice")
        interval = dt if rec.sampling_interval is None else float(rec.sampling_interval)
        n_every = steps_of(interval, dt, f"sampling interval of {pop.name}.{rec.variable}")
        if n_every < 1:
            raise NetworkError(f"sampling interval {interval} ms of {pop.name}.{rec.variable}"
                               f" is shorter than the timestep {dt} ms")
        ind = np.unique(rec.indices)
        keys.append(key), rows.append(table[rec.variable][0]), every.append(n_every)
        idx.append(off + ind), local.append(ind), units.append(table[rec.variable][1])
    ptr = np.zeros(len(idx) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(i) for i in idx])
    return RecordingPlan(keys, np.array(rows, np.int64), np.array(every, np.int64), ptr,
                         np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, np.int64),
                         local, units, flags)


@dataclass
class CurrentPlan:
    """Current sources as CSR of global target neurons, waveforms drawn per run chunk."""

    sources: list[CurrentSource]
    ptr: np.ndarray
    idx: np.ndarray
    uniq: np.ndarray

    def waves(self, first_step: int, n_steps: int, dt: float) -> np.ndarray:
        out = np.zeros((len(self.sources), max(n_steps, 1)))
        for c, src in enumerate(self.sources):
            out[c, :n_steps] = src.waveform(first_step, n_steps, dt)
        return out


def build_currents(net: Network) -> CurrentPlan:
    offsets = net.offsets()
    sources = [st for st in net.stimuli if isinstance(st, CurrentSource)]
    idx = [offsets[s.population] + s.indices for s in sources]
    ptr = np.zeros(len(idx) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(i) for i in idx])
    flat = np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, np.int64)
    return CurrentPlan(sources, ptr, flat, np.unique(flat))
