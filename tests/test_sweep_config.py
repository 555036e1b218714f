"""Sweep files, points, fidelity metrics and the Pareto front, without Ray (fast)."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sweep_toy  # noqa: F401  (registers the "toy" target)
from neurocosim.hw.result import Result, Spikes
from neurocosim.sim.sweep import (SweepError, count_correlation, evaluate_point, read_results,
                                  expand_points, fidelity_metrics, parse_config, point_key)
from neurocosim.sim.sweep.evaluate import SweepTask
from neurocosim.sim.sweep.points import Point
from neurocosim.sim.sweep.report import pareto_front, pareto_front_oracle

BASE = {
    "sweep": {"target": "toy", "reference": "toy", "duration": 50.0},
    "network": {"builder": "sweep_toy:tiny_network", "kwargs": {"n": 8}},
    "axes": {"neurons_per_core": [2, 4], "jitter_ms": {"start": 0.0, "stop": 1.0, "num": 3},
             "mesh_shape": [[2, 4], [4, 4]]},
}


def cfg(**tables):
    raw = copy.deepcopy(BASE)
    for table, changes in tables.items():
        for k, v in changes.items():
            if v is None:
                raw[table].pop(k, None)
            else:
                raw.setdefault(table, {})[k] = v
    return parse_config(raw)


def test_valid_file_parses_and_converts_to_spec_types():
    c = cfg()
    axes = {a.name: a.values for a in c.axes}
    assert axes["neurons_per_core"] == (2, 4)
    assert axes["jitter_ms"] == (0.0, 0.5, 1.0)
    assert axes["mesh_shape"] == ((2, 4), (4, 4))  # TOML lists become the spec's tuples
    points = expand_points(c)
    assert len(points) == 2 * 3 * 2
    assert [p.point_id for p in points] == list(range(12))
    assert points[0].params == {"neurons_per_core": 2, "jitter_ms": 0.0, "mesh_shape": (2, 4)}


@pytest.mark.parametrize("tables, needle", [
    ({"sweep": {"colour": "red"}}, "'colour'"),
    ({"sweep": {"target": "nochip"}}, "nochip"),
    ({"sweep": {"duration": -5.0}}, "sweep.duration = -5.0"),
    ({"sweep": {"duration": None}}, "sweep.duration is missing"),
    ({"sweep": {"duration": 10.5}}, "sweep.duration = 10.5 ms is not a whole number"),
    ({"sweep": {"sampling": "sobol"}}, "sweep.sampling = 'sobol'"),
    ({"sweep": {"sampling": "random"}}, "sweep.samples = None"),
    ({"sweep": {"fidelity": ["rate", "psth"]}}, "'psth'"),
    ({"sweep": {"reference": "nochip"}}, "sweep.reference = 'nochip'"),
    ({"sweep": {"seed": "one"}}, "sweep.seed = 'one'"),
    ({"axes": {"cores_per_chip": [1, 2]}}, "axes.cores_per_chip"),
    ({"axes": {"neurons_per_core": [2, 2.5]}}, "axes.neurons_per_core = 2.5"),
    ({"axes": {"neurons_per_core": []}}, "axes.neurons_per_core = []"),
    ({"axes": {"neurons_per_core": [4, 0]}}, "axes.neurons_per_core = 0"),
    ({"axes": {"neurons_per_core": [4, 4]}}, "values repeat"),
    ({"axes": {"jitter_ms": {"low": 0.0, "high": 1.0}}}, "axes.jitter_ms"),
    ({"axes": {"jitter_ms": {"start": 0.0, "stop": 1.0, "step": -0.5}}}, "axes.jitter_ms.step"),
    ({"axes": {"jitter_ms": {"start": 0.0, "stop": 1.0}}}, "axes.jitter_ms"),
    ({"axes": {"name": ["x"]}}, "axes.name"),
    ({"target": {"hop_latency_ns": "fast"}}, "target.hop_latency_ns = 'fast'"),
    ({"target": {"jitter_ms": 1.0}}, "also fixed in [target]"),
    ({"network": {"image": "x.ncs"}}, "exactly one of builder, image, pynn"),
    ({"axes": {"weight_format.bits": [4, 0]}}, "axes.weight_format.bits = 0"),
    ({"axes": {"weight_format.colour": [1]}}, "field 'weight_format' has no parameter"),
    ({"axes": {"jitter_ms.bits": [1]}}, "field 'jitter_ms' has no parameter 'bits'"),
    ({"network": {"builder": "sweep_toy.tiny_network"}}, "network.builder"),
])
def test_validation_errors_name_the_bad_key_and_value(tables, needle):
    with pytest.raises(SweepError) as err:
        cfg(**tables)
    assert needle in str(err.value)


def test_ranges_step_and_log():
    c = cfg(axes={"neurons_per_core": {"start": 2, "stop": 8, "step": 3},
                  "hop_latency_ns": {"start": 1.0, "stop": 100.0, "num": 3, "log": True}})
    axes = {a.name: a.values for a in c.axes}
    assert axes["neurons_per_core"] == (2, 5, 8)
    assert axes["hop_latency_ns"] == (1.0, 10.0, 100.0)  # exactly: tidy floats
    powers = cfg(axes={"hop_latency_ns": {"start": 1.0, "stop": 4096.0, "num": 13,
                                          "log": True}}).axes[-1].values
    assert powers == tuple(2.0 ** k for k in range(13))


def test_random_sampling_is_seeded_and_in_range():
    axes = {"neurons_per_core": {"low": 2, "high": 9},
            "hop_latency_ns": {"low": 1.0, "high": 100.0, "log": True},
            "mesh_shape": [[2, 4], [4, 4]]}
    a = expand_points(cfg(sweep={"sampling": "random", "samples": 30, "seed": 3}, axes=axes))
    b = expand_points(cfg(sweep={"sampling": "random", "samples": 30, "seed": 3}, axes=axes))
    c = expand_points(cfg(sweep={"sampling": "random", "samples": 30, "seed": 4}, axes=axes))
    assert a == b and a != c
    for p in a:
        assert isinstance(p.params["neurons_per_core"], int)
        assert 2 <= p.params["neurons_per_core"] <= 9
        assert 1.0 <= p.params["hop_latency_ns"] <= 100.0
    assert len({p.key for p in a}) == len(a)  # duplicates dropped


@given(st.dictionaries(st.sampled_from("abcdef"), st.integers() | st.floats(allow_nan=False)
                       | st.tuples(st.integers(), st.integers()), min_size=1))
def test_point_key_ignores_order_and_sees_values(params):
    reordered = dict(reversed(list(params.items())))
    assert point_key(params) == point_key(reordered)
    changed = dict(params)
    k = next(iter(changed))
    changed[k] = "other"
    assert point_key(changed) != point_key(params)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=0, max_size=25))
def test_pareto_front_matches_brute_force(pairs):
    x = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=float)
    if len(pairs) > 2:
        x[1] = np.nan  # a failed point never sits on the front
    assert set(pareto_front(x, y).tolist()) == pareto_front_oracle(x, y)


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=2, max_size=30))
def test_count_correlation_is_pearson(pairs):
    a = np.array([p[0] for p in pairs], float)
    b = np.array([p[1] for p in pairs], float)
    got = count_correlation(a, b)
    if np.all(a == a[0]) or np.all(b == b[0]):
        assert math.isnan(got)
        return
    da, db = a - a.mean(), b - b.mean()
    want = (da * db).sum() / math.sqrt((da * da).sum() * (db * db).sum())
    assert got == pytest.approx(want, abs=1e-9)


def _result(spikes, t_stop=100.0):
    return Result("x", t_stop, 1.0, {k: Spikes(*v) for k, v in spikes.items()})


def test_fidelity_of_identical_and_shifted_runs():
    net = sweep_toy.tiny_network(n=3, n_in=2)
    inp = ([0, 1], [5.0, 7.0])
    ref = _result({"inp": inp, "exc": ([0, 1, 2, 2], [10.0, 20.0, 30.0, 60.0])})
    same = fidelity_metrics(ref, ref, net)
    assert same["rate_abs_diff_Hz"] == 0 and same["van_rossum"] == 0
    assert same["count_corr"] == pytest.approx(1.0)
    # one extra spike on neuron 0: rate +1/3 spike per neuron in 0.1 s, one unmatched spike
    more = _result({"inp": inp, "exc": ([0, 0, 1, 2, 2], [10.0, 40.0, 20.0, 30.0, 60.0])})
    m = fidelity_metrics(more, ref, net, tau=10.0)
    assert m["rate_diff_exc_Hz"] == pytest.approx(10 / 3)
    assert m["rate_diff_inp_Hz"] == 0
    assert m["van_rossum_exc"] == pytest.approx(math.sqrt(0.5) / 3, rel=1e-2)
    only_rates = fidelity_metrics(more, ref, net, which=("rate",))
    assert "van_rossum" not in only_rates and "rate_abs_diff_Hz" in only_rates


def test_failing_point_is_a_row_not_an_exception():
    c = cfg(network={"kwargs": {"n": 30}})
    task = SweepTask.from_config(c, 50.0)
    net = sweep_toy.tiny_network(n=30)
    row = evaluate_point(task, net, None, Point(0, "k", {"neurons_per_core": 2}))
    assert row["status"] == "error"
    assert row["error"].startswith("LimitError: cores: needs 17, the target allows 8")
    ok = evaluate_point(task, net, None, Point(1, "k2", {"neurons_per_core": 8}))
    assert ok["status"] == "ok" and ok["n_cores"] == 5 and ok["latency_ns"] == 10.0


def test_metric_missing_from_timing_report_is_reported():
    c = cfg(sweep={"metrics": ["latency_ns", "flux_capacitance"]})
    task = SweepTask.from_config(c, 50.0)
    row = evaluate_point(task, sweep_toy.tiny_network(n=8), None,
                         Point(0, "k", {"neurons_per_core": 4}))
    assert row["status"] == "error" and "flux_capacitance" in row["error"]


def test_grid_order_is_axis_order():
    c = cfg()
    names = [a.name for a in c.axes]
    combos = list(itertools.product(*(a.values for a in c.axes)))
    assert [tuple(p.params[n] for n in names) for p in expand_points(c)] == combos


def test_network_from_a_saved_file_runs_serially(tmp_path):
    from neurocosim.hw import serialize
    from neurocosim.sim.sweep import run_sweep
    serialize.save(sweep_toy.tiny_network(n=6), tmp_path / "net.ncs", kind="network")
    raw = copy.deepcopy(BASE)
    raw["network"] = {"image": "net.ncs"}
    raw["axes"] = {"neurons_per_core": [1, 4]}
    summary = run_sweep(parse_config(raw, base_dir=tmp_path), executor="serial",
                        progress=False)
    rows = read_results(summary.table).to_pylist()
    assert [r["status"] for r in rows] == ["error", "ok"]  # 10 neurons need 10 cores at 1
    assert rows[1]["n_cores"] == 3
    bad = copy.deepcopy(raw)
    bad["network"] = {"image": "missing.ncs"}
    with pytest.raises(SweepError, match="network.image = 'missing.ncs'"):
        parse_config(bad, base_dir=tmp_path)


def test_dotted_axis_reaches_into_a_nested_record():
    c = cfg(axes={"weight_format.bits": [4, 6], "neurons_per_core": None, "jitter_ms": None,
                  "mesh_shape": None}, target={"weight_format.signed": False})
    task = SweepTask.from_config(c, 50.0)
    rows = [evaluate_point(task, sweep_toy.tiny_network(n=8), None, p)
            for p in expand_points(c)]
    assert [r["weight_bits"] for r in rows] == [4.0, 6.0]
    spec = c.base_spec()
    assert spec.weight_format.signed is False and spec.weight_format.bits == 8


PYNN_SCRIPT = """
import pyNN.neurocosim as sim
sim.setup(timestep=1.0)
src = sim.Population(3, sim.SpikeSourceArray(spike_times=[5.0, 15.0, 25.0]), label="src")
cells = sim.Population(7, sim.IF_curr_exp(i_offset=0.5), label="cells")
sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=1.0))
cells.record("spikes")
sim.run(40.0)
sim.end()
"""


def test_network_from_a_pynn_script_with_the_float_reference(tmp_path):
    from neurocosim.sim.sweep import run_sweep
    (tmp_path / "net.py").write_text(PYNN_SCRIPT)
    raw = copy.deepcopy(BASE)
    raw["sweep"] = {"target": "toy", "reference": "reference"}  # duration: the script's
    raw["network"] = {"pynn": "net.py"}
    raw["axes"] = {"neurons_per_core": [1, 2]}
    c = parse_config(raw, base_dir=tmp_path)
    summary = run_sweep(c, executor="serial", progress=False)
    rows = read_results(summary.table).to_pylist()
    assert [r["status"] for r in rows] == ["error", "ok"]
    assert rows[0]["error"].startswith("LimitError: cores: needs 10, the target allows 8")
    ok = rows[1]
    assert ok["n_cores"] == 5
    # the float reference ran the same network: the toy's regular firing differs from it
    assert ok["rate_cells_Hz"] > 0 and ok["van_rossum_cells"] > 0
    assert "rate_src_Hz" not in ok  # the script does not record src: nothing to compare


def test_builder_given_as_a_file_next_to_the_sweep(tmp_path):
    from neurocosim.sim.sweep.network_source import load_network
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "mine.py").write_text(
        "import sweep_toy\n\ndef build(n):\n    return sweep_toy.tiny_network(n=n)\n")
    raw = copy.deepcopy(BASE)
    raw["network"] = {"builder": "nets/mine.py:build", "kwargs": {"n": 5}}
    c = parse_config(raw, base_dir=tmp_path)
    net, _ = load_network(c.network, c.base_dir)
    assert net.size == 5 + 4
    raw["network"]["builder"] = "nets/mine.py:nothing"
    with pytest.raises(SweepError, match="has no 'nothing'"):
        load_network(parse_config(raw, base_dir=tmp_path).network, tmp_path)
    raw["network"]["kwargs"] = {"size": 5}
    raw["network"]["builder"] = "nets/mine.py:build"
    with pytest.raises(SweepError, match=r"bad kwargs \['size'\]"):
        load_network(parse_config(raw, base_dir=tmp_path).network, tmp_path)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3),
                          st.none() | st.floats(allow_infinity=False),
                          st.none() | st.text(max_size=8)),
                min_size=1, max_size=8, unique_by=lambda t: t[1:]))
def test_store_round_trip_sorted_by_point_id(tmp_path_factory, rows):
    """Rows written one part each come back as one table sorted by point id, with every
    value as written (NaN as null), whatever their order and mix of ok and error rows."""
    from neurocosim.sim.sweep import ResultStore
    store = ResultStore(tmp_path_factory.mktemp("store"))
    store.open({"x": 1}, "t", axes=["a"])
    (store.parts / ".dead.123.tmp").write_bytes(b"half a part")
    written = []
    for i, (ok, a, m1, m2) in enumerate(rows):
        row = {"point_id": len(rows) - i, "key": point_key({"a": a, "m": repr((m1, m2))}),
               "status": "ok" if ok else "error", "error": None if ok else f"E{i}",
               "a": a, "m1": m1 if ok else None, "m2": m2 if ok else None}
        store.write(row)
        written.append(row)
    store.open({"x": 1}, "t", axes=["a"])  # reopening clears stale temporary files
    assert not list(store.parts.glob(".*"))
    got = store.combine(axes=["a"]).to_pylist()
    assert [r["point_id"] for r in got] == sorted(r["point_id"] for r in written)
    by_id = {r["point_id"]: r for r in written}
    for r in got:
        want = by_id[r["point_id"]]
        for k in ("key", "status", "error", "a", "m2"):
            assert r[k] == want[k]
        m1 = want["m1"]
        assert r["m1"] == (None if m1 is None or math.isnan(m1) else m1)
