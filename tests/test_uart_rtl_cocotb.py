"""End to end under Icarus (cocotb 2.1 through cocotb_tools.runner): the exported Verilog of
the fpga board (UART pins, command dispatcher, chip bridge, a chip built from image A for
a capacity that also holds image B) bridged to a pseudo-terminal; the unchanged "board"
runner writes image B into it over 8N1, runs it and reads it, and its spikes, cycles and
weights equal the fpga emulator's run of B."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

# about 40 s; the issue asks for this end-to-end test in CI, so it is in the default run
pytestmark = [pytest.mark.rtl,
              pytest.mark.skipif(shutil.which("iverilog") is None, reason="no iverilog"),
              pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")]

BENCH = Path(__file__).parent / "rtl_uart"
DIVISOR = 8


def tiny_network(seed: int):
    """A dozen LIF neurons on one small core, so that writing the image over the
    simulated UART takes seconds."""
    from test_board_fpga import network
    return network(seed, n_src=6, n=12, spikes=5, t_max=30.0, p_in=0.5, p_rec=0.15)


def test_board_runner_over_uart_pins_under_icarus(tmp_path):
    from amaranth.back import verilog
    from cocotb_tools.runner import get_results, get_runner

    from neurocosim.emulator.fpga.oracle import ChipModel
    from neurocosim.host.board import BoardRunner
    from neurocosim.hw.compiler import compile as hw_compile
    from neurocosim.hw.targets import get_target
    from neurocosim.rtl.capacity import ChipCapacity
    from neurocosim.rtl.uart.fpga_board import FpgaBoard

    spec = get_target("fpga").replace(neurons_per_core=16, n_cores=1)
    built = hw_compile(tiny_network(1), "board", core=spec)     # image A: the bitstream's
    net = tiny_network(2)
    image = hw_compile(net, "board", core=spec)                 # image B: written over it
    assert not np.array_equal(built.cores[0].memories["syn_w"], image.cores[0].memories["syn_w"])
    capacity = ChipCapacity.covering([built, image])
    src = tmp_path / "fpga_board.v"
    src.write_text(verilog.convert(FpgaBoard(built, divisor=DIVISOR, capacity=capacity),
                                   name="fpga_board", emit_src=False))
    pty_file, done_file = tmp_path / "pty", tmp_path / "done"
    outcome: dict = {}

    def host():
        try:
            deadline = time.monotonic() + 120
            while not pty_file.exists():
                if time.monotonic() > deadline:
                    raise TimeoutError("the bench never opened its pty")
                time.sleep(0.05)
            runner = BoardRunner(image, port=pty_file.read_text(), timeout=10.0, retries=3)
            runner.run(30.0)
            outcome["result"] = runner.result()
            outcome["records"] = runner.records
            runner.close()
        except Exception as exc:  # reported by the assertions below
            outcome["error"] = exc
        finally:
            done_file.touch()

    thread = threading.Thread(target=host, daemon=True)
    thread.start()
    runner = get_runner("icarus")
    runner.build(sources=[src], hdl_toplevel="fpga_board", build_dir=tmp_path / "build",
                 always=True, timescale=("1ns", "1ps"), build_args=["-g2005"])
    xml = runner.test(hdl_toplevel="fpga_board", test_module="uart_board_tb", test_dir=BENCH,
                      build_dir=tmp_path / "build", results_xml=str(tmp_path / "results.xml"),
                      extra_env={"UART_PTY_FILE": str(pty_file),
                                 "UART_DONE_FILE": str(done_file),
                                 "UART_DIVISOR": str(DIVISOR), "UART_LIMIT_S": "300",
                                 "PYTHONPATH": os.pathsep.join(sys.path)})
    thread.join(timeout=30)
    assert get_results(xml) == (1, 0)
    assert "error" not in outcome, outcome.get("error")
    ref = hw_compile(net, spec)
    chip = ChipModel(ref)
    steps = [chip.step() for _ in range(30)]
    assert [r[2].tolist() for r in outcome["records"]] == [s for s, _ in steps]
    res = outcome["result"]
    assert res.timing.arrays["cycles_per_step"].tolist() == [c for _, c in steps]
    w = chip.weights()
    where = ref.data["fpga"]["projections"]["in"]
    expected = np.abs(np.array([w[c][i] for c, i in zip(where["core"], where["index"])])
                      * where["scale"])
    assert np.allclose(res.weights["in"], expected)
    assert sum(len(s) for s, _ in steps) > 10
    chip_a = ChipModel(hw_compile(tiny_network(1), spec))  # the test can fail: A runs
    assert [chip_a.step() for _ in range(30)] != steps      # otherwise
