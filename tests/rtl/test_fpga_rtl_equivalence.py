"""The exported Verilog of the fpga core (Icarus, through cocotb) equals the emulator: the same
spikes every timestep, the same cycle count per timestep, the same final weights after STDP,
on generated networks with and without STDP, on one and several cores. And the check can
fail: a design exported with one corrupted threshold is caught.

NEUROCOSIM_WAVES=1 writes an FST waveform (neurocore.fst) into each case's folder.
"""

import copy
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from neurocosim.hw.compiler import compile as hw_compile

sys.path.insert(0, str(Path(__file__).parent))
from netgen import random_network  # noqa: E402

pytestmark = [pytest.mark.rtl,
              pytest.mark.skipif(shutil.which("iverilog") is None, reason="no iverilog")]

BENCH = Path(__file__).parent
WAVES = os.environ.get("NEUROCOSIM_WAVES", "") not in ("", "0")

#: (seed, stdp, neurons_per_core, cores, steps): 22 generated networks
CASES = ([(s, False, 32, 1, 60) for s in range(6)]
         + [(s, True, 32, 1, 60) for s in range(6, 12)]
         + [(s, False, 7, 3, 50) for s in range(12, 17)]
         + [(s, True, 9, 2, 50) for s in range(17, 22)])


def _image(seed: int, stdp: bool, npc: int, cores: int):
    net = random_network(seed, stdp=stdp, n_exc=12 if cores > 1 else 14,
                         n_inh=4 if cores > 1 else 6)
    return hw_compile(net, "fpga", neurons_per_core=npc, n_cores=cores)


def run_rtl(image, steps: int, work: Path, rtl_image=None) -> dict:
    """Export `rtl_image` (default `image`), simulate `steps` under Icarus with the cocotb
    scoreboard running the model on `image`; return what the bench saw."""
    from cocotb_tools.runner import get_results, get_runner

    from neurocosim.rtl.export import export_verilog
    src = export_verilog(rtl_image if rtl_image is not None else image, work / "rtl")
    img_path = work / "image.npz"
    image.save(img_path)
    seen = work / "seen.json"
    sources, args = [src], ["-g2005"]  # -g2012 skips time-0 events of initialisers
    if WAVES:  # our own dump module: cocotb's needs SystemVerilog (-g2012)
        (work / "waves.v").write_text(
            "module waves;\ninitial begin\n"
            f'  $dumpfile("{work / "neurocore.fst"}");\n'
            "  $dumpvars(0, neurocore);\nend\nendmodule\n")
        sources.append(work / "waves.v")
        args += ["-s", "waves"]
    runner = get_runner("icarus")
    runner.build(sources=sources, hdl_toplevel="neurocore", build_dir=work / "build",
                 always=True, timescale=("1ns", "1ps"), build_args=args)
    xml = work / "results.xml"
    try:
        runner.test(hdl_toplevel="neurocore", test_module="fpga_tb", test_dir=BENCH,
                    testcase="chip_matches_model", build_dir=work / "build",
                    results_xml=str(xml), waves=WAVES,   # vvp -fst, else -none
                    extra_env={"FPGA_IMAGE": str(img_path), "FPGA_STEPS": str(steps),
                               "FPGA_SEEN": str(seen),
                               "PYTHONPATH": os.pathsep.join(sys.path)})
    except SystemExit:  # under pytest the runner exits on a failed cocotb test
        pass
    n_tests, n_failed = get_results(xml)
    out = json.loads(seen.read_text()) if seen.exists() else {"errors": ["bench wrote nothing"]}
    out.update(n_tests=n_tests, n_failed=n_failed)
    return out


@pytest.mark.parametrize("seed,stdp,npc,cores,steps", CASES,
                         ids=[f"s{c[0]}-{'stdp' if c[1] else 'static'}-{c[3]}core"
                              for c in CASES])
def test_rtl_equals_emulator(tmp_path, seed, stdp, npc, cores, steps):
    image = _image(seed, stdp, npc, cores)
    assert len(image.cores) == cores
    out = run_rtl(image, steps, tmp_path)
    assert out["errors"] == [], out["errors"][:5]
    assert (out["n_tests"], out["n_failed"]) == (1, 0)
    assert len(out["steps"]) == steps
    # the networks are not silent: the comparison covers spikes (and weight changes)
    assert sum(len(s) for s, _ in out["steps"]) > 0
    if stdp:
        assert any(np.any(np.array(w) != c.memories["syn_w"])
                   for w, c in zip(out["weights"], image.cores))


def test_corrupted_threshold_is_detected(tmp_path):
    image = _image(3, False, 32, 1)
    from neurocosim.emulator.fpga.oracle import ChipModel
    model = ChipModel(image)
    first = [a for _ in range(60) for a in model.step()[0]]
    assert first, "the network must spike for this test to mean anything"
    bad = copy.deepcopy(image)
    j = first[0]  # the first neuron to fire now fires never
    bad.cores[0].params["theta"][j] = image.target.v_format.max_int
    out = run_rtl(image, 60, tmp_path, rtl_image=bad)
    assert out["n_failed"] == 1
    assert any("spikes" in e for e in out["errors"])
