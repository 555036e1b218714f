"""Amaranth-sim tests of the fpga RTL blocks against the naive model: one LifCore driven
through its link (event list in, go, done, spike list out), and the whole Chip."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator

from neurocosim.emulator.fpga import ChipModel
from neurocosim.hw.compiler import compile as hw_compile
from neurocosim.rtl.chip import Chip
from neurocosim.rtl.core import LifCore

sys.path.insert(0, str(Path(__file__).parent / "rtl"))
from netgen import random_network  # noqa: E402


@pytest.mark.parametrize("seed,stdp", [(21, False), (22, True)])
def test_core_step_by_step_equals_model(seed, stdp):
    image = hw_compile(random_network(seed, stdp=stdp), "fpga", neurons_per_core=32)
    model = ChipModel(image)
    d = image.data["fpga"]
    dut = LifCore(image.cores[0], image.target, d["n_axons"], d["ring_depth"])
    steps = 40
    mismatches = []

    async def bench(ctx):
        link = dut.link
        for t in range(steps):
            events = list(model.in_list)
            for i, a in enumerate(events):           # the router's writes
                ctx.set(link.in_we, 1)
                ctx.set(link.in_addr, i)
                ctx.set(link.in_data, a)
                await ctx.tick()
            ctx.set(link.in_we, 0)
            ctx.set(link.in_n, len(events))
            ctx.set(link.t_slot, t % model.D)
            ctx.set(link.go, 1)
            await ctx.tick()
            ctx.set(link.go, 0)
            cycles = 0
            while not ctx.get(link.done):
                cycles += 1
                await ctx.tick()
            spikes = []
            for i in range(ctx.get(link.out_n)):
                ctx.set(link.out_addr, i)
                await ctx.tick()                     # synchronous read
                spikes.append(ctx.get(link.out_data))
            expected_cycles = model._core_step(model.cores[0])
            expected = model.cores[0].out
            # advance the model's router by hand (one core: axon id = slot)
            model.in_list = list(expected) + [a for s, a in zip(model.stim_step,
                                                                  model.stim_axon) if s == t]
            model.t += 1
            if spikes != expected or cycles != expected_cycles:
                mismatches.append((t, spikes, expected, cycles, expected_cycles))
        for c, w in enumerate(model.weights()):
            got = []
            for i in range(len(w)):
                ctx.set(link.w_addr, i)
                await ctx.tick()
                got.append(ctx.get(link.w_data))
            if list(w) != got:
                mismatches.append(("weights", got, list(w)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert mismatches == []


@pytest.mark.parametrize("seed,stdp,npc,cores", [(23, False, 8, 3), (24, True, 10, 2)])
def test_chip_equals_model(seed, stdp, npc, cores):
    image = hw_compile(random_network(seed, stdp=stdp, n_exc=12, n_inh=4), "fpga",
                       neurons_per_core=npc, n_cores=cores)
    model = ChipModel(image)
    steps = 40
    expected = [model.step() for _ in range(steps)]
    dut = Chip(image)
    got = []

    async def bench(ctx):
        ctx.set(dut.ctl.n_steps, steps)
        ctx.set(dut.ctl.start, 1)
        await ctx.tick()
        ctx.set(dut.ctl.start, 0)
        spikes = []
        while len(got) < steps:
            if ctx.get(dut.ctl.spike_valid):
                spikes.append(ctx.get(dut.ctl.spike_axon))
            if ctx.get(dut.ctl.step_done):
                got.append((spikes, ctx.get(dut.ctl.step_cycles)))
                spikes = []
            await ctx.tick()
        await ctx.tick()
        assert not ctx.get(dut.ctl.busy) and ctx.get(dut.ctl.t) == steps

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == expected
    assert sum(len(s) for s, _ in got) > 0


def test_constructor_checks():
    image = hw_compile(random_network(25), "fpga")
    with pytest.raises(ValueError, match="ring_depth=0"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the half-built component is never elaborated
        LifCore(image.cores[0], image.target, 10, 0)
    assert np.all(image.cores[0].params["n"] >= 1)


def test_a_1024_neuron_core_runs_in_simulation():
    net = random_network(26, n_exc=800, n_inh=224, n_src=32, p=0.004, rate_hz=400.0)
    image = hw_compile(net, "fpga", neurons_per_core=1024)
    assert len(image.cores) == 1 and int(image.cores[0].params["n"][0]) == 1024
    model = ChipModel(image)
    steps = 3
    expected = [model.step() for _ in range(steps)]
    dut = Chip(image)
    got = []

    async def bench(ctx):
        ctx.set(dut.ctl.n_steps, steps)
        ctx.set(dut.ctl.start, 1)
        await ctx.tick()
        ctx.set(dut.ctl.start, 0)
        spikes = []
        while len(got) < steps:
            if ctx.get(dut.ctl.spike_valid):
                spikes.append(ctx.get(dut.ctl.spike_axon))
            if ctx.get(dut.ctl.step_done):
                got.append((spikes, ctx.get(dut.ctl.step_cycles)))
                spikes = []
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == expected
    assert all(c > image.target.cycles_neuron * 1024 for _, c in got)


def test_a_chip_built_from_one_image_runs_another_written_through_its_port():
    """Chip(A, capacity) cleared and written with image B through ctl.cfg_* equals the
    model of B: spikes and cycles of every step, the final weights."""
    from neurocosim.host.board import image_regions
    from neurocosim.rtl.capacity import ChipCapacity, fpga_identity
    a = hw_compile(random_network(27, stdp=True, n_exc=12, n_inh=4), "fpga",
                   neurons_per_core=10, n_cores=2)
    b = hw_compile(random_network(28, stdp=True, n_exc=10, n_inh=5, n_src=10), "fpga",
                   neurons_per_core=10, n_cores=2)
    cap = ChipCapacity.covering([a, b])
    writes = image_regions(b, fpga_identity(b.target, cap, "chip", 4096))
    model = ChipModel(b)
    steps = 30
    expected = [model.step() for _ in range(steps)]
    assert expected != [ChipModel(a).step() for _ in range(steps)]
    dut = Chip(a, cap)
    got, weights = [], []

    async def bench(ctx):
        ctl = dut.ctl
        ctx.set(ctl.clear, 0b11)   # every memory: what B leaves unwritten is A's otherwise
        await ctx.tick()
        ctx.set(ctl.clear, 0)
        await ctx.tick()
        while ctx.get(ctl.busy):
            await ctx.tick()
        ctx.set(ctl.cfg_we, 1)
        for core, region, values in writes:
            ctx.set(ctl.cfg_core, core)
            ctx.set(ctl.cfg_region, region.id)
            for i, v in enumerate(values):
                ctx.set(ctl.cfg_addr, i)
                ctx.set(ctl.cfg_data, int(v) & 0xFFFFFFFF)
                await ctx.tick()
        ctx.set(ctl.cfg_we, 0)
        ctx.set(ctl.n_steps, steps)
        ctx.set(ctl.start, 1)
        await ctx.tick()
        ctx.set(ctl.start, 0)
        spikes = []
        while len(got) < steps:
            if ctx.get(ctl.spike_valid):
                spikes.append(ctx.get(ctl.spike_axon))
            if ctx.get(ctl.step_done):
                got.append((spikes, ctx.get(ctl.step_cycles)))
                spikes = []
            await ctx.tick()
        await ctx.tick()
        for c, w in enumerate(model.weights()):
            ctx.set(ctl.w_core, c)
            out = []
            for i in range(len(w)):
                ctx.set(ctl.w_addr, i)
                await ctx.tick()
                out.append(ctx.get(ctl.w_data))
            weights.append(out)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == expected
    assert weights == [list(w) for w in model.weights()]
    assert sum(len(s) for s, _ in got) > 0
