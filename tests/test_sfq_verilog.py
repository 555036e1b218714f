"""The exported Verilog (Icarus, through cocotb) reproduces the Python engine pulse for pulse
on generated netlists: same pre-drawn synapse decisions, same delay variability, times
compared in whole femtoseconds."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from neurocosim.hw import compiler
from neurocosim.hw.layouts import sfq as L
from neurocosim.hw.stimulus import Stimulus
from neurocosim.hw.targets.sfq import SfqSpec
from neurocosim.rtl.sfq import export_verilog
from neurocosim.sim.sfq import Engine, Simulator, TimingViolation
from neurocosim.sim.sfq.generate import random_circuit, random_pulses
from neurocosim.sim.sfq.runner import leak_pulses

pytestmark = [pytest.mark.rtl,
              pytest.mark.skipif(shutil.which("iverilog") is None, reason="no iverilog")]

BENCH = Path(__file__).parent / "rtl_sfq"


def _python_run(seed: int, spec: SfqSpec):
    """A generated netlist, stimulus and decisions that run without a timing violation."""
    for attempt in range(20):
        s = seed * 100 + attempt
        nl = random_circuit(s, n_cells=25, n_inputs=3, spec=spec)
        trains = random_pulses(s, 3, 12)
        syn = [c for c in range(nl.n_cells) if nl.kind_of(c) == "synapse"]
        rng = np.random.default_rng(s)
        decisions = {c: rng.random(64) < 0.6 for c in syn}
        sim = Simulator(nl, spec, seed=s, decisions=decisions)
        for name, t in zip(nl.input_names, trains):
            sim.schedule(name, t)
        try:
            sim.run(2000.0)
        except TimingViolation:
            continue
        return s, nl, trains, decisions, sim
    raise AssertionError("no violation-free netlist in 20 attempts")


def _compiled_xor_run():
    """The XOR case study's compiled netlist, driven by the runner for 2 windows; the
    Verilog gets the pulses the runner must have scheduled: the one stimulus at its stamps
    (hw.stimulus) and the leak clocks."""
    import importlib.util
    path = Path(__file__).parents[1] / "examples" / "sfq_xor.py"
    spec_ = importlib.util.spec_from_file_location("sfq_xor", path)
    xor = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(xor)
    image = compiler.compile(xor.xor_network(1, 1, windows=2), "sfq")
    d, spec = image.data, image.target
    nl = d[L.NETLIST]
    rng = np.random.default_rng(5)
    decisions = {c: rng.random(200) < 0.9 for c in range(nl.n_cells)
                 if nl.kind_of(c) == "synapse"}
    engine = Engine(image, decisions=decisions, engine="python")
    engine.run(2.0)
    ptr, stamps = Stimulus(image.network, engine.dt).window(0, engine.steps).merged() \
        .per_neuron(image.network.size)
    trains = []
    for g, rate in zip(d[L.INPUT_NEURON].tolist(), d[L.LEAK_PER_MS].tolist()):
        if g == L.LEAK:
            t_fs = leak_pulses(spec.window_ps * 1000.0 / rate, 0, 2_000_000)
        else:
            t_fs = stamps[ptr[g]:ptr[g + 1]] * d[L.STEP_FS]
        trains.append(t_fs[t_fs < 2_000_000] / 1000.0)
    return 0, nl, trains, decisions, engine.sim, spec


@pytest.mark.parametrize("seed", [1, 2, 3, "xor"])
def test_verilog_matches_python(seed, tmp_path):
    from cocotb_tools.runner import get_results, get_runner

    if seed == "xor":
        s, nl, trains, decisions, sim, spec = _compiled_xor_run()
    else:
        spec = SfqSpec(delay_sigma=0.05)
        s, nl, trains, decisions, sim = _python_run(seed, spec)
    expected = [sim.pulses_fs(int(w)).tolist() for w in nl.probe_wires]
    from_cells = [e for e, w in zip(expected, nl.probe_wires) if nl.wire_src[w] >= 0]
    assert sum(map(len, from_cells)) > 0, "the circuit emits nothing"
    src = tmp_path / "sfq_top.v"
    src.write_text(export_verilog(nl, spec, decisions=decisions, seed=s))
    stim = tmp_path / "stim.json"
    seen = tmp_path / "seen.json"
    stim.write_text(json.dumps({
        "inputs": [np.rint(t * 1000).astype(np.int64).tolist() for t in trains],
        "n_probes": len(nl.probe_names), "until_fs": 2_000_000, "expected": expected}))
    assert sim.now_fs == 2_000_000
    runner = get_runner("icarus")
    runner.build(sources=[src], hdl_toplevel="sfq_top", build_dir=tmp_path / "build",
                 timescale=("1ps", "1fs"), always=True)
    xml = runner.test(hdl_toplevel="sfq_top", test_module="sfq_bench", test_dir=BENCH,
                      build_dir=tmp_path / "build",
                      results_xml=str(tmp_path / "results.xml"),
                      extra_env={"SFQ_STIM": str(stim), "SFQ_SEEN": str(seen)})
    n_tests, n_failed = get_results(xml)
    got = json.loads(seen.read_text())
    assert got == expected
    assert (n_tests, n_failed) == (1, 0)
