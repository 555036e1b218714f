"""The target contract (DESIGN.md, "The target contract"), checked on every registered
target over the same generated networks.

For each network a target accepts: the recorded source spikes are exactly the one
stimulus (`hw.stimulus`; merged where the target has no input multiplicity, and then named
in the mapping report), only recorded populations and variables come back, on one time
base, with one set of Result keys and timing names from `hw.metrics`; the mapping report
names every projection whose delays the target rounds, and strict mode refuses it;
`run(a); run(b)` equals `run(a + b)` and `reset()` starts over. A target that refuses a
network does it with a TargetError that names what it lacks.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.hw import metrics
from neurocosim.hw.errors import NetworkError, TargetError
from neurocosim.hw.ir import (Network, PoissonSource, Population, Projection, Recording,
                              SpikeArray, SpikeTrains, is_source)
from neurocosim.hw.report import MappingReport
from neurocosim.hw.stimulus import Stimulus

#: runner options a target needs to run here (the board: the virtual one)
OPTIONS = {"board": {"port": "virtual"}}
TARGETS = [t for t in hw.target_names() if t != "toy"]
DURATION = 30.0


#: model flavours: (IR model, leak); "no leak" (tau_m 1e9 ms, no refractory period) is
#: what the sfq target's counting neurons accept
FLAVOURS = {"exp": ("IF_curr_exp", True), "delta": ("IF_curr_delta", True),
            "delta_noleak": ("IF_curr_delta", False)}


def _params(flavour: str, rng: np.random.Generator) -> dict:
    model, leak = FLAVOURS[flavour]
    p = dict(cm=1.0, tau_m=rng.uniform(10.0, 30.0) if leak else 1e9,
             tau_refrac=float(rng.choice([0.0, 2.0])) if leak else 0.0,
             v_rest=-65.0, v_reset=-65.0, v_thresh=-55.0, i_offset=0.0)
    if model == "IF_curr_exp":
        p.update(tau_syn_E=5.0, tau_syn_I=5.0)
    return p


def make_network(seed: int, flavour: str, dt: float = 1.0) -> Network:
    """Sources (spike arrays with two spikes in one step, Poisson), two integrating
    populations with unrecorded parts, feed-forward static projections, one with delays
    that are not whole steps of 1 ms."""
    rng = np.random.default_rng(seed)
    model = FLAVOURS[flavour][0]
    n_a, n_p, n_1, n_2 = (int(x) for x in rng.integers(3, 9, size=4))
    trains = [np.sort(rng.uniform(0.0, DURATION, size=rng.integers(1, 6))) for _ in range(n_a)]
    trains[0] = np.array([2.0, 2.2, 7.0])          # two spikes in one 1 ms step
    pops = [Population("arr", n_a, "SpikeSourceArray"),
            Population("poi", n_p, "SpikeSourcePoisson",
                       dict(rate=float(rng.uniform(50, 200)), start=0.0, duration=1e9)),
            Population("first", n_1, model, _params(flavour, rng)),
            Population("second", n_2, model, _params(flavour, rng))]

    def proj(name, pre, post, n_pre, n_post, delay_choices):
        k = int(rng.integers(1, n_pre * n_post + 1))
        flat = rng.choice(n_pre * n_post, size=k, replace=False)
        return Projection(name, pre, post, flat // n_post, flat % n_post,
                          rng.uniform(0.2, 1.0, size=k), rng.choice(delay_choices, size=k))

    projs = [proj("arr_first", "arr", "first", n_a, n_1, [1.0, 2.0]),
             proj("poi_first", "poi", "first", n_p, n_1, [1.0, 3.0]),
             proj("first_second", "first", "second", n_1, n_2, [1.5, 2.0])]
    recs = [Recording("arr", "spikes", np.arange(n_a)),
            Recording("poi", "spikes", np.arange(0, n_p, 2)),
            Recording("first", "spikes", np.arange(n_1))]
    return Network(pops, projs,
                   [SpikeArray("arr", SpikeTrains.from_lists(trains)),
                    PoissonSource("poi", seed=int(rng.integers(0, 1000)))],
                   recs, timestep=dt, seed=seed)


def _compile(net: Network, target: str):
    try:
        return hw.compile(net, target)
    except TargetError as exc:
        assert str(exc), "a refusal names what the target lacks"
        return None


def _expected_inputs(net: Network, spec, steps: int) -> dict[str, hw.Spikes]:
    dt = spec.timestep or net.timestep
    win = Stimulus(net, dt).window(0, steps)
    if not spec.input_multiplicity:
        win = win.merged()
    off = net.offsets()
    out = {}
    for rec in net.recordings:
        pop = net.population(rec.population)
        if rec.variable == "spikes" and is_source(pop.model):
            s = win.population(off[pop.name], pop.size, dt)
            keep = np.isin(s.ids, rec.indices)
            out[pop.name] = (s.ids[keep], s.times[keep])
    return out


def _canonical(spikes: hw.Spikes) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((spikes.ids, spikes.times))
    return spikes.ids[order], spikes.times[order]


def check_result(res: hw.Result, net: Network, spec, steps: int) -> None:
    """The Result shape and time base every target returns."""
    dt = spec.timestep or net.timestep
    assert res.target == spec.name
    assert res.timestep == pytest.approx(dt)
    assert res.t_stop == pytest.approx(steps * dt)
    assert res.info["steps"] == steps
    assert "ticks" not in res.info
    recorded = {r.population for r in net.recordings if r.variable == "spikes"}
    assert set(res.spikes) == recorded
    for r in net.recordings:
        if r.variable == "spikes":
            s = res.spikes[r.population]
            assert np.all(np.isin(s.ids, r.indices))
            stamps = s.times / dt
            assert np.allclose(stamps, np.rint(stamps), atol=1e-6)
            assert np.all((s.times >= 0) & (s.times <= steps * dt + 1e-9))
    signals = {(p, v) for p, d in res.signals.items() for v in d}
    assert signals == {(r.population, r.variable) for r in net.recordings
                       if r.variable != "spikes"}
    assert isinstance(res.mapping, MappingReport) and res.mapping.target == spec.name
    if res.timing is not None:
        for name in list(res.timing.metrics) + list(res.timing.arrays):
            metrics.unit(name)          # every name is in the vocabulary
        assert set(metrics.COMMON) <= set(res.timing.metrics)
        assert res.timing.metrics["steps"] == steps
    for pr in net.projections:
        if pr.name in res.weights:
            assert np.shape(res.weights[pr.name]) == (pr.size,)


def run_target(net: Network, target: str, steps_a: int, steps_b: int):
    image = _compile(net, target)
    if image is None:
        return None, None
    runner = hw.runner_for(image)(image, **OPTIONS.get(target, {}))
    dt = image.target.timestep or net.timestep
    runner.run(steps_a * dt)
    runner.run(steps_b * dt)
    return image, runner


@pytest.mark.parametrize("target", TARGETS)
@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), flavour=st.sampled_from(sorted(FLAVOURS)),
       split=st.integers(1, 29))
def test_contract(target, seed, flavour, split):
    net = make_network(seed, flavour)
    image, runner = run_target(net, target, split, int(DURATION) - split)
    if image is None:
        return
    spec, steps = image.target, int(DURATION / (image.target.timestep or net.timestep))
    res = runner.result()
    check_result(res, net, spec, steps)
    # the one stimulus, delivered across two runs as in one
    for pop, (ids, times) in _expected_inputs(net, spec, steps).items():
        got_ids, got_times = _canonical(res.spikes[pop])
        exp_order = np.lexsort((ids, times))
        np.testing.assert_array_equal(got_ids, ids[exp_order])
        np.testing.assert_allclose(got_times, times[exp_order])
    # reset starts over: the same spikes as a fresh runner in one run
    runner.reset()
    runner.run(DURATION)
    again = runner.result()
    fresh = hw.runner_for(image)(image, **OPTIONS.get(target, {}))
    fresh.run(DURATION)
    first = fresh.result()
    for pop in first.spikes:
        for a, b in zip(_canonical(again.spikes[pop]), _canonical(first.spikes[pop])):
            np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
@pytest.mark.parametrize("target", TARGETS)
def test_mapping_report_names_what_changed(target, flavour):
    """Delays of 1.5 ms at a 1 ms step and two input spikes in one step: a target that
    rounds or merges says so, naming the projection or population, and strict refuses."""
    net = make_network(7, flavour)
    image = _compile(net, target)
    if image is None:
        return
    spec = image.target
    dt = spec.timestep or net.timestep
    kinds = {a.where for a in image.report.approximations}
    for pr in net.projections:
        steps = pr.delay / dt
        if not np.allclose(steps, np.rint(steps)):
            assert any(pr.name in w for w in kinds), (target, pr.name, kinds)
    if not spec.input_multiplicity:
        assert any("arr" in w for w in kinds), (target, kinds)
    if image.report.approximations:
        with pytest.raises(TargetError, match="strict"):
            hw.compile(net, target, strict=True)


@pytest.mark.parametrize("target", TARGETS)
def test_unknown_option_is_refused_naming_the_options(target):
    net = make_network(3, "delta_noleak")
    image = _compile(net, target)
    if image is None:
        return
    with pytest.raises(TargetError, match="option"):
        hw.runner_for(image)(image, no_such_option=1, **OPTIONS.get(target, {}))


def test_every_target_gets_the_same_input():
    """The product's premise: the same recorded input trains on every accepting target;
    between the two networks every registered target runs one."""
    ran = set()
    for flavour in ("exp", "delta_noleak"):
        net = make_network(11, flavour)
        seen = {}
        for target in TARGETS:
            image = _compile(net, target)
            if image is None:
                continue
            runner = hw.runner_for(image)(image, **OPTIONS.get(target, {}))
            runner.run(DURATION)
            res = runner.result()
            seen[target] = {p: _canonical(res.spikes[p]) for p in ("arr", "poi")}
        ran |= set(seen)
        ref = seen["reference"]
        for target, got in seen.items():
            merged = not hw.get_target(target).input_multiplicity
            for pop in ("arr", "poi"):
                want = ref[pop]
                if merged:      # one spike per neuron and step: the reference's, merged
                    pairs = np.unique(np.stack([want[1], want[0]]), axis=1)
                    want = (pairs[1].astype(np.int64), pairs[0])
                for a, b in zip(got[pop], want):
                    np.testing.assert_allclose(a, b, err_msg=f"{target} {pop}")
    assert ran == set(TARGETS)


@pytest.mark.parametrize("target", TARGETS)
def test_a_source_has_no_voltage_on_any_target(target):
    net = make_network(3, "delta_noleak")
    net.recordings.append(Recording("poi", "v", np.arange(2)))
    with pytest.raises(NetworkError, match="'poi' is a spike source: it has no 'v'"):
        hw.compile(net, target)
