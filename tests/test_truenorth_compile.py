"""TrueNorth compiler on generated networks: the image holds exactly the IR's synapses,
weights within half an lsb, one axon per (source, destination core, delay), routes that
match the placement, and every per-core limit respected."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.hw import Network, Population, Projection, SpikeArray, SpikeTrains
from neurocosim.hw.errors import LimitError

LIF = dict(cm=1.0, tau_m=20.0, tau_refrac=0.0, v_rest=-65.0, v_reset=-65.0,
           v_thresh=-50.0, i_offset=0.0)
LIMITS = dict(neurons_per_core=12, axons_per_core=24, cores_x=8, cores_y=8)


@st.composite
def networks(draw):
    sizes = [draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 3)))]
    n_src = draw(st.integers(1, 4))
    pops = [Population("src", n_src, "SpikeSourceArray", {})]
    pops += [Population(f"p{k}", s, "IF_curr_delta", dict(LIF)) for k, s in enumerate(sizes)]
    projs = []
    for pre in pops:
        for post in pops[1:]:
            if not draw(st.booleans()):
                continue
            m = draw(st.integers(1, 8))
            # distinct (pre, post, delay): no merged synapses, so <= 4 weights per core
            syn = sorted({(draw(st.integers(0, pre.size - 1)),
                           draw(st.integers(0, post.size - 1)),
                           float(draw(st.integers(1, 15)))) for _ in range(m)})
            projs.append(Projection(
                f"{pre.name}_{post.name}", pre.name, post.name,
                [a for a, _, _ in syn], [b for _, b, _ in syn],
                float(draw(st.sampled_from([0.5, 1.0, 2.5, 4.0]))),       # one per projection
                [d for _, _, d in syn],
                receptor=draw(st.sampled_from(["excitatory", "inhibitory"]))))
    trains = SpikeTrains.from_lists([[1.0]] * n_src)
    return Network(pops, projs, [SpikeArray("src", trains)], [], timestep=1.0)


@settings(max_examples=40, deadline=None)
@given(networks())
def test_image_holds_exactly_the_ir(net):
    try:
        img = hw.compile(net, "truenorth", **LIMITS)
    except LimitError as exc:       # a generated neuron may really need too many slots/axons
        assert exc.limit in ("neurons per core", "axons per core")
        assume(False)
    spec = img.target
    off = net.offsets()
    # the IR's synapses, merged per (pre, post, delay), with their signed mV jumps
    want: dict[tuple[int, int, int], float] = {}
    for pr in net.projections:
        sign = -1.0 if pr.receptor == "inhibitory" else 1.0
        for i, j, w, d in zip(pr.pre_idx, pr.post_idx, pr.weight, pr.delay):
            key = (off[pr.pre] + int(i), off[pr.post] + int(j), int(round(d)))
            want[key] = want.get(key, 0.0) + sign * float(w)
    lsb = img.data["lsb_mV"]
    got: dict[tuple[int, int, int], float] = {}
    core_of = {}
    for core in img.cores:
        x = core.memories["crossbar"]
        assert x.shape[0] == spec.axons_per_core and x.shape[1] <= spec.neurons_per_core
        assert len(core.neurons) <= spec.neurons_per_core
        src, dly = core.memories["axon_source"], core.memories["axon_delay"]
        used = np.flatnonzero(src >= 0)
        pairs = list(zip(src[used].tolist(), dly[used].tolist()))
        assert len(set(pairs)) == len(pairs)            # one axon per (source, delay)
        for slot, nid in enumerate(core.neurons):
            core_of[int(nid)] = core.index
            orig = core.params["copy_of"][slot]
            if orig >= 0:                                # a copy: same column, same weights
                assert core.neurons[orig] == nid
                np.testing.assert_array_equal(x[:, slot], x[:, orig])
                np.testing.assert_array_equal(core.params["weights"][slot],
                                              core.params["weights"][orig])
                continue
            for a in np.flatnonzero(x[:, slot]):
                g = core.memories["axon_type"][a]
                got[(int(src[a]), int(nid), int(dly[a]))] = \
                    core.params["weights"][slot][g] * lsb[nid]
    assert set(got) == set(want)
    for k, w in want.items():
        assert abs(got[k] - w) <= lsb[k[1]] / 2 + 1e-9, (k, got[k], w)
    # routes: each neuron's slots reach exactly the (core, delay) axons its synapses need
    xy = img.placement
    for core in img.cores:
        src_axon = {}
        for c2 in img.cores:
            s2, d2 = c2.memories["axon_source"], c2.memories["axon_delay"]
            for a in np.flatnonzero(s2 >= 0):
                src_axon[(int(s2[a]), c2.index, int(d2[a]))] = int(a)
        for slot, nid in enumerate(core.neurons):
            dc = core.params["dest_core"][slot]
            if dc < 0:
                continue
            d = int(core.params["delay"][slot])
            assert src_axon[(int(nid), int(dc), d)] == core.params["dest_axon"][slot]
            assert core.params["dx"][slot] == xy[dc][0] - xy[core.index][0]
            assert core.params["dy"][slot] == xy[dc][1] - xy[core.index][1]
    for nid in core_of:
        targets = {(core_of[j], d) for (i, j, d) in want if i == nid}
        slots = [(c.params["dest_core"][s], c.params["delay"][s]) for c in img.cores
                 for s in range(len(c.neurons)) if c.neurons[s] == nid]
        assert sorted(map(tuple, np.array(slots, np.int64).tolist())) == sorted(
            targets) or (not targets and [tuple(t) for t in slots] == [(-1, 0)])
    assert img.data["mapping"]["fanout_copies"] == sum(
        int((c.params["copy_of"] >= 0).sum()) for c in img.cores)
