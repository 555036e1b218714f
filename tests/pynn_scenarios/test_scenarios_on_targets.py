"""PyNN 0.13.0's own system scenarios, unchanged, on each hardware target.

Each scenario runs with its setup() forced onto the target (as `neurocosim run --target`
does). A target either runs it (and the scenario's own checks pass), refuses it by name
(a neurocosim or PyNN error naming the population, projection, model or limit: skipped
with that reason), or runs it and differs from the float result the scenario expects
(xfail with the scenario's message: quantisation, 1 ms steps). Any other exception is a
bug in the target and fails.
"""

from __future__ import annotations

import importlib
import warnings

import pytest
from pyNN import errors as pynn_errors

from neurocosim.hw.errors import NeurocosimError
from neurocosim.pynn_backend.control import forced_setup

from .loader import load_scenarios
from .test_scenarios import KNOWN_FAILURES

HARDWARE = {"loihi": {}, "truenorth": {}, "fpga": {}, "sfq": {}, "dynapse": {}}
NAMED = (NeurocosimError, pynn_errors.ConnectionError, pynn_errors.InvalidParameterValueError,
         pynn_errors.NonExistentParameterError, pynn_errors.RecordingError)
SCENARIOS = [(n, f) for n, f in load_scenarios() if n not in KNOWN_FAILURES]


@pytest.mark.parametrize("target", sorted(HARDWARE))
@pytest.mark.parametrize("name,func", SCENARIOS, ids=[n for n, _ in SCENARIOS])
def test_scenario_on_target(target, name, func):
    sim = importlib.import_module("pyNN.neurocosim")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with forced_setup(target=target, settings=HARDWARE[target]):
                func(sim)
        except NAMED as exc:
            assert str(exc), "a refusal names what the target lacks"
            pytest.skip(f"{target} refuses: {type(exc).__name__}: {exc}"[:300])
        except AssertionError as exc:
            pytest.xfail(f"{target} differs from the float result: {exc}"[:300])
