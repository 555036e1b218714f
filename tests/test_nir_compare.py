"""`neurocosim compare MODEL.nir --input EVENTS.npz --duration MS --targets ...`: one
imported graph on several targets, compared as a script's runs are."""

from __future__ import annotations

import json

import nir
import numpy as np

from neurocosim.host.cli import main


def _cuba_graph(path, n_in=3, n_out=2):
    """Input -> Linear -> CubaLIF (IF_curr_exp: every target here maps it)."""
    w = np.array([[0.6, 0.0, 0.4], [0.0, 0.7, 0.4]])[:n_out, :n_in]
    cuba = nir.CubaLIF(tau_syn=np.full(n_out, 0.005), tau_mem=np.full(n_out, 0.01),
                       r=np.ones(n_out), v_leak=np.zeros(n_out),
                       v_threshold=np.full(n_out, 0.5), w_in=np.ones(n_out))
    nir.write(str(path), nir.NIRGraph.from_list(nir.Linear(w), cuba))


def _events(path):
    idx = np.array([0, 1, 2, 0, 1, 2, 0, 0, 0])
    time = np.array([1.0, 3.0, 5.0, 10.0, 12.0, 14.0, 20.0, 21.0, 22.0])
    np.savez(path, idx=idx, time=time)


def test_compare_nir_on_four_targets(tmp_path, capsys):
    _cuba_graph(tmp_path / "m.nir")
    _events(tmp_path / "ev.npz")
    out = tmp_path / "cmp"
    rc = main(["compare", str(tmp_path / "m.nir"), "--input", str(tmp_path / "ev.npz"),
               "--duration", "40", "--targets", "reference,loihi,truenorth,fpga",
               "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["targets"] == ["reference", "loihi", "truenorth", "fpga"]
    assert not summary["refused"] and not summary["unmatched"]
    for t in ("loihi", "truenorth", "fpga"):
        assert "cuba" in (out / t / "spikes.csv").read_text()     # the graph's neurons fired
        rows = {r["population"]: r for r in summary["distances"][t]}
        assert rows["input"]["van_rossum_mean"] == 0.0                   # the same events went in
    assert "cuba" in text and "van Rossum" in text


def test_compare_nir_names_a_refusal_and_needs_duration(tmp_path, capsys):
    lif = nir.LIF(tau=np.full(3, 0.01), r=np.ones(3), v_leak=np.zeros(3),
                  v_threshold=np.full(3, 0.5))
    nir.write(str(tmp_path / "m.nir"),
              nir.NIRGraph.from_list(nir.Linear(np.eye(3) * 0.02), lif))
    _events(tmp_path / "ev.npz")
    args = ["compare", str(tmp_path / "m.nir"), "--input", str(tmp_path / "ev.npz"),
            "--targets", "reference,fpga", "--out", str(tmp_path / "cmp")]
    assert main(args) == 2 and "--duration" in capsys.readouterr().err
    assert main(args + ["--duration", "30"]) == 1        # fpga lacks IF_curr_delta
    assert "fpga: refused the network" in capsys.readouterr().out
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert "IF_curr_delta" in summary["refused"]["fpga"]
