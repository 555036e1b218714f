"""Row layout of the reference engine's flat arrays: model codes, state rows, parameter rows.

One table shared by the builder, the Numba kernels and the pure-Python oracle, so the
three agree on what row k of the state or parameter matrix means.
"""

from __future__ import annotations

# --- neuron models (codes used in the kernels' per-population branches) -------------------
MODEL_CODES: dict[str, int] = {
    "IF_curr_exp": 0,
    "IF_curr_alpha": 1,
    "IF_curr_delta": 2,
    "IF_cond_exp": 3,
    "IF_cond_alpha": 4,
    "Izhikevich": 5,
    "EIF_cond_alpha_isfa_ista": 6,
    "EIF_cond_exp_isfa_ista": 7,
    "HH_cond_exp": 8,
    "SpikeSourceArray": 9,
    "SpikeSourcePoisson": 10,
}
CURR_EXP, CURR_ALPHA, CURR_DELTA, COND_EXP, COND_ALPHA, IZHIKEVICH, EIF_ALPHA, EIF_EXP, \
    HH, SOURCE_ARRAY, SOURCE_POISSON = range(11)

# --- state rows: S[row, neuron] ------------------------------------------------------------
V, SE, SI, YE, YI, W, GM, GH, GN = range(9)
N_STATE = 9

# --- parameter rows: Q[row, neuron] (PyNN parameters, then derived propagators) -----------
# (spike sources have no rows: their spikes are the one stimulus, hw.stimulus)
PARAM_ROWS = ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "v_rest", "v_reset", "v_thresh",
              "i_offset", "e_rev_E", "e_rev_I", "a", "b", "c", "d", "v_spike", "delta_T",
              "tau_w", "gbar_Na", "gbar_K", "g_leak", "v_offset", "e_rev_Na", "e_rev_K",
              "e_rev_leak")
(CM, TAU_M, TAU_SE, TAU_SI, V_REST, V_RESET, V_THRESH, I_OFFSET, E_E, E_I, A, B, C, D,
 V_SPIKE, DELTA_T, TAU_W, G_NA, G_K, G_L, V_OFFSET, E_NA, E_K, E_LEAK) = range(len(PARAM_ROWS))
DERIVED_ROWS = ("P22", "P20", "PSE", "PSI", "P21E", "P21I", "P31E", "P31I", "AE", "AI",
                "NSUB", "DHE", "DHI")
(P22, P20, PSE, PSI, P21E, P21I, P31E, P31I, AE, AI, NSUB, DHE, DHI) = range(
    len(PARAM_ROWS), len(PARAM_ROWS) + len(DERIVED_ROWS))
# DHE, DHI: synaptic decay over half an RK4 substep, exp(-h / (2 tau_syn))
N_PARAM = len(PARAM_ROWS) + len(DERIVED_ROWS)

# --- recordable variables per model: name -> (state row, units) ---------------------------
_CURR = {"v": (V, "mV"), "isyn_exc": (SE, "nA"), "isyn_inh": (SI, "nA")}
_COND = {"v": (V, "mV"), "gsyn_exc": (SE, "uS"), "gsyn_inh": (SI, "uS")}
RECORDABLE: dict[str, dict[str, tuple[int, str]]] = {
    "IF_curr_exp": _CURR,
    "IF_curr_alpha": _CURR,
    "IF_curr_delta": {"v": (V, "mV")},
    "IF_cond_exp": _COND,
    "IF_cond_alpha": _COND,
    "Izhikevich": {"v": (V, "mV"), "u": (W, "mV/ms")},
    "EIF_cond_alpha_isfa_ista": {**_COND, "w": (W, "nA")},
    "EIF_cond_exp_isfa_ista": {**_COND, "w": (W, "nA")},
    "HH_cond_exp": {**_COND, "m": (GM, ""), "h": (GH, ""), "n": (GN, "")},
    "SpikeSourceArray": {},
    "SpikeSourcePoisson": {},
}

#: Initial values a population may set (PyNN initial-value names), per model.
INITIAL_NAMES: dict[str, tuple[str, ...]] = {m: tuple(v) for m, v in RECORDABLE.items()}

#: Step size bound (ms) of the RK4 substeps of the models integrated numerically.
RK4_MAX_STEP = {COND_EXP: 0.025, COND_ALPHA: 0.025, EIF_ALPHA: 0.01, EIF_EXP: 0.01,
                HH: 0.01}

#: HH_cond_exp: pseudo-refractory time after a spike (NEST hh_cond_exp_traub default), ms.
HH_REFRACTORY = 2.0
#: Izhikevich spike threshold (mV), as PyNN and NEST izhikevich.
IZHIKEVICH_THRESHOLD = 30.0

# --- plastic synapses: rules, parameter rows and state rows -------------------------------
STATIC, STDP_ADD, STDP_MULT, TSODYKS = 0, 1, 2, 3
RULE_CODES = {"stdp_additive": STDP_ADD, "stdp_multiplicative": STDP_MULT,
              "tsodyks_markram": TSODYKS}
PLASTIC_PARAM_ROWS = ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max",
                      "U", "tau_rec", "tau_facil")
TAU_PLUS, TAU_MINUS, A_PLUS, A_MINUS, W_MIN, W_MAX, U_USE, TAU_REC, TAU_FACIL = range(9)
# state: STDP: pre trace, its time (stamp), post trace, its time; TM: x, time, u, unused
X_PRE, T_PRE, Y_POST, T_POST = range(4)
N_PLASTIC_STATE = 4
