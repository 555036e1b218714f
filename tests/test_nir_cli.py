"""`neurocosim run MODEL.nir --input EVENTS.npz --duration MS` and `neurocosim export`."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nir  # noqa: E402  (a main dependency: missing is a failure, not a skip)

from neurocosim.host.cli import main  # noqa: E402


def test_run_nir_model_with_events(tmp_path, capsys):
    lif = nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2),
                  v_threshold=np.full(2, 0.5))
    graph = nir.NIRGraph.from_list(nir.Linear(np.array([[0.02, 0.0], [0.0, -0.02]])), lif)
    nir.write(str(tmp_path / "m.nir"), graph)
    np.savez(tmp_path / "ev.npz", idx=np.array([0, 0, 1]), time=np.array([1.0, 5.0, 2.0]))
    out = tmp_path / "res"
    rc = main(["run", str(tmp_path / "m.nir"), "--input", str(tmp_path / "ev.npz"),
               "--duration", "10", "--out", str(out)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target"] == "reference"
    text = (out / "spikes.csv").read_text()
    assert "lif" in text                      # 0.02 * 1 / 0.01 = 2 mV > 0.5: fires
    np.savez(tmp_path / "bad.npz", idx=np.array([5]), time=np.array([1.0]))
    rc = main(["run", str(tmp_path / "m.nir"), "--input", str(tmp_path / "bad.npz"),
               "--duration", "10", "--out", str(out)])
    assert rc == 2 and "input node 'input'" in capsys.readouterr().err


def test_export_script(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "import pyNN.neurocosim as sim\n"
        "sim.setup(timestep=1.0)\n"
        "src = sim.Population(3, sim.SpikeSourceArray(spike_times=[2.0, 4.0]), label='src')\n"
        "cells = sim.Population(2, sim.IF_curr_exp(tau_refrac=0.0), label='cells')\n"
        "sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5))\n"
        "cells.record('spikes')\n"
        "sim.run(10.0)\n")
    assert main(["export", str(script), "-o", str(tmp_path / "s.nir")]) == 0
    graph = nir.read(str(tmp_path / "s.nir"))
    assert type(graph.nodes["cells"]).__name__ == "CubaLIF"
    assert ("src_to_cells", "cells") in [tuple(e) for e in graph.edges]


def test_public_name_and_no_shadowing():
    import neurocosim
    from neurocosim import nir as ours
    assert ours is neurocosim.nir and hasattr(ours, "read") and hasattr(ours, "write")
    assert nir.__file__.endswith("site-packages/nir/__init__.py")   # PyPI's, from the root
