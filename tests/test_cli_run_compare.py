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
    assert "truenorth: refused the network" in printed and "plasticity" in printed
    targets = {r["target"] for r in csv.DictReader((out / "distances.csv").open())}
    assert targets == {"loihi"}
    assert not (out / "truenorth").exists() and (out / "loihi").is_dir()


def test_compare_refuses_an_unknown_target_before_running(script, capsys):
    assert main(["compare", str(script), "--targets", "reference,nope"]) == 2
    assert "nope" in capsys.readouterr().err


# --- --set, --port, --strict, --debug and the mapping report --------------------------------

MERGED = textwrap.dedent('''
    import pyNN.neurocosim as sim
    sim.setup(timestep=1.0)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[5.0, 5.2], [9.0]]))
    cells = sim.Population(3, sim.IF_curr_exp(v_thresh=-64.0))
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0))
    cells.record("spikes")
    sim.run(20.0)
''')


def _write(tmp_path, text, name="net.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,value", [("512", 512), ("0.5", 0.5), ("false", False),
                                        ("True", True), ("lut", "lut"), ("1e3", 1000.0)])
def test_set_values_are_read_as_int_float_bool_or_text(text, value):
    from neurocosim.host.commands.script_options import parse_value
    got = parse_value(text)
    assert got == value and type(got) is type(value)


def test_set_reaches_the_spec_of_the_target(script, tmp_path, capsys):
    from neurocosim.pynn_backend.simulator import state
    assert main(["run", str(script), "--target", "fpga", "--set", "neurons_per_core=512",
                 "--out", str(tmp_path / "o")]) == 0
    assert state.image.target.neurons_per_core == 512


def test_set_of_an_unknown_name_is_one_line_naming_the_lists(script, tmp_path, capsys):
    assert main(["run", str(script), "--target", "fpga", "--set", "neurons_per_cor=512",
                 "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("neurocosim: error in ")
    assert "neurons_per_cor" in err and "runner options are" in err and "spec fields" in err


def test_set_that_is_not_name_value_is_refused(script, capsys):
    assert main(["run", str(script), "--set", "512"]) == 2
    assert "--set '512' is not NAME=VALUE" in capsys.readouterr().err


def test_port_is_refused_by_a_target_without_one(script, capsys):
    assert main(["run", str(script), "--target", "loihi", "--port", "virtual"]) != 0
    assert "port" in capsys.readouterr().err


def test_run_prints_and_stores_the_mapping_report(tmp_path, capsys):
    """Loihi merges two array spikes of one source in one step: `run` says so and
    summary.json keeps it; the reference delivers both and is exact."""
    script = _write(tmp_path, MERGED)
    assert main(["run", str(script), "--target", "loihi", "--out", str(tmp_path / "l")]) == 0
    printed = capsys.readouterr().out
    assert "mapping (loihi):" in printed and "input_spikes_merged" in printed
    summary = json.loads((tmp_path / "l" / "summary.json").read_text())
    merged = [a for a in summary["mapping"]["approximations"]
              if a["kind"] == "input_spikes_merged"]
    assert merged and merged[0]["amount"] == 1 and "'population0'" in merged[0]["where"]
    assert main(["run", str(script), "--target", "reference", "--out",
                 str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out      # PyNN's 0.1 ms refractory default rounds up to 1 step
    assert "mapping (reference):" in out and "approximation" not in out
    assert "quantization tau_refrac" in out


def test_strict_makes_an_approximation_a_named_refusal(tmp_path, capsys):
    script = _write(tmp_path, MERGED)
    assert main(["run", str(script), "--target", "loihi", "--strict"]) != 0
    err = capsys.readouterr().err
    assert "(strict)" in err and "input_spikes_merged" in err
    out = tmp_path / "cmp"
    assert main(["compare", str(script), "--targets", "reference,loihi", "--strict",
                 "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "loihi: refused the network" in printed and "input_spikes_merged" in printed


BROKEN = textwrap.dedent('''
    import pyNN.neurocosim as sim
    sim.setup(timestep=1.0)
    cells = sim.Population(3, sim.IF_curr_exp())
    cells.record("spikes")
    sim.run(5.0)
    counts = cells.get_spike_counts()
    print(counts[99])
''')


def test_an_error_in_the_script_is_one_line_without_debug(tmp_path, capsys):
    script = _write(tmp_path, BROKEN)
    assert main(["run", str(script)]) == 1
    err = capsys.readouterr().err
    assert err == f"neurocosim: error in {script} line 8: KeyError: 99\n"


def test_debug_shows_the_traceback(tmp_path, capsys):
    script = _write(tmp_path, BROKEN)
    assert main(["run", str(script), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and f'"{script}", line 8' in err
    assert err.endswith(f"neurocosim: error in {script} line 8: KeyError: 99\n")


def test_an_error_in_the_script_as_a_command(tmp_path):
    """The installed command: one line on stderr, exit status 1."""
    import subprocess
    import sys
    script = _write(tmp_path, BROKEN)
    proc = subprocess.run([sys.executable, "-m", "neurocosim.host.cli", "run", str(script)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"neurocosim: error in {script} line 8: KeyError: 99"]


def test_port_reaches_the_board_and_only_the_board(script, tmp_path):
    """`compare --port virtual` gives the port to the board target alone (fpga has no
    port); the board runs the fpga core, so the two agree spike for spike."""
    out = tmp_path / "cmp"
    assert main(["compare", str(script), "--targets", "fpga,board", "--port", "virtual",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "distances.csv").open()))
    assert [r["population"] for r in rows] == ["cells"]
    assert int(rows[0]["spikes_target"]) > 0 and float(rows[0]["van_rossum_max"]) == 0.0


def test_a_setting_no_target_has_is_refused_before_running(script, capsys):
    assert main(["compare", str(script), "--targets", "reference,loihi", "--set",
                 "neurons_per_core=512"]) == 2
    assert "no target of reference, loihi has the setting(s) ['neurons_per_core']" in \
        capsys.readouterr().err


def test_compare_with_nothing_to_match_says_so_and_fails(tmp_path, capsys):
    script = _write(tmp_path, SCRIPT.replace('cells.record("spikes")', ""))
    assert main(["compare", str(script), "--targets", "reference,loihi", "--out",
                 str(tmp_path / "cmp")]) == 1
    assert "loihi: not compared: the script records no spikes on 'reference'" in \
        capsys.readouterr().out
