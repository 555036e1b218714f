"""PyNN 0.13.0's own system scenarios, run unchanged against neurocosim.

Every scenario PyNN runs on some backend runs here; those neurocosim does not pass yet
are listed in KNOWN_FAILURES with the reason, and are strict xfails (a fix makes the
suite say so). Brian2 passes 54 of the 66.
"""

import importlib

import pytest

from .loader import load_scenarios

#: scenario -> why neurocosim fails it
KNOWN_FAILURES: dict[str, str] = {
    "test_cell_types.test_SpikeSourceGamma":
        "SpikeSourceGamma is not an IR model (PyNN runs this scenario on NEST and NEURON only)",
    "test_cell_types.test_SpikeSourcePoissonRefractory":
        "SpikeSourcePoissonRefractory is not an IR model (NEST and NEURON only)",
    "test_cell_types.test_composed_neuron_model_homogeneous_receptors":
        "composed PointNeuron models (multiple receptor types) are not in the IR",
    "test_recording.test_issue259":
        "spike times are on the timestep grid; the scenario needs NEST's off_grid precision",
    "test_synapse_types.test_simple_stochastic_synapse":
        "SimpleStochasticSynapse is not an IR plasticity rule",
    "test_scenario5.test_scenario5":
        "multicompartment neurons (needs morphio and MultiCompartmentNeuron) are not supported",
}

SCENARIOS = load_scenarios()


def test_scenario_count():
    assert len(SCENARIOS) == 66, [n for n, _ in SCENARIOS]
    assert len(SCENARIOS) - len(KNOWN_FAILURES) >= 54   # Brian2's score


@pytest.mark.parametrize("name,func", SCENARIOS, ids=[n for n, _ in SCENARIOS])
def test_scenario(name, func):
    sim = importlib.import_module("pyNN.neurocosim")
    if name in KNOWN_FAILURES:
        try:
            func(sim)
        except BaseException:      # includes pytest's skip for a missing optional package
            pytest.xfail(KNOWN_FAILURES[name])
        pytest.fail(f"{name} passes now: remove it from KNOWN_FAILURES")
    func(sim)
