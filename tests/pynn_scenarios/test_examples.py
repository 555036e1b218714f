"""PyNN 0.13.0's own example scripts run unchanged with `neurocosim` as the simulator name
on their command line (`python VAbenchmarks.py neurocosim CUBA`), and what they print and
write is right: rates against NEST 3.10's run of the same script (pyNN.nest, measured once
and written here), STDP weights against the STDP window, Tsodyks-Markram conductance peaks
against depression and facilitation, membrane potentials under injected currents against
their closed form, Izhikevich spikes against NEST's izhikevich run here."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .loader import EXAMPLES, fetch


def _run(tmp_path: Path, script: str, *args: str) -> str:
    """Run an example in tmp_path; its stdout (the exit status must be 0)."""
    fetch()
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, str(EXAMPLES / script), "neurocosim", *args],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _segment(tmp_path: Path, stem: str):
    """The (only) segment of the neo Block the example wrote to Results/*/<stem>_*.pkl."""
    files = sorted(tmp_path.glob(f"Results/*/{stem}_neurocosim*.pkl"))
    assert len(files) == 1, f"expected one {stem} file, found {files}"
    with open(files[0], "rb") as f:
        block = pickle.load(f)
    return block.segments[0]


def _signal(seg, name: str) -> tuple[np.ndarray, np.ndarray]:
    sig = seg.filter(name=name)[0]
    return np.asarray(sig.times.rescale("ms")), np.asarray(sig.magnitude)


def _number(text: str, label: str) -> float:
    return float(re.search(rf"{label}\s*:?\s*([0-9.]+)", text).group(1))


def test_vabenchmarks_cuba_rates(tmp_path):
    out = _run(tmp_path, "VAbenchmarks.py", "CUBA")
    exc, inh = _number(out, "Excitatory rate"), _number(out, "Inhibitory rate")
    # NEST 3.10 (pyNN.nest, same script): 5.93 Hz and 5.75 Hz; the networks are chaotic
    # and pyNN.nest draws its own initial values, so the rates agree, not the spikes.
    assert exc == pytest.approx(5.93, rel=0.15) and inh == pytest.approx(5.75, rel=0.15)
    seg = _segment(tmp_path, "VAbenchmarks_CUBA_exc")
    assert len(seg.spiketrains) == 3200
    written = sum(len(st) for st in seg.spiketrains) / 3200 * 1000.0 / 1000.0
    assert written == pytest.approx(exc, rel=1e-6), "the file and the printed rate differ"


def test_simple_stdp_final_weights_follow_the_window(tmp_path):
    out = _run(tmp_path, "simple_STDP.py")
    post = np.array(re.search(r"Post-synaptic spike times: \[([^\]]*)\]", out).group(1).split(),
                    dtype=float)
    assert len(post) == 10 and np.allclose(np.diff(post), 100.0)
    w = np.array(re.search(r"Final weights: \[([^\]]*)\]", out).group(1).split(), dtype=float)
    delta = 1.0 * np.arange(30, -30, -1)          # t_post - t_pre of each synapse (script)
    w0, w_max = 5e-8, 1e-7
    assert len(w) == 60 and np.all((w >= 0) & (w <= w_max))
    late, early = delta >= 5, delta <= -5          # clear of the 3 ms delay around 0
    assert np.all(w[late] > w0) and np.all(w[early] < w0)
    assert np.all(np.diff(w[late]) > 0), "potentiation must shrink as the lag grows"
    assert np.all(np.diff(w[early]) > 0), "depression must shrink as the lead grows"


def _peaks(g: np.ndarray) -> np.ndarray:
    """Values of the local maxima of a conductance trace (one per input spike)."""
    i = np.flatnonzero((g[1:-1] > g[:-2]) & (g[1:-1] >= g[2:])) + 1
    return g[i]


def test_tsodyks_markram_peaks_depress_and_facilitate(tmp_path):
    _run(tmp_path, "tsodyksmarkram.py")
    peaks = {}
    for kind in ("static", "depressing", "facilitating"):
        _, g = _signal(_segment(tmp_path, f"tsodyksmarkram_{kind}"), "gsyn_inh")
        peaks[kind] = _peaks(g[:, 0])
        assert len(peaks[kind]) == 9, kind           # input spikes at 10, 20, ..., 90 ms
    # equal, but for what is left of the previous one (exp(-10 / 1.2) of it)
    assert np.allclose(peaks["static"], peaks["static"][0], rtol=1e-3)
    assert np.all(np.diff(peaks["depressing"]) < 0)
    # facilitation (tau_facil 1 s) wins over the first 5 spikes, then depression (0.1 s)
    assert np.all(np.diff(peaks["facilitating"][:6]) > 0)
    assert peaks["facilitating"].max() > 3 * peaks["facilitating"][0]
    # the first spike transmits U * w (x = 1, u = 0 before it): 0.5 and 0.04 of static
    assert peaks["depressing"][0] / peaks["static"][0] == pytest.approx(0.5, rel=1e-3)
    assert peaks["facilitating"][0] / peaks["static"][0] == pytest.approx(0.04, rel=1e-3)
    _, v = _signal(_segment(tmp_path, "tsodyksmarkram_static"), "v")
    assert v.min() == pytest.approx(-66.2061, abs=1e-3)   # NEST 3.10: -66.2061 mV


def test_current_injection_matches_the_closed_form(tmp_path):
    """IF_curr_exp with tau_m = 10 ms, cm = 1 nF (R = 10 MOhm), v_rest = -65 mV and no
    spikes: under a constant current I from t0, v = -65 + 10 I (1 - exp(-(t - t0) / 10))."""
    _run(tmp_path, "current_injection.py")
    t, v = _signal(_segment(tmp_path, "current_injection"), "v")

    def at(ms: float, cell: int) -> float:
        return float(v[np.argmin(np.abs(t - ms)), cell])

    def settled(i_na: float, since: float, now: float, start: float) -> float:
        target = -65.0 + 10.0 * i_na
        return target + (start - target) * np.exp(-(now - since) / 10.0)

    tol = 0.06                     # one step of the steepest slope (0.5 mV/ms x 0.1 ms)
    assert at(49.0, 0) == pytest.approx(-65.0, abs=1e-9)
    assert at(60.0, 0) == pytest.approx(settled(0.5, 50.0, 60.0, -65.0), abs=tol)
    assert at(399.0, 0) == pytest.approx(-60.0, abs=tol)
    assert at(200.0, 1) == pytest.approx(-61.0, abs=tol)              # 0.4 nA from 50 ms
    assert at(400.0, 1) == pytest.approx(-67.0, abs=tol)              # -0.2 nA from 250 ms
    assert at(499.0, 1) == pytest.approx(settled(0.2, 410.0, 499.0, -67.0), abs=tol)
    assert v.min() == pytest.approx(-67.0, abs=tol)


def test_izhikevich_spikes_as_nest(tmp_path):
    """Neuron 0 (i_offset 0.014 nA, nothing else) spikes at the resets of its v trace
    (v >= 30 mV, reset to c = -65): at NEST's izhikevich spike times, same settings."""
    nest = pytest.importorskip("nest")
    _run(tmp_path, "Izhikevich.py")
    t, v = _signal(_segment(tmp_path, "Izhikevich"), "v")
    resets = t[1:][np.diff(v[:, 0]) < -40.0]          # the first sample after each reset
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.resolution = round(float(t[1] - t[0]), 6)     # the script's timestep (0.01 ms)
    cell = nest.Create("izhikevich", params=dict(a=0.02, b=0.2, c=-65.0, d=6.0, I_e=14.0,
                                                 V_m=-70.0, U_m=-14.0))
    rec = nest.Create("spike_recorder")
    nest.Connect(cell, rec)
    nest.Simulate(float(t[-1]))
    theirs = np.sort(rec.events["times"])
    assert len(resets) >= 2 and len(resets) == len(theirs)
    assert np.allclose(resets, theirs, atol=1e-6)


def test_small_network_rate(tmp_path):
    out = _run(tmp_path, "small_network.py")
    rate = float(re.search(r"Mean firing rate:\s*([0-9.]+)", out).group(1))
    assert rate == pytest.approx(18.65, rel=0.05)       # NEST 3.10 (pyNN.nest): 18.65 Hz
    seg = _segment(tmp_path, "small_network")
    written = sum(len(st) for st in seg.spiketrains) / len(seg.spiketrains) * 1000.0 / 1000.0
    assert written == pytest.approx(rate, rel=1e-6)
