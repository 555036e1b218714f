"""The board table (rtl.boards.BOARDS): each board's platform, family, toolchain and
programmer; `neurocosim flash --dry-run` prints each programmer's command line and refuses
missing and non-bitstream files; the DFU suffix against a bitwise CRC; ECP5 report
parsing. Heavy (NEUROCOSIM_HEAVY=1): each YoWASP board built at the issue's sizes and at
today's measured largest fit, the fit and the clock asserted from nextpnr's report."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from neurocosim.host.cli import main
from neurocosim.rtl.boards import BOARDS, FAMILIES, add_dfu_suffix, parse_nextpnr

#: board -> (FPGA device, family, programmer command before the file)
EXPECTED = {
    "icestick": ("iCE40HX1K", "ice40", ["iceprog"]),
    "icebreaker": ("iCE40UP5K", "ice40", ["iceprog"]),
    "ice40_hx8k": ("iCE40HX8K", "ice40", ["iceprog"]),
    "orangecrab_25f": ("LFE5U-25F", "ecp5", ["dfu-util", "-d", "1209:5af0", "-a", "0", "-D"]),
    "ulx3s_85f": ("LFE5U-85F", "ecp5", ["openFPGALoader", "-b", "ulx3s"]),
    "arty_a7": ("XC7A35T", "xc7", ["openFPGALoader", "-b", "arty"]),
    "cmod_a7": ("XC7A35T", "xc7", ["openFPGALoader", "-b", "cmoda7_35t"]),
}


def bitstream(tmp_path: Path, family: str, name: str = "x") -> Path:
    """A file shaped like the family's bitstream: a comment header, then the sync word."""
    f = FAMILIES[family]
    path = tmp_path / f"{name}{f.suffix}"
    path.write_bytes(b"\xff\x00comment\x00\xff" + b"\xff" * 16 + f.sync + b"\x01" * 64)
    return path


def test_the_board_table_names_family_toolchain_and_programmer():
    assert set(BOARDS) == set(EXPECTED)
    for name, (fpga, family, program) in EXPECTED.items():
        b = BOARDS[name]
        assert fpga in b.fpga.replace(" ", "") and b.family == family, name
        assert list(b.program) == program
        assert b.toolchain == ("vivado" if family == "xc7" else "yowasp")
        assert b.bitstream_suffix == (".bin" if family == "ice40" else ".bit")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_flash_dry_run_prints_the_programmer_and_refuses_non_bitstreams(name, tmp_path,
                                                                        capsys):
    fpga, family, program = EXPECTED[name]
    good = bitstream(tmp_path, family)
    assert main(["flash", "--board", name, str(good), "--dry-run"]) == 0
    assert capsys.readouterr().out.split() == [*program, str(good)]
    other = bitstream(tmp_path, "ice40" if family != "ice40" else "ecp5", "other")
    for bad in (other, tmp_path / "none.bit"):
        assert main(["flash", "--board", name, str(bad), "--dry-run"]) == 2
        err = capsys.readouterr().err
        assert ("not found" if bad.name == "none.bit" else "is not a") in err, err
    assert main(["flash", "--board", "de10", str(good), "--dry-run"]) == 2
    assert "unknown board 'de10'" in capsys.readouterr().err


def test_flash_without_the_programmer_says_so(tmp_path, capsys, monkeypatch):
    good = bitstream(tmp_path, "ecp5")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["flash", "--board", "ulx3s_85f", str(good)]) == 2
    assert "openFPGALoader is not installed" in capsys.readouterr().err


def dfu_crc(data: bytes) -> int:
    """CRC-32 bit by bit (reflected 0xEDB88320, register from all ones, not inverted at
    the end), as the DFU 1.1 specification computes dwCRC."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc


def test_dfu_suffix_holds_ids_and_the_dfu_crc(tmp_path):
    path = bitstream(tmp_path, "ecp5")
    body = path.read_bytes()
    add_dfu_suffix(path, 0x1209, 0x5AF0)
    data = path.read_bytes()
    assert data[:len(body)] == body and len(data) == len(body) + 16
    dev, product, vendor, version, sig, length, crc = struct.unpack("<HHHH3sBI", data[-16:])
    assert (dev, product, vendor, version, sig, length) == (0xFFFF, 0x5AF0, 0x1209, 0x0100,
                                                            b"UFD", 16)
    assert crc == dfu_crc(data[:-4])


def test_ecp5_report_parsing():
    log = ("Info: Device utilisation:\nInfo: \t          TRELLIS_IO:     3/   197     1%\n"
           "Info: \t              DP16KD:    40/    56    71%\n"
           "Info: \t          MULT18X18D:     0/    28     0%\n"
           "Info: \t        TRELLIS_COMB: 12000/ 24288    49%\n"
           "Info: Max frequency for clock '$glbnet$clk': 61.20 MHz (PASS at 48.00 MHz)\n")
    rep = parse_nextpnr("orangecrab_25f", Path("x.bit"), log)
    assert rep.used("logic") == (12000, 24288) and rep.used("ram") == (40, 56)
    assert rep.used("spram") == (0, 0) and rep.fmax_mhz == 61.2
    text = "\n".join(rep.lines())
    assert "TRELLIS_COMB" in text and "DP16KD" in text and "MULT18X18D" not in text


def test_platforms_build_with_yowasp_only_and_have_a_uart():
    """The amaranth-boards platform of each YoWASP board: its device, a "uart" resource
    (the OrangeCrab's on its header), and no system tool among the build's tools."""
    pytest.importorskip("amaranth_boards")
    from neurocosim.rtl.boards import _platform
    for name, b in BOARDS.items():
        if b.toolchain != "yowasp":
            continue
        platform = _platform(b)
        assert EXPECTED[name][0].upper() in platform.device.upper(), name
        assert platform.lookup("uart", 0) is not None
        tools = set(platform.required_tools)
        assert tools <= {"yosys", "nextpnr-ice40", "icepack", "nextpnr-ecp5", "ecppack"}, tools
    crab = _platform(BOARDS["orangecrab_25f"])      # rx on header pin 0, tx on pin 1
    pins = {sub.name: sub.ios[0].names[0] for sub in crab.lookup("uart", 0).ios}
    mapping = crab.connectors["io", 0].mapping
    assert {k: mapping[v.split(":")[1]] for k, v in pins.items()} == {"rx": "N17",
                                                                       "tx": "M18"}


# ---- heavy: bitstream builds ------------------------------------------------------------

#: board -> (neurons per core, synapses per core, least max clock in MHz): the issue's
ISSUE_SIZES = {"orangecrab_25f": (1024, 32768, 50.0), "ulx3s_85f": (4096, 131072, 25.0),
               "icebreaker": (256, 16384, 12.0)}


def build(tmp_path_factory, board: str, neurons: int, synapses: int):
    """A build of the UART board with STDP for `neurons` x `synapses` (1 core, axons for
    twice the neurons, 256 stimulus entries): (folder, report or None, refusal or None)."""
    pytest.importorskip("amaranth_boards")
    sys.path.insert(0, str(Path(__file__).parent / "rtl"))
    from netgen import random_network
    from neurocosim.hw.compiler import compile as hw_compile
    from neurocosim.hw.errors import TargetError
    from neurocosim.rtl.boards import build_board
    from neurocosim.rtl.capacity import ChipCapacity
    image = hw_compile(random_network(31, stdp=True, n_exc=6, n_inh=2, n_src=3), "fpga",
                       neurons_per_core=8)
    cap = ChipCapacity(1, neurons, synapses, 2 * neurons,
                       ChipCapacity.of_image(image).ring_depth, 256, True)
    out = tmp_path_factory.mktemp(board)
    try:
        return out, build_board(image, board, out, cap), None
    except TargetError as exc:
        return out, None, str(exc)


def assert_fits(board: str, result, least_mhz: float | None) -> None:
    """The build gave a bitstream of the board's family within the device's logic,
    block RAM and SPRAM, and (unless `least_mhz` is None) a max clock of at least
    `least_mhz` and the board clock."""
    from neurocosim.rtl.boards import check_bitstream
    out, rep, refusal = result
    assert refusal is None, refusal
    check_bitstream(board, rep.bitstream)           # a real bitstream of the family
    for kind in ("logic", "ram", "spram"):
        used, total = rep.used(kind)
        assert used <= total, (kind, used, total)
    assert rep.used("logic")[0] > 0 and rep.fmax_mhz is not None
    if least_mhz is not None:
        assert rep.fmax_mhz >= max(least_mhz, rep.board_clock_mhz), rep.fmax_mhz


@pytest.mark.heavy
@pytest.mark.xfail(reason="measured 2026-12-05 (benchmarks/fpga_memory.py, packed synapse "
                   "words): the orangecrab_25f needs 122 of 56 DP16KD at 1024 x 32768 with "
                   "STDP (a synapse is 48 bits: weight 8, plastic 1, target 10, delay 3, "
                   "column entry 26; 32768 of them are 85 DP16KD at 100%); the ulx3s_85f "
                   "needs 507 of 208 at 4096 x 131072 (506 with the event list's slices); "
                   "the icebreaker needs "
                   "224 of 30 SB_RAM40_4K at 256 x 16384 (the core has no SPRAM path yet)",
                   strict=True)
@pytest.mark.parametrize("board", sorted(ISSUE_SIZES))
def test_board_holds_the_issue_sizes_with_stdp_and_the_uart(board, tmp_path_factory):
    neurons, synapses, mhz = ISSUE_SIZES[board]
    assert_fits(board, build(tmp_path_factory, board, neurons, synapses), mhz)


#: board -> (neurons, synapses, least max clock or None): the largest fits measured on
#: 2026-12-05 with packed synapse words, block RAM bound (orangecrab_25f: 56 of 56
#: DP16KD, 70.7 MHz on 2026-12-06 with overlapped list headers and pre traces, 67.0
#: with the two-stage neuron and weight updates, 39.6-44.1 before;
#: ulx3s_85f: 208 of 208 without the UART sender's FIFO, 36.9 MHz on 2026-12-06, 39.5
#: before the overlaps); the orangecrab at
#: the issue's 50 MHz
MEASURED_FITS = {"orangecrab_25f": (1024, 8192, 50.0), "ulx3s_85f": (4096, 32768, 25.0)}


@pytest.mark.heavy
@pytest.mark.parametrize("board", sorted(MEASURED_FITS))
def test_board_holds_todays_measured_fit_with_stdp_and_the_uart(board, tmp_path_factory):
    neurons, synapses, mhz = MEASURED_FITS[board]
    assert_fits(board, build(tmp_path_factory, board, neurons, synapses), mhz)
