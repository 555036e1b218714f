"""compile_fpga: integer formulas, memories, one LimitError/TargetError per limit."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from neurocosim.hw.compiler import compile as hw_compile
from neurocosim.hw.errors import LimitError, NetworkError, TargetError
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
    for key in ("weight_max_rel_error", "decay_abs_error", "threshold_abs_error_mV",
                "delay_max_abs_error_ms"):
        assert key in img.quantization


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
    with pytest.raises(TargetError, match="no current-source input"):
        hw_compile(_net_with(stimuli=[dc]), "fpga")
    mult = Plasticity("stdp_multiplicative", dict(tau_plus=20.0, tau_minus=20.0, A_plus=0.01,
                                                  A_minus=0.01, w_min=0.0, w_max=1.0))
    with pytest.raises(TargetError, match="stdp_additive only"):
        hw_compile(_net_with({"plasticity": mult}), "fpga")
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


def test_poisson_sources_are_drawn_repeatably_up_to_the_horizon():
    src = Population("s", 3, "SpikeSourcePoisson", dict(rate=200.0, start=0.0,
                                                        duration=1e9))
    pr = Projection("sp", "s", "p", [0, 1, 2], [0, 1, 2], [0.5] * 3, [1.0] * 3)
    net = Network(populations=[src, _one()], projections=[pr],
                  stimuli=[PoissonSource("s", seed=3)], timestep=1.0)
    a = hw_compile(net, "fpga", stimulus_horizon_ms=500.0).data["fpga"]
    b = hw_compile(net, "fpga", stimulus_horizon_ms=500.0).data["fpga"]
    np.testing.assert_array_equal(a["stim_step"], b["stim_step"])
    assert a["stim_step"].max() < 500
    rate = len(a["stim_step"]) / 3 / 0.5
    assert 150 < rate < 250
    assert lif(3, np.random.default_rng(0))["cm"].shape == (3,)
