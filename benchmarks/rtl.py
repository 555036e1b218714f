"""fpga core: RTL simulation speed under Icarus (clock cycles/s, through cocotb), the core's
throughput (synaptic events per clock cycle, from the cycle-exact model: over whole steps,
and over the event phase alone; now, at the cycle costs of the core before issue 20,
which took 3 cycles per synapse, and before list headers overlapped the walk before
them and the pre traces the neuron walk), and the Numba emulator's speed on the same network, as a
ratio to the RTL simulation.

    .venv/bin/python benchmarks/rtl.py [--exc 64] [--steps 200] [--stdp] [--no-rtl]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

from netgen import random_network  # noqa: E402

from neurocosim.emulator.fpga import FastChip  # noqa: E402
from neurocosim.emulator.fpga.timing import event_lists  # noqa: E402
from neurocosim.hw.compiler import compile as hw_compile  # noqa: E402


#: the cycle costs of the chip before issue 20 (3 cycles per synapse, 2 per neuron and
#: per router entry; the others did not change)
BEFORE_ISSUE_20 = dict(cycles_event=3, cycles_synapse=3, cycles_neuron=2, cycles_trace=2,
                       cycles_spiking=3, cycles_plastic=3, cycles_route_spike=2,
                       cycles_stimulus=2, cycles_stimulus_end=2, cycles_header_overlap=0,
                       cycles_trace_beside_neuron=0)
#: the one-synapse-per-clock core before list headers overlapped the walk before them and
#: the pre traces the neuron walk
BEFORE_OVERLAP = dict(cycles_header_overlap=0, cycles_trace_beside_neuron=0)


def delivered(image, spike_axons, spike_steps, steps: int) -> tuple[int, int]:
    """(synaptic events, event-phase cycles of core 0) in `steps` steps: each spike (and
    stimulus spike) of step k is delivered in step k + 1 through its rows on every core,
    the step's list in the router's order (its headers overlapping the rows before)."""
    spec, d = image.target, image.data["fpga"]
    fan = sum(np.diff(c.memories["row_ptr"]) for c in image.cores)
    rows = np.diff(image.cores[0].memories["row_ptr"])
    ev_step, ev_axon = event_lists(spike_steps, spike_axons, np.asarray(d["stim_step"]),
                                   np.asarray(d["stim_axon"]))
    keep = ev_step < steps - 1
    ev_step, ev_axon = ev_step[keep], ev_axon[keep]
    cut = np.flatnonzero(np.diff(ev_step)) + 1
    phase = spec.cycles_list_end * steps + sum(
        spec.list_cycles(rows[ax], spec.cycles_event, spec.cycles_synapse)
        for ax in np.split(ev_axon, cut) if ax.size)
    return int(fan[ev_axon].sum()), int(phase)


def throughput(net, npc: int, steps: int, label: str, **costs) -> tuple:
    """Run the emulator at the spec's cycle costs (overridden by `costs`) and print the
    synaptic events per clock cycle: over whole steps, and over the event phase (one
    core: its event, synapse and list-end cycles). Returns (image, spikes, steps, cycles)."""
    image = hw_compile(net, "fpga", neurons_per_core=npc, **costs)
    spec = image.target
    axons, ksteps, cycles = FastChip(image).run(steps)
    ev, phase = delivered(image, axons, ksteps, steps)
    total = int(cycles.sum())
    print(f"{label}: {total} cycles, {ev} synaptic events, {len(axons)} spikes: "
          f"{ev / total:.3f} events/cycle over whole steps, {ev / phase:.3f} over the event "
          f"phase ({spec.cycles_synapse} cycle(s) per synapse), max {cycles.max()} "
          f"cycles/step ({cycles.max() / spec.clock_hz * 1e6:.2f} us at "
          f"{spec.clock_hz / 1e6:g} MHz, real time needs < 1000 us)")
    return image, axons, ksteps, cycles


def rtl_speed(image, steps: int, work: Path) -> dict:
    from cocotb_tools.runner import get_runner

    from neurocosim.rtl.export import export_verilog
    src = export_verilog(image, work / "rtl")
    runner = get_runner("icarus")
    runner.build(sources=[src], hdl_toplevel="neurocore", build_dir=work / "build",
                 always=True, timescale=("1ns", "1ps"), build_args=["-g2005"])
    seen = work / "seen.json"
    runner.test(hdl_toplevel="neurocore", test_module="fpga_tb", testcase="run_only",
                test_dir=ROOT / "tests" / "rtl", build_dir=work / "build",
                results_xml=str(work / "results.xml"),
                extra_env={"FPGA_STEPS": str(steps), "FPGA_SEEN": str(seen),
                           "PYTHONPATH": os.pathsep.join(sys.path)})
    return json.loads(seen.read_text())


TB = """`timescale 1ns/1ps
module tb;
  reg clk = 0, rst = 1, start = 0;
  wire busy, sv, sd; wire [31:0] t, sc, sa, wd;
  neurocore dut(.clk(clk), .rst(rst), .ctl__start(start), .ctl__n_steps(32'd%(steps)d),
    .ctl__busy(busy), .ctl__t(t), .ctl__step_done(sd), .ctl__step_cycles(sc),
    .ctl__spike_valid(sv), .ctl__spike_axon(sa), .ctl__w_core(0), .ctl__w_addr(0),
    .ctl__w_data(wd), .ctl__cfg_we(1'b0), .ctl__cfg_core(0), .ctl__cfg_region(8'd0),
    .ctl__cfg_addr(0), .ctl__cfg_data(32'd0), .ctl__clear(2'd0));
  always #5 clk = ~clk;
  initial begin
    #20 rst = 0; #10 start = 1; #10 start = 0;
    wait (t == %(steps)d);
    $finish;
  end
endmodule
"""


def vvp_speed(work: Path, steps: int) -> float:
    """CPU seconds of a plain Verilog testbench (no cocotb) running `steps` steps."""
    import resource
    import subprocess
    (work / "tb.v").write_text(TB % {"steps": steps})
    subprocess.run(["iverilog", "-g2005", "-o", str(work / "plain"), str(work / "tb.v"),
                    str(work / "rtl" / "neurocore.v")], check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    subprocess.run(["vvp", "-n", str(work / "plain")], check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--exc", type=int, default=64)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--stdp", action="store_true")
    ap.add_argument("--no-rtl", action="store_true", help="the throughput figures only")
    args = ap.parse_args()
    net = random_network(1, n_exc=args.exc, n_inh=args.exc // 4, n_src=args.exc // 4,
                         stdp=args.stdp, p=0.1, t_max=float(args.steps))
    npc = max(64, args.exc + args.exc // 4)
    throughput(net, npc, args.steps, "core before issue 20", **BEFORE_ISSUE_20)
    throughput(net, npc, args.steps, "one synapse per clock, no overlaps",
               **BEFORE_OVERLAP)
    image, *_ = throughput(net, npc, args.steps, "core now")
    n_syn = sum(len(c.memories["syn_w"]) for c in image.cores)
    print(f"network: {image.data['fpga']['n_neurons']} neurons, {n_syn} synapses, "
          f"{args.steps} steps, STDP {'on' if args.stdp else 'off'}")
    if args.no_rtl:
        return
    chip = FastChip(image)
    chip.run(1)                                   # compile the kernel
    chip = FastChip(image)
    t0 = time.perf_counter()
    _, _, cycles = chip.run(args.steps)
    emu_s = time.perf_counter() - t0
    total = int(cycles.sum())

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rtl = rtl_speed(image, args.steps, Path(tmp))
        rtl_total_s = time.perf_counter() - t0
        plain_cpu = vvp_speed(Path(tmp), args.steps)
    assert rtl["t"] == args.steps, rtl
    rtl_cps = total / rtl["wall_s"]
    emu_cps = total / emu_s
    print(f"Icarus under cocotb (Python wakes every 256 cycles): {rtl_cps:,.0f} clock cycles/s "
          f"({rtl['wall_s']:.2f} s run, {rtl_total_s:.1f} s with export and build)")
    print(f"Icarus, plain Verilog testbench: {total / plain_cpu:,.0f} clock cycles/s "
          f"({plain_cpu:.2f} s CPU)")
    print(f"Numba emulator:        {emu_cps:,.0f} clock cycles/s emulated "
          f"({emu_s * 1e3:.2f} ms, {args.steps / emu_s:,.0f} steps/s)")
    print(f"emulator / RTL simulation speed: {emu_cps / rtl_cps:,.0f}x (cocotb), "
          f"{emu_cps * plain_cpu / total:,.0f}x (plain Icarus)")


if __name__ == "__main__":
    main()
