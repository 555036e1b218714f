"""XOR on the SFQ target: a two-layer rate-coded network of stochastic synapses and counting
neurons, and the margin curve over a global synapse bias current (after Krylov et al. 2023).

    python examples/sfq_xor.py [--out sfq_xor_margin.png]

Network (r = input rate, w = synapse weight = pass probability; neurons count up on
excitatory and down on inhibitory pulses, fire and reset at threshold N):
  h[0] "or":  N = 4, excited by x0 and x1: fires at (x0 + x1) * w * r / 4;
  h[1] "and": N = 1, excited by x0 and x1, leak 1.25 * w * r on its inhibitory input:
              fires at about relu(x0 + x1 - 1.25) * w * r, only when both inputs are high;
  out:        N = 1, excited by "or", inhibited by "and": w * r / 4 * w for one high input,
              nothing for two (the "and" inhibition outweighs the doubled "or").
x1's pulses run half a period after x0's so that they never collide in a merger; the
network's timestep is that half period, so that every input spike has a step of its own.
The margin is (lowest class-1 output rate - highest class-0 output rate) / input rate, and a
global current added to every synapse bias moves all pass probabilities together.
"""

from __future__ import annotations

import argparse

import numpy as np

from neurocosim.hw import compiler
from neurocosim.hw.ir import Network, Population, Projection, Recording, SpikeArray, SpikeTrains

CASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def _neurons(name: str, thresholds, leaks=0.0) -> Population:
    n = len(thresholds)
    return Population(name, n, "IF_curr_delta", params={
        "cm": 1.0, "tau_m": 1e9, "tau_refrac": 0.0, "v_rest": 0.0, "v_reset": 0.0,
        "v_thresh": np.asarray(thresholds, dtype=float), "i_offset": -np.asarray(
            np.broadcast_to(leaks, n), dtype=float)})


def xor_network(x0: int, x1: int, *, rate: float = 40.0, windows: int = 10,
                weight: float = 0.9, leak: float = 1.25, thresholds=(4.0, 1.0, 1.0),
                seed: int = 1) -> Network:
    """The XOR network driven by inputs (x0, x1) for `windows` ms."""
    period = 1.0 / rate
    train = np.arange(windows * rate) * period + period / 2
    # x1 runs half a period after x0, so that their pulses never meet inside a merger
    trains = [train + k * period / 2 if x else np.zeros(0) for k, x in enumerate((x0, x1))]
    pops = [Population("x", 2, "SpikeSourceArray"),
            _neurons("h", thresholds[:2], [0.0, leak * weight * rate]),
            _neurons("out", thresholds[2:])]
    d = 1.0
    projs = [
        Projection("x_h", "x", "h", [0, 1, 0, 1], [0, 0, 1, 1], [weight] * 4, [d] * 4),
        Projection("or_out", "h", "out", [0], [0], [weight], [d]),
        Projection("and_out", "h", "out", [1], [0], [weight], [d],
                   receptor="inhibitory"),
    ]
    return Network(populations=pops, projections=projs,
                   stimuli=[SpikeArray("x", SpikeTrains.from_lists(trains))],
                   recordings=[Recording("out", "spikes", np.arange(1))],
                   timestep=period / 2, seed=seed)


def output_rates(global_bias_uA: float = 0.0, *, windows: int = 10, seed: int = 1,
                 **kw) -> np.ndarray:
    """Mean output pulses per window for the four cases, at one global bias current."""
    out = []
    for x0, x1 in CASES:
        image = compiler.compile(xor_network(x0, x1, windows=windows, seed=seed, **kw), "sfq")
        res = compiler.run(image, float(windows), global_bias_uA=global_bias_uA)
        out.append(len(res.spikes["out"]) / windows)
    return np.array(out)


def margin(rates: np.ndarray, rate: float = 40.0) -> float:
    """(lowest class-1 rate - highest class-0 rate) / input rate; > 0 means all correct."""
    return float((min(rates[1], rates[2]) - max(rates[0], rates[3])) / rate)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="sfq_xor_margin.png")
    ap.add_argument("--windows", type=int, default=10)
    args = ap.parse_args(argv)
    rates = output_rates(0.0, windows=args.windows)
    for (x0, x1), r in zip(CASES, rates):
        print(f"x = ({x0}, {x1}): output {r:6.2f} pulses/window -> {int(r > 0.5 * rates.max())}")
    print(f"margin at nominal bias: {margin(rates):.3f}")
    biases = np.arange(-24.0, 24.1, 2.0)
    curve = np.array([output_rates(g, windows=args.windows) for g in biases])
    margins = np.array([margin(r) for r in curve])
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(6, 6), sharex=True)
    for k, (x0, x1) in enumerate(CASES):
        ax0.plot(biases, curve[:, k], marker="o", ms=3, label=f"({x0},{x1})")
    ax0.set_ylabel("output pulses / window")
    ax0.legend(title="input")
    ax1.plot(biases, margins, marker="o", color="k")
    ax1.axhline(0.0, color="r", lw=0.8)
    ax1.set_xlabel("global synapse bias current (uA)")
    ax1.set_ylabel("margin (of input rate)")
    fig.suptitle("SFQ XOR: margin tuned by an external bias current")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    best = int(np.argmax(margins))
    lo = hi = best
    while lo > 0 and margins[lo - 1] > 0:
        lo -= 1
    while hi < len(biases) - 1 and margins[hi + 1] > 0:
        hi += 1
    if margins[best] > 0:
        print(f"all four inputs correct for a global bias from {biases[lo]:.0f} to "
              f"{biases[hi]:.0f} uA (best margin {margins[best]:.3f} at {biases[best]:.0f} uA)")
    else:
        print("no global bias classifies all four inputs")
    print(f"plot: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
