"""What the truenorth target counts as work: `synaptic_events` are the IR synapses its
spikes reach (one per spike per IR synapse, parallel synapses each, fan-out copies not),
as on every target; `crossbar_events` are the crossbar bits the chip reads to deliver them
(copies included, parallel synapses merged into one bit), and the synaptic energy is
charged on those. Both are counted when a spike reaches its axon (stamp + delay - 1 <
steps): a spike whose delay reaches past the end of the run adds nothing. Checked against
counts computed from the Network's projections and the recorded spikes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.hw import Network, PoissonSource, Population, Projection, Recording

LIF = dict(cm=1.0, tau_m=20.0, tau_refrac=0.0, v_rest=-65.0, v_reset=-65.0,
           v_thresh=-50.0, i_offset=0.0)
SPEC = dict(cores_x=4, cores_y=4, neurons_per_core=64, placement="sequential")
STEPS = 30


@st.composite
def networks(draw) -> Network:
    """Poisson sources driving two LIF populations, recurrent and feed-forward projections
    with repeated (pre, post) pairs, mixed delays (copies on the chip) and inhibition;
    every population's spikes recorded."""
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    sizes = {"src": draw(st.integers(1, 6)), "a": draw(st.integers(1, 8)),
             "b": draw(st.integers(1, 8))}
    pops = [Population("src", sizes["src"], "SpikeSourcePoisson",
                       dict(rate=draw(st.floats(50.0, 400.0)), start=0.0, duration=1e9)),
            Population("a", sizes["a"], "IF_curr_delta", dict(LIF)),
            Population("b", sizes["b"], "IF_curr_delta", dict(LIF))]
    projs = []
    for i, (pre, post, rec) in enumerate([("src", "a", "excitatory"), ("src", "b", "excitatory"),
                                          ("a", "b", "excitatory"), ("a", "a", "excitatory"),
                                          ("b", "a", "inhibitory")]):
        m = draw(st.integers(0, 3 * sizes[post]))
        delay = rng.choice([0.3, 1.0, 2.0, 3.2, 7.0, 15.0], size=m)
        projs.append(Projection(f"p{i}", pre, post, rng.integers(0, sizes[pre], m),
                                rng.integers(0, sizes[post], m),
                                rng.uniform(4.0, 20.0, m), delay, receptor=rec))
    recs = [Recording(p.name, "spikes", np.arange(p.size)) for p in pops]
    return Network(pops, projs, [PoissonSource("src", seed=seed % 97)], recs,
                   timestep=1.0, seed=seed)


def arrivals(res: hw.Result, pr: Projection) -> np.ndarray:
    """Per IR synapse of `pr`: how many of its pre neuron's recorded spikes reach it
    within the run (stamp s, delay d ticks: the axon is read in tick s + d - 1)."""
    d = np.maximum(np.rint(pr.delay), 1).astype(np.int64)
    stamps = np.rint(res.spikes[pr.pre].times).astype(np.int64)
    ids = res.spikes[pr.pre].ids
    return np.array([np.sum((ids == p) & (stamps + dk - 1 < STEPS))
                     for p, dk in zip(pr.pre_idx, d)], np.int64)


def slots(image, net: Network) -> np.ndarray:
    """Neuron slots (the original and its fan-out copies) of each IR neuron."""
    held = np.concatenate([np.asarray(c.neurons) for c in image.cores])
    return np.bincount(held, minlength=net.size)


@settings(max_examples=25, deadline=None)
@given(net=networks())
def test_synaptic_events_are_ir_synapses_reached_crossbar_events_the_chip_reads(net):
    """synaptic_events = sum over IR synapses of the spikes reaching them; crossbar_events
    = the same over distinct (pre, post, delay) bits, times the post neuron's slots;
    energy_synop_pJ = crossbar_events x synop_energy_pj."""
    image = hw.compile(net, "truenorth", **SPEC)
    res = hw.run(image, float(STEPS))
    m = res.timing.metrics
    assert m["packets_late"] == 0          # no slipped packet: arrival = stamp + delay - 1
    off, n_slots = net.offsets(), slots(image, net)
    syn = xbar = 0
    for pr in net.projections:
        reach = arrivals(res, pr)
        syn += int(reach.sum())
        d = np.maximum(np.rint(pr.delay), 1).astype(np.int64)
        _, first = np.unique(np.stack([pr.pre_idx, pr.post_idx, d]), axis=1,
                             return_index=True)
        xbar += int((reach[first] * n_slots[off[pr.post] + pr.post_idx[first]]).sum())
    assert m["synaptic_events"] == syn
    assert m["crossbar_events"] == xbar
    assert m["energy_synop_pJ"] == xbar * image.target.synop_energy_pj
