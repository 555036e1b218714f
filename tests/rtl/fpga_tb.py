"""cocotb bench of the exported fpga chip: run N timesteps, check every step's spikes and
cycle count and the final weights against the naive model (emulator.fpga.oracle).

Environment: FPGA_IMAGE (image file the model runs), FPGA_STEPS, FPGA_SEEN (JSON written
with what the RTL did and the mismatches found).
"""

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge, Timer

from neurocosim.emulator.fpga.oracle import ChipModel
from neurocosim.hw.image import HardwareImage


class Scoreboard:
    """In-order checker: expected (spikes, cycles) per step from the model."""

    def __init__(self, model: ChipModel):
        self.model = model
        self.errors: list[str] = []

    def step(self, t: int, spikes: list[int], cycles: int) -> None:
        exp_spikes, exp_cycles = self.model.step()
        if spikes != exp_spikes:
            self.errors.append(f"step {t}: spikes {spikes} != model {exp_spikes}")
        if cycles != exp_cycles:
            self.errors.append(f"step {t}: {cycles} cycles != model {exp_cycles}")


@cocotb.test()
async def chip_matches_model(dut):
    image = HardwareImage.load(os.environ["FPGA_IMAGE"])
    steps = int(os.environ["FPGA_STEPS"])
    board = Scoreboard(ChipModel(image))
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.ctl__start.value = 0
    dut.ctl__n_steps.value = 0
    dut.ctl__w_core.value = 0
    dut.ctl__w_addr.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    dut.ctl__n_steps.value = steps
    dut.ctl__start.value = 1
    await RisingEdge(dut.clk)
    dut.ctl__start.value = 0
    seen, spikes, t = [], [], 0
    while t < steps:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if dut.ctl__spike_valid.value:
            spikes.append(int(dut.ctl__spike_axon.value))
        if dut.ctl__step_done.value:
            cycles = int(dut.ctl__step_cycles.value)
            board.step(t, spikes, cycles)
            seen.append([spikes, cycles])
            spikes, t = [], t + 1
    await RisingEdge(dut.clk)
    await ReadOnly()
    if dut.ctl__busy.value:
        board.errors.append("chip still busy after the last step")
    await RisingEdge(dut.clk)
    weights = []
    for c, expected in enumerate(board.model.weights()):
        got = []
        for a in range(len(image.cores[c].memories["syn_w"])):
            dut.ctl__w_core.value = c
            dut.ctl__w_addr.value = a
            await RisingEdge(dut.clk)          # synchronous read: data after the edge
            await ReadOnly()
            got.append(int(dut.ctl__w_data.value.to_signed()))
            await Timer(1, unit="ns")
        weights.append(got)
        bad = np.flatnonzero(np.array(got, np.int64) != expected)
        if bad.size:
            board.errors.append(f"core {c}: {bad.size} final weights differ, first at "
                                f"synapse {bad[0]}: {got[bad[0]]} != model {expected[bad[0]]}")
    with open(os.environ["FPGA_SEEN"], "w") as f:
        json.dump(dict(steps=seen, weights=weights, errors=board.errors), f)
    assert not board.errors, "; ".join(board.errors[:5])


@cocotb.test()
async def run_only(dut):
    """Speed run (benchmarks/rtl.py): FPGA_STEPS steps, Python wakes every 256 cycles;
    writes the wall time and the steps done to FPGA_SEEN."""
    import time
    steps = int(os.environ["FPGA_STEPS"])
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.ctl__start.value = 0
    dut.ctl__n_steps.value = 0
    dut.ctl__w_core.value = 0
    dut.ctl__w_addr.value = 0
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    dut.ctl__n_steps.value = steps
    dut.ctl__start.value = 1
    await RisingEdge(dut.clk)
    dut.ctl__start.value = 0
    from cocotb.triggers import ClockCycles
    t0 = time.perf_counter()
    while True:   # poll in chunks: busy is combinational and may glitch between edges
        await ClockCycles(dut.clk, 256)
        await ReadOnly()
        if not dut.ctl__busy.value and int(dut.ctl__t.value) == steps:
            break
    wall = time.perf_counter() - t0
    with open(os.environ["FPGA_SEEN"], "w") as f:
        json.dump(dict(wall_s=wall, t=int(dut.ctl__t.value)), f)
