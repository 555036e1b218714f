"""One script with unlabeled populations, Poisson input, STDP and a population left
unrecorded, compared on the reference, loihi, truenorth and fpga: rows for every target
that accepts it, a named refusal for truenorth (no plasticity), the same input trains on
every target, and nothing of the unrecorded population in the results."""

import csv
import json
import textwrap

import pytest

from neurocosim.host.cli import main

SCRIPT = textwrap.dedent('''
    import pyNN.neurocosim as sim
    sim.setup(timestep=1.0, rng_seed=7)
    rng = sim.NumpyRNG(seed=5)
    noise = sim.Population(30, sim.SpikeSourcePoisson(rate=40.0))
    cells = sim.Population(40, sim.IF_curr_exp(tau_refrac=1.0, v_thresh=-58.0))
    hidden = sim.Population(10, sim.IF_curr_exp(tau_refrac=1.0))
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                            A_plus=0.01, A_minus=0.012),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
        weight=0.5, delay=1.0)
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.3, rng=rng), stdp)
    sim.Projection(cells, hidden, sim.FixedProbabilityConnector(0.3, rng=rng),
                   sim.StaticSynapse(weight=0.5, delay=1.0))
    noise.record("spikes")
    cells.record("spikes")
    sim.run(200.0)
    sim.end()
''')

ACCEPTING = ("reference", "loihi", "fpga")


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmp")
    script = tmp / "unlabeled.py"
    script.write_text(SCRIPT)
    out = tmp / "out"
    status = main(["compare", str(script), "--targets", "reference,loihi,truenorth,fpga",
                   "--out", str(out)])
    return status, out


def test_truenorth_refuses_by_name_and_the_exit_status_says_so(compared):
    status, out = compared
    assert status == 1
    text = (out / "summary.txt").read_text()
    assert "truenorth: refused the network" in text and "plasticity" in text
    assert json.loads((out / "summary.json").read_text())["targets"] == list(ACCEPTING)
    assert not (out / "truenorth").exists()


def test_every_accepting_target_has_rows_for_the_recorded_populations(compared):
    _, out = compared
    rows = list(csv.DictReader((out / "distances.csv").open()))
    got = {(r["target"], r["population"]) for r in rows}
    assert got == {(t, p) for t in ACCEPTING[1:] for p in ("population0", "population1")}
    assert all(int(r["spikes_reference"]) > 0 for r in rows)


def test_no_unrecorded_population_in_the_results(compared):
    _, out = compared
    for t in ACCEPTING:
        summary = json.loads((out / t / "summary.json").read_text())
        assert set(summary["spikes"]) == {"population0", "population1"}, t
        assert summary["mapping"]["target"] == t
        populations = {r["population"] for r in csv.DictReader((out / t / "spikes.csv").open())}
        assert "population2" not in populations


def test_the_input_trains_are_the_same_on_every_target(compared):
    """The one stimulus: loihi and fpga get the reference's Poisson trains, a neuron's
    2+ spikes in one 1 ms step merged into one (and their mapping reports say so)."""
    _, out = compared
    trains = {}
    for t in ACCEPTING:
        rows = csv.DictReader((out / t / "spikes.csv").open())
        trains[t] = sorted((int(r["neuron"]), float(r["time_ms"])) for r in rows
                           if r["population"] == "population0")
    assert len(trains["reference"]) > 100
    merged = sorted(set(trains["reference"]))
    assert trains["loihi"] == merged and trains["fpga"] == merged
    for t in ("loihi", "fpga"):
        mapping = json.loads((out / t / "summary.json").read_text())["mapping"]
        assert any(a["kind"] == "input_spikes_merged" and "population0" in a["where"]
                   for a in mapping["approximations"]), t