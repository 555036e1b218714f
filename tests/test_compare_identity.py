"""`compare` matches populations by their identity in the IR (declaration order, with
size and model checked), not by label; its summary names the mapping report, the timing
in hw.metrics names and units, refusals and targets it could not match; its raster has a
panel per population, rates for large ones, the legend off the data and tau in the title.

These tests stand on fake runs (`run_script` replaced), so they check compare itself;
tests/test_compare_targets.py runs one script on the real targets."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.hw import metrics
from neurocosim.hw import ir
from neurocosim.hw.errors import TargetError
from neurocosim.hw.report import MappingReport
from neurocosim.hw.result import Result, Spikes
from neurocosim.sim import compare as cmp_mod
from neurocosim.sim.compare import CompareError, identity_map, relabel
from neurocosim.sim.compare_report import summary_lines, timing_table, write_comparison
from neurocosim.sim.output import mapping_lines, raster_figure
from neurocosim.sim.scripts import ScriptError


def _pop(name, size, model):
    params = {k: np.ones(size) for k in ir.NEURON_MODELS[model]}
    return ir.Population(name, size, model, params)


def _net(names, sizes=(3, 4), models=("SpikeSourceArray", "IF_curr_exp")):
    pops = [_pop(n, s, m) for n, s, m in zip(names, sizes, models)]
    prj = ir.Projection(f"{names[0]}->{names[1]}", names[0], names[1], [0, 1], [1, 2],
                        [0.5, 0.5], [1.0, 1.0])
    return ir.Network(pops, [prj], timestep=1.0)


def _result(target, spikes, t_stop=100.0, timing=None):
    return Result(target, t_stop, 1.0, spikes={k: Spikes(*v) for k, v in spikes.items()},
                  timing=timing, mapping=MappingReport(target))


def test_identity_map_matches_by_declaration_order_not_label():
    base = _net(["population0", "population1"])
    other = _net(["population5", "population6"])
    names = identity_map(base, other, "reference", "loihi")
    assert names.populations == {"population5": "population0", "population6": "population1"}
    assert names.projections == {"population5->population6": "population0->population1"}
    res = relabel(_result("loihi", {"population6": ([0], [5.0])}), names)
    assert list(res.spikes) == ["population1"] and res.spikes["population1"].ids.tolist() == [0]


@pytest.mark.parametrize("other,what", [
    (_net(["a", "b"], sizes=(3, 5)), "population 1 is 'b' (4, 'IF_curr_exp')"),
    (_net(["a", "b"], models=("SpikeSourceArray", "IF_curr_delta")), "population 1"),
    (ir.Network([_pop("a", 3, "SpikeSourceArray")], timestep=1.0),
     "built 2 populations on 'reference' but 1 on 'loihi'"),
])
def test_identity_map_refuses_a_different_network_naming_it(other, what):
    with pytest.raises(CompareError, match=what.replace("(", r"\(").replace(")", r"\)")):
        identity_map(_net(["a", "b"]), other, "reference", "loihi")


@pytest.fixture
def fake_runs(monkeypatch):
    """compare_script over prepared (Result, Network) pairs, or an exception, per target."""
    runs = {}

    def run_script(script, target, argv=None, quiet=True, settings=None, strict=False):
        run = runs[target]
        if isinstance(run, BaseException):
            raise ScriptError(script, run)
        return run

    monkeypatch.setattr(cmp_mod, "run_script", run_script)
    return runs


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 100)), max_size=30),
       st.integers(1, 40))
def test_unlabeled_populations_are_compared_whatever_their_labels(spikes, shift):
    """The second target's automatic labels count on (population5...): the rows are there,
    and the distance is zero exactly when the trains are the same."""
    runs = {}
    ids = np.array([i for i, _ in spikes], dtype=int)
    times = np.array([float(t) for _, t in spikes])
    runs["reference"] = (_result("reference", {"population1": (ids, times)}, t_stop=200.0),
                         _net(["population0", "population1"]))
    moved = np.where(np.arange(len(times)) == 0, times + shift, times)
    runs["loihi"] = (_result("loihi", {"population6": (ids, moved)}, t_stop=200.0),
                     _net(["population5", "population6"]))
    orig = cmp_mod.run_script
    cmp_mod.run_script = lambda s, t, *a, **k: runs[t]
    try:
        cmp = cmp_mod.compare_script(Path("x.py"), ["reference", "loihi"])
    finally:
        cmp_mod.run_script = orig
    assert cmp.ok and [r.population for r in cmp.distances["loihi"]] == ["population1"]
    row = cmp.distances["loihi"][0]
    assert row.spikes_a == row.spikes_b == len(spikes)
    assert (row.van_rossum_max > 0) == (len(spikes) > 0)


def test_a_target_with_nothing_to_match_is_named_and_not_ok(fake_runs, tmp_path):
    fake_runs["reference"] = (_result("reference", {"b": ([0], [5.0])}), _net(["a", "b"]))
    fake_runs["loihi"] = (_result("loihi", {}), _net(["a", "b"]))
    fake_runs["fpga"] = (_result("fpga", {"y": ([0], [5.0])}), _net(["x", "y"], sizes=(3, 9)))
    cmp = cmp_mod.compare_script(Path("x.py"), ["reference", "loihi", "fpga"])
    assert not cmp.ok and not cmp.distances
    assert "none of the populations recorded on 'reference' (b)" in cmp.unmatched["loihi"]
    assert "population 1 is 'b'" in cmp.unmatched["fpga"]
    text = "\n".join(summary_lines(cmp))
    assert "loihi: not compared:" in text and "fpga: not compared:" in text


def test_a_refusing_target_is_named_and_a_script_bug_is_not_a_refusal(fake_runs):
    fake_runs["reference"] = (_result("reference", {"b": ([0], [5.0])}), _net(["a", "b"]))
    fake_runs["truenorth"] = TargetError("target 'truenorth' cannot map projection 'p'")
    fake_runs["loihi"] = (_result("loihi", {"b": ([0], [5.0])}), _net(["a", "b"]))
    cmp = cmp_mod.compare_script(Path("x.py"), ["reference", "truenorth", "loihi"])
    assert not cmp.ok and cmp.targets == ["reference", "loihi"]
    assert "cannot map projection 'p'" in cmp.refused["truenorth"]
    fake_runs["truenorth"] = KeyError("oops")
    with pytest.raises(ScriptError, match="KeyError"):
        cmp_mod.compare_script(Path("x.py"), ["reference", "truenorth"])


def test_timing_table_uses_the_vocabulary_names_order_and_units(fake_runs):
    t_loihi = metrics.timing_report("loihi", {"latency_mean_ns": 12.0, "packets": 3,
                                              "energy_total_pJ": 5.0})
    t_fpga = metrics.timing_report("fpga", {"cycles_total": 100, "energy_total_pJ": 7.0})
    fake_runs["reference"] = (_result("reference", {"b": ([0], [5.0])}), _net(["a", "b"]))
    fake_runs["loihi"] = (_result("loihi", {"b": ([0], [5.0])}, timing=t_loihi),
                          _net(["a", "b"]))
    fake_runs["fpga"] = (_result("fpga", {"b": ([0], [5.0])}, timing=t_fpga), _net(["a", "b"]))
    cmp = cmp_mod.compare_script(Path("x.py"), ["reference", "loihi", "fpga"])
    table = timing_table(cmp)
    assert table[0].split() == ["timing", "unit", "loihi", "fpga"]
    rows = {line.split()[0]: line.split()[1:] for line in table[1:]}
    order = [k for k in metrics.METRICS if k in rows]
    assert [line.split()[0] for line in table[1:]] == order
    assert rows["energy_total_pJ"] == ["pJ", "5", "7"]
    assert rows["latency_mean_ns"] == ["ns", "12", "-"]
    assert rows["cycles_total"] == ["cycles", "-", "100"]
    cmp.results["fpga"].timing.metrics["synaptic_ops"] = 1.0      # outside the vocabulary
    with pytest.raises(TargetError, match="synaptic_ops"):
        timing_table(cmp)


def test_mapping_report_is_printed_and_stored(fake_runs, tmp_path):
    loihi = _result("loihi", {"b": ([0], [5.0])})
    loihi.mapping.approximate("input_spikes_merged", "population 'a'", "2 spikes merged", 2)
    loihi.mapping.quantized("weight", "projection 'a->b'", [0.5], [0.498], "nA")
    fake_runs["reference"] = (_result("reference", {"b": ([0], [5.0])}), _net(["a", "b"]))
    fake_runs["loihi"] = (loihi, _net(["a", "b"]))
    cmp = cmp_mod.compare_script(Path("x.py"), ["reference", "loihi"], tau=4.0)
    text = "\n".join(summary_lines(cmp))
    assert "mapping (reference): exact" in text
    assert "approximation input_spikes_merged: population 'a': 2 spikes merged" in text
    assert "quantization weight (projection 'a->b')" in text
    assert "tau = 4 ms" in text
    write_comparison(cmp, tmp_path, title="x.py")
    top = json.loads((tmp_path / "summary.json").read_text())
    assert top["van_rossum_tau_ms"] == 4.0
    assert top["mapping"]["loihi"]["approximations"][0]["kind"] == "input_spikes_merged"
    per_target = json.loads((tmp_path / "loihi" / "summary.json").read_text())
    assert per_target["mapping"] == loihi.mapping.to_dict()
    assert mapping_lines(cmp.results["reference"]) == ["mapping (reference): exact"]


def test_raster_has_a_panel_per_population_rates_for_large_ones_and_the_legend_outside():
    rng = np.random.default_rng(0)
    big = (rng.integers(0, 4000, 20000), np.round(rng.uniform(0, 200, 20000)))
    small = (rng.integers(0, 20, 50), np.round(rng.uniform(0, 200, 50)))
    results = [_result(t, {"exc": big, "inh": small}, t_stop=200.0) for t in ("a", "b")]
    fig = raster_figure(results, title="net.py (van Rossum tau = 10 ms)",
                        sizes={"exc": 4000, "inh": 20})
    axes = fig.axes
    assert len(axes) == 2
    assert axes[0].get_ylabel().startswith("exc") and "rate (Hz)" in axes[0].get_ylabel()
    assert axes[1].get_ylabel().startswith("inh") and "neuron" in axes[1].get_ylabel()
    assert len(axes[0].lines) == 2 and not axes[0].collections     # rates, not 20,000 dots
    assert "tau = 10 ms" in fig._suptitle.get_text()
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]
    assert all(legend.x0 >= ax.get_window_extent().x1 for ax in axes)


def test_summary_json_is_standard_json_with_an_infinite_relative_error(tmp_path):
    from neurocosim.sim.output import write_result
    res = _result("loihi", {"b": ([0], [5.0])})
    res.mapping.quantized("v_init", "population 'b'", [0.0], [0.25], "mV")
    write_result(res, tmp_path)
    text = (tmp_path / "summary.json").read_text()
    assert "Infinity" not in text
    q = json.loads(text)["mapping"]["quantization"][0]
    assert q["max_rel"] == "inf" and q["max_abs"] == 0.25
