"""Each target's timing convention, pinned: the per-layer latency of a synfire chain and
the first spike and refractory interval of a driven neuron are what docs/timing.md's
table says, target by target.

The chain: one volley of 20 input spikes drives 5 groups of 20 neurons, group to group
all-to-all with delay d steps and weights strong enough that every neuron of a group
crosses threshold in the first step it can (IF_curr_exp: 1 nA x 20 inputs, tau_syn 5 ms;
IF_curr_delta: 1 mV x 20 on a 10 mV gap), and a refractory period longer than the run,
so each group fires exactly once per volley. The sfq chain is one to one (a counting
neuron of a 1-pulse threshold per input): a synchronous all-to-all volley collides in
the merger trees ("pulse_collisions"), which docs/timing.md names.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from neurocosim import hw
from neurocosim.hw.errors import LimitError
from neurocosim.hw.ir import (Network, Population, Projection, Recording, SpikeArray,
                              SpikeTrains)

DOC = Path(__file__).resolve().parents[1] / "docs" / "timing.md"
OPTIONS = {"board": {"port": "virtual"}}
N, LAYERS, T_IN = 20, 5, 2

#: per-layer latency in steps as a function of the delay d in steps, and the stamp
#: offset of every layer's spikes (sfq reports a pulse at the end of its step);
#: docs/timing.md's "synfire" columns hold the same formulas
LATENCY = {
    ("reference", "IF_curr_exp"): "d + 1", ("reference", "IF_curr_delta"): "d",
    ("loihi", "IF_curr_exp"): "d + 1", ("loihi", "IF_curr_delta"): "d",
    ("truenorth", "IF_curr_exp"): "d + 1", ("truenorth", "IF_curr_delta"): "d",
    ("fpga", "IF_curr_exp"): "d + 1", ("board", "IF_curr_exp"): "d + 1",
    ("sfq", "IF_curr_delta"): "0",
}
REPORTED_LATE = {"sfq": 1}
#: delays (steps) tried per target: up to the largest each maps into IF_curr_exp
DELAYS = {"reference": (1, 2, 4), "loihi": (1, 3), "truenorth": (1, 3, 14),
          "fpga": (1, 3, 7), "board": (1,), "sfq": (1,)}


def per_layer(formula: str, d: int) -> int:
    """The table's formula ("d + 1", "d" or "0") at a delay of d steps."""
    m = re.fullmatch(r"(d)?\s*(?:\+\s*)?(\d+)?", formula.strip())
    assert m and (m.group(1) or m.group(2)), f"unreadable formula {formula!r}"
    return (d if m.group(1) else 0) + int(m.group(2) or 0)


def _lif(model: str, leak: bool) -> dict:
    p = dict(cm=1.0, tau_m=20.0 if leak else 1e9, tau_refrac=60.0 if leak else 0.0,
             v_rest=-65.0, v_reset=-65.0, v_thresh=-55.0 if leak else -64.0, i_offset=0.0)
    if model == "IF_curr_exp":
        p.update(tau_syn_E=5.0, tau_syn_I=5.0)
    return p


def synfire(model: str, d: float, dt: float = 1.0, one_to_one: bool = False,
            weight: float = 1.0) -> Network:
    """LAYERS groups of N neurons after one volley at T_IN steps, delays of d steps."""
    names = ["in"] + [f"g{i}" for i in range(LAYERS)]
    pops = [Population("in", N, "SpikeSourceArray")]
    pops += [Population(n, N, model, _lif(model, not one_to_one)) for n in names[1:]]
    if one_to_one:
        pre = post = np.arange(N)
    else:
        pre, post = np.repeat(np.arange(N), N), np.tile(np.arange(N), N)
    projs = [Projection(f"{a}_{b}", a, b, pre, post, np.full(pre.size, weight),
                        np.full(pre.size, d * dt)) for a, b in zip(names, names[1:])]
    volley = SpikeTrains.from_lists([np.array([T_IN * dt])] * N)
    return Network(pops, projs, [SpikeArray("in", volley)],
                   [Recording(n, "spikes", np.arange(N)) for n in names],
                   timestep=dt, seed=1)


def layer_stamps(target: str, net: Network, steps: int) -> list[np.ndarray]:
    """Each group's spike stamps (in steps) after `steps` steps on `target`."""
    image = hw.compile(net, target)
    runner = hw.runner_for(image)(image, **OPTIONS.get(target, {}))
    runner.run(steps * net.timestep)
    res = runner.result()
    return [np.rint(res.spikes[f"g{i}"].times / net.timestep).astype(int)
            for i in range(LAYERS)]


CASES = [(t, m, d) for (t, m) in LATENCY for d in DELAYS[t]]


@pytest.mark.parametrize("target,model,d", CASES, ids=[f"{t}-{m}-d{d}" for t, m, d in CASES])
def test_synfire_per_layer_latency_is_the_tables(target, model, d):
    lat = per_layer(LATENCY[target, model], d)
    net = synfire(model, d, one_to_one=target == "sfq")
    stamps = layer_stamps(target, net, T_IN + LAYERS * (d + 1) + 3)
    for i, s in enumerate(stamps):
        want = T_IN + (i + 1) * lat + REPORTED_LATE.get(target, 0)
        assert s.size == N and np.all(s == want), (target, model, d, i, s, want)


def test_reference_latency_counts_steps_at_any_timestep():
    """At 0.1 ms a 1 ms delay is 10 steps: IF_curr_exp layers 11 steps (1.1 ms) apart,
    IF_curr_delta 10 (weights strong enough to cross in one 0.1 ms step)."""
    for model, weight in (("IF_curr_exp", 20.0), ("IF_curr_delta", 1.0)):
        lat = per_layer(LATENCY["reference", model], 10)
        stamps = layer_stamps("reference", synfire(model, 10, 0.1, weight=weight), 80)
        for i, s in enumerate(stamps):
            assert s.size == N and np.all(s == T_IN + (i + 1) * lat), (model, i, s)


@pytest.mark.parametrize("target", ["reference", "loihi", "truenorth"])
def test_half_step_delays_round_up_on_the_targets_that_follow_the_reference(target):
    """2.5 ms at 1 ms steps is 3 steps (halves up, NEST's rule) on each; the table's
    delay rounding column (fpga rounds to even: docs/timing.md names it)."""
    for model in ("IF_curr_exp", "IF_curr_delta"):
        lat = per_layer(LATENCY[target, model], 3)
        stamps = layer_stamps(target, synfire(model, 2.5), T_IN + LAYERS * 4 + 3)
        for i, s in enumerate(stamps):
            assert s.size == N and np.all(s == T_IN + (i + 1) * lat), (target, model, i, s)


def test_truenorth_extra_tick_into_if_curr_exp_is_named_at_the_delay_limit():
    """15 ticks fit IF_curr_delta; into IF_curr_exp they need 16 (the extra tick)."""
    hw.compile(synfire("IF_curr_delta", 15), "truenorth")
    with pytest.raises(LimitError, match=r"needs 16.*\+1 tick into IF_curr_exp"):
        hw.compile(synfire("IF_curr_exp", 15), "truenorth")


#: (target, model): stamp of the first spike under a strong i_offset, and the interval
#: between spikes at tau_refrac = 2 ms (docs/timing.md's "i_offset" and "refractory")
DRIVEN = {"reference": (1, 3), "loihi": (1, 3), "truenorth": (1, 1), "fpga": (1, 3),
          "board": (1, 3)}


@pytest.mark.parametrize("target", sorted(DRIVEN))
def test_i_offset_acts_from_step_0_and_refractory_interval(target):
    p = dict(_lif("IF_curr_exp", True), tau_refrac=2.0, i_offset=30.0)
    net = Network([Population("n", 1, "IF_curr_exp", p)], [], [],
                  [Recording("n", "spikes", np.arange(1))], timestep=1.0, seed=1)
    image = hw.compile(net, target)
    runner = hw.runner_for(image)(image, **OPTIONS.get(target, {}))
    runner.run(10.0)
    stamps = np.rint(runner.result().spikes["n"].times).astype(int)
    first, isi = DRIVEN[target]
    assert stamps[0] == first and np.all(np.diff(stamps) == isi), (target, stamps)


def _doc_table() -> dict[str, dict[str, str]]:
    """docs/timing.md's conventions table (its first table): target -> column -> cell."""
    lines = DOC.read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| "))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")),
               len(lines))
    rows = [ln for ln in lines[start:end] if ln.startswith("| ")]
    split = (lambda ln: [c.strip().strip("`") for c in ln.strip().strip("|").split("|")])
    header = split(rows[0])
    return {split(r)[0]: dict(zip(header, split(r))) for r in rows[1:]}


def test_the_doc_table_states_the_pinned_latencies():
    table = _doc_table()
    for (target, model), formula in LATENCY.items():
        cell = table[target][f"synfire {model}"]
        assert re.match(re.escape(formula) + r"(\s\(|$)", cell), (target, model, cell)
