"""The one stimulus: the input spikes of every spike source, made once from the IR and its
seed, which every target's runner consumes unchanged.

Time base (every target): step k runs from k*dt to (k+1)*dt and a spike emitted in it has
the stamp k + 1 (time (k+1)*dt). A SpikeSourceArray time t has the stamp round(t / dt); a
time under dt / 2 has the stamp 0, which is delivered before step 0 ("in step -1").
A SpikeSourcePoisson neuron emits a Poisson number of spikes per step (mean rate * dt,
as NEST's poisson_generator does) for stamps in (start, start + duration], from one
uniform draw of SplitMix64 over (its seed, stamp) (`hw.rng`, `poisson_count`), so
`run(a); run(b)` draws what `run(a + b)` draws. Two spikes of one neuron in one step are
a spike of multiplicity 2; a target that cannot deliver that merges them and says so in
its mapping report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import NetworkError
from .ir import Network, PoissonSource, SpikeArray
from .jit import njit
from .result import Spikes
from .rng import poisson_neuron_seeds, poisson_steps, uniform


@dataclass
class InputSpikes:
    """Spikes of the sources in a window: global neuron index and stamp, sorted by stamp
    then neuron; a (neuron, stamp) pair that repeats is a spike of multiplicity > 1."""

    neuron: np.ndarray
    stamp: np.ndarray

    def __post_init__(self) -> None:
        self.neuron = np.asarray(self.neuron, dtype=np.int64)
        self.stamp = np.asarray(self.stamp, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.neuron)

    def per_neuron(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """CSR over `n` global neurons: ptr (n + 1) and each neuron's stamps, ascending."""
        order = np.lexsort((self.stamp, self.neuron))
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.neuron, minlength=n), out=ptr[1:])
        return ptr, self.stamp[order]

    def per_stamp(self, s0: int, s1: int) -> np.ndarray:
        """ptr over stamps s0..s1: the spikes of stamp s are neuron[ptr[s-s0]:ptr[s-s0+1]]."""
        return np.searchsorted(self.stamp, np.arange(s0, s1 + 2)).astype(np.int64)

    def merged(self) -> "InputSpikes":
        """One spike per (neuron, stamp): what a target without multiplicity delivers."""
        if not len(self):
            return self
        keep = np.ones(len(self), dtype=bool)
        keep[1:] = (np.diff(self.stamp) != 0) | (np.diff(self.neuron) != 0)
        return InputSpikes(self.neuron[keep], self.stamp[keep])

    def population(self, lo: int, size: int, dt: float) -> Spikes:
        """The spikes of neurons lo..lo+size-1 as a population's Spikes (local ids, ms)."""
        sel = (self.neuron >= lo) & (self.neuron < lo + size)
        return Spikes(self.neuron[sel] - lo, np.round(self.stamp[sel] * dt, 10))

    @staticmethod
    def union(parts: "list[InputSpikes]") -> "InputSpikes":
        """The parts' spikes together, sorted by stamp then neuron (the window's order)."""
        both = InputSpikes.concat(parts)
        order = np.lexsort((both.neuron, both.stamp))
        return InputSpikes(both.neuron[order], both.stamp[order])

    @staticmethod
    def concat(parts: "list[InputSpikes]") -> "InputSpikes":
        if not parts:
            return InputSpikes(np.zeros(0, np.int64), np.zeros(0, np.int64))
        return InputSpikes(np.concatenate([p.neuron for p in parts]),
                           np.concatenate([p.stamp for p in parts]))


@njit
def poisson_count(u, p_spike):
    """Spikes of one Poisson neuron in one step from its uniform draw u: none when
    u >= p_spike = 1 - exp(-lam); else the count k >= 1 with P(k) = exp(-lam) lam^k / k!
    (inverse CDF on 1 - u), so the steps with a spike do not depend on the count rule."""
    if u >= p_spike:
        return 0
    return _count_from(u, p_spike, poisson_lam(p_spike))


@njit
def poisson_lam(p_spike):
    """The mean count lam = -ln(1 - p_spike) of a step (kept per neuron by a kernel that
    draws every step: the same float as `poisson_count` computes)."""
    return -np.log1p(-p_spike)


@njit
def _count_from(u, p_spike, lam):
    """poisson_count's count k >= 1 for a draw u < p_spike, with lam given."""
    v = 1.0 - max(u, 2.0 ** -53)        # u = 0 (one draw in 2**53) would ask for CDF = 1
    term = 1.0 - p_spike
    cdf = term
    k = 0
    while v > cdf and k < 10_000:
        k += 1
        term *= lam / k
        if term == 0.0:
            break
        cdf += term
    return max(k, 1)


@njit
def poisson_draw(seed, stamp, p_spike, lam):
    """Spikes of the Poisson neuron with `seed` at `stamp` (lam = poisson_lam(p_spike)):
    every target's one rule, so a runner that draws in its own kernels
    (`Runner.draws_poisson`) emits these very spikes."""
    u = uniform(seed, stamp)
    if u >= p_spike:
        return 0
    return _count_from(u, p_spike, lam)


@njit
def poisson_lams(p_spike):
    """poisson_lam of each element (in Numba: the very floats the kernels use)."""
    out = np.empty(len(p_spike))
    for j in range(len(p_spike)):
        out[j] = poisson_lam(p_spike[j])
    return out


@njit
def _poisson_window(neurons, seeds, p_spike, first, last, s0, s1):
    """Stamps s0..s1 of each Poisson neuron: (neuron, stamp) of each spike, stamp-major,
    a neuron repeated as often as it spikes in a step. Two passes (count, then fill) so
    the output is allocated once, with no table of counts (a window may be long)."""
    lam = poisson_lams(p_spike)
    n_out = 0
    for s in range(s0, s1 + 1):
        for j in range(len(neurons)):
            if first[j] <= s <= last[j]:
                n_out += poisson_draw(seeds[j], s, p_spike[j], lam[j])
    out_n = np.empty(n_out, np.int64)
    out_s = np.empty(n_out, np.int64)
    c = 0
    for s in range(s0, s1 + 1):
        for j in range(len(neurons)):
            if first[j] <= s <= last[j]:
                for _ in range(poisson_draw(seeds[j], s, p_spike[j], lam[j])):
                    out_n[c] = neurons[j]
                    out_s[c] = s
                    c += 1
    return out_n, out_s


@dataclass
class PoissonTable:
    """The stimulus's Poisson neurons: global index (ascending), seed, spike probability
    per step, and first and last stamp, as `poisson_draw` takes them."""

    neurons: np.ndarray
    seeds: np.ndarray
    p_spike: np.ndarray
    first: np.ndarray
    last: np.ndarray

    def most(self) -> np.ndarray:
        """Per neuron the most spikes one step can draw (the count at the smallest uniform
        draw): what a runner drawing in its kernels sizes its spike lists by."""
        uniq, back = np.unique(self.p_spike, return_inverse=True)
        most = np.array([poisson_count(0.0, p) for p in uniq], dtype=np.int64)
        return most[back.reshape(-1)] if len(uniq) else np.zeros(0, np.int64)


class Stimulus:
    """The input spikes of a network's sources at timestep `dt`, window by window."""

    def __init__(self, network: Network, dt: float) -> None:
        self.network, self.dt = network, float(dt)
        offsets = network.offsets()
        arrays = {st.population: st for st in network.stimuli if isinstance(st, SpikeArray)}
        poisson = {st.population: st for st in network.stimuli
                   if isinstance(st, PoissonSource)}
        arr_n, arr_s = [], []
        pn, ps, pp, pf, pl = [], [], [], [], []
        for pop in network.populations:
            lo = offsets[pop.name]
            if pop.model == "SpikeSourceArray" and pop.name in arrays:
                tr = arrays[pop.name].trains
                owner = np.repeat(np.arange(pop.size), np.diff(tr.offsets))
                if tr.times.size and tr.times.min() < 0:
                    k = int(np.argmin(tr.times))
                    raise NetworkError(f"spike array {pop.name!r}: neuron {owner[k]} has "
                                       f"spike time {tr.times[k]} ms < 0")
                arr_n.append(lo + owner)
                arr_s.append(np.rint(tr.times / self.dt).astype(np.int64))
            elif pop.model == "SpikeSourcePoisson":
                p_spike, first, last = poisson_steps(pop.params, self.dt)
                src = poisson.get(pop.name)
                seed = 0 if src is None else int(src.seed)
                pn.append(lo + np.arange(pop.size))
                ps.append(poisson_neuron_seeds(network.seed, seed, pop.size))
                pp.append(p_spike), pf.append(first), pl.append(last)
        neuron = np.concatenate(arr_n) if arr_n else np.zeros(0, np.int64)
        stamp = np.concatenate(arr_s) if arr_s else np.zeros(0, np.int64)
        order = np.lexsort((neuron, stamp))
        self._arrays = InputSpikes(neuron[order], stamp[order])
        cat = (lambda xs, dt_: np.concatenate(xs).astype(dt_) if xs else np.zeros(0, dt_))
        self.poisson = PoissonTable(cat(pn, np.int64), cat(ps, np.uint64),
                                    cat(pp, np.float64), cat(pf, np.int64), cat(pl, np.int64))

    def window(self, k0: int, k1: int, poisson: bool = True) -> InputSpikes:
        """The spikes emitted in steps k0 .. k1-1 (stamps k0+1 .. k1; stamp 0 too when
        k0 == 0), sorted by stamp then neuron; with poisson=False only the spike arrays'
        (for a runner that draws the Poisson spikes itself)."""
        s0 = 0 if k0 == 0 else k0 + 1
        a = self._arrays
        lo, hi = np.searchsorted(a.stamp, [s0, k1 + 1])
        arr = InputSpikes(a.neuron[lo:hi], a.stamp[lo:hi])
        if not poisson or not self.poisson.neurons.size or k1 < max(s0, 1):
            return arr
        drawn = self.poisson_spikes(k0, k1)
        if not len(arr):
            return drawn
        return InputSpikes.union([arr, drawn])

    def poisson_spikes(self, k0: int, k1: int,
                       neurons: "np.ndarray | None" = None) -> InputSpikes:
        """The Poisson neurons' spikes of steps k0 .. k1-1 (all, or those of the global
        `neurons`), sorted by stamp then neuron."""
        t = self.poisson
        sel = slice(None) if neurons is None else np.isin(t.neurons, neurons)
        s0 = max(1, k0 + 1)
        if k1 < s0:
            return InputSpikes(np.zeros(0, np.int64), np.zeros(0, np.int64))
        pn, pst = _poisson_window(t.neurons[sel], t.seeds[sel], t.p_spike[sel],
                                  t.first[sel], t.last[sel], s0, k1)
        return InputSpikes(pn, pst)

    def array_spikes(self) -> InputSpikes:
        """Every spike-array spike (all stamps): what a compiler checks ahead of a run."""
        return self._arrays

    def poisson_merged_fraction(self) -> dict[str, float]:
        """Per Poisson population: the expected fraction of its spikes that share a step
        with another of the same neuron, (lam - 1 + exp(-lam)) / lam at its largest rate."""
        out: dict[str, float] = {}
        for pop in self.network.populations:
            if pop.model == "SpikeSourcePoisson":
                lam = float(np.max(pop.params["rate"], initial=0.0)) * self.dt / 1000.0
                if lam > 0:
                    out[pop.name] = (lam + np.expm1(-lam)) / lam
        return out

    def multiple(self) -> dict[str, int]:
        """Per spike-array population: spikes that share a step with an earlier spike of
        the same neuron (what a target without input multiplicity would merge)."""
        a = self._arrays
        if len(a) < 2:
            return {}
        order = np.lexsort((a.stamp, a.neuron))
        n, s = a.neuron[order], a.stamp[order]
        dup = n[1:][(np.diff(n) == 0) & (np.diff(s) == 0)]
        out: dict[str, int] = {}
        for pop_name, lo in self.network.offsets().items():
            size = self.network.population(pop_name).size
            c = int(np.count_nonzero((dup >= lo) & (dup < lo + size)))
            if c:
                out[pop_name] = c
        return out
