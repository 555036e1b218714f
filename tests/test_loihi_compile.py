"""Loihi-style compiler: quantisation choices, one LimitError per chip limit, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurocosim import hw
from neurocosim.hw import (CurrentSource, LimitError, Network, Plasticity, Population,
                           Projection, Recording, TargetError)
from neurocosim.hw.lif import p21

LIF = dict(cm=0.25, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, tau_refrac=2.0,
           v_rest=-65.0, v_reset=-70.0, v_thresh=-55.0, i_offset=0.0)


def two_pops(n_pre=10, n_post=10, p=0.5, weight=0.5, delay=1.0, seed=0, inh=False,
             plastic=None, post_params=None):
    rng = np.random.default_rng(seed)
    a, b = np.nonzero(rng.random((n_pre, n_post)) < p)
    pops = [Population("a", n_pre, "IF_curr_exp", dict(LIF)),
            Population("b", n_post, "IF_curr_exp", dict(post_params or LIF))]
    projs = [Projection("ab", "a", "b", a, b, np.full(len(a), weight), np.full(len(a), delay),
                        "inhibitory" if inh else "excitatory", plastic)]
    return Network(pops, projs, timestep=1.0)


def test_spec_fields_and_overrides():
    spec = hw.get_target("loihi")
    assert (spec.cores_per_chip, spec.compartments_per_core, spec.input_axons_per_core,
            spec.synapse_memory_bytes, spec.mesh_shape) == (128, 1024, 4096, 131072, (8, 4))
    assert spec.u_format.bits == 24 and spec.weight_format.bits == 8
    assert spec.replace(n_chips=3).mesh_shape == (24, 4)
    with pytest.raises(TargetError, match="no parameter"):
        spec.replace(warp_drive=1)


def test_integer_parameters_follow_the_documented_formulas():
    image = hw.compile(two_pops(), "loihi")
    params = image.cores[-1].params
    # du with lava's ds_offset: (4096 - 1 - du) / 4096 closest to exp(-1/5)
    assert params["du0"][0] == round(4096 * (1 - math.exp(-1 / 5))) - 1
    assert params["dv"][0] == round(4096 * (1 - math.exp(-1 / 20)))
    scale = image.data["populations"][1]["scale"]
    assert params["vth"][0] == round(15.0 * scale / 64)
    # excitatory-only input: one channel, weight = mantissa << (wexp + 6) ~ w * P21 * scale
    e = params["wexp0"][0]
    mant = image.cores[-1].memories["syn_weight"]
    want = 0.5 * p21(0.25, 20.0, 5.0, 1.0) * scale / 2.0 ** (e + 6)
    assert np.all(np.abs(mant - want) <= 0.5)
    assert mant.max() <= 255 and mant.max() > 127          # finest exponent used
    assert 0 < image.report.worst()["weight"] < 1 / 128


def test_inhibitory_weights_are_negative_mantissas_on_their_own_channel():
    net = two_pops(inh=True)
    pops = net.populations
    net.projections.append(Projection("aa", "a", "b", [0], [0], [0.3], [1.0]))
    image = hw.compile(Network(pops, net.projections, timestep=1.0), "loihi")
    mem = image.cores[-1].memories
    inh = mem["syn_proj"] == 0
    assert np.all(mem["syn_weight"][inh] < 0) and np.all(mem["syn_chan"][inh] == 1)
    assert np.all(mem["syn_weight"][~inh] > 0) and np.all(mem["syn_chan"][~inh] == 0)
    assert image.data["populations"][1]["channels"] == 2      # tau_syn_E != tau_syn_I


def test_constant_current_neuron_fires_at_the_analytic_rate():
    params = dict(LIF, i_offset=1.0, tau_refrac=0.0)
    pop = Population("p", 1, "IF_curr_exp", params)
    net = Network([pop], recordings=[Recording("p", "spikes", [0])], timestep=1.0)
    res = hw.run(hw.compile(net, "loihi"), 1000.0, timing=False)
    v_inf = params["v_rest"] + params["tau_m"] / params["cm"] * params["i_offset"]
    isi = -params["tau_m"] * math.log((v_inf - params["v_thresh"])
                                      / (v_inf - params["v_reset"]))
    got = np.diff(res.spikes["p"].times)
    assert len(got) > 10
    assert np.all(np.abs(got - isi) <= 1.0)          # within one 1 ms step


def test_limit_neurons_per_core():
    with pytest.raises(LimitError, match="neurons per core"):
        hw.compile(two_pops(inh=False, post_params=LIF), "loihi", compartments_per_core=0)


def test_limit_compartments_of_a_two_channel_neuron():
    net = two_pops(inh=True)
    net.projections.append(Projection("aa", "a", "b", [0], [0], [0.3], [1.0]))
    net = Network(net.populations, net.projections, timestep=1.0)
    with pytest.raises(LimitError, match="neurons per core: needs 2, the target allows 1"):
        hw.compile(net, "loihi", compartments_per_core=1)


def test_limit_fan_in_axons():
    with pytest.raises(LimitError, match=r"input axons per core: needs \d+, .* allows 3"):
        hw.compile(two_pops(p=1.0), "loihi", input_axons_per_core=3)


def test_limit_synapse_memory():
    with pytest.raises(LimitError, match=r"synapse memory per core \(bytes\)"):
        hw.compile(two_pops(p=1.0), "loihi", synapse_memory_bytes=20)


def test_limit_cores_per_chip():
    with pytest.raises(LimitError, match=r"cores: needs 10, the target allows 4 \(6 core"):
        hw.compile(two_pops(), "loihi", compartments_per_core=2, cores_per_chip=4)


def test_limit_output_axons():
    with pytest.raises(LimitError, match="output axons per core"):
        hw.compile(two_pops(p=1.0), "loihi", compartments_per_core=1, output_axons_per_core=5)


def test_output_axon_limit_repartitions_when_it_can():
    image = hw.compile(two_pops(p=1.0), "loihi", compartments_per_core=10,
                       output_axons_per_core=6)
    assert len(image.cores) > 2
    for core in image.cores:
        ids = core.neurons
        dests = np.diff(image.routing["dest_ptr"])[ids].sum()
        assert dests <= 6


def test_limit_weight_range():
    with pytest.raises(LimitError, match="weight range"):
        hw.compile(two_pops(weight=100.0), "loihi", weight_exp_max=-8)


def test_limit_delay_and_refractory():
    with pytest.raises(LimitError, match=r"synaptic delay \(extra steps\): needs 100, "
                                         r"the target allows 62 .*\(\+1 step into "
                                         r"IF_curr_exp\), 38 too many"):
        hw.compile(two_pops(delay=100.0), "loihi")
    with pytest.raises(LimitError, match=r"refractory period \(steps\): needs 80"):
        hw.compile(two_pops(post_params=dict(LIF, tau_refrac=80.0)), "loihi")


def test_refusals_name_what_is_unsupported():
    """The capability checks are hw.compiler's (check_capabilities), from the spec."""
    net = two_pops()
    with pytest.raises(TargetError, match="population 'c' of model IF_cond_exp"):
        cond = Population("c", 2, "IF_cond_exp", dict(LIF, e_rev_E=0.0, e_rev_I=-80.0))
        hw.compile(Network([cond], timestep=1.0), "loihi")
    with pytest.raises(TargetError, match="cannot inject a dc current into population 'a'; "
                                          "it has no current sources"):
        src = CurrentSource("dc", "a", np.arange(2), dict(amplitude=1.0, start=0.0, stop=5.0))
        hw.compile(Network(net.populations, net.projections, [src], timestep=1.0), "loihi")
    with pytest.raises(TargetError, match="projection 'ab' with plasticity "
                                          "stdp_multiplicative; it has stdp_additive"):
        rule = Plasticity("stdp_multiplicative", dict(tau_plus=10.0, tau_minus=10.0,
                                                      A_plus=0.1, A_minus=0.1, w_min=0.0,
                                                      w_max=1.0))
        hw.compile(two_pops(plastic=rule), "loihi")
    with pytest.raises(TargetError, match="cannot record 'gsyn_exc' of population 'a'; "
                                          "it records spikes, v"):
        rec = [Recording("a", "gsyn_exc", [0])]
        hw.compile(Network(net.populations, net.projections, recordings=rec, timestep=1.0),
                   "loihi")


def test_mapping_report_and_routing_consistency():
    rng = np.random.default_rng(2)
    pops = [Population(f"p{i}", 50, "IF_curr_exp", dict(LIF)) for i in range(6)]
    projs = []
    for i in range(6):
        j = (i * 3 + 1) % 6     # a ring that sequential numbering scatters
        a, b = rng.integers(0, 50, 400), rng.integers(0, 50, 400)
        projs.append(Projection(f"c{i}", f"p{i}", f"p{j}", a, b, np.full(400, 0.1),
                                np.ones(400)))
    image = hw.compile(Network(pops, projs, timestep=1.0), "loihi", compartments_per_core=25)
    m = image.data["mapping"]
    assert m["n_cores"] == 12 and m["placement_cost"] <= m["sequential_cost"]
    xy = image.routing["core_xy"]
    hops = np.abs(xy[image.routing["pair_dst"]] - xy[image.routing["pair_src"]]).sum(axis=1)
    assert np.array_equal(hops, image.routing["hops_ew"] + image.routing["hops_ns"])
    assert np.array_equal(np.diff(image.routing["pair_ptr"]), hops)
