"""Exact-integration coefficients of the current-based LIF neuron, shared by the compilers."""

from __future__ import annotations

import numpy as np


def p21(cm, tau_m, tau_syn, dt: float) -> np.ndarray:
    """mV on v one step after a 1 nA synaptic current decaying with tau_syn started
    (v starting at 0): the weight scale of exact integration, as NEST's iaf_psc_exp."""
    cm, tau_m, tau_syn = (np.asarray(a, np.float64) for a in (cm, tau_m, tau_syn))
    a = 1.0 / tau_m - 1.0 / tau_syn
    same = np.abs(a * dt) < 1e-9
    safe = np.where(same, 1.0, a)
    general = (np.exp(-dt / tau_syn) - np.exp(-dt / tau_m)) / (safe * cm)
    return np.where(same, dt / cm * np.exp(-dt / tau_m), general)
