"""`neurocosim compile SCRIPT --target T [--set ...] -o IMAGE`: a PyNN script -> the image
file -> `rtl export` reports the capacity it built -> the image runs on the fpga emulator
exactly as `neurocosim run --target fpga` runs the script, and on the simulated board's
RTL over the UART link. Bad targets, settings and scripts are
clear errors."""

from __future__ import annotations

import json

import pytest
from test_cli_run_compare import SCRIPT  # 20 sources -> 10 cells, 100 ms

from neurocosim.host.cli import main

@pytest.fixture
def script(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(SCRIPT)
    return path


def spike_pairs(result) -> dict[str, list]:
    return {name: sorted(zip(s.ids.tolist(), s.times.tolist()))
            for name, s in result.spikes.items()}


def test_compile_export_and_run_equal_neurocosim_run(script, tmp_path, capsys):
    from neurocosim.hw.compiler import runner_for
    from neurocosim.hw.image import HardwareImage
    from neurocosim.pynn_backend.simulator import state
    image_file = tmp_path / "net.npz"
    assert main(["compile", str(script), "--target", "fpga", "--set", "neurons_per_core=64",
                 "-o", str(image_file)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {image_file}: net.py for fpga, 1 core(s), 30 neurons" in out
    assert "mapping (fpga)" in out
    # rtl export: the capacity it built (the spec's 64 per core, not the 10 used)
    assert main(["rtl", "export", str(image_file), "-o", str(tmp_path / "v")]) == 0
    out = capsys.readouterr().out
    built = json.loads((tmp_path / "v" / "neurocore.json").read_text())["capacity"]
    assert built["neurons_per_core"] == 64
    assert f"built for  1 core(s) x 64 neurons, {built['synapses_per_core']} synapses" in out
    assert "image uses 1 core(s), 10 neurons" in out
    # the image file runs on the fpga emulator as `run --target fpga` runs the script
    image = HardwareImage.load(image_file)
    runner = runner_for(image)(image)
    runner.run(100.0)
    from_file = spike_pairs(runner.result())
    assert main(["run", str(script), "--target", "fpga", "--set", "neurons_per_core=64",
                 "--out", str(tmp_path / "run")]) == 0
    from_run = spike_pairs(state.result())
    assert from_file["cells"] == from_run["cells"] and len(from_run["cells"]) > 5


def test_compile_refuses_bad_targets_settings_and_scripts(script, tmp_path, capsys):
    out = str(tmp_path / "x.npz")
    assert main(["compile", str(script), "--target", "nosuch", "-o", out]) == 2
    assert "nosuch" in capsys.readouterr().err
    assert main(["compile", str(script), "--target", "fpga", "--set", "neurons", "-o",
                 out]) == 2
    assert "--set 'neurons' is not NAME=VALUE" in capsys.readouterr().err
    assert main(["compile", str(script), "--target", "fpga", "--set", "nosuch_field=3",
                 "-o", out]) == 1
    assert "nosuch_field" in capsys.readouterr().err
    assert main(["compile", str(tmp_path / "none.py"), "--target", "fpga", "-o", out]) == 2
    assert "not found" in capsys.readouterr().err
    idle = tmp_path / "idle.py"
    idle.write_text("import neurocosim.pynn_backend as sim\nsim.setup()\nsim.end()\n")
    assert main(["compile", str(idle), "--target", "fpga", "-o", out]) == 2
    assert "ran no simulation" in capsys.readouterr().err
    broken = tmp_path / "broken.py"
    broken.write_text("raise ValueError('bad net')\n")
    assert main(["compile", str(broken), "--target", "fpga", "-o", out]) == 1
    assert "broken.py line 1: ValueError: bad net" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_compiled_script_runs_on_the_simulated_board_over_the_uart(script, tmp_path, capsys):
    """compile -> the image file -> the board's RTL (UART, dispatcher, bridge, chip) in
    the Amaranth simulator behind a pseudo-terminal, driven by the host's BoardRunner:
    the same spikes as the image on the fpga emulator (about 7 s)."""
    from test_uart_rtl_fpga import SimulatedBoard

    from neurocosim.host.board import BoardRunner
    from neurocosim.hw.compiler import runner_for
    from neurocosim.hw.image import HardwareImage
    image_file = tmp_path / "net.npz"
    assert main(["compile", str(script), "--target", "fpga", "--set", "neurons_per_core=16",
                 "-o", str(image_file)]) == 0
    image = HardwareImage.load(image_file)
    sim = SimulatedBoard(image)
    try:
        runner = BoardRunner(image, port=sim.port, timeout=20.0, retries=3)
        runner.run(60.0)
        board = spike_pairs(runner.result())
        runner.close()
    finally:
        sim.close()
    emulator = runner_for(image)(image)
    emulator.run(60.0)
    expected = spike_pairs(emulator.result())
    assert board["cells"] == expected["cells"] and len(expected["cells"]) > 5
