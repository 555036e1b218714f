"""The fpga target on the target contract (issue 13): the one stimulus, also past the
image's stimulus horizon; only recorded populations; the timing report from the cycle
model (latency, energy) in the hw.metrics vocabulary, checked by hand; cycle costs as spec
fields that the emulator follows and the RTL generator refuses; reset without a compile."""

from __future__ import annotations

import numpy as np
import pytest

from neurocosim import hw
from neurocosim.emulator.fpga import Engine
from neurocosim.hw import metrics
from neurocosim.hw.errors import TargetError
from neurocosim.hw.ir import (Network, Plasticity, PoissonSource, Population, Projection,
                              Recording, SpikeArray, SpikeTrains)
from neurocosim.hw.stimulus import Stimulus

LIF = dict(cm=1.0, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0, v_rest=-65.0,
           v_reset=-65.0, v_thresh=-55.0, i_offset=0.0)


def poisson_net(record=("poi", "cells"), seed: int = 3) -> Network:
    """Five Poisson sources driving three cells hard (each cell fires on most inputs)."""
    src = Population("poi", 5, "SpikeSourcePoisson", dict(rate=100.0, start=0.0,
                                                          duration=1e9))
    cells = Population("cells", 3, "IF_curr_exp", LIF)
    i, j = (a.ravel() for a in np.meshgrid(np.arange(5), np.arange(3), indexing="ij"))
    pr = Projection("in", "poi", "cells", i, j, np.full(15, 2.0), np.full(15, 1.0))
    sizes = {"poi": 5, "cells": 3}
    return Network([src, cells], [pr], [PoissonSource("poi", seed=5)],
                   [Recording(p, "spikes", np.arange(sizes[p])) for p in record],
                   timestep=1.0, seed=seed)


def pairs(spikes) -> list:
    return sorted(zip(spikes.ids.tolist(), spikes.times.tolist()))


def test_poisson_input_continues_past_the_stimulus_horizon():
    """The emulator feeds every window from hw.stimulus: after stimulus_horizon_ms the
    sources keep firing (as hw.stimulus says) and the cells keep answering."""
    net = poisson_net()
    res = hw.run(hw.compile(net, "fpga", stimulus_horizon_ms=50.0), 150.0)
    want = Stimulus(net, 1.0).window(0, 150).merged().population(0, 5, 1.0)
    assert pairs(res.spikes["poi"]) == pairs(want)
    assert np.count_nonzero(want.times > 60.0) > 30
    assert np.count_nonzero(res.spikes["cells"].times > 60.0) > 30


def test_poisson_spikes_equal_the_reference_targets():
    net = poisson_net()
    ref = hw.run(hw.compile(net, "reference"), 120.0)
    fpga = hw.run(hw.compile(net, "fpga"), 120.0)
    assert len(ref.spikes["poi"]) > 40
    # the reference delivers a Poisson neuron's 2+ spikes in one step; fpga merges them
    assert pairs(fpga.spikes["poi"]) == sorted(set(pairs(ref.spikes["poi"])))


@pytest.mark.parametrize("record", [("cells",), ("poi",)])
def test_unrecorded_population_is_absent(record):
    res = hw.run(hw.compile(poisson_net(record), "fpga"), 50.0)
    assert set(res.spikes) == set(record)
    assert res.info["steps"] == 50


def tiny_net() -> Network:
    """One source spike at 5 ms into one quiet cell (a weight far under threshold)."""
    src = Population("s", 1, "SpikeSourceArray")
    cell = Population("p", 1, "IF_curr_exp", LIF)
    pr = Projection("sp", "s", "p", [0], [0], [0.1], [1.0])
    return Network([src, cell], [pr], [SpikeArray("s", SpikeTrains.from_lists([[5.0]]))],
                   [Recording("p", "spikes", np.arange(1))], timestep=1.0)


def test_cycles_latency_and_energy_by_hand():
    """Per step: list end 1 + one neuron 1 + one core routed 1 + stimulus end 1 + fixed 3
    = 7 cycles; step 4 sends the stimulus spike (+1), step 5 delivers it (+2 event +1
    synapse). Its latency: step 4's 8 cycles + its 3 event cycles = 11 cycles at 12 MHz.
    Energy: 1 synaptic event, 10 neuron updates, 74 cycles of one core."""
    res = hw.run(hw.compile(tiny_net(), "fpga"), 10.0)
    t = res.timing
    assert t.arrays["cycles_per_step"].tolist() == [7, 7, 7, 7, 8, 10, 7, 7, 7, 7]
    m = t.metrics
    ns = 1e9 / 12e6
    assert m["latency_mean_ns"] == pytest.approx(11 * ns)
    assert m["latency_max_ns"] == m["latency_min_ns"] == m["latency_mean_ns"]
    assert m["synaptic_events"] == 1 and m["cycles_total"] == 74
    assert m["energy_synop_pJ"] == 180.0 and m["energy_neuron_pJ"] == 10 * 120.0
    assert m["energy_total_pJ"] == pytest.approx(180.0 + 1200.0 + 74 * 40.0)
    assert m["chip_time_ns"] == pytest.approx(74 * ns)
    assert m["step_max_ns"] == pytest.approx(10 * ns)
    assert m["realtime_load_max"] == pytest.approx(10 * ns / 1e6)
    for name in list(m) + list(t.arrays):
        metrics.unit(name)   # all in the vocabulary


def test_cycle_costs_are_spec_fields_the_emulator_follows():
    """cycles_synapse 1 -> 7 and cycles_stimulus 2 -> 5: step 4 costs 4 more, step 5 6
    more, the latency 10 more; the python oracle agrees."""
    image = hw.compile(tiny_net(), "fpga", cycles_synapse=7, cycles_stimulus=5)
    for engine in ("numba", "python"):
        eng = Engine(image, engine=engine)
        eng.run(10.0)
        t = eng.result().timing
        assert t.arrays["cycles_per_step"].tolist() == [7, 7, 7, 7, 12, 16, 7, 7, 7, 7]
        assert t.metrics["latency_max_ns"] == pytest.approx(21 * 1e9 / 12e6)
    with pytest.raises(TargetError, match="cycles_neuron=-1 must be an integer >= 0"):
        hw.compile(tiny_net(), "fpga", cycles_neuron=-1)


def three_row_net() -> Network:
    """Three source spikes at 5 ms into two quiet cells: rows of 2, 1 and 1 synapses."""
    src = Population("s", 3, "SpikeSourceArray")
    cell = Population("p", 2, "IF_curr_exp", LIF)
    pr = Projection("sp", "s", "p", [0, 0, 1, 2], [0, 1, 0, 1], [0.1] * 4, [1.0] * 4)
    return Network([src, cell], [pr],
                   [SpikeArray("s", SpikeTrains.from_lists([[5.0]] * 3))],
                   [Recording("p", "spikes", np.arange(2))], timestep=1.0)


@pytest.mark.parametrize("overlap,step5,latencies", [
    (2, 15, (15, 16, 18)),     # headers 2, then 0 (after a row of 2), then 1 (after 1)
    (1, 16, (15, 17, 19)),     # headers 2, 1, 1
    (0, 18, (15, 18, 21))])    # every header 2 cycles
def test_list_headers_overlap_the_row_before_by_hand(overlap, step5, latencies):
    """Per step 8 cycles (list end 1, two neurons, one core routed, stimulus end 1, fixed
    3); step 4 sends three stimulus spikes (+3); step 5 walks rows of 2, 1 and 1
    synapses: 4 synapse cycles and the headers, of which up to cycles_header_overlap run
    during the row before, one per synapse of it. Latencies: step 4's 11 cycles + each
    event's cumulative event-phase cycles. The python oracle agrees."""
    image = hw.compile(three_row_net(), "fpga", cycles_header_overlap=overlap)
    ns = 1e9 / 12e6
    for engine in ("numba", "python"):
        eng = Engine(image, engine=engine)
        eng.run(10.0)
        t = eng.result().timing
        assert t.arrays["cycles_per_step"].tolist() == [8, 8, 8, 8, 11, step5, 8, 8, 8, 8]
        assert t.metrics["latency_min_ns"] == pytest.approx(latencies[0] * ns)
        assert t.metrics["latency_mean_ns"] == pytest.approx(sum(latencies) / 3 * ns)
        assert t.metrics["latency_max_ns"] == pytest.approx(latencies[2] * ns)
    spec = image.target
    assert spec.core_cycles([2, 1, 1], 2) == step5 - 5


@pytest.mark.parametrize("beside,quiet", [(1, 12), (0, 14), (2, 10)])
def test_pre_traces_run_beside_the_neuron_walk_by_hand(beside, quiet):
    """Five axons (three sources, two cells), two plastic cells on one core. A step with
    no spike: list end 1, two neurons, the traces the neuron walk left (5 - 2 beside: 3;
    none beside: 5; 2 beside each: 1), the potentiation list's end 1, one core routed 1,
    stimulus end 1, fixed 3. The python oracle agrees."""
    src = Population("s", 3, "SpikeSourceArray")
    cell = Population("p", 2, "IF_curr_exp", LIF)
    stdp = Plasticity("stdp_additive", dict(tau_plus=15.0, tau_minus=20.0, A_plus=0.05,
                                            A_minus=0.06, w_min=0.0, w_max=2.0))
    pr = Projection("sp", "s", "p", [0, 1, 2], [0, 1, 0], [0.1] * 3, [1.0] * 3,
                    plasticity=stdp)
    net = Network([src, cell], [pr], [SpikeArray("s", SpikeTrains.from_lists([[]] * 3))],
                  [Recording("p", "spikes", np.arange(2))], timestep=1.0)
    image = hw.compile(net, "fpga", cycles_trace_beside_neuron=beside)
    assert image.data["fpga"]["n_axons"] == 5
    for engine in ("numba", "python"):
        eng = Engine(image, engine=engine)
        eng.run(5.0)
        assert eng.result().timing.arrays["cycles_per_step"].tolist() == [quiet] * 5


def test_header_overlap_cannot_exceed_the_header():
    with pytest.raises(TargetError, match=r"cycles_header_overlap=2 must be at most "
                                          r"min\(cycles_event, cycles_spiking\)=1"):
        hw.compile(tiny_net(), "fpga", cycles_event=1)
    hw.compile(tiny_net(), "fpga", cycles_event=1, cycles_header_overlap=1)


def test_rtl_generator_refuses_other_cycle_costs(tmp_path):
    from neurocosim.rtl.chip import Chip
    from neurocosim.rtl.export import export_verilog
    image = hw.compile(tiny_net(), "fpga", cycles_synapse=7)
    with pytest.raises(TargetError, match="implements cycles_synapse=1; the spec asks "
                                          "cycles_synapse=7"):
        export_verilog(image, tmp_path)
    assert not list(tmp_path.iterdir())
    Chip(hw.compile(tiny_net(), "fpga"))   # the RTL's own costs are accepted


def test_reset_starts_over_without_a_compile(monkeypatch):
    net = poisson_net()
    image = hw.compile(net, "fpga")
    eng = Engine(image)
    eng.run(40.0)
    first = eng.result()
    import neurocosim.hw.compiler as compiler
    monkeypatch.setattr(compiler, "compile", lambda *a, **k: pytest.fail("recompiled"))
    eng.reset()
    assert eng.t == 0.0
    eng.run(25.0)
    eng.run(15.0)
    again = eng.result()
    for pop in first.spikes:
        assert pairs(again.spikes[pop]) == pairs(first.spikes[pop])
    assert again.timing.metrics == first.timing.metrics


def test_reset_keeps_learned_weights():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent / "rtl"))
    from netgen import random_network
    image = hw.compile(random_network(4, stdp=True), "fpga", neurons_per_core=16, n_cores=2)
    eng = Engine(image)
    eng.run(80.0)
    learned = eng.result().weights["in"]
    initial = Engine(image).result().weights["in"]
    assert not np.allclose(learned, initial)
    eng.reset()
    np.testing.assert_array_equal(eng.result().weights["in"], learned)
