"""PyNN 0.13.0's own system scenarios, run unchanged against neurocosim.

Every scenario PyNN runs on some backend runs here; those neurocosim does not pass yet
are listed in KNOWN_FAILURES with the reason, and are strict xfails (a fix makes the
suite say so). Brian2 passes 54 of the 66.
"""

import importlib

import pytest

from .loader import load_scenarios

#: scenario -> why neurocosim fails it
KNOWN_FAILURES: dict[str, str] = {}

SCENARIOS = load_scenarios()


def test_scenario_count():
    assert len(SCENARIOS) == 66, [n for n, _ in SCENARIOS]


@pytest.mark.parametrize("name,func", SCENARIOS, ids=[n for n, _ in SCENARIOS])
def test_scenario(name, func):
    if name in KNOWN_FAILURES:
        pytest.xfail(KNOWN_FAILURES[name])
    sim = importlib.import_module("pyNN.neurocosim")
    func(sim)
