"""The mismatch sweep (examples/sweeps/cuba_dynapse_mismatch.toml), shrunk: 3 chips of a
tiny CUBA, serially. Another seed is another chip (the rates differ); the same seed is
the same chip (the rates repeat exactly)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from neurocosim.sim.sweep import parse_config, read_results, run_sweep

FILE = Path(__file__).resolve().parent.parent / "examples/sweeps/cuba_dynapse_mismatch.toml"


def _rates(out: Path, seeds: list[int]) -> dict[int, float]:
    raw = tomllib.loads(FILE.read_text())
    raw["sweep"].update(duration=300.0, output=str(out))
    raw["network"]["kwargs"].update(n=80, p_connect=0.1)
    raw["axes"]["mismatch_seed"] = seeds
    run_sweep(parse_config(raw, FILE.parent, "mismatch"), executor="serial", progress=False)
    table = read_results(out).to_pydict()
    assert set(table["status"]) == {"ok"}, table["error"]
    return dict(zip(table["mismatch_seed"], table["rate_cuba_Hz"]))


def test_rates_differ_between_chips_and_repeat_on_the_same_chip(tmp_path):
    first = _rates(tmp_path / "a", [0, 1, 2])
    again = _rates(tmp_path / "b", [2, 0])
    assert len(set(first.values())) == 3, first
    assert again == {2: first[2], 0: first[0]}
    assert all(np.isfinite(v) and v > 0 for v in first.values())
