"""cocotb bench of the exported fpga chip: run N timesteps, check every step's spikes and
cycle count and the final weights against the naive model (emulator.fpga.oracle), for the
chip's power-up image or for several images written through its host port in turn.

Environment: FPGA_IMAGES and FPGA_META (image files, the export's JSON sidecar),
FPGA_STEPS, FPGA_SEEN (JSON written with what the RTL did and the mismatches found).
"""

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge, Timer

from neurocosim.emulator.fpga.oracle import ChipModel
from neurocosim.hw.image import HardwareImage

#: the bench's clock period
PERIOD_NS = 10


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


async def reset(dut) -> None:
    """Clock on, inputs low, two cycles of reset."""
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    dut.rst.value = 1
    for port in ("start", "n_steps", "w_core", "w_addr", "cfg_we", "cfg_core",
                 "cfg_region", "cfg_addr", "cfg_data", "clear"):
        getattr(dut, f"ctl__{port}").value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def write_image(dut, image: HardwareImage, capacity: dict) -> None:
    """Clear every memory, then write `image` through the host port, as a board's host
    does (host.board.image_regions over rtl.capacity.fpga_identity)."""
    from neurocosim.host.board import image_regions
    from neurocosim.rtl.capacity import ChipCapacity, fpga_identity
    cap = ChipCapacity(**capacity)
    dut.ctl__clear.value = 0b11
    await RisingEdge(dut.clk)
    dut.ctl__clear.value = 0
    await RisingEdge(dut.clk)
    await ReadOnly()
    while dut.ctl__busy.value:
        await RisingEdge(dut.clk)
        await ReadOnly()
    await RisingEdge(dut.clk)
    dut.ctl__cfg_we.value = 1
    for core, region, values in image_regions(image, fpga_identity(image.target, cap,
                                                                   "chip", 4096)):
        dut.ctl__cfg_core.value = core
        dut.ctl__cfg_region.value = region.id
        for i, v in enumerate(values):
            dut.ctl__cfg_addr.value = i
            dut.ctl__cfg_data.value = int(v) & 0xFFFFFFFF
            await RisingEdge(dut.clk)
    dut.ctl__cfg_we.value = 0
    await RisingEdge(dut.clk)


async def check_run(dut, image: HardwareImage, steps: int) -> dict:
    """Run `steps` steps; check every step's spikes and cycles and the final weights
    against the model of `image`: what the chip did and the mismatches found."""
    board = Scoreboard(ChipModel(image))
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
    await RisingEdge(dut.clk)
    return dict(steps=seen, weights=weights, errors=board.errors)


@cocotb.test()
async def chips_match_models(dut):
    """The first of FPGA_IMAGES (the power-up contents), then each other one written
    through the host port (FPGA_META: the export's sidecar, its capacity), run
    FPGA_STEPS steps each, equal to the model; FPGA_SEEN gets one record per image."""
    paths = os.environ["FPGA_IMAGES"].split(os.pathsep)
    with open(os.environ["FPGA_META"]) as f:
        capacity = json.load(f)["capacity"]
    steps = int(os.environ["FPGA_STEPS"])
    await reset(dut)
    runs = []
    for i, path in enumerate(paths):
        image = HardwareImage.load(path)
        if i:
            await write_image(dut, image, capacity)
        runs.append(await check_run(dut, image, steps))
    with open(os.environ["FPGA_SEEN"], "w") as f:
        json.dump(runs, f)
    errors = [f"image {i}: {e}" for i, r in enumerate(runs) for e in r["errors"]]
    assert not errors, "; ".join(errors[:5])


@cocotb.test()
async def run_only(dut):
    """Speed run (benchmarks/rtl.py, benchmarks/rtl_sims.py): FPGA_STEPS steps, Python
    wakes every 256 cycles (a timer: between wakes only the simulator and the clock
    driver run); writes the wall and CPU seconds (of the simulator's process: the
    simulator, cocotb and Python) and the steps done to FPGA_SEEN."""
    import time
    steps = int(os.environ["FPGA_STEPS"])
    await reset(dut)
    dut.ctl__n_steps.value = steps
    dut.ctl__start.value = 1
    await RisingEdge(dut.clk)
    dut.ctl__start.value = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while True:   # poll in chunks: busy is combinational and may glitch between edges
        await Timer(256 * PERIOD_NS, unit="ns")
        await RisingEdge(dut.clk)
        await ReadOnly()
        if not dut.ctl__busy.value and int(dut.ctl__t.value) == steps:
            break
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    with open(os.environ["FPGA_SEEN"], "w") as f:
        json.dump(dict(wall_s=wall, cpu_s=cpu, t=int(dut.ctl__t.value)), f)
