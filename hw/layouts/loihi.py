"""The Loihi-style image format: what `hw.compile_loihi` writes and the emulator
(`emulator.loihi`: engine, kernels, oracle) reads, each name written once here.

A core (`hw.image.Core`) holds its compartments' integer parameters in `params`
(NEURON_PARAMS, one entry per neuron in slot order) and its synapse lists in `memories`,
grouped by input axon: axon a is fed by global neuron AXON_SRC[a] and owns the synapses
AXON_PTR[a]:AXON_PTR[a + 1] of the SYNAPSE_MEMORIES. `HardwareImage.routing` holds the
chip routing table (hw.mapping.RoutingTable.as_dict: the per-pair links are derived from
the endpoints, `RoutingTable.pair_links`) and CORE_XY. `HardwareImage.data` holds one
record per population (POPULATIONS: name, offset, size, model, scale in raw v units per
mV, v_reset and v_reset_values in mV, channels 1 or 2), the per-projection weight unit
(PROJECTIONS: index, lsb in IR units per mantissa step, per synapse), the learning
engine's integer rules (STDP, index and STDP_PARAMS per plastic projection) and the
mapping statistics (MAPPING). Input spikes are not in the image: the host delivers the
one stimulus (`hw.stimulus`) at run time.
"""

from __future__ import annotations

#: model codes of Core.params["model"]; codes below FIRST_SOURCE_CODE are compartments
MODEL_CURR_EXP, MODEL_CURR_DELTA, MODEL_ARRAY, MODEL_POISSON = 0, 1, 2, 3
FIRST_SOURCE_CODE = MODEL_ARRAY
MODEL_CODES = {"IF_curr_exp": MODEL_CURR_EXP, "IF_curr_delta": MODEL_CURR_DELTA,
               "SpikeSourceArray": MODEL_ARRAY, "SpikeSourcePoisson": MODEL_POISSON}

#: per-compartment integer parameters of a core (Core.params), in this order: decay of u
#: per channel and of v, threshold mantissa, bias mantissa and exponent, refractory
#: steps, weight exponent per channel, initial v, model code
NEURON_PARAMS = ("du0", "du1", "dv", "vth", "bias_mant", "bias_exp", "refract", "wexp0",
                 "wexp1", "v0", "model")

#: Core.memories: the input axon table (source neuron, CSR pointer into the synapses)
AXON_SRC = "axon_src"
AXON_PTR = "axon_ptr"
#: Core.memories: per synapse, grouped by input axon: target slot, channel (0: u0, 1: u1),
#: signed weight mantissa, delay (steps, >= 1), projection index and index in it (IR order)
SYN_SLOT = "syn_slot"
SYN_CHAN = "syn_chan"
SYN_WEIGHT = "syn_weight"
SYN_DELAY = "syn_delay"
SYN_PROJ = "syn_proj"
SYN_INDEX = "syn_index"
SYNAPSE_MEMORIES = (SYN_SLOT, SYN_CHAN, SYN_WEIGHT, SYN_DELAY, SYN_PROJ, SYN_INDEX)

#: the learning engine's integer rule of one plastic projection (data[STDP][name]):
#: pair-STDP coefficients (stdp_frac_bits fractional bits), trace decays
#: (spec.trace_decay_format), weight mantissa bounds and the trace impulse
STDP_PARAMS = ("a_plus", "a_minus", "x_decay", "y_decay", "w_lo", "w_hi", "impulse")

#: HardwareImage.routing key of the mesh position of every core
CORE_XY = "core_xy"
#: HardwareImage.data keys
POPULATIONS = "populations"
PROJECTIONS = "projections"
STDP = "stdp"
MAPPING = "mapping"
