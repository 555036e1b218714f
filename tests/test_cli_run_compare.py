"""`neurocosim run` and `compare` on an unchanged PyNN script: files written, numbers right."""

import csv
import json
import textwrap

import pytest

from neurocosim.host.cli import main

SCRIPT = textwrap.dedent('''
    import pyNN.neurocosim as sim
    sim.setup(timestep=1.0)
    src = sim.Population(20, sim.SpikeSourceArray(
        spike_times=[[5.0 + i, 40.0 + 2 * i] for i in range(20)]), label="src")
    cells = sim.Population(10, sim.IF_curr_exp(tau_m=10.0, v_thresh=-60.0), label="cells")
    sim.Projection(src, cells, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(seed=3)),
                   sim.StaticSynapse(weight=2.0, delay=1.0))
    cells.record("spikes")
    sim.run(100.0)
    print("SPIKES", sum(cells.get_spike_counts().values()))
    sim.end()
''')


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(SCRIPT)
    return path


def test_run_writes_the_result_of_the_script(script, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(script), "--target", "reference", "--out", str(out)]) == 0
    printed = int(capsys.readouterr().out.split("SPIKES")[1].split()[0])
    assert printed > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target"] == "reference" and summary["spikes"]["cells"] == printed
    rows = list(csv.DictReader((out / "spikes.csv").open()))
    assert sum(r["population"] == "cells" for r in rows) == printed
    assert (out / "raster.png").stat().st_size > 0


def test_run_refuses_an_unknown_target(script, capsys):
    assert main(["run", str(script), "--target", "nope"]) == 2
    assert "unknown target 'nope'" in capsys.readouterr().err


def test_compare_a_target_with_itself_is_distance_zero(script, tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", str(script), "--targets", "reference,reference",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "distances.csv").open()))
    assert rows and all(float(r["van_rossum_max"]) == 0.0 for r in rows)


def test_compare_reference_with_loihi(script, tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", str(script), "--targets", "reference,loihi", "--out",
                 str(out)]) == 0
    rows = {r["population"]: r for r in csv.DictReader((out / "distances.csv").open())}
    assert int(rows["cells"]["spikes_reference"]) > 0
    assert int(rows["cells"]["spikes_target"]) > 0
    assert (out / "raster_overlay.png").stat().st_size > 0
    assert "latency_mean_ns" in (out / "summary.txt").read_text()


def test_compare_cuba_example_on_loihi_keeps_the_rates(tmp_path):
    """examples/cuba.py (800 cells) on the quantised chip: each population's rate stays
    within 10 % of the float run's, and the timing report carries the chip's packets."""
    from pathlib import Path
    example = Path(__file__).resolve().parents[1] / "examples" / "cuba.py"
    out = tmp_path / "cmp"
    assert main(["compare", str(example), "--targets", "reference,loihi", "--out",
                 str(out), "800"]) == 0
    rows = {r["population"]: r for r in csv.DictReader((out / "distances.csv").open())}
    assert set(rows) == {"exc", "inh"}
    for r in rows.values():
        ref, chip = int(r["spikes_reference"]), int(r["spikes_target"])
        assert ref > 1000 and abs(chip - ref) <= 0.1 * ref, r
    summary = (out / "summary.txt").read_text()
    assert "packets" in summary and "energy_total_pJ" in summary


def test_compare_goes_on_past_a_target_that_refuses_the_network(tmp_path, capsys):
    """The STDP demo cannot map onto TrueNorth (no learning): the refusal is reported with
    its reason, loihi is still compared, and the exit status says something was refused."""
    from pathlib import Path
    example = Path(__file__).resolve().parents[1] / "examples" / "demo.py"
    out = tmp_path / "cmp"
    assert main(["compare", str(example), "--targets", "reference,truenorth,loihi", "--out",
                 str(out)]) == 1
    printed = capsys.readouterr().out
    assert "truenorth: refused the network" in printed and "do not learn" in printed
    targets = {r["target"] for r in csv.DictReader((out / "distances.csv").open())}
    assert targets == {"loihi"}
    assert not (out / "truenorth").exists() and (out / "loihi").is_dir()


def test_compare_refuses_an_unknown_target_before_running(script, capsys):
    assert main(["compare", str(script), "--targets", "reference,nope"]) == 2
    assert "nope" in capsys.readouterr().err
