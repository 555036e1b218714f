"""Compile progress: `hw.compile(..., progress=cb)` reports the long steps with monotone
fractions ending at 1.0, and the PyNN backend's printer shows them only for slow compiles."""

from __future__ import annotations

import io

import numpy as np
import pytest

from neurocosim import hw
from neurocosim.hw import Network, Population, Projection
from neurocosim.hw.mapping import Stage
from neurocosim.pynn_backend.simulator import CompileProgress

LIF = dict(cm=0.25, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, tau_refrac=2.0,
           v_rest=-65.0, v_reset=-70.0, v_thresh=-55.0, i_offset=0.0)


def small_net(n: int = 600, fanout: int = 20, seed: int = 0) -> Network:
    """An excitatory and an inhibitory population with fixed random fan-out."""
    rng = np.random.default_rng(seed)
    ne = n * 4 // 5
    pops = [Population("exc", ne, "IF_curr_exp", dict(LIF)),
            Population("inh", n - ne, "IF_curr_exp", dict(LIF))]
    projs = []
    for pre, npre, w, rec in (("exc", ne, 0.3, "excitatory"),
                              ("inh", n - ne, 0.5, "inhibitory")):
        src = np.repeat(np.arange(npre), fanout)
        dst = rng.integers(0, n, src.size)
        for post, lo, hi in (("exc", 0, ne), ("inh", ne, n)):
            m = (dst >= lo) & (dst < hi)
            projs.append(Projection(f"{pre}_{post}", pre, post, src[m], dst[m] - lo,
                                    np.full(m.sum(), w), np.full(m.sum(), 1.0), rec))
    return Network(pops, projs, timestep=1.0)


def record(target: str, **overrides) -> dict[str, list[float]]:
    calls: dict[str, list[float]] = {}
    hw.compile(small_net(), target, progress=lambda s, d: calls.setdefault(s, []).append(d),
               **overrides)
    return calls


@pytest.mark.parametrize("target, overrides, stages", [
    # small cores force several cores, so placement and routing have work to do
    ("loihi", dict(compartments_per_core=32),
     {"partition", "placement", "routing", "synapse memory"}),
    ("truenorth", {}, {"partition", "placement", "synapse memory"}),
])
def test_stages_report_monotone_fractions_ending_at_one(target, overrides, stages):
    calls = record(target, **overrides)
    assert stages <= set(calls)
    for stage, done in calls.items():
        assert done[0] == 0.0 and done[-1] == 1.0, stage
        assert done.count(1.0) == 1, stage
        assert all(b >= a for a, b in zip(done, done[1:])), (stage, done)
        assert len(done) <= 110, (stage, len(done))    # bounded rate: ~1% steps
    assert len(calls["partition"]) > 10                  # the loop reports as it goes


def test_compile_without_progress_is_unchanged():
    net = small_net()
    a = hw.compile(net, "loihi", compartments_per_core=32)
    b = hw.compile(net, "loihi", compartments_per_core=32, progress=lambda s, d: None)
    assert np.array_equal(a.placement, b.placement)
    assert [c.neurons.tolist() for c in a.cores] == [c.neurons.tolist() for c in b.cores]


def test_targets_without_progress_ignore_the_callback():
    calls = []
    hw.compile(small_net(100, 5), "reference", progress=lambda s, d: calls.append(s))
    assert calls == []


def test_stage_holds_fractions_monotone_and_rate_bounded():
    t = [0.0]
    got = []
    st = Stage(lambda s, d: got.append(d), "x", clock=lambda: t[0])
    for f in (0.001, 0.002, 0.5, 0.3, 0.505, 0.9999):
        st(f)
    t[0] = 1.0
    st(0.9999)              # 0.2 s passed: reported even without a 1% step
    st.finish()
    st.finish()
    # 0.001, 0.002: under 1% and no time passed; 0.3 is held at 0.5; 0.505: under 1%
    assert got == [0.0, 0.5, 0.9999, 0.9999, 1.0]


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_printer_is_silent_for_a_fast_compile():
    clock, out = FakeClock(), io.StringIO()
    p = CompileProgress("loihi", stream=out, clock=clock)
    for stage in ("partition", "placement"):
        for d in (0.0, 0.5, 1.0):
            clock.t += 0.1
            p(stage, d)
    p.finish()
    assert out.getvalue() == ""


def test_printer_shows_the_stage_line_for_a_slow_compile():
    clock, out = FakeClock(), io.StringIO()
    p = CompileProgress("loihi", stream=out, clock=clock)
    p("partition", 0.5)                     # before show_after: nothing yet
    assert out.getvalue() == ""
    clock.t += 4.0
    p("placement", 0.4)
    clock.t += 1.5
    p("placement", 1.0)
    p.finish()
    text = out.getvalue()
    assert "\r[loihi] compiling: placement 40%" in text
    assert "placement 100%" in text and "partition" not in text
    assert text.endswith("\n") and "\r[loihi] compiled in 5.5 s" in text
    assert text.count("\n") == 1            # one updating line


def test_printer_names_a_slow_compile_without_stages():
    clock, out = FakeClock(), io.StringIO()
    p = CompileProgress("dynapse", stream=out, clock=clock)
    clock.t += 3.5
    p.finish()
    assert out.getvalue() == "\r[dynapse] compiled in 3.5 s" + " " * 40 + "\n"
