"""compile_fpga: integer formulas, memories, one LimitError/TargetError per limit."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from neurocosim.hw.compiler import compile as hw_compile
from neurocosim.hw.errors import LimitError, NetworkError, TargetError
from neurocosim.hw.stimulus import Stimulus
from neurocosim.hw.ir import (CurrentSource, Network, Plasticity, PoissonSource, Population,
                              Projection, SpikeArray, SpikeTrains)
from neurocosim.hw.targets import get_target

sys.path.insert(0, str(Path(__file__).parent / "rtl"))
from netgen import lif, random_network  # noqa: E402


def _one(n=3, **over):
    p = dict(cm=1.0, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0,
             v_rest=-65.0, v_reset=-70.0, v_thresh=-50.0, i_offset=0.5)
    p.update(over)
    return Population("p", n, "IF_curr_exp", p)


def test_spec_formats_follow_the_bit_fields():
    spec = get_target("fpga", weight_bits=6, state_bits=20, trace_bits=5, decay_bits=10,
                      trace_impulse=16)
    assert spec.weight_format.max_int == 31 and spec.v_format.max_int == 2 ** 19 - 1
    assert spec.trace_format.max_int == 31 and spec.decay_format.frac_bits == 10
    with pytest.raises(TargetError, match="neurons_per_core=5000"):
        get_target("fpga", neurons_per_core=5000)
    with pytest.raises(TargetError, match="has no parameter"):
        get_target("fpga", lanes=3)


def test_neuron_parameters_in_integers():
    net = Network(populations=[_one()], timestep=1.0)
    img = hw_compile(net, "fpga", state_bits=16, headroom_bits=2, decay_bits=12)
    p = img.cores[0].params
    lsb = img.data["fpga"]["lsb_mV"]
    assert lsb == pytest.approx(15.0 / 2 ** 13)
    assert p["theta"][0] == round(15.0 / lsb) and p["u_reset"][0] == round(-5.0 / lsb)
    assert p["dm"][0] == round(4096 * math.exp(-1 / 20)) and p["ds"][0] == round(
        4096 * math.exp(-1 / 5))
    gain = 20.0 * (1 - math.exp(-1 / 20))
    assert p["bias"][0] == round(0.5 * gain / lsb) and p["refrac"][0] == 2
    assert p["u0"][0] == 0 and int(p["n"][0]) == 3


def test_weights_are_signed_scaled_and_in_csr_rows():
    net = random_network(11, stdp=False)
    img = hw_compile(net, "fpga", neurons_per_core=64)
    core = img.cores[0]
    m, d = core.memories, img.data["fpga"]
    wf = img.target.weight_format
    assert np.all(np.abs(m["syn_w"]) <= wf.max_int)
    assert np.all(np.diff(m["row_ptr"]) >= 0) and m["row_ptr"][-1] == len(m["syn_w"])
    inh = d["projections"]["ie"]
    assert np.all(m["syn_w"][inh["index"]] <= 0)
    exc = d["projections"]["ee"]
    assert np.all(m["syn_w"][exc["index"]] >= 0)
    # row a holds exactly the synapses of axon a
    pr = net.projections[1]
    axon = d["axon_of"][net.offsets()["exc"] + pr.pre_idx]
    rows = np.searchsorted(m["row_ptr"], exc["index"], side="right") - 1
    np.testing.assert_array_equal(rows, axon)
    reported = {(q.parameter, q.where) for q in img.report.quantization}
    for pr in net.projections:
        assert {("weight", f"projection {pr.name!r}"),
                ("delay", f"projection {pr.name!r}")} <= reported
    for pop in ("exc", "inh"):
        for name in ("v_thresh", "tau_m", "tau_syn", "i_offset"):
            assert (name, f"population {pop!r}") in reported


def _net_with(proj_kw=None, pop_kw=None, stimuli=(), n=4):
    src = Population("s", 2, "SpikeSourceArray")
    post = _one(n, **(pop_kw or {}))
    kw = dict(weight=[0.5, 0.5], delay=[1.0, 1.0])
    kw.update(proj_kw or {})
    pr = Projection("sp", "s", "p", [0, 1], [0, 1], **kw)
    return Network(populations=[src, post], projections=[pr], stimuli=list(stimuli),
                   timestep=1.0)


def test_limits_raise_limit_errors_naming_the_limit():
    with pytest.raises(LimitError, match="neurons: needs 10, the target allows 8"):
        hw_compile(_net_with(n=10), "fpga", neurons_per_core=4, n_cores=2)
    with pytest.raises(LimitError, match="synaptic delay"):
        hw_compile(_net_with({"delay": [1.0, 12.0]}), "fpga", max_delay=8)
    with pytest.raises(LimitError, match="refractory"):
        hw_compile(_net_with(pop_kw={"tau_refrac": 100.0}), "fpga", refrac_bits=6)
    with pytest.raises(LimitError, match="synapses per core"):
        hw_compile(_net_with(), "fpga", synapses_per_core=1)
    trains = SpikeTrains.from_lists([[1.0, 2.0, 3.0], [4.0]])
    with pytest.raises(LimitError, match="stimulus spikes"):
        hw_compile(_net_with(stimuli=[SpikeArray("s", trains)]), "fpga", stimulus_depth=3)


def test_one_synaptic_current_per_neuron():
    src = Population("s", 2, "SpikeSourceArray")
    post = _one(2, tau_syn_I=10.0)
    e = Projection("e", "s", "p", [0], [0], [1.0], [1.0])
    i = Projection("i", "s", "p", [1], [0], [1.0], [1.0], receptor="inhibitory")
    with pytest.raises(LimitError, match="one current per neuron"):
        hw_compile(Network(populations=[src, post], projections=[e, i], timestep=1.0), "fpga")
    # inhibition only: the neuron takes tau_syn_I
    img = hw_compile(Network(populations=[src, post], projections=[i], timestep=1.0), "fpga")
    assert img.cores[0].params["ds"][0] == round(4096 * math.exp(-1 / 10))


def test_refusals_name_what_the_core_lacks():
    dc = CurrentSource("dc", "p", np.arange(2), dict(amplitude=1.0, start=0.0, stop=5.0))
    with pytest.raises(TargetError, match="cannot inject a dc current into population 'p'"):
        hw_compile(_net_with(stimuli=[dc]), "fpga")
    mult = Plasticity("stdp_multiplicative", dict(tau_plus=20.0, tau_minus=20.0, A_plus=0.01,
                                                  A_minus=0.01, w_min=0.0, w_max=1.0))
    with pytest.raises(TargetError, match="plasticity stdp_multiplicative; it has "
                                          "stdp_additive"):
        hw_compile(_net_with({"plasticity": mult}), "fpga")
    add = Plasticity("stdp_additive", dict(mult.params))
    with pytest.raises(TargetError, match="'sp' is plastic and inhibitory"):
        hw_compile(_net_with({"plasticity": add, "receptor": "inhibitory"}), "fpga")
    izh = Population("z", 2, "Izhikevich", dict(a=0.02, b=0.2, c=-65.0, d=8.0, i_offset=0.0))
    with pytest.raises(TargetError, match="cannot map population 'z'"):
        hw_compile(Network(populations=[izh], timestep=1.0), "fpga")
    with pytest.raises(NetworkError, match="i_offset"):   # bias beyond v's range
        hw_compile(_net_with(pop_kw={"i_offset": 1e4}), "fpga")


def test_stdp_parameters_per_core():
    rule = dict(tau_plus=16.0, tau_minus=32.0, A_plus=0.04, A_minus=0.05, w_min=0.0,
                w_max=1.0)
    img = hw_compile(_net_with({"plasticity": Plasticity("stdp_additive", dict(rule))}),
                     "fpga")
    p = img.cores[0].params
    assert int(p["stdp"][0]) == 1
    assert p["dx"][0] == round(4096 * math.exp(-1 / 16)) and p["dy"][0] == round(
        4096 * math.exp(-1 / 32))
    assert 0 < p["a_plus"][0] < p["a_minus"][0]
    assert p["w_min"][0] == 0 and 0 < p["w_max"][0] <= img.target.weight_format.max_int
    m = img.cores[0].memories
    assert list(m["col_ptr"][:3]) == [0, 1, 2] and list(m["col_pre"]) == [4, 5]


def test_stimulus_memory_is_the_one_stimulus_up_to_the_horizon():
    """The image's stimulus memory holds hw.stimulus (merged, stamp s in step s - 1) for
    [0, stimulus_horizon_ms), nothing after; the emulator's own draw is gone."""
    src = Population("s", 3, "SpikeSourcePoisson", dict(rate=200.0, start=0.0,
                                                        duration=1e9))
    pr = Projection("sp", "s", "p", [0, 1, 2], [0, 1, 2], [0.5] * 3, [1.0] * 3)
    net = Network(populations=[src, _one()], projections=[pr],
                  stimuli=[PoissonSource("s", seed=3)], timestep=1.0)
    d = hw_compile(net, "fpga", stimulus_horizon_ms=500.0).data["fpga"]
    win = Stimulus(net, 1.0).window(0, 500).merged()
    assert d["stimulus_steps"] == 500
    np.testing.assert_array_equal(d["stim_step"], win.stamp - 1)
    np.testing.assert_array_equal(d["stim_axon"], d["axon_of"][win.neuron])
    assert 150 < len(d["stim_step"]) / 3 / 0.5 < 250
    assert lif(3, np.random.default_rng(0))["cm"].shape == (3,)


def test_mapping_report_names_each_approximation():
    """Delays and refractory periods rounded to whole steps, a spike at t = 0 sent one
    step late (merged with the one at t = 1 ms): each named, with its amount."""
    trains = SpikeTrains.from_lists([[0.2, 1.0, 4.0], [0.0]])
    net = _net_with({"delay": [1.5, 2.0]}, {"tau_refrac": 2.4},
                    stimuli=[SpikeArray("s", trains)])
    report = hw_compile(net, "fpga").report
    found = {(a.kind, a.where): a for a in report.approximations}
    assert found["delay_rounded", "projection 'sp'"].amount == 1
    assert found["refractory_rounded", "population 'p'"].amount == 4
    moved = found["input_spike_delayed", "population 's'"]
    assert moved.amount == 2 and "1 of them merge" in moved.detail
    with pytest.raises(TargetError, match="strict.*delay_rounded"):
        hw_compile(net, "fpga", strict=True)


@pytest.mark.parametrize("a_plus,kind", [(1e-4, "stdp_below_resolution"),
                                         (0.05, None)])
def test_stdp_steps_under_the_weight_resolution_are_named(a_plus, kind):
    rule = dict(tau_plus=16.0, tau_minus=32.0, A_plus=a_plus, A_minus=0.05, w_min=0.0,
                w_max=1.0)
    img = hw_compile(_net_with({"plasticity": Plasticity("stdp_additive", rule)}), "fpga")
    stdp = [a for a in img.report.approximations if a.kind.startswith("stdp")]
    if kind is None:
        assert stdp == []
        return
    [a] = stdp
    assert a.kind == kind and a.where == "projection 'sp' (core 0)"
    assert "A_plus=0.0001" in a.detail and "never move" in a.detail
    assert int(img.cores[0].params["a_plus"][0]) * img.target.trace_format.max_int >> \
        img.target.stdp_frac_bits == 0
