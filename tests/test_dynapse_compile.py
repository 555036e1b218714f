"""The DynapSE-style compiler: every limit a named error with the excess, every
approximation in the mapping report, weights on the 4-bit base-weight ladder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.hw import cluster_dynapse as C
from neurocosim.hw.errors import LimitError, TargetError
from neurocosim.hw.ir import (Network, Population, Projection, Recording, SpikeArray,
                              SpikeTrains)
from neurocosim.hw.layouts import dynapse as L

LIF = dict(cm=1.0, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0, v_rest=-65.0,
           v_reset=-65.0, v_thresh=-55.0, i_offset=0.0)


def _net(pops, projs, n_src=4):
    src = Population("src", n_src, "SpikeSourceArray")
    trains = SpikeTrains.from_lists([[1.0, 5.0]] * n_src)
    return Network([src] + pops, projs, [SpikeArray("src", trains)],
                   [Recording(p.name, "spikes", np.arange(p.size)) for p in pops],
                   timestep=1.0)


def _all_to_all(name, pre, post, n_pre, n_post, w=0.5, delay=0.0, receptor="excitatory"):
    pre_idx, post_idx = np.divmod(np.arange(n_pre * n_post), n_post)
    return Projection(name, pre, post, pre_idx, post_idx, np.full(n_pre * n_post, w),
                      np.full(n_pre * n_post, delay), receptor)


def test_fan_in_over_64_names_the_cam_limit_and_excess():
    net = _net([Population("a", 2, "IF_curr_exp", LIF)],
               [_all_to_all("in", "src", "a", 65, 2)], n_src=65)
    with pytest.raises(LimitError, match=r"CAM entries per neuron: needs 65, the target "
                                         r"allows 64 \(neuron 0 of population 'a' needs 1 more"):
        hw.compile(net, "dynapse")


def _core_params(image, pop_index):
    core = image.cores[int(image.routing[L.NEURON_CORE][4 + 3 * pop_index])]
    return core.params


def test_more_parameter_groups_than_cores_merge_the_closest_onto_their_centre():
    taus = [10.0, 20.0, 21.0, 30.0, 40.0]                 # p1 and p2 are the closest
    sizes = [3, 3, 1, 3, 3]
    pops = [Population(f"p{i}", n, "IF_curr_exp", dict(LIF, tau_m=t))
            for i, (t, n) in enumerate(zip(taus, sizes))]
    image = hw.compile(_net(pops, []), "dynapse")
    assert len(image.cores) == 4
    core = image.routing[L.NEURON_CORE]
    assert core[4 + 3] == core[4 + 6] != core[4 + 0]      # p1 and p2 on one core
    centre = (3 * 20.0 + 21.0) / 4                         # neuron-weighted
    alone = hw.compile(_net([Population("c", 3, "IF_curr_exp", dict(LIF, tau_m=centre))], []),
                       "dynapse")
    for k, v in alone.cores[0].params.items():
        np.testing.assert_allclose(image.cores[int(core[4 + 3])].params[k], v, rtol=1e-12)
    shared = {a.where: a.detail for a in image.report.approximations
              if a.kind == "parameters_shared"}
    assert set(shared) == {"population 'p1'", "population 'p2'"}
    assert "p1+p2" in shared["population 'p1'"]
    q = {(x.parameter, x.where): x for x in image.report.quantization}
    assert q[("tau_m", "population 'p1'")].max_abs == pytest.approx(centre - 20.0)
    assert q[("tau_m", "population 'p2'")].max_abs == pytest.approx(21.0 - centre)
    assert q[("tau_m", "population 'p2'")].unit == "ms"
    assert q[("v_rest", "population 'p1'")].max_abs == 0.0
    with pytest.raises(TargetError, match=r"strict.*parameters_shared: population 'p1'"):
        hw.compile(_net(pops, []), "dynapse", strict=True)
    with pytest.raises(TargetError, match="strict") as two_chips:  # the DPI membrane is
        hw.compile(_net(pops, []), "dynapse", n_chips=2, strict=True)  # always named
    assert "parameters_shared" not in str(two_chips.value)
    assert len(hw.compile(_net(pops, []), "dynapse", n_chips=2).cores) == 5


def test_models_never_merge_and_a_board_too_small_for_one_group_per_model_is_refused():
    eif = dict(cm=0.28, tau_refrac=1.0, v_spike=0.0, v_reset=-70.6, v_rest=-70.6, tau_m=9.4,
               i_offset=0.0, a=0.0, b=0.0805, delta_T=2.0, tau_w=144.0, v_thresh=-50.4,
               e_rev_E=0.0, tau_syn_E=5.0, e_rev_I=-80.0, tau_syn_I=5.0)
    pops = [Population("a", 3, "IF_curr_exp", LIF),
            Population("b", 3, "IF_curr_exp", dict(LIF, tau_m=30.0)),
            Population("e", 3, "EIF_cond_exp_isfa_ista", eif)]
    image = hw.compile(_net(pops, []), "dynapse", cores_per_chip=2)
    core = image.routing[L.NEURON_CORE]
    assert core[4] == core[7] != core[10]
    with pytest.raises(LimitError, match=r"cores \(one parameter group per core\): needs 2, "
                                         r"the target allows 1 \(1 too many even with one "
                                         r"parameter group per model \(6 IF_curr_exp, 3 "
                                         r"EIF_cond_exp_isfa_ista neurons"):
        hw.compile(_net(pops, []), "dynapse", cores_per_chip=1)


def test_more_neurons_than_the_board_holds_name_the_cores_and_the_excess():
    pops = [Population(f"p{i}", 300, "IF_curr_exp", dict(LIF, tau_m=10.0 + i))
            for i in range(5)]
    with pytest.raises(LimitError, match=r"cores \(one parameter group per core\): needs 6, "
                                         r"the target allows 4 \(2 too many"):
        hw.compile(_net(pops, []), "dynapse")
    with pytest.raises(LimitError, match="chips per board: needs 5, the target allows 4"):
        hw.compile(_net(pops, []), "dynapse", n_chips=5)


def test_equal_groups_share_cores_and_256_neurons_fill_a_core():
    pops = [Population("a", 200, "IF_curr_exp", LIF), Population("b", 100, "IF_curr_exp", LIF),
            Population("c", 10, "IF_curr_exp", dict(LIF, tau_m=30.0))]
    image = hw.compile(_net(pops, []), "dynapse")
    assert [len(c.neurons) for c in image.cores] == [256, 44, 10]
    core = image.routing[L.NEURON_CORE]
    assert core[4 + 199] == 0 and core[4 + 200] == 0 and core[4 + 299] == 1
    assert core[4 + 300] == 2 and np.all(core[:4] == -1)


def test_tags_and_destinations_are_limits():
    pops = [Population("a", 3, "IF_curr_exp", LIF)]
    net = _net(pops, [_all_to_all("in", "src", "a", 4, 3)])
    with pytest.raises(LimitError, match=r"tags per core: needs 4, the target allows 2 "
                                         r"\(core 0 is fed by 2 presynaptic"):
        hw.compile(net, "dynapse", tags=2)
    pops = [Population("a", 2, "IF_curr_exp", LIF),
            Population("b", 2, "IF_curr_exp", dict(LIF, tau_m=11.0)),
            Population("c", 2, "IF_curr_exp", dict(LIF, tau_m=12.0))]
    projs = [_all_to_all("ab", "a", "b", 2, 2), _all_to_all("ac", "a", "c", 2, 2)]
    net = _net(pops, projs)
    hw.compile(net, "dynapse", destinations=1)                 # b and c: one chip
    with pytest.raises(LimitError, match=r"SRAM destinations per neuron: needs 2, the "
                                         r"target allows 1 \(neuron 0 of population 'a' "
                                         r"reaches 2 chips"):
        hw.compile(net, "dynapse", destinations=1, cores_per_chip=2, n_chips=2)


def test_models_without_an_analog_counterpart_are_refused_by_name():
    pop = Population("d", 2, "IF_curr_delta", {k: v for k, v in LIF.items()
                                               if not k.startswith("tau_syn")})
    with pytest.raises(TargetError, match="cannot map population 'd' of model IF_curr_delta"):
        hw.compile(_net([pop], []), "dynapse")


def test_weights_too_large_for_the_bias_range_name_the_current_limit():
    net = _net([Population("a", 2, "IF_curr_exp", LIF)],
               [_all_to_all("in", "src", "a", 4, 2, w=1e6)])
    with pytest.raises(LimitError, match=r"current range \(base weight Iw_3 of core 0\)"):
        hw.compile(net, "dynapse")


def test_weights_are_4_bit_masks_over_a_binary_ladder_of_base_weights():
    rng = np.random.default_rng(1)
    proj = _all_to_all("in", "src", "a", 4, 8)
    proj.weight = rng.uniform(0.05, 1.0, proj.size)
    image = hw.compile(_net([Population("a", 8, "IF_curr_exp", LIF)], [proj]), "dynapse")
    base = image.cores[0].params[L.IW_BASE]
    np.testing.assert_allclose(base, base[0] * np.array([1, 2, 4, 8]))
    mask = image.routing[L.SYN_MASK]
    assert mask.min() >= 0 and mask.max() == 15
    realised = image.data[L.WEIGHTS]["in"]
    step = proj.weight.max() / 15
    assert np.all(np.abs(realised - proj.weight) <= step / 2 + 1e-12)
    q = {x.parameter: x for x in image.report.quantization}["weight"]
    assert 0 < q.max_abs <= step / 2 + 1e-12


def test_the_report_names_every_approximation_and_strict_refuses():
    het = dict(LIF, v_reset=-60.0, tau_m=np.array([18.0, 22.0]))
    eif = dict(cm=0.28, tau_refrac=1.0, v_spike=0.0, v_reset=-70.6, v_rest=-70.6, tau_m=9.4,
               i_offset=0.0, a=4.0, b=0.0805, delta_T=2.0, tau_w=144.0, v_thresh=-50.4,
               e_rev_E=0.0, tau_syn_E=5.0, e_rev_I=-80.0, tau_syn_I=5.0)
    pops = [Population("het", 2, "IF_curr_exp", het),
            Population("adex", 2, "EIF_cond_exp_isfa_ista", eif)]
    projs = [_all_to_all("d", "src", "het", 4, 2, delay=1.5),
             _all_to_all("e", "src", "adex", 4, 2, w=0.01, receptor="inhibitory")]
    image = hw.compile(_net(pops, projs), "dynapse")
    kinds = {(a.kind, a.where) for a in image.report.approximations}
    for kind, where in [("parameters_shared", "population 'het'"),
                        ("reset_to_rest", "population 'het'"),
                        ("membrane_log_domain", "population 'het'"),
                        ("delays_dropped", "projection 'd'"),
                        ("conductance_as_current", "population 'adex'"),
                        ("adaptation_a_dropped", "population 'adex'"),
                        ("delta_T_fixed", "population 'adex'")]:
        assert (kind, where) in kinds, (kind, where, kinds)
    assert "delays_dropped" not in {a.kind for a in image.report.approximations
                                    if "'e'" in a.where}
    adex = image.cores[1].params
    assert adex["iw_ahp"][0] > image.target.current_min_a      # b maps onto the AHP
    assert adex["syn_used"].tolist() == [0.0, 0.0, 1.0, 0.0]   # inhibitory -> GABA only
    with pytest.raises(TargetError, match="strict"):
        hw.compile(_net(pops, projs), "dynapse", strict=True)


def test_each_synapse_type_gets_the_whole_ladder_through_its_gain():
    exc = _all_to_all("e", "src", "a", 2, 3, w=0.1)
    inh = Projection("i", "src", "a", [2, 3], [0, 1], [0.5, 0.2], [0.0, 0.0], "inhibitory")
    image = hw.compile(_net([Population("a", 3, "IF_curr_exp", LIF)], [exc, inh]), "dynapse")
    mask, typ = image.routing[L.SYN_MASK], image.routing[L.SYN_TYPE]
    assert set(mask[typ == L.AMPA]) == {15} and sorted(mask[typ == L.GABA]) == [6, 15]
    np.testing.assert_allclose(image.data[L.WEIGHTS]["e"], 0.1)
    gain = image.cores[0].params["igain_syn"] / image.cores[0].params["itau_syn"]
    assert gain[L.AMPA] < gain[L.GABA]      # the smaller weights trade gain for weight current


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 600), st.sampled_from("ab"),
                          st.floats(-5, 5), st.floats(-5, 5)), min_size=1, max_size=9),
       st.integers(1, 12))
def test_merging_partitions_by_kind_and_fits_whenever_one_group_per_kind_fits(groups, n_cores):
    sizes = np.array([g[0] for g in groups])
    kinds = [g[1] for g in groups]
    points = np.array([[g[2], g[3]] for g in groups])
    clusters = C.merge_groups(points, sizes, kinds, n_cores, 256)
    assert sorted(i for c in clusters for i in c) == list(range(len(groups)))
    assert all(len({kinds[i] for i in c}) == 1 for c in clusters)
    used = C.cores_needed([sizes[c].sum() for c in clusters], 256)
    least = C.cores_needed([sizes[[k == x for k in kinds]].sum() for x in set(kinds)], 256)
    if C.cores_needed(sizes, 256) <= n_cores:
        assert len(clusters) == len(groups)              # nothing merged that fits
    elif least <= n_cores:
        assert used <= n_cores
    else:
        assert used == least and len(clusters) == len(set(kinds))
