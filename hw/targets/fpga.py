"""The "fpga" target: a time-multiplexed integer LIF core with exponential current synapses
and trace-based pair STDP, generated in Amaranth (neurocosim.rtl) and emulated cycle by cycle
(neurocosim.emulator.fpga).

Every memory has synchronous read ports (block RAM), so an item costs one cycle per level
of dependent reads plus one (`CYCLES` below). Per timestep, every core runs these phases:

  events     per spike of the previous step (the same list on every core): 3 cycles (list
             entry, axon row lookup) + 3 per synapse of that axon's row on this core
             (ring-buffer accumulate at slot t + delay - 1; depression if plastic); + 1
  neurons    2 cycles per neuron of the core (isyn, v, refractory, threshold, post trace)
  pre traces 2 cycles per axon of the network            } only on a core with
  potentiate per spiking neuron 3 cycles + 3 per plastic  }  plastic synapses
             input synapse; + 1 (end of list)            }
The cores run in lock step from a 1-cycle start; the chip notices the last one done one
cycle later; the router then broadcasts every neuron spike of the step (cores in order,
2 cycles each, +1 per core) and every stimulus spike of the step (2 cycles each, +2) to
all cores' event lists; 1 cycle ends the step (`core_cycles`, `step_cycles`):

  cycles(t) = max over cores of core_cycles + 2 spikes(t) + 2 stimulus_spikes(t)
              + cores + 5

A spike in step k is stamped (k + 1) * dt; it enters its targets' synaptic current in the
update of step k + delay (delay >= 1 step) and v one step later, as in NEST's iaf_psc_exp;
stimulus spikes at time ts are emitted in step round(ts/dt) - 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..formats import NumberFormat
from .base import TargetSpec


#: clock cycles per item of each phase (the RTL's state machines; the emulator counts these)
CYCLES = dict(event=3, synapse=3, list_end=1, neuron=2, trace=2, spiking=3, plastic=3,
              route_spike=2, route_core=1, stimulus=2, stimulus_end=2, step_fixed=3)


@dataclass(frozen=True)
class FpgaSpec(TargetSpec):
    """Widths, limits and clock of the generated core; the emulator and RTL read all widths
    from the NumberFormats below (derived from the *_bits fields)."""

    name: str = "fpga"
    description: str = ("Amaranth LIF/STDP core: time-multiplexed integer LIF, exponential "
                        "current synapses, pair STDP, cycle-exact emulator (1 ms steps)")
    runner: str = "neurocosim.emulator.fpga:Engine"
    compiler: str = "neurocosim.hw.compile_fpga:compile_fpga"
    models: tuple[str, ...] = ("IF_curr_exp", "SpikeSourceArray", "SpikeSourcePoisson")
    timestep: float | None = 1.0
    plasticity: tuple[str, ...] = ("stdp_additive",)

    neurons_per_core: int = 256
    n_cores: int = 1
    weight_bits: int = 8
    state_bits: int = 16
    trace_bits: int = 8
    decay_bits: int = 12
    refrac_bits: int = 6
    max_delay: int = 8
    #: synapse memory entries per core (CSR rows over the network's axons)
    synapses_per_core: int = 16384
    #: stimulus memory entries (step, axon) for the spike sources
    stimulus_depth: int = 65536
    #: Poisson sources are drawn at compile time up to this time (ms)
    stimulus_horizon_ms: float = 10000.0
    #: thresholds sit 2**headroom_bits below the top of v's range
    headroom_bits: int = 2
    #: trace increment per spike (represents trace value 1.0)
    trace_impulse: int = 128
    #: fractional bits of the STDP amplitudes (weight LSBs per trace LSB)
    stdp_frac_bits: int = 8
    #: the iCE40 boards' 12 MHz oscillator (an iCE40 UP5K closes timing at about 15 MHz)
    clock_hz: float = 12e6
    max_neurons_per_core: int = 4096
    max_cores: int = 16

    def __post_init__(self) -> None:
        from ..errors import TargetError
        if not 1 <= self.neurons_per_core <= self.max_neurons_per_core:
            raise TargetError(f"fpga: neurons_per_core={self.neurons_per_core} must be in "
                              f"1..{self.max_neurons_per_core}")
        if not 1 <= self.n_cores <= self.max_cores:
            raise TargetError(f"fpga: n_cores={self.n_cores} must be in 1..{self.max_cores}")
        for f, lo, hi in (("weight_bits", 2, 16), ("state_bits", 8, 32), ("trace_bits", 2, 16),
                          ("decay_bits", 4, 16), ("refrac_bits", 1, 16), ("max_delay", 1, 64)):
            if not lo <= getattr(self, f) <= hi:
                raise TargetError(f"fpga: {f}={getattr(self, f)} must be in {lo}..{hi}")
        if not 1 <= self.trace_impulse <= (1 << self.trace_bits) - 1:
            raise TargetError(f"fpga: trace_impulse={self.trace_impulse} must fit "
                              f"{self.trace_bits} bits")

    # --- number formats ------------------------------------------------------------------
    @property
    def v_format(self) -> NumberFormat:
        return NumberFormat(self.state_bits, signed=True, overflow="saturate")

    @property
    def isyn_format(self) -> NumberFormat:
        return NumberFormat(self.state_bits, signed=True, overflow="saturate")

    @property
    def weight_format(self) -> NumberFormat:
        return NumberFormat(self.weight_bits, signed=True, overflow="error")

    @property
    def trace_format(self) -> NumberFormat:
        return NumberFormat(self.trace_bits, signed=False, overflow="saturate")

    @property
    def decay_format(self) -> NumberFormat:
        """Q0.decay_bits multipliers exp(-dt/tau)."""
        return NumberFormat(self.decay_bits, self.decay_bits, signed=False, overflow="error")

    @property
    def refrac_format(self) -> NumberFormat:
        return NumberFormat(self.refrac_bits, signed=False, overflow="error")

    @property
    def stdp_format(self) -> NumberFormat:
        """A_plus / A_minus in weight LSBs, stdp_frac_bits fractional."""
        return NumberFormat(self.weight_bits + self.stdp_frac_bits, self.stdp_frac_bits,
                            signed=False, overflow="error")

    @property
    def max_weight_shift(self) -> int:
        return self.state_bits - 1

    @staticmethod
    def core_cycles(events: int, synapses: int, neurons: int, stdp: bool = False,
                    axons: int = 0, spiking: int = 0, plastic_inputs: int = 0) -> int:
        """Cycles of one core in one step (the module docstring's phases)."""
        c = CYCLES
        n = c["event"] * events + c["synapse"] * synapses + c["list_end"] + \
            c["neuron"] * neurons
        if stdp:
            n += (c["trace"] * axons + c["spiking"] * spiking + c["plastic"] * plastic_inputs
                  + c["list_end"])
        return n

    @staticmethod
    def step_cycles(core_cycles: "list[int]", spikes: int, stimulus_spikes: int) -> int:
        """Cycles of one timestep of the chip, given each core's cycles."""
        c = CYCLES
        return (max(core_cycles) + c["route_spike"] * spikes + c["route_core"] * len(
            core_cycles) + c["stimulus"] * stimulus_spikes + c["stimulus_end"]
            + c["step_fixed"])

    def limits(self) -> dict[str, object]:
        out = super().limits()
        out["cycles_per_step"] = ("max_core(3 events + 3 synapses + 1 + 2 neurons [+ 2 axons"
                                  " + 3 spiking + 3 plastic_inputs + 1]) + 2 spikes + "
                                  "2 stimulus_spikes + cores + 5")
        return out
