"""Each kind of report.html (run, compare, sweep) rendered by a real browser, headless
Chromium (Debian's `chromium`; scripts/test.sh installs it): the page runs with no script
error, every figure drew each of its traces (SVG traces counted in the DOM after the
scripts ran; WebGL rasters need their canvas) and shows its title, and a screenshot of
each page is saved under .cache/report-screenshots/ and is not blank."""

from __future__ import annotations

import html as html_lib
import re
import shutil
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / ".cache" / "report-screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed: apt-get install chromium "
                             "(scripts/test.sh installs it)")

TOUR = """
import pyNN.neurocosim as sim
sim.setup(timestep=1.0)
cells = sim.Population(60, sim.IF_curr_exp(i_offset=1.0, tau_refrac=2.0))
cells.record(["spikes", "v"])
sim.run(100.0)
"""


def chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--no-first-run", *args],
                          capture_output=True, text=True, timeout=timeout)


class Figures(HTMLParser):
    """Per figure div (id figN): the classes of the elements inside it."""

    def __init__(self):
        super().__init__()
        self.classes: dict[str, Counter] = {}
        self.current = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and re.fullmatch(r"fig\d+", a.get("id", "")):
            self.current = a["id"]
            self.classes[self.current] = Counter()
        if self.current and a.get("class"):
            for c in a["class"].split():
                self.classes[self.current][f"{tag}.{c}"] += 1


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The three kinds of report, with what each page says it holds."""
    from neurocosim.sim.compare import compare_script, run_script
    from neurocosim.sim.report import compare_page, run_page
    from neurocosim.sim.report.hardware import mesh_shapes
    from neurocosim.sim.sweep import report_from_results

    out = tmp_path_factory.mktemp("reports")
    tour = out / "tour.py"
    tour.write_text(TOUR)
    res, net = run_script(tour, "loihi")
    sizes = {p.name: p.size for p in net.populations}
    made = {"run": run_page(res, sizes, "tour.py on loihi", mesh_shapes(["loihi"]))}
    settings = {"compartments_per_core": 64}
    cmp = compare_script(ROOT / "examples" / "cuba.py", ["reference", "loihi"], ["1600"],
                         settings=settings)
    made["compare"] = compare_page(cmp, "cuba.py", mesh_shapes(cmp.targets, settings))
    sys.path.insert(0, str(ROOT / "tests"))
    from test_sweep import write_sweep
    from neurocosim.host.cli import main as cli
    assert cli(["sweep", str(write_sweep(out)), "--serial", "--quiet"]) == 0
    rep = report_from_results(out / "s.results")
    paths = {k: p.write(out / k / "report.html") for k, p in made.items()}
    paths["sweep"] = rep.html
    return paths, made, rep


def rendered(kind: str, path: Path) -> tuple[str, Path]:
    """The DOM after the page's scripts ran, and a full-height screenshot."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{kind}.png"
    url = path.resolve().as_uri()
    run = chromium("--window-size=1280,2400", "--virtual-time-budget=3000",
                   f"--screenshot={shot}", "--dump-dom", url)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    return run.stdout, shot


def test_every_report_renders_in_chromium(pages):
    paths, made, sweep_rep = pages
    with ThreadPoolExecutor(3) as pool:
        out = dict(zip(paths, pool.map(lambda kv: rendered(*kv), paths.items())))
    import matplotlib.image as mpimg
    for kind, (dom, shot) in out.items():
        errors = re.search(r'<div id="report-errors"[^>]*>(.*?)</div>', dom, re.S)
        assert errors is not None and errors.group(1).strip() == "", (kind, errors)
        figs = Figures()
        figs.feed(dom)
        expected = made[kind].figures if kind in made else None
        if expected is None:            # the sweep page: written by sim.sweep.report
            src = paths[kind].read_text()
            assert src.count('class="plotly-graph-div"') == len(figs.classes)
            assert "Latency-energy Pareto front" in dom
            expected = [(None, None, 0)] * len(figs.classes)
        assert len(figs.classes) == len(expected), kind
        for (fid, classes), (title, svg, gl) in zip(sorted(
                figs.classes.items(), key=lambda kv: int(kv[0][3:])), expected):
            assert classes["div.js-plotly-plot"] == 1, (kind, fid)   # plotly ran
            assert classes["svg.main-svg"] >= 1, (kind, fid)
            drawn = classes["g.trace"] + classes["g.hm"]
            if svg is not None:
                assert drawn == svg, (kind, fid, title, classes)
                assert html_lib.escape(title, quote=False) in dom, (kind, title)
            else:
                assert drawn >= 2, (kind, fid)
            if gl:
                assert classes["canvas.gl-canvas"] >= 1, (kind, fid)
        img = mpimg.imread(shot)
        ink = (img[..., :3].mean(axis=2) < 0.9).mean()
        assert ink > 0.01, (kind, shot, ink)        # not a blank page
        print(f"screenshot of the {kind} report: {shot}")
