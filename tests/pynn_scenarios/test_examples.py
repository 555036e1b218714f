"""PyNN 0.13.0's own example scripts run unchanged with `neurocosim` as the simulator name
on their command line (`python VAbenchmarks.py neurocosim CUBA`)."""

import os
import re
import subprocess
import sys

import pytest

from .loader import EXAMPLES, fetch

#: (script, extra arguments, text its output must contain)
EXAMPLE_RUNS = [
    ("VAbenchmarks.py", ["CUBA"], "Excitatory rate"),
    ("simple_STDP.py", [], ""),
    ("tsodyksmarkram.py", [], ""),
    ("current_injection.py", [], ""),
    ("Izhikevich.py", [], ""),
    ("small_network.py", [], ""),
]


@pytest.mark.parametrize("script,args,expect", EXAMPLE_RUNS, ids=[e[0] for e in EXAMPLE_RUNS])
def test_pynn_example_runs_unchanged(tmp_path, script, args, expect):
    fetch()
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, str(EXAMPLES / script), "neurocosim", *args],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert expect in out.stdout + out.stderr
    if script == "VAbenchmarks.py":   # the network is active, at a plausible rate
        rate = float(re.search(r"Excitatory rate\s*:\s*([0-9.]+)", out.stdout).group(1))
        assert 1.0 < rate < 100.0
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written, "the example wrote no data files"
