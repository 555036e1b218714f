"""The TrueNorth-style target: 256 x 256 binary-crossbar cores of integer neurons on a
64 x 64 mesh, a fixed 1 ms tick, one destination axon per neuron.

Numbers from REFERENCE.md ("TrueNorth-style core"). Widths follow the published neuron
(Cassidy et al. 2013) as NeMo and RANC implement it; where they are our choice the field
says so. Mesh costs are ASSUMPTIONS (no primary per-hop figures are public): 2 pJ and
10 ns per hop in either dimension, 10 ns per spike leaving a core, 40 ns per neuron update
in a core's sequential sweep. Every field can be overridden with `spec.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..formats import NumberFormat
from .base import TargetSpec


@dataclass(frozen=True)
class TrueNorthSpec(TargetSpec):
    """Limits, number formats, tick and per-event costs of a TrueNorth-style chip.

    Several chips (`n_chips`) sit side by side along x: the core mesh is
    (cores_x * n_chips) x cores_y, one core per router.
    """

    name: str = "truenorth"
    description: str = ("TrueNorth-style chip: 256x256 crossbar cores, 4 axon types, signed "
                        "9-bit weights, 20-bit V, 64x64 mesh, 1 ms ticks (emulator)")
    runner: str = "neurocosim.emulator.truenorth:Engine"
    compiler: str = "neurocosim.hw.compile_truenorth:compile_truenorth"
    models: tuple[str, ...] = ("IF_curr_delta", "IF_curr_exp", "SpikeSourceArray",
                               "SpikeSourcePoisson")
    timestep: float | None = 1.0
    recordables: tuple[str, ...] = ("spikes", "v")

    # --- organisation -------------------------------------------------------------------
    n_chips: int = 1
    cores_x: int = 64
    cores_y: int = 64
    axons_per_core: int = 256
    neurons_per_core: int = 256
    axon_types: int = 4
    delay_min: int = 1
    delay_max: int = 15
    #: the per-core circular scheduler: slots (ticks) x axons
    scheduler_slots: int = 16

    # --- number formats (the kernels read widths from these) ----------------------------
    #: s[G]: 9-bit signed (-256..255) — our choice, NeMo stores them as 9-bit signed too
    weight_format: NumberFormat = NumberFormat(9, signed=True, overflow="error")
    leak_format: NumberFormat = NumberFormat(9, signed=True, overflow="error")
    #: alpha (positive threshold) and beta (negative threshold magnitude)
    threshold_format: NumberFormat = NumberFormat(18, signed=False, overflow="error")
    reset_format: NumberFormat = NumberFormat(18, signed=True, overflow="error")
    #: membrane potential: 20-bit signed, saturating (our choice of overflow rule)
    v_format: NumberFormat = NumberFormat(20, signed=True, overflow="saturate")
    #: the pseudo-random number rho is 8 bits; threshold mask M = 2**TM - 1, TM <= 8
    prng_bits: int = 8
    #: seed of the per-core 32-bit Galois LFSRs (core c starts from a mix of seed and c)
    prng_seed: int = 1

    #: True: more than `axon_types` distinct input weights on a core is a LimitError;
    #: False: the compiler clusters them into `axon_types` classes and reports the error
    exact_axon_types: bool = False

    #: True: a leak below one V unit per tick is mapped to the stochastic leak mode (right
    #: on average) instead of being rounded (often to 0)
    stochastic_leak: bool = False

    #: placement of cores on the mesh: "graph" (bisection + swaps) or "sequential"
    placement: str = "graph"
    placement_seed: int = 0

    # --- per-event costs ---------------------------------------------------------------
    #: REFERENCE.md (secondary sources): the chip's energy per synaptic event, i.e. per
    #: synapse its crossbars integrate; charged per `crossbar_events` (fan-out copies
    #: included), while `synaptic_events` counts the IR synapses reached
    synop_energy_pj: float = 26.0
    hop_ew_energy_pj: float = 2.0          # assumption
    hop_ns_energy_pj: float = 2.0          # assumption
    hop_ew_latency_ns: float = 10.0        # assumption
    hop_ns_latency_ns: float = 10.0        # assumption
    spike_out_latency_ns: float = 10.0     # assumption: a core emits one packet at a time
    spike_out_energy_pj: float = 0.0
    neuron_latency_ns: float = 40.0        # assumption: sequential sweep of a core
    #: no public figure of TrueNorth's neuron update energy is known (REFERENCE.md has
    #: none): the neuron update energy is not modelled (energy_neuron_pJ is 0)
    neuron_energy_pj: float = 0.0

    @property
    def tick_ns(self) -> float:
        return float(self.timestep) * 1e6

    @property
    def mesh_shape(self) -> tuple[int, int]:
        return (self.cores_x * self.n_chips, self.cores_y)

    @property
    def n_cores(self) -> int:
        return self.cores_x * self.cores_y * self.n_chips
