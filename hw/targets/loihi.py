"""The Loihi-style target: Loihi v1 CUBA LIF compartments on a barrier-synchronised mesh.

Numbers from REFERENCE.md ("Loihi-style core"): 128 cores per chip on 8 x 4 tiles of
4 cores sharing a router (SANA-FE's model), 1024 compartments, 4096 input and 4096
output axons and 128 KB synapse memory per core; per-event costs from SANA-FE's
`arch/loihi.yaml` (Davies et al. 2018). Every field can be overridden with `spec.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..formats import NumberFormat
from .base import TargetSpec


@dataclass(frozen=True)
class LoihiSpec(TargetSpec):
    """Limits, number formats, timestep and per-event costs of a Loihi-style chip.

    Several chips (`n_chips`) sit side by side along x, so the router mesh is
    (tiles_x * n_chips) x tiles_y; a spike crossing chips pays the same per-hop costs.
    """

    name: str = "loihi"
    description: str = ("Loihi-style chip: CUBA LIF compartments, 24-bit u/v, 8-bit weights, "
                        "mesh of 128 cores, barrier-synchronised 1 ms timesteps (emulator)")
    runner: str = "neurocosim.emulator.loihi:Engine"
    compiler: str = "neurocosim.hw.compile_loihi:compile_loihi"
    models: tuple[str, ...] = ("IF_curr_exp", "IF_curr_delta", "SpikeSourceArray",
                               "SpikeSourcePoisson")
    timestep: float | None = 1.0
    plasticity: tuple[str, ...] = ("stdp_additive",)
    recordables: tuple[str, ...] = ("spikes", "v")

    # --- organisation -------------------------------------------------------------------
    n_chips: int = 1
    cores_per_chip: int = 128
    tiles_x: int = 8
    tiles_y: int = 4
    cores_per_tile: int = 4
    compartments_per_core: int = 1024
    input_axons_per_core: int = 4096
    output_axons_per_core: int = 4096
    synapse_memory_bytes: int = 128 * 1024
    #: bits of one synapse word: weight mantissa + delay + target compartment index
    synapse_bits: int = 8 + 6 + 10
    #: bits of the per-input-axon header of a synapse list (pointer + length)
    axon_header_bits: int = 32

    # --- number formats (the kernels read widths from these) ----------------------------
    u_format: NumberFormat = NumberFormat(24, signed=True, overflow="wrap")
    v_format: NumberFormat = NumberFormat(24, signed=True, overflow="saturate")
    weight_format: NumberFormat = NumberFormat(8, signed=True, overflow="error")
    weight_exp_min: int = -8
    weight_exp_max: int = 7
    vth_format: NumberFormat = NumberFormat(17, signed=False, overflow="error")
    bias_format: NumberFormat = NumberFormat(13, signed=True, overflow="error")
    bias_exp_max: int = 7
    decay_format: NumberFormat = NumberFormat(12, signed=False, overflow="saturate")
    #: the synaptic input is added as a_in << 6 (and vth compared as vth << 6)
    state_shift: int = 6
    #: lava's ds_offset: du = 4095 clears u in one step, du = 0 keeps 4095/4096
    du_offset: int = 1
    refractory_max: int = 64
    #: extra synaptic delay steps beyond the one-step minimum (6-bit delay field)
    delay_max: int = 62
    #: raw v units per mV are chosen so that the threshold is 2**headroom_bits below the
    #: top of v's range, leaving room for inhibition to push v below reset
    headroom_bits: int = 3
    trace_format: NumberFormat = NumberFormat(7, signed=False, overflow="saturate")
    #: trace increment per spike (trace value / impulse is the float trace of the rule)
    trace_impulse: int = 32
    #: the learning engine's trace decay factor per step, a fraction of `frac_bits` bits:
    #: x <- (x * x_decay + 2**(frac_bits - 1)) >> frac_bits (Loihi: 12 bits)
    trace_decay_format: NumberFormat = NumberFormat(12, frac_bits=12, signed=False,
                                                    overflow="saturate")
    #: fractional bits of the STDP coefficients A_plus, A_minus in weight-mantissa units
    stdp_frac_bits: int = 8
    #: the chip's learning engine runs every `learning_epoch` timesteps (1 = every step)
    learning_epoch: int = 1

    #: placement of cores on the mesh: "graph" (KL bisection + swaps) or "sequential"
    placement: str = "graph"
    placement_seed: int = 0

    # --- per-event costs (SANA-FE arch/loihi.yaml) --------------------------------------
    hop_ew_energy_pj: float = 3.0
    hop_ew_latency_ns: float = 4.1
    hop_ns_energy_pj: float = 4.2
    hop_ns_latency_ns: float = 6.5
    synop_energy_pj: float = 35.5
    synop_latency_ns: float = 3.8
    neuron_energy_pj: float = 21.6
    neuron_latency_ns: float = 3.7
    spike_out_energy_pj: float = 69.3
    spike_out_latency_ns: float = 30.0
    barrier_latency_min_ns: float = 600.0
    barrier_latency_max_ns: float = 1800.0

    @property
    def n_cores(self) -> int:
        return self.cores_per_chip * self.n_chips

    @property
    def mesh_shape(self) -> tuple[int, int]:
        """Routers: (tiles_x * n_chips, tiles_y)."""
        return (self.tiles_x * self.n_chips, self.tiles_y)
