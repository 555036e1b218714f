"""`neurocosim rtl export|build` and `neurocosim flash`: files written, clear refusals, and
(heavy, NEUROCOSIM_HEAVY=1) an icebreaker bitstream with its resource report."""

import shutil
import sys
from pathlib import Path

import pytest

from neurocosim.host.cli import main
from neurocosim.hw.compiler import compile as hw_compile

sys.path.insert(0, str(Path(__file__).parent / "rtl"))
from netgen import random_network  # noqa: E402


@pytest.fixture
def image_file(tmp_path):
    img = hw_compile(random_network(31, stdp=True, n_exc=6, n_inh=2, n_src=3), "fpga",
                     neurons_per_core=8)
    path = tmp_path / "net.npz"
    img.save(path)
    return path


def test_rtl_export_writes_verilog_and_ports(image_file, tmp_path, capsys):
    out = tmp_path / "v"
    assert main(["rtl", "export", str(image_file), "-o", str(out)]) == 0
    text = (out / "neurocore.v").read_text()
    assert "module neurocore" in text and "ctl__spike_axon" in text
    assert '"ctl__start": "In"' in (out / "neurocore.json").read_text()
    assert "wrote" in capsys.readouterr().out


def test_rtl_export_refuses_other_images(tmp_path, capsys):
    img = hw_compile(random_network(32), "reference")
    path = tmp_path / "ref.npz"
    img.save(path)
    assert main(["rtl", "export", str(path), "-o", str(tmp_path / "v")]) == 2
    assert "not an fpga image" in capsys.readouterr().err


def test_flash_dry_run_and_missing_tool(tmp_path, capsys, monkeypatch):
    bit = tmp_path / "x.bin"
    bit.write_bytes(b"\0")
    assert main(["flash", "--board", "icebreaker", str(bit), "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == f"iceprog {bit}"
    assert main(["flash", "--board", "arty_a7", str(bit), "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == f"openFPGALoader -b arty {bit}"
    monkeypatch.setenv("PATH", str(tmp_path))          # no programmer anywhere
    assert main(["flash", "--board", "icestick", str(bit)]) == 2
    assert "iceprog is not installed" in capsys.readouterr().err
    assert main(["flash", "--board", "de10", str(bit), "--dry-run"]) == 2
    assert "unknown board 'de10'" in capsys.readouterr().err
    assert main(["flash", "--board", "icestick", str(tmp_path / "none.bin")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("vivado") is not None, reason="Vivado is installed")
def test_vivado_boards_say_vivado_is_missing(image_file, tmp_path, capsys):
    assert main(["rtl", "build", "--board", "arty_a7", str(image_file), "-o",
                 str(tmp_path / "b")]) == 2
    assert "needs Xilinx Vivado" in capsys.readouterr().err


def test_nextpnr_report_parsing():
    from neurocosim.rtl.boards import parse_nextpnr
    log = ("Info: Device utilisation:\nInfo: \t     ICESTORM_LC:  1234/ 5280    23%\n"
           "Info: \t    ICESTORM_RAM:     4/   30    13%\n"
           "Info: Max frequency for clock 'clk$glb_clk': 41.52 MHz (PASS at 12.00 MHz)\n"
           "Info: Max frequency for clock 'clk$glb_clk': 43.10 MHz (PASS at 12.00 MHz)\n")
    rep = parse_nextpnr("icebreaker", Path("x.bin"), log)
    assert rep.resources == {"ICESTORM_LC": (1234, 5280), "ICESTORM_RAM": (4, 30)}
    assert rep.fmax_mhz == 43.10
    assert any("43.1 MHz" in line for line in rep.lines())


@pytest.mark.heavy
def test_icebreaker_bitstream_builds(image_file, tmp_path, capsys):
    pytest.importorskip("amaranth_boards")
    out = tmp_path / "build"
    assert main(["rtl", "build", "--board", "icebreaker", str(image_file), "-o",
                 str(out)]) == 0
    text = capsys.readouterr().out
    assert (out / "neurocore.bin").stat().st_size > 0
    assert "ICESTORM_LC" in text and "max clock" in text


def test_rtl_export_builds_for_a_larger_capacity_or_says_why(image_file, tmp_path, capsys):
    import json
    out = tmp_path / "v"
    assert main(["rtl", "export", str(image_file), "-o", str(out), "--neurons-per-core",
                 "8", "--synapses-per-core", "300", "--cores", "2", "--stimulus-depth",
                 "64"]) == 0
    cap = json.loads((out / "neurocore.json").read_text())["capacity"]
    assert (cap["n_cores"], cap["synapses_per_core"], cap["stimulus_depth"]) == (2, 300, 64)
    assert '"ctl__cfg_we": "In"' in (out / "neurocore.json").read_text()
    capsys.readouterr()
    assert main(["rtl", "export", str(image_file), "-o", str(out), "--axons", "0"]) == 2
    assert "n_axons=0 must be an integer >= 1" in capsys.readouterr().err
    assert main(["rtl", "export", str(image_file), "-o", str(out), "--neurons-per-core",
                 "4"]) == 2
    assert "chip neurons_per_core: needs 8, the target allows 4" in capsys.readouterr().err
