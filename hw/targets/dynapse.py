"""The DynapSE-style target: analog DPI neurons and synapses, shared per-core parameters,
CAM fan-in, SRAM fan-out with tags, device mismatch and hierarchical routing.

Sources (REFERENCE.md, "DynapSE-style mixed-signal chips"): organisation (4 cores x 256
neurons per chip, boards of up to 4 chips, 64 CAM synapses per neuron, 4 synapse types,
one parameter group per core, 4-bit weights over 4 base weights Iw_0..Iw_3, 4 SRAM
destinations and 2048 tags per neuron) from the samna documentation, arXiv 2310.00564 and
Rockpool 3.1 (devices/dynapse/lookup/defaults.py); circuit constants (capacitances, Io,
kappa, Ut, Vth) and default time constants / gain ratios from the same Rockpool file; the
mismatch model (each per-neuron circuit parameter times 1 + std * N(0, 1)) from Rockpool's
transform/mismatch.py, whose 30 % at 3 sigma gives the default std 0.1.
ASSUMED (no public per-event figures found): the bias-current range, routing latencies
and per-event energies below; each field says so. Every field can be overridden with
`spec.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import TargetSpec


@dataclass(frozen=True)
class DynapseSpec(TargetSpec):
    """Limits, circuit constants, mismatch and routing costs of a DYNAP-SE-style board.

    Cores of a chip are numbered 0..cores_per_chip-1; chips sit on a line (chip c at
    position c), so a spike between chips a and b crosses |a - b| chip routers.
    """

    name: str = "dynapse"
    description: str = ("DynapSE-style mixed-signal chip: DPI synapses and AdExp-style "
                        "current-mode neurons, 4 cores x 256 neurons, 64 CAM synapses, "
                        "4-bit weights over 4 base currents, mismatch (emulator)")
    runner: str = "neurocosim.emulator.dynapse:Engine"
    compiler: str = "neurocosim.hw.compile_dynapse:compile_dynapse"
    models: tuple[str, ...] = ("IF_curr_exp", "EIF_cond_exp_isfa_ista", "SpikeSourceArray",
                               "SpikeSourcePoisson")
    timestep: float | None = 1.0
    #: v: the membrane current mapped back to mV (linear map of the compile); imem: the
    #: membrane current itself (A)
    recordables: tuple[str, ...] = ("spikes", "v", "imem")
    #: an AER input bus delivers every event; a DPI charges once per event
    input_multiplicity: bool = True

    # --- organisation (samna docs, arXiv 2310.00564, Rockpool lookup/defaults.py) -------
    n_chips: int = 1
    max_chips: int = 4
    cores_per_chip: int = 4
    neurons_per_core: int = 256
    cam_per_neuron: int = 64
    synapse_types: tuple[str, ...] = ("AMPA", "NMDA", "GABA", "SHUNT")
    weight_bits: int = 4
    base_weights: int = 4
    tags: int = 2048
    destinations: int = 4

    # --- circuit constants (Rockpool lookup/defaults.py) --------------------------------
    io_a: float = 5e-13             # dark current Io (A): the floor of every current
    ut_v: float = 25e-3             # thermal voltage (V)
    kappa_n: float = 0.75
    kappa_p: float = 0.66
    vth_v: float = 0.7              # transistor cut-off Vgs used for pulse widths (V)
    c_mem_f: float = 3e-12
    c_syn_f: tuple[float, ...] = (24.5e-12, 25e-12, 25e-12, 24.5e-12)  # AMPA NMDA GABA SHUNT
    c_ahp_f: float = 40e-12
    c_ref_f: float = 1.5e-12
    c_pulse_f: float = 0.5e-12
    c_pulse_ahp_f: float = 0.5e-12
    t_pulse_s: float = 10e-6        # synaptic pulse width (Rockpool default)
    t_pulse_ahp_s: float = 1e-6
    gain_ratio_syn: float = 100.0   # Igain / Itau of a synapse (Rockpool default)
    gain_ratio_mem: float = 4.0     # Igain / Itau of the membrane (Rockpool default)
    #: bias-generator range of every programmable current (A); ASSUMED (Io to 20 uA)
    current_min_a: float = 5e-13
    current_max_a: float = 2e-5
    #: the spike threshold current over the onset of the membrane's positive feedback
    #: (our choice: the threshold is reached a few sub-steps after the runaway starts)
    spkthr_ratio: float = 100.0

    # --- integration --------------------------------------------------------------------
    #: sub-steps per 1 ms output step: h = 50 us keeps DynapSim's pulse approximation
    #: valid (h >= t_pulse = 10 us) and forward Euler within ~2.5 % for tau >= 1 ms
    substeps: int = 20

    # --- mismatch (Rockpool transform/mismatch.py) --------------------------------------
    mismatch_std: float = 0.1       # relative std of every per-neuron circuit parameter
    mismatch_seed: int = 0          # the chip: another seed is another chip
    mismatch_mode: str = "frozen"   # "frozen": drawn once; "per_run": redrawn at reset()

    # --- hierarchical routing: ASSUMED (order of magnitude, no verified public figures) --
    encode_latency_ns: float = 20.0     # a core's encoder emits one event per this
    core_latency_ns: float = 30.0       # R1: broadcast to the CAMs of the same core
    chip_hop_latency_ns: float = 15.0   # R2: to another core of the chip
    board_hop_latency_ns: float = 40.0  # R3: per chip router crossed
    spike_energy_pj: float = 880.0      # generating and encoding one spike
    broadcast_energy_pj: float = 2000.0  # broadcasting one event to a core's CAMs
    chip_hop_energy_pj: float = 360.0   # one event to another core of the chip
    board_hop_energy_pj: float = 13000.0  # one event per chip router crossed
    synop_energy_pj: float = 30.0       # one CAM match charging a DPI

    @property
    def n_cores(self) -> int:
        return self.cores_per_chip * self.n_chips

    @property
    def kappa(self) -> float:
        return (self.kappa_n + self.kappa_p) / 2.0
