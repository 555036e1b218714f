"""The DynapSE-style image format: what `hw.compile_dynapse` writes and the emulator
(`emulator.dynapse`: engine, kernels, oracle) reads, each name written once here.

A core (`hw.image.Core`) is one parameter group: `params` holds its bias currents (A) and
times (s), CORE_PARAMS, each an array of one value or one per synapse type (TYPED); the
base weights IW_BASE (A) are its 4 weight currents. `HardwareImage.routing` holds the CAM
contents as a list of synapses grouped by presynaptic global neuron (CSR: SYN_PTR over
every global id, sources included; SYN_POST, SYN_TYPE, SYN_MASK, the 4-bit weight mask
over the post core's base weights), NEURON_CORE (core of every global id, -1 for a
source) and each neuron's destination cores (DEST_PTR / DEST_CORE, what its SRAM
addresses). `HardwareImage.data` holds the per-neuron map back to mV (V_BASE_MV: v_base = min(v_rest, v_reset) at Imem = Io,
V_PER_AMP), the weights the chip realises per projection in IR units (WEIGHTS) and the
mapping statistics (MAPPING).
"""

from __future__ import annotations

#: synapse types, in this order everywhere (columns of the typed arrays)
AMPA, NMDA, GABA, SHUNT = 0, 1, 2, 3
N_TYPES = 4
#: sign of each type's current at the membrane: excitatory +1, inhibitory -1
TYPE_SIGN = (1.0, 1.0, -1.0, -1.0)

#: Core.params: per-type synapse leak and gain currents and whether the type is in use
#: (an unused type's biases are switched off: it adds no current); membrane leak, gain,
#: DC injection, spike threshold, refractory current; AHP leak, gain and weight current
TYPED = ("itau_syn", "igain_syn", "syn_used")
SCALAR = ("itau_mem", "igain_mem", "idc", "ispkthr", "iref", "itau_ahp", "igain_ahp",
          "iw_ahp")
CORE_PARAMS = TYPED + SCALAR
IW_BASE = "iw_base"
#: the per-neuron circuit currents device mismatch scales (each by 1 + std * N(0, 1))
MISMATCHED = ("itau_syn", "igain_syn") + SCALAR

#: HardwareImage.routing keys
SYN_PTR = "syn_ptr"
SYN_POST = "syn_post"
SYN_TYPE = "syn_type"
SYN_MASK = "syn_mask"
NEURON_CORE = "neuron_core"
DEST_PTR = "dest_ptr"
DEST_CORE = "dest_core"

#: HardwareImage.data keys
V_BASE_MV = "v_base_mV"
V_PER_AMP = "v_per_A"
WEIGHTS = "weights"
MAPPING = "mapping"
