"""report.html without a browser: self-contained (no external URL in any src or href),
every figure titled; readable units; the mesh grid against the interconnect's own link
numbering; the sweep page (constant metrics left out, the front listed, integer axes);
the progress ETA; the README tour snippet fires and writes a report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.hw.metrics import timing_report
from neurocosim.hw.result import Result, Signal, Spikes
from neurocosim.sim.report import run_page
from neurocosim.sim.report.hardware import link_grid, mesh_traffic
from neurocosim.sim.report.sweep import front_words
from neurocosim.sim.report.units import base_unit, is_integer_axis, scale_for

ROOT = Path(__file__).resolve().parent.parent


class Links(HTMLParser):
    """Every src and href attribute, and the number of <script> tags with a src."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.external_scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        self.external_scripts += tag == "script" and "src" in a


def assert_self_contained(text: str) -> None:
    p = Links()
    p.feed(text)
    assert p.external_scripts == 0
    assert not [u for u in p.urls if re.match(r"(https?:)?//", u)], p.urls


def synthetic_result(rng, n_spikes=300) -> Result:
    """Two populations, a recorded voltage, a loihi-like timing report on a 3 x 2 mesh."""
    t = np.arange(0, 50.0, 0.5)
    timing = timing_report("loihi", {"steps": 100, "energy_total_pJ": 2.5e6,
                                     "energy_synop_pJ": 2e6, "chip_time_ns": 1.2e5},
                           {"step_ns": rng.uniform(900, 1500, 100),
                            "link_packets": rng.integers(0, 9, 3 * 2 * 4)})
    return Result("loihi", 50.0, 0.5, spikes={
        "exc": Spikes(rng.integers(0, 40, n_spikes), rng.uniform(0, 50, n_spikes)),
        "inh": Spikes(rng.integers(0, 10, n_spikes // 4), rng.uniform(0, 50, n_spikes // 4))},
        signals={"exc": {"v": Signal(t, np.arange(12), rng.normal(-60, 3, (len(t), 12)),
                                     "mV")}}, timing=timing)


def test_run_report_is_self_contained_and_titled(tmp_path):
    res = synthetic_result(np.random.default_rng(1))
    page = run_page(res, {"exc": 40, "inh": 10}, "synthetic", {"loihi": (3, 2)})
    path = page.write(tmp_path / "report.html")
    text = path.read_text()
    assert_self_contained(text)
    titles = [t for t, _, _ in page.figures]
    assert titles == ["Spike raster: loihi", "Population rates over time: loihi",
                      "Inter-spike intervals and their CV", "Recorded state variables",
                      "Hardware duration of each timestep", "Energy by event",
                      "Mesh traffic: loihi, 3 x 2 routers, "
                      f"{int(res.timing.arrays['link_packets'].sum())} link traversals"]
    assert text.count('class="plotly-graph-div"') == len(titles)
    assert "exc.v: 8 of 12 recorded cells" in text       # the cut is said, not silent
    assert "energy_total_pJ" in text and "No spike" not in text


def test_a_run_without_spikes_says_so():
    res = Result("reference", 10.0, 0.1, spikes={"a": Spikes([], [])})
    page = run_page(res, {"a": 5}, "silent")
    assert not page.figures
    assert "No spike was fired in this run" in page.html()


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["chip_time_ns", "energy_total_pJ", "core_busy_ns_max"]),
       st.floats(2.0, 1e14))
def test_scale_keeps_the_median_between_1_and_1000(name, top):
    sc = scale_for(name, [top / 7, top, top / 2])
    assert 1.0 <= top / 2 / sc.factor or sc.factor == 1.0
    assert top / 2 / sc.factor < 1000 or sc.unit in ("s", "J")


def test_units_of_names():
    assert base_unit("hops_ns") == "hops"           # the vocabulary: north-south hops
    assert base_unit("core_busy_ns_max") == "ns"
    assert base_unit("rate_abs_diff_Hz") == "Hz"
    assert base_unit("n_cores") == ""
    assert scale_for("energy_total_pJ", [4.2e6]).label("energy_total_pJ") == \
        "energy_total_pJ (uJ)"
    assert is_integer_axis([4, 5, 6.0]) and not is_integer_axis([4.5, 5])


def test_mesh_grid_places_each_link_where_the_router_sends_it():
    """Packets routed by the emulator's interconnect (XY: x first, then y) from router
    (0, 0) to (2, 1) light up exactly the cells between (0,0)-(1,0), (1,0)-(2,0) and
    (2,0)-(2,1); one packet back from (2, 1) to (0, 1) the cells of row y = 1."""
    from neurocosim.emulator.interconnect import MeshCosts, route
    core_xy = np.array([[0, 0], [2, 1], [0, 1]])
    routed = route(np.array([0, 1]), np.array([1, 2]), np.array([0.0, 0.0]), core_xy,
                   (3, 2), MeshCosts(hop_ew_latency_ns=1.0, hop_ns_latency_ns=1.0))
    z, text = link_grid(routed.link_packets, 3, 2)
    lit = {(int(r), int(c)) for r, c in zip(*np.nonzero(np.nan_to_num(z)))}
    assert lit == {(0, 1), (0, 3), (1, 4), (2, 3), (2, 1)}
    assert "east 1" in text[0, 1] and "west 1" in text[2, 3]
    assert np.nansum(z) == routed.link_packets.sum()


def test_a_mesh_that_does_not_fit_the_counters_is_named_not_guessed():
    res = synthetic_result(np.random.default_rng(2))
    fig, note = mesh_traffic(res, (4, 4), "Mesh traffic")
    assert fig is None and "24 link counters do not fit a mesh of (4, 4)" in note


def test_front_words():
    assert front_words([20]) == "point 20"
    assert front_words([3, 7]) == "points 3, 7"


@pytest.fixture(scope="module")
def toy_sweep(tmp_path_factory):
    """The toy sweep of test_sweep (12 points, 4 failed), run serially."""
    from neurocosim.host.cli import main as cli
    sys.path.insert(0, str(ROOT / "tests"))
    from test_sweep import write_sweep
    folder = tmp_path_factory.mktemp("sweep")
    path = write_sweep(folder)
    assert cli(["sweep", str(path), "--serial", "--quiet"]) == 0
    return folder / "s.results"


def test_sweep_report_page(toy_sweep, capsys):
    from neurocosim.host.cli import main as cli
    from neurocosim.sim.sweep import read_results
    assert cli(["sweep-report", str(toy_sweep)]) == 0
    printed = capsys.readouterr().out
    html = (toy_sweep / "report" / "report.html").read_text()
    assert_self_contained(html)
    rows = [r for r in read_results(toy_sweep).to_pylist() if r["status"] == "ok"]
    constant = [k for k in ("weight_bits", "n_cores") if len({r[k] for r in rows}) == 1]
    varying = [k for k in ("latency_ns", "energy_pJ", "van_rossum")
               if len({r[k] for r in rows}) > 1]
    assert varying
    for k in varying:
        assert f"{k} against the sweep" in html
    for k in constant:                   # named once, not plotted
        assert f"{k} against the sweep" not in html and f"{k} = " in html
        assert not (toy_sweep / "report" / f"{k}.png").exists()
    m = re.search(r"Pareto front: (points? [\d, ]+)", printed)
    assert m and m.group(1) in html
    n_front = len(m.group(1).split(","))
    assert m.group(1).startswith("points" if n_front > 1 else "point ")
    # the integer axis neurons_per_core has its ticks at the values of the points that ran
    values = sorted({float(r["neurons_per_core"]) for r in rows})
    assert f'"tickvals":{json.dumps(values).replace(" ", "")}' in html.replace(" ", "")


class SlowStart:
    """An engine whose first call costs `warmup` s (a JIT), then `per_step` s a step."""

    def __init__(self, warmup: float, per_step: float, dt: float):
        self.warmup, self.per_step, self.dt, self.calls = warmup, per_step, dt, 0

    def run(self, ms: float) -> None:
        time.sleep(self.warmup * (self.calls == 0) + self.per_step * round(ms / self.dt))
        self.calls += 1


def test_progress_eta_leaves_out_the_warmup(capsys):
    """A 1 s warm-up before a 1 s run: the first ETA shown is within 2x of the truth
    (counting the warm-up, the old line promised about 50x)."""
    from neurocosim.pynn_backend.simulator import _run_with_progress
    eng = SlowStart(1.0, 0.001, 1.0)
    start = time.monotonic()
    _run_with_progress(eng, 1000, 1.0, "toy", show_after=0.0)
    end = time.monotonic()
    err = capsys.readouterr().err
    first = re.search(r"\] ([\d.]+)/1000.0 ms \((\d+)%\), about (\d+) s left", err)
    assert first, err
    done_ms = float(first.group(1))
    true_left = (end - start - 1.0) * (1000 - done_ms) / 1000
    claimed = max(float(first.group(3)), 0.5)      # printed in whole seconds
    assert claimed <= 2 * max(true_left, 0.5) + 0.5


def test_readme_tour_fires_and_writes_a_report(tmp_path):
    """The five-minute tour's snippet, run as `neurocosim run tour.py`, fires spikes and
    writes report.html; with half the current it says that no neuron fired."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Five-minute tour")[1].split("```python\n")[1].split("```")[0]
    script = tmp_path / "tour.py"
    for source, out in ((block, "on"), (block.replace("i_offset=1.0", "i_offset=0.5"),
                                        "off")):
        script.write_text(source)
        run = subprocess.run([sys.executable, "-m", "neurocosim.host.cli", "run",
                              str(script), "--out", str(tmp_path / out)],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        summary = json.loads((tmp_path / out / "summary.json").read_text())
        assert (tmp_path / out / "report.html").is_file()
        assert summary["wall_s"] > 0
        fired = sum(summary["spikes"].values())
        if out == "on":
            assert fired > 0 and "no neuron fired" not in run.stdout
            assert min(summary["rates_hz"].values()) > 0
        else:
            assert fired == 0 and "no neuron fired" in run.stdout


TINY = """
import pyNN.neurocosim as sim
sim.setup(timestep=1.0)
cells = sim.Population(20, sim.IF_curr_exp(i_offset=1.0, tau_refrac=2.0), label="cells")
cells.record("spikes")
sim.run(50.0)
"""


def test_compare_writes_the_report_and_report_opens_it(tmp_path, toy_sweep, capsys):
    """`compare` writes report.html and the wall-clock time; `report DIR --no-open`
    names a folder's report, writes a sweep's, and refuses a folder without one."""
    from neurocosim.host.cli import main as cli
    script = tmp_path / "tiny.py"
    script.write_text(TINY)
    out = tmp_path / "cmp"
    assert cli(["compare", str(script), "--targets", "reference,loihi", "--out",
                str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.html'}" in printed
    assert "energy_total_pJ" not in printed            # the timing table is in the report
    html = (out / "report.html").read_text()
    assert_self_contained(html)
    assert "van Rossum distance to reference (tau = 10 ms)" in html
    summary = json.loads((out / "summary.json").read_text())
    assert summary["wall_s"] > 0
    assert json.loads((out / "loihi" / "summary.json").read_text())["rates_hz"]["cells"] > 0
    assert cli(["report", str(out), "--no-open"]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out / 'report.html'}"
    (toy_sweep / "report" / "report.html").unlink(missing_ok=True)
    assert cli(["report", str(toy_sweep), "--no-open"]) == 0
    assert (toy_sweep / "report" / "report.html").is_file()
    capsys.readouterr()
    assert cli(["report", str(tmp_path), "--no-open"]) == 2
    assert "holds no report.html" in capsys.readouterr().err
