"""The Potjans & Diesmann (2014) cortical microcircuit in PyNN: eight populations of
current-based LIF cells (layers 2/3, 4, 5, 6; excitatory and inhibitory), 77,169 neurons
and about 0.3e9 synapses at full scale, with Poisson (or DC) background input, dt 0.1 ms.

    python examples/microcircuit.py nest --scale 0.1 --duration 1000
    python examples/microcircuit.py neurocosim --scale 0.1
    neurocosim run examples/microcircuit.py --target reference -- --scale 0.1 --duration 500

(`neurocosim run` has a `--duration` of its own, for NIR models: give the script's options
after `--`.) Prints one line per population, its rate in Hz after the first TRANSIENT_MS
(discarded: the start from random membrane potentials synchronises the network for a few
tens of ms), then the build and run times. Written from the paper's tables:

- connectivity: the published connection probabilities C define the published total
  number of synapses K = ln(1 - C) / ln(1 - 1 / (N_pre N_post)) (multapses allowed). PyNN
  0.13's FixedTotalNumberConnector draws those one synapse per Python call (hours, and
  Python lists of ~1e9 objects, at full scale, on pyNN.nest as on neurocosim), so this
  script uses FixedProbabilityConnector with p = K / (N_pre N_post): the same expected
  number of synapses per pair of populations, without multapses. p does not depend on
  --scale (neurons and in-degrees scale alike);
- --scale < 1: populations and in-degrees (K_ext included) scale by `scale`; weights grow
  by 1/sqrt(scale), which keeps the variance of each neuron's input, and a DC current per
  population adds the mean input lost, computed from the published full-scale rates (the
  compensation of NEST's microcircuit example);
- weights: normal, mean w = 87.8 pA (175.6 pA from L4E to L23E), g = -4 for inhibitory
  sources, sd 10 % of the mean, clipped at 0; delays normal 1.5 +- 0.75 ms (excitatory),
  0.75 +- 0.375 ms (inhibitory), clipped below at dt and rounded to the nearest whole
  0.1 ms step, halves up (NEST rounds every delay so; drawn already rounded, the network
  is the same on every simulator and neurocosim's mapping report has no delay_rounded
  lines);
- background: a Poisson source per neuron at 8 Hz x K_ext (weight w), or with
  --background dc the equal mean current 8 Hz x K_ext x w x tau_syn;
- initial membrane potentials normal, -58 +- 10 mV.
"""

from __future__ import annotations

import argparse
import importlib
import time

import numpy as np

POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
SIZES = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
#: connection probability, row = target population, column = source population
CONN_PROB = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443],
])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
#: published full-scale rates (Hz, Poisson background): the DC compensation's input
FULL_RATES = np.array([0.9, 2.8, 4.4, 5.7, 7.6, 8.7, 1.1, 7.8])
W_EXC = 0.0878                 # nA (87.8 pA)
G = -4.0                       # inhibitory weight = G * W_EXC
W_SD = 0.1                     # relative sd of the weights
DELAY = {"E": (1.5, 0.75), "I": (0.75, 0.375)}     # ms: mean, sd
BG_RATE = 8.0                  # Hz per external input
DT = 0.1                       # ms
TRANSIENT_MS = 100.0
CELL = dict(cm=0.25, tau_m=10.0, tau_syn_E=0.5, tau_syn_I=0.5, tau_refrac=2.0,
            v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0)
V0 = (-58.0, 10.0)             # mV: mean, sd of the initial membrane potential


def parse_args(argv: "list[str] | None" = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("simulator", nargs="?", default="neurocosim",
                    help="PyNN backend: neurocosim (default) or nest")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="fraction of the neurons and of the in-degrees (default 1)")
    ap.add_argument("--duration", type=float, default=1000.0,
                    help=f"ms simulated, the first {TRANSIENT_MS:g} ms included")
    ap.add_argument("--seed", type=int, default=2014)
    ap.add_argument("--background", choices=("poisson", "dc"), default="poisson")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads, given to setup() as `threads` (NEST's option); by "
                         "default the simulator's own choice")
    args = ap.parse_args(argv)
    if not 0 < args.scale <= 1:
        raise SystemExit(f"--scale {args.scale} must be in (0, 1]")
    if args.duration <= TRANSIENT_MS:
        raise SystemExit(f"--duration {args.duration} ms must exceed the discarded "
                         f"transient of {TRANSIENT_MS:g} ms")
    return args


def synapse_probability() -> np.ndarray:
    """p = K / (N_pre N_post) with K the published total number of synapses."""
    pairs = np.outer(SIZES, SIZES).astype(float)
    total = np.log1p(-CONN_PROB) / np.log1p(-1.0 / pairs)
    return total / pairs


def mean_weights() -> np.ndarray:
    """Mean weight (nA) of each target x source pair, before scaling."""
    w = np.where([p.endswith("E") for p in POPULATIONS], W_EXC, G * W_EXC)
    out = np.tile(w, (len(POPULATIONS), 1))
    out[0, 2] *= 2.0                                   # L4E -> L23E doubled
    return out


def dc_inputs(scale: float, background: str) -> np.ndarray:
    """DC (nA) per population: the DC background, if chosen, plus the mean input that
    scaled in-degrees lose (1 - sqrt(scale) of the full-scale mean; weights grow by
    1/sqrt(scale))."""
    tau_s = CELL["tau_syn_E"] * 1e-3                   # s: charge of a PSC = w tau_s
    indegree = synapse_probability() * SIZES[None, :]  # full-scale in-degrees
    recurrent = (mean_weights() * indegree * FULL_RATES[None, :]).sum(axis=1)
    external = W_EXC * K_EXT * BG_RATE
    dc = (1.0 - np.sqrt(scale)) * tau_s * (recurrent + external)
    if background == "dc":
        dc += np.sqrt(scale) * tau_s * external        # the background at scaled K_ext
    return dc


def rng_for(sim, seed: int, *key: int):
    """An RNG of its own for each random quantity: PyNN copies an RNG with the lazy array
    it draws from, so one RNG shared by several projections gives each the same stream."""
    return sim.NumpyRNG(seed=int(np.random.SeedSequence([seed, *key]).generate_state(1)[0]))


def step_delays(sim, mean: float, sd: float, rng):
    """Normal delays (ms) clipped below at DT, each rounded to the nearest whole step as
    NEST's `Time::delay_ms_to_steps` does (halves up): a RandomDistribution of `sim`
    whose draws come out rounded."""

    class StepDelay(sim.RandomDistribution):
        """normal_clipped(mean, sd, DT, inf) rounded to multiples of DT."""

        def next(self, n=None, mask=None):
            d = np.array(super().next(n, mask), dtype=np.float64)   # in place below: a
            np.divide(d, DT, out=d)                # projection's delays at full scale
            np.floor(np.add(d, 0.5, out=d), out=d)  # are 0.4 GB, temporaries as much
            return np.multiply(np.maximum(d, 1.0, out=d), DT, out=d)

    return StepDelay("normal_clipped", mu=mean, sigma=sd, low=DT, high=np.inf, rng=rng)


def build(sim, args: argparse.Namespace) -> list:
    """The populations (recording spikes) and their projections."""
    k_scale = args.scale
    w_factor = 1.0 / np.sqrt(k_scale)
    dc = dc_inputs(args.scale, args.background)
    pops = []
    for i, name in enumerate(POPULATIONS):
        n = max(1, int(round(SIZES[i] * args.scale)))
        pop = sim.Population(n, sim.IF_curr_exp(i_offset=float(dc[i]), **CELL), label=name)
        pop.initialize(v=sim.RandomDistribution("normal", V0, rng=rng_for(sim, args.seed, i)))
        pop.record("spikes")
        pops.append(pop)
    if args.background == "poisson":
        for i, pop in enumerate(pops):
            rate = BG_RATE * K_EXT[i] * k_scale
            source = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=rate),
                                    label=f"{pop.label}_bg")
            sim.Projection(source, pop, sim.OneToOneConnector(),
                           sim.StaticSynapse(weight=W_EXC * w_factor, delay=DELAY["E"][0]),
                           receptor_type="excitatory", label=f"bg->{pop.label}")
    p, w = synapse_probability(), mean_weights() * w_factor
    for t, post in enumerate(pops):
        for s, pre in enumerate(pops):
            if p[t, s] > 0:
                rngs = [rng_for(sim, args.seed, t, s, k) for k in range(3)]
                connect(sim, rngs, pre, post, p[t, s], w[t, s])
    return pops


def nest_native_rng(sim, seed: int):
    """For pyNN.nest only: a NativeRNG that hands `normal_clipped` to NEST's own RNGs, as
    nest.math.redraw(nest.random.normal(mu, sigma), low, high) (PyNN's normal_clipped
    redraws too: the same distribution). With it pyNN.nest connects a projection by NEST's
    `pairwise_bernoulli` rule in C++ on NEST's threads; with NumpyRNGs (PyNN 0.13's
    NativeRNG knows no clipped distribution) it builds through PyNN's generic Python
    connector, which at full scale had not finished after 51 minutes."""
    import nest
    from pyNN.nest.random import NESTRandomDistribution

    class ClippedNormal(NESTRandomDistribution):
        """normal(mu, sigma) redrawn outside [low, high], drawn inside NEST."""

        def as_nest_object(self):
            p = self.parameters
            return nest.math.redraw(nest.random.normal(mean=p["mu"], std=p["sigma"]),
                                    min=p["low"], max=p["high"])

        def __mul__(self, value: float) -> "ClippedNormal":   # PyNN's nA -> pA
            if value <= 0:
                raise ValueError(f"scale factor {value} of a clipped normal must be > 0")
            return ClippedNormal(self.name, {k: v * value for k, v in self.parameters.items()})

    class NativeClippedRNG(sim.NativeRNG):
        """NEST's NativeRNG plus normal_clipped."""

        def next(self, n=None, distribution=None, parameters=None, mask=None):
            if distribution == "normal_clipped":
                return ClippedNormal(distribution, dict(parameters))
            return super().next(n, distribution, parameters, mask)

    return NativeClippedRNG(seed=seed)


def connect(sim, rngs: list, pre, post, p: float, w: float) -> None:
    """One projection: Bernoulli(p) pairs, normal weights clipped at zero (sign kept),
    normal delays clipped below at dt and rounded to whole steps; `rngs`: for the pairs,
    the weights, the delays. On pyNN.nest the weights and delays (so the pairs too: a
    native connection rule) are drawn by NEST, which rounds the delays to whole steps
    as the script's StepDelay does (halves up)."""
    kind = pre.label[-1]
    mean, sd = DELAY[kind]
    if sim.__name__ == "pyNN.nest":
        rngs = [rngs[0]] + [nest_native_rng(sim, 0)] * 2
        delay = sim.RandomDistribution("normal_clipped", mu=mean, sigma=sd, low=DT,
                                       high=np.inf, rng=rngs[2])
    else:
        delay = step_delays(sim, mean, sd, rngs[2])
    bounds = (0.0, np.inf) if w > 0 else (-np.inf, 0.0)
    weight = sim.RandomDistribution("normal_clipped", mu=w, sigma=abs(w) * W_SD,
                                    low=bounds[0], high=bounds[1], rng=rngs[1])
    sim.Projection(pre, post, sim.FixedProbabilityConnector(p, rng=rngs[0]),
                   sim.StaticSynapse(weight=weight, delay=delay),
                   receptor_type="excitatory" if kind == "E" else "inhibitory",
                   label=f"{pre.label}->{post.label}")


def main(argv: "list[str] | None" = None) -> None:
    args = parse_args(argv)
    sim = importlib.import_module(f"pyNN.{args.simulator}")
    t0 = time.perf_counter()
    threads = {} if args.threads is None else {"threads": args.threads}
    sim.setup(timestep=DT, min_delay=DT, rng_seed=args.seed, **threads)
    pops = build(sim, args)
    t1 = time.perf_counter()
    sim.run(TRANSIENT_MS)
    before = [sum(p.get_spike_counts().values()) for p in pops]
    sim.run(args.duration - TRANSIENT_MS)
    t2 = time.perf_counter()
    seconds = (args.duration - TRANSIENT_MS) / 1000.0
    for pop, n0 in zip(pops, before):
        spikes = sum(pop.get_spike_counts().values()) - n0
        print(f"{pop.label} {spikes / (pop.size * seconds):.2f} Hz")
    print(f"build {t1 - t0:.2f} s")
    print(f"run {t2 - t1:.2f} s")
    sim.end()


if __name__ == "__main__":
    main()
