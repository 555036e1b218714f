"""End to end: the unchanged host driver (the "board" target's runner) -> pseudo-terminal
-> simulated RTL (command dispatcher + chip bridge + the fpga chip): spikes, cycles per
step and final weights equal the fpga emulator's, for the image the chip was built from
and for another image the host writes into a chip built from the first; images that do
not fit, writes out of range (offsets or values) and reads of write-only regions are
refused."""

from __future__ import annotations

import copy
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

    def __init__(self, image, capacity=None):
        from neurocosim.rtl.uart.fpga_board import FpgaBoard
        from rtl_uart.harness import serve_pty_dut
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.done = threading.Event()
        self.thread = threading.Thread(target=serve_pty_dut,
                                       args=(FpgaBoard(image, capacity=capacity), self.master,
                                             self.done.is_set),
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
        assert runner.board.identity.model == "neurocosim-fpga"
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


def dense_network():
    """Every source onto every neuron: more synapses per core than the others need."""
    from neurocosim.hw.ir import Network, Population, Projection, SpikeArray, SpikeTrains
    from test_board_fpga import LIF
    src = Population("src", 20, "SpikeSourceArray", {})
    exc = Population("exc", 40, "IF_curr_exp", LIF)
    pre, post = np.nonzero(np.ones((20, 40)))
    proj = Projection("in", "src", "exc", pre, post, np.full(pre.size, 0.5),
                      np.full(pre.size, 1.0))
    return Network(populations=[src, exc], projections=[proj],
                   stimuli=[SpikeArray("src", SpikeTrains.from_lists([[5.0]] * 20))],
                   timestep=1.0)


def expected_run(image, steps: int):
    """The fpga model's (spikes, cycles) per step and its final weights."""
    from neurocosim.emulator.fpga.oracle import ChipModel
    chip = ChipModel(image)
    return [chip.step() for _ in range(steps)], chip.weights()


def test_a_board_built_from_one_image_runs_another_and_refuses_what_does_not_fit():
    import dataclasses

    from neurocosim.host import protocol as P
    from neurocosim.host.board import Board
    from neurocosim.hw.errors import LimitError
    from neurocosim.rtl.capacity import ChipCapacity
    a = hw_compile(small_network(3), "board", core=core_spec())
    b = hw_compile(small_network(4), "board", core=core_spec())
    assert not np.array_equal(a.cores[0].params["theta"], b.cores[0].params["theta"]) or \
        not np.array_equal(a.cores[0].memories["syn_w"], b.cores[0].memories["syn_w"])
    cap = ChipCapacity.covering([a, b])
    sim = SimulatedBoard(a, capacity=cap)
    try:
        board = Board(sim.port, timeout=20.0, retries=3)
        assert board.identity.neurons_per_core == 32 and board.identity.n_cores == 2
        assert dict(board.identity.params)["synapses_per_core"] == cap.synapses_per_core
        board.load(b)
        first = board.run_steps(20)
        w_first = [board.read_region("syn_w", core=c) for c in range(2)]
        board.reset()  # state cleared, the weights STDP changed are kept
        second = board.run_steps(10)
        # refused by the host before sending: an image over the capacity
        dense = hw_compile(dense_network(), "board", core=core_spec())
        need = len(dense.cores[0].memories["syn_w"])
        over = need - cap.synapses_per_core
        with pytest.raises(LimitError, match=rf"region 'syn_\w+' elements: needs {need}, the "
                                             rf"target allows {cap.synapses_per_core} "
                                             rf"\(offset 0 \+ {need} values: {over} over\)"):
            board.load(dense)
        # refused by the board: a write past a region's end, a read of a write-only one
        syn_w = board.identity.region("syn_w")
        wider = dataclasses.replace(syn_w, depth=syn_w.depth + 1)
        with pytest.raises(P.BoardError, match="OUT_OF_RANGE"):
            board.link.request(P.Cmd.WRITE_WEIGHTS, P.pack_write(0, wider, syn_w.depth, [1]))
        post = board.identity.region("syn_post")   # 0..31: a 1-byte element holds 255
        with pytest.raises(P.BoardError, match="OUT_OF_RANGE"):
            board.link.request(P.Cmd.WRITE_WEIGHTS, P.pack_write(
                0, dataclasses.replace(post, range=None), 0, [3, 32]))
        with pytest.raises(P.BoardError, match="BAD_REGION"):
            board.link.request(P.Cmd.READ_REGION,
                               P.pack_read(0, board.identity.region("theta"), 0, 1))
        with pytest.raises(TargetError, match="write-only"):
            board.read_region("theta")
        board.close()
    finally:
        sim.close()
    ref = hw_compile(small_network(4), core_spec())
    steps, w = expected_run(ref, 20)
    assert [r[2].tolist() for r in first] == [s for s, _ in steps]
    assert [r[1] for r in first] == [c for _, c in steps]
    assert sum(len(s) for s, _ in steps) > 20
    for c in range(2):
        assert w_first[c][:len(w[c])].tolist() == w[c].tolist()
    after = copy.deepcopy(ref)
    for c, core in enumerate(after.cores):
        core.memories["syn_w"] = np.asarray(w[c])
    steps2, _ = expected_run(after, 10)
    assert [r[2].tolist() for r in second] == [s for s, _ in steps2]
    assert [r[1] for r in second] == [c for _, c in steps2]
