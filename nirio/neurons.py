"""NIR neuron nodes as IR populations: the discretisation, written once (docs/nir.md).

Units: NIR's time is in `time_unit` ms (SI seconds by default: 1000), its voltages are
read as mV and its currents as whatever makes R*I a voltage. Every population gets
cm = 1 nF, so an IR current of x nA moves v by x mV/ms.

How one input spike of weight w (a Dirac impulse of area w, in NIR time) enters:
  LIF, LI     tau dv/dt = v_leak - v + R I    v jumps by R w / tau      IF_curr_delta
  IF, I       dv/dt = R I                      v jumps by R w            IF_curr_delta, no leak
  CubaLIF/LI  tau_syn dI/dt = -I + w_in S     I jumps by w_in w / tau_syn, which moves v
              tau_mem dv/dt = v_leak - v + R I  as an IR current of R I / tau_mem
                                                                         IF_curr_exp
  Threshold   z = H(x - threshold)            memoryless: v is the step's summed input
                                                                         IF_curr_delta
A constant input b (an Affine bias) is the same equation with I = b, so it becomes
i_offset. Readouts (LI, CubaLI, I) never fire: their threshold is out of reach.

Two discrete-time conventions of other NIR libraries are options (docs/nir.md, "Peer
agreement"): `decay="euler"` takes NIR's time constants as forward-Euler decay factors
(v decays by 1 - dt/tau per step, as snnTorch's beta = 1 - dt/tau) instead of integrating
the ODE exactly; `hold` steps keep v at v_reset after a spike, input dropped (snnTorch's
Synaptic and RLeaky resetting to zero: 1), as a refractory period of that many steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hw.errors import NetworkError
from ..hw.lif import p21

#: tau_m of a node without leak, in timesteps: exp(-1/1e17) is exactly 1.0 in float64,
#: so v does not decay at all, while expm1 keeps the constant-input gain exact (dt).
NO_LEAK_STEPS = 1e17
#: tau_m of a memoryless node (Threshold), in timesteps: exp(-1000) is exactly 0.0.
MEMORYLESS_STEPS = 1e-3
#: threshold of a readout (mV): a finite value no readout reaches in practice.
READOUT_THRESHOLD = 1e12

SPIKING = ("LIF", "IF", "CubaLIF", "Threshold")
READOUTS = ("LI", "I", "CubaLI")
DECAYS = ("exact", "euler")


@dataclass
class Converted:
    """One NIR neuron node as the IR sees it."""

    model: str
    params: dict[str, np.ndarray]
    gain: np.ndarray        # IR weight per NIR weight unit of one input spike
    bias_gain: np.ndarray   # IR i_offset (nA) per NIR unit of constant input
    readout: bool
    bias_filtered: bool     # NIR passes a constant input through tau_syn (CubaLIF/LI)


def _arr(node, name: str, size: int) -> np.ndarray:
    value = np.asarray(getattr(node, name), dtype=np.float64).ravel()
    if value.size == 1:
        value = np.full(size, value[0])
    if value.size != size:
        raise NetworkError(f"{name} has {value.size} values for {size} neurons")
    if not np.all(np.isfinite(value)):
        raise NetworkError(f"{name} = {value[~np.isfinite(value)][0]} is not finite")
    return value


def size_of(node) -> int:
    """Number of neurons of a NIR neuron node (its parameter arrays' size)."""
    kind = type(node).__name__
    first = {"LIF": "tau", "LI": "tau", "IF": "r", "I": "r", "CubaLIF": "tau_mem",
             "CubaLI": "tau_mem", "Threshold": "threshold"}[kind]
    return int(np.asarray(getattr(node, first)).size)


def convert(node, dt: float, time_unit: float, decay: str = "exact",
            hold: int = 0) -> Converted:
    """The IR model, parameters and input gains of a NIR neuron node (type by name).
    `decay` and `hold`: the conventions in the module docstring."""
    kind = type(node).__name__
    n = size_of(node)
    one, zero = np.ones(n), np.zeros(n)
    base = {"cm": one, "tau_refrac": np.full(n, hold * dt), "i_offset": zero}
    if kind in ("LIF", "LI", "IF", "I"):
        r = _arr(node, "r", n)
        if kind in ("LIF", "LI"):
            tau = _arr(node, "tau", n)
            _positive(tau, "tau")
            tau_m = ir_tau(tau * time_unit, dt, decay, "tau")
            leak = {"tau_m": tau_m, "v_rest": _arr(node, "v_leak", n)}
            gain, bias_gain = r / tau, r / tau_m
        else:
            leak = {"tau_m": np.full(n, NO_LEAK_STEPS * dt), "v_rest": zero}
            gain, bias_gain = r, r / time_unit
        fire = _firing(node, n, kind == "LIF" or kind == "IF")
        return Converted("IF_curr_delta", {**base, **leak, **fire}, gain, bias_gain,
                         kind in READOUTS, False)
    if kind in ("CubaLIF", "CubaLI"):
        return _cuba(node, n, dt, time_unit, decay, base)
    if kind == "Threshold":
        tau_m = MEMORYLESS_STEPS * dt
        params = {**base, "tau_m": np.full(n, tau_m), "v_rest": zero, "v_reset": zero,
                  "v_thresh": above(_arr(node, "threshold", n))}
        return Converted("IF_curr_delta", params, one, one / tau_m, False, False)
    raise NetworkError(f"{kind} is not a neuron node")


def _cuba(node, n: int, dt: float, time_unit: float, decay: str, base: dict) -> Converted:
    """CubaLIF/CubaLI as IF_curr_exp. Exact: the NIR current's jump scaled to nA. Euler:
    the current one spike adds moves v by dt/tau_mem r I in the next step, as an Euler
    step with the step's own current does (snnTorch's Synaptic), so the jump is that
    over p21 (the IR's exact v response to 1 nA over one step)."""
    tau_syn, tau_mem = _arr(node, "tau_syn", n), _arr(node, "tau_mem", n)
    _positive(tau_syn, "tau_syn")
    _positive(tau_mem, "tau_mem")
    r, w_in = _arr(node, "r", n), _arr(node, "w_in", n)
    t_syn = ir_tau(tau_syn * time_unit, dt, decay, "tau_syn")
    t_mem = ir_tau(tau_mem * time_unit, dt, decay, "tau_mem")
    params = {**base, "tau_m": t_mem, "v_rest": _arr(node, "v_leak", n),
              "tau_syn_E": t_syn, "tau_syn_I": t_syn,
              **_firing(node, n, type(node).__name__ == "CubaLIF")}
    gain = r * w_in / (tau_syn * tau_mem * time_unit)
    if decay == "euler":
        gain = gain * dt / p21(1.0, t_mem, t_syn, dt)
    return Converted("IF_curr_exp", params, gain, r * w_in / t_mem,
                     type(node).__name__ == "CubaLI", True)


def ir_tau(tau: np.ndarray, dt: float, decay: str, name: str) -> np.ndarray:
    """The IR time constant (ms) for a NIR one of `tau` ms: itself ("exact"), or the one
    whose exact decay over a step, exp(-dt / tau_ir), is Euler's 1 - dt / tau ("euler")."""
    if decay == "exact":
        return tau
    if np.any(tau <= dt):
        raise NetworkError(f"{name} = {tau[tau <= dt][0]:.6g} ms: decay='euler' needs "
                           f"{name} > dt = {dt} ms (a decay factor 1 - dt/{name} > 0)")
    return -dt / np.log1p(-dt / tau)


def _firing(node, n: int, spiking: bool) -> dict[str, np.ndarray]:
    if not spiking:
        return {"v_thresh": np.full(n, READOUT_THRESHOLD), "v_reset": np.zeros(n)}
    return {"v_thresh": above(_arr(node, "v_threshold", n)),
            "v_reset": _arr(node, "v_reset", n)}


def above(threshold: np.ndarray) -> np.ndarray:
    """The IR fires at v >= v_thresh, NIR at v > threshold: the next float up makes the
    two the same test exactly (and `np.nextafter(., -inf)` undoes it on export)."""
    return np.nextafter(threshold, np.inf)


def _positive(value: np.ndarray, name: str) -> None:
    if np.any(value <= 0):
        raise NetworkError(f"{name} = {value[value <= 0][0]} must be > 0")
