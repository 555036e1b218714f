"""cocotb bench for a generated SFQ netlist: drive input pulses, record probe pulses (fs).

Reads the stimulus from the JSON file named by $SFQ_STIM:
{"inputs": [[fs, ...] per in_k], "n_probes": P, "until_fs": T, "expected": [[fs, ...] per
probe_j]}, writes what it saw to $SFQ_SEEN and fails on the first mismatching probe.
"""

import json
import os

import cocotb
from cocotb.triggers import RisingEdge, Timer
from cocotb.utils import get_sim_time


async def drive(sig, times_fs):
    now = 0
    for t in times_fs:
        if t > now:
            await Timer(t - now, unit="fs")
        sig.value = 1
        await Timer(1, unit="fs")
        sig.value = 0
        now = t + 1


async def watch(sig, seen):
    while True:
        await RisingEdge(sig)
        seen.append(int(get_sim_time(unit="fs")))


@cocotb.test()
async def pulses_match_python(dut):
    with open(os.environ["SFQ_STIM"]) as f:
        stim = json.load(f)
    for k in range(len(stim["inputs"])):
        getattr(dut, f"in_{k}").value = 0
    seen = [[] for _ in range(stim["n_probes"])]
    for j in range(stim["n_probes"]):
        cocotb.start_soon(watch(getattr(dut, f"probe_{j}"), seen[j]))
    for k, times in enumerate(stim["inputs"]):
        cocotb.start_soon(drive(getattr(dut, f"in_{k}"), times))
    await Timer(stim["until_fs"], unit="fs")
    with open(os.environ["SFQ_SEEN"], "w") as f:
        json.dump(seen, f)
    for j, (got, want) in enumerate(zip(seen, stim["expected"])):
        assert got == want, f"probe_{j}: Verilog {got} != Python {want}"
