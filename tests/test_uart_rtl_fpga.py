"""End to end: the unchanged host driver (the "board" target's runner) -> pseudo-terminal
-> simulated RTL (command dispatcher + chip bridge + the fpga chip built from the image):
spikes, cycles per step and final weights equal the fpga emulator's."""

from __future__ import annotations

import os
import threading
import tty

import numpy as np
import pytest


from neurocosim.hw.compiler import compile as hw_compile  # noqa: E402
from neurocosim.hw.errors import TargetError  # noqa: E402
from neurocosim.hw.targets import get_target  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def small_network(seed: int):
    from test_board_fpga import network
    return network(seed)


def core_spec():
    return get_target("fpga").replace(neurons_per_core=32, n_cores=2)


class SimulatedBoard:
    """The fpga board's RTL in the Amaranth simulator, served on a pty in a thread."""

    def __init__(self, image):
        from neurocosim.rtl.uart.fpga_board import FpgaBoard
        from rtl_uart.harness import serve_pty_dut
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.done = threading.Event()
        self.thread = threading.Thread(target=serve_pty_dut,
                                       args=(FpgaBoard(image), self.master, self.done.is_set),
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.done.set()
        self.thread.join(timeout=60)
        os.close(self.master)
        os.close(self.slave)


def test_host_runs_the_fpga_chip_rtl_over_the_link():
    from neurocosim.emulator.fpga.oracle import ChipModel
    from neurocosim.host.board import BoardRunner
    net = small_network(3)
    image = hw_compile(net, "board", core=core_spec())
    sim = SimulatedBoard(image)
    try:
        runner = BoardRunner(image, port=sim.port, timeout=20.0, retries=3)
        assert runner.board.identity.model == "neurocosim-fpga-rom"
        runner.run(15.0)
        runner.run(10.0)
        res = runner.result()
        runner.close()
    finally:
        sim.close()
    ref = hw_compile(net, core_spec())
    chip = ChipModel(ref)
    steps = [chip.step() for _ in range(25)]
    assert [r[2].tolist() for r in runner.records] == [s for s, _ in steps]
    assert res.timing.arrays["cycles_per_step"].tolist() == [c for _, c in steps]
    assert sum(len(s) for s, _ in steps) > 20
    w = chip.weights()
    where = ref.data["fpga"]["projections"]["in"]
    expected = np.abs(np.array([w[c][i] for c, i in zip(where["core"], where["index"])])
                      * where["scale"])
    assert np.allclose(res.weights["in"], expected)


def test_a_board_built_from_another_image_is_refused():
    from neurocosim.host.board import Board
    image = hw_compile(small_network(3), "board", core=core_spec())
    other = hw_compile(small_network(4), "board", core=core_spec())
    sim = SimulatedBoard(image)
    try:
        board = Board(sim.port, timeout=20.0, retries=2)
        with pytest.raises(TargetError, match="built from another image"):
            board.load(other)
        with pytest.raises(TargetError, match="read-only"):
            board.write_region("syn_w", [1])
        board.close()
    finally:
        sim.close()
