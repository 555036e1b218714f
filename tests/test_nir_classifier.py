"""examples/nir_classifier.py: one NIR classifier graph, written to a .nir file and run
from it on reference, loihi, truenorth and fpga; accuracy per target and timing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nir
import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "nir_classifier.py"
#: a chip's accuracy may fall this far below the float reference's (100 trials)
MARGIN = 0.05


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("nir_classifier", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["nir_classifier"] = mod                  # dataclasses look it up
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def scores(example, tmp_path_factory):
    path = tmp_path_factory.mktemp("nir") / "classifier.nir"
    nir.write(str(path), example.build_graph())
    task = example.make_task()
    return task, {s.target: s for s in example.evaluate(path, task)}


def test_reference_classifies_and_every_chip_keeps_up(scores):
    task, by_target = scores
    assert set(by_target) == {"reference", "loihi", "truenorth", "fpga"}
    assert np.bincount(task.labels).min() == 25          # balanced classes
    ref = by_target["reference"].accuracy
    assert ref >= 0.95                                    # chance is 0.25
    for t in ("loihi", "truenorth", "fpga"):
        s = by_target[t]
        assert s.refused is None, s.refused
        assert abs(s.accuracy - ref) <= MARGIN, (t, s.accuracy, ref)
        assert s.metrics["steps"] == task.duration_ms     # dt = 1 ms on every chip
        assert s.metrics["synaptic_events"] > 0 and s.metrics["energy_total_pJ"] > 0
        assert s.metrics["chip_time_ns"] > 0


def test_table_names_every_target(example, scores):
    _, by_target = scores
    lines = example.table(list(by_target.values()))
    assert lines[0].startswith("| target | accuracy")
    assert [ln.split("|")[1].strip() for ln in lines[2:]] == list(by_target)


def test_scoring_counts_ties_and_silence_as_wrong(example):
    from neurocosim.hw.result import Spikes

    class R:                                              # a Result's spikes only
        spikes = {"classes": Spikes(ids=[0, 1, 1, 2, 3], times=[5.0, 6.0, 7.0, 85.0, 86.0])}
    task = example.Task(labels=np.array([1, 2, 0]), idx=np.zeros(0, int), time=np.zeros(0))
    acc, first = example.score(R, task)
    # trial 0: class 1 wins (2 vs 1); trial 1: a tie of 2 and 3; trial 2: silent
    assert acc == pytest.approx(1 / 3) and first == pytest.approx((5.0 + 5.0) / 2)
