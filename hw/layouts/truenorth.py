"""The TrueNorth-style image format: what `hw.compile_truenorth` writes and the emulator
(`emulator.truenorth`: engine, neuron kernels, oracle) reads, each name written once here.

A core (`hw.image.Core`) holds one entry per neuron slot in `params` (SLOT_PARAMS; a slot
is a neuron or one of its fan-out copies) and the per-axon tables in `memories`. The
chip-wide routing table (`HardwareImage.routing`) has one row per slot (ROUTE_*) and one
per off-chip source input axon (SOURCE_*). `HardwareImage.data` holds the V unit and V = 0
level of every IR neuron (LSB_MV, V_REF_MV), the weights the chip realises (WEIGHTS, per
projection in IR units and IR synapse order) and the mapping statistics (MAPPING).
"""

from __future__ import annotations

#: neuron parameters of a slot, in the order the kernels (`neuron._core_tick`) take them;
#: `weights` and `syn_stoch` have one column per axon type
NEURON_PARAMS = ("weights", "syn_stoch", "leak", "leak_rev", "leak_stoch", "alpha", "beta",
                 "tm", "gamma", "kappa", "reset")
#: per-slot entries of Core.params: the neuron, its initial V, and its one destination
#: (core, axon, delay in ticks, mesh offset dx/dy); copy_of: slot of the original, -1 if
#: the slot is an original
SLOT_PARAMS = NEURON_PARAMS + ("v0", "dest_core", "dest_axon", "delay", "dx", "dy",
                               "copy_of")
#: per-slot parameters with one column per axon type
TYPED_PARAMS = ("weights", "syn_stoch")

#: Core.memories: crossbar (axons x slots, 0/1), axon type per axon, IR neuron feeding
#: each axon (-1: unused) and its delay (ticks), the IR synapses each axon carries
#: (parallel ones counted each, copies not: the `synaptic_events` of one spike on it),
#: and the number of axon types in use
CROSSBAR = "crossbar"
AXON_TYPE = "axon_type"
AXON_SOURCE = "axon_source"
AXON_DELAY = "axon_delay"
AXON_SYNAPSES = "axon_synapses"
N_TYPES = "n_types"

#: reset mode gamma: to R, linear (subtract the threshold), none
RESET_NORMAL, RESET_LINEAR, RESET_NONE = 0, 1, 2
#: negative-threshold mode kappa: 1 saturates V at -beta, 0 resets it by gamma
KAPPA_RESET, KAPPA_SATURATE = 0, 1

#: routing: core position on the mesh, then one row per slot (cores in order)
CORE_XY = "core_xy"
ROUTE_CORE = "slot_core"
ROUTE_DX = "slot_dx"
ROUTE_DY = "slot_dy"
ROUTE_DELAY = "slot_delay"
ROUTE_AXON = "slot_axon"
ROUTE_DEST_CORE = "slot_dest_core"
#: routing: one row per off-chip input axon (IR source neuron, its core, axon, delay)
SOURCE_NEURON = "source_neuron"
SOURCE_CORE = "source_core"
SOURCE_AXON = "source_axon"
SOURCE_DELAY = "source_delay"

#: HardwareImage.data keys
LSB_MV = "lsb_mV"
V_REF_MV = "v_ref_mV"
WEIGHTS = "weights"
MAPPING = "mapping"

#: the per-core pseudo-random generator: a 32-bit Galois LFSR with these taps (bit
#: numbers from 1); its right-shift toggle mask sets bit t - 1 of each tap t
LFSR_TAP_BITS = (32, 22, 2, 1)
LFSR_TAPS = sum(1 << (t - 1) for t in LFSR_TAP_BITS)


def lfsr_seed(seed: int, core: int) -> int:
    """Non-zero 32-bit start state of core `core`'s LFSR for a chip seed."""
    s = (int(seed) * 0x9E3779B1 + int(core) * 0x85EBCA6B + 0x6A09E667) & 0xFFFFFFFF
    return s or 1
