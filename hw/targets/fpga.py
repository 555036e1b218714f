"""The "fpga" target: a time-multiplexed integer LIF core with exponential current synapses
and trace-based pair STDP, generated in Amaranth (neurocosim.rtl) and emulated cycle by cycle
(neurocosim.emulator.fpga).

Every memory has synchronous read ports (block RAM); the core walks each list one item per
cycle (its counters address the memories one cycle ahead) and pipelines the second level
of reads (a synapse's ring word, a plastic input's weight) into an accumulate stage that
overlaps the next item, so a synapse or a plastic input costs one cycle, a list entry
whose pointers must be read first (an event's row, a spiking neuron's column) two. The
costs are the spec's `cycles_*` fields (the table of names: hw.layouts.fpga.RTL_CYCLES,
whose values the RTL implements). Per timestep, every core runs these phases:

  events     per spike of the previous step (the same list on every core): cycles_event
             + cycles_synapse per synapse of that axon's row on this core (ring-buffer
             accumulate at slot t + delay - 1; depression if plastic); + cycles_list_end
  neurons    cycles_neuron per neuron of the core (isyn, v, refractory, threshold, trace)
  pre traces cycles_trace per axon of the network, less the   } only on a core
             cycles_trace_beside_neuron walked beside each neuron } with plastic
             update (`hw.layouts.fpga.traces_after_neurons`)    } synapses
  potentiate cycles_spiking per spiking neuron + cycles_plastic }
             per plastic input; + cycles_list_end              }
A list entry's header (an event's cycles_event, a spiking neuron's cycles_spiking) reads
the next entry and its bounds while the previous entry's row or column is walked: up to
cycles_header_overlap of its cycles run there, one per item of that walk, and cost
nothing (`hw.layouts.fpga.header_cycles`; the list's first entry pays in full).
The cores run in lock step; the router then broadcasts every neuron spike of the step
(cycles_route_spike each, cycles_route_core per core) and every stimulus spike of the step
(cycles_stimulus each, + cycles_stimulus_end) to all cores' event lists; cycles_step_fixed
covers the start pulse, the all-done detection and the end of the step
(`core_cycles`, `step_cycles`).

A spike in step k is stamped (k + 1) * dt; it enters its targets' synaptic current in the
update of step k + delay (delay >= 1 step) and v one step later, as in NEST's iaf_psc_exp;
an input spike of stamp s is sent in step s - 1 (stamp 0 in step 0, reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..formats import NumberFormat
from ..layouts import fpga as L
from .base import TargetSpec


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
    #: the image's stimulus memory holds the input spikes (hw.stimulus) of [0, this) ms;
    #: the emulator feeds later input from hw.stimulus, a board refuses to run past it
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

    # --- cycle costs (hw.layouts.fpga.RTL_CYCLES: the RTL implements these values) -------
    #: per event of the list: list entry and axon row lookup
    cycles_event: int = L.RTL_CYCLES["event"]
    #: per synapse of an event's row on the core: ring accumulate (and depression)
    cycles_synapse: int = L.RTL_CYCLES["synapse"]
    #: end of the event list, and of the potentiation list
    cycles_list_end: int = L.RTL_CYCLES["list_end"]
    #: per neuron update: isyn, v, refractory count, threshold, post trace
    cycles_neuron: int = L.RTL_CYCLES["neuron"]
    #: per axon of the network, pre-trace decay, on a core with plastic synapses
    cycles_trace: int = L.RTL_CYCLES["trace"]
    #: per spiking neuron of such a core: its plastic-input (column) list
    cycles_spiking: int = L.RTL_CYCLES["spiking"]
    #: per plastic input of a spiking neuron: potentiation
    cycles_plastic: int = L.RTL_CYCLES["plastic"]
    #: router: per neuron spike broadcast to every core's event list
    cycles_route_spike: int = L.RTL_CYCLES["route_spike"]
    #: router: per core visited
    cycles_route_core: int = L.RTL_CYCLES["route_core"]
    #: per stimulus spike broadcast
    cycles_stimulus: int = L.RTL_CYCLES["stimulus"]
    #: the stimulus entry that ends the step's list
    cycles_stimulus_end: int = L.RTL_CYCLES["stimulus_end"]
    #: start pulse, all-done detection and end of the step
    cycles_step_fixed: int = L.RTL_CYCLES["step_fixed"]
    #: header cycles of a list entry (event, spiking neuron) that run during the previous
    #: entry's walk, at most one per item of it (0: every header is paid in full)
    cycles_header_overlap: int = L.RTL_CYCLES["header_overlap"]
    #: pre traces updated beside each neuron update, in its cycle (0: the trace walk
    #: follows the neuron walk)
    cycles_trace_beside_neuron: int = L.RTL_CYCLES["trace_beside_neuron"]

    # --- energy per event (pJ). ASSUMED, not measured: an iCE40 UP5K design of this size
    # (a few thousand LUTs, a dozen block RAMs) draws about 1.2 mW of dynamic power when
    # busy at 12 MHz by Lattice's power estimates for the family, i.e. about 100 pJ per
    # clock cycle: about 40 pJ of it the clock tree and state machines pay every cycle,
    # the rest the block-RAM accesses and arithmetic of the item in flight (about 60 pJ
    # per busy cycle). Static power (about 75 uW on a UP5K) is not counted.
    #: per synaptic event (ring read-modify-write, weight, target and delay reads,
    #: depression if plastic: about three busy cycles' worth of block-RAM accesses,
    #: pipelined into one clock cycle); assumed, see above
    synop_energy_pJ: float = 180.0
    #: per neuron update (five parameter and state reads, the two decay multiplies, the
    #: writes back: about two busy cycles' worth); assumed, see above
    neuron_energy_pJ: float = 120.0
    #: per clock cycle per core (clock tree and state machines, paid idle or busy);
    #: assumed, see above
    cycle_energy_pJ: float = 40.0

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
        for name in L.CYCLE_NAMES:
            cost = getattr(self, L.cycle_field(name))
            if not isinstance(cost, int) or isinstance(cost, bool) or cost < 0:
                raise TargetError(f"fpga: {L.cycle_field(name)}={cost!r} must be an "
                                  "integer >= 0")
        headers = min(self.cycles_event, self.cycles_spiking)
        if self.cycles_header_overlap > headers:
            raise TargetError(f"fpga: cycles_header_overlap={self.cycles_header_overlap} "
                              f"must be at most min(cycles_event, cycles_spiking)={headers} "
                              "(a header cannot hide more cycles than it has)")
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

    def cycle_costs(self) -> tuple[int, ...]:
        """The cycle costs in hw.layouts.fpga.CYCLE_NAMES order (what the kernels take)."""
        return tuple(int(getattr(self, L.cycle_field(n))) for n in L.CYCLE_NAMES)

    def core_cycles(self, rows: Sequence[int], neurons: int, stdp: bool = False,
                    axons: int = 0, columns: Sequence[int] = ()) -> int:
        """Cycles of one core in one step (the module docstring's phases): `rows`, the
        synapses of each event's row on the core in event-list order; `columns`, the
        plastic inputs of each spiking neuron's column in spike-list order."""
        n = (self.list_cycles(rows, self.cycles_event, self.cycles_synapse)
             + self.cycles_list_end + self.cycles_neuron * neurons)
        if stdp:
            n += (self.cycles_trace * L.traces_after_neurons(
                      axons, neurons, self.cycles_trace_beside_neuron) + self.cycles_list_end
                  + self.list_cycles(columns, self.cycles_spiking, self.cycles_plastic))
        return n

    def list_cycles(self, walks: Sequence[int], header: int, item: int) -> int:
        """Cycles of a list of `walks` (items of each entry's row or column): each entry's
        `header` cycles, less those that overlap the walk before (L.header_cycles), and
        `item` cycles per item."""
        previous, n = 0, 0
        for size in walks:
            n += L.header_cycles(header, self.cycles_header_overlap, previous) + item * size
            previous = int(size)
        return n

    def step_cycles(self, core_cycles: "list[int]", spikes: int, stimulus_spikes: int) -> int:
        """Cycles of one timestep of the chip, given each core's cycles."""
        return (max(core_cycles) + self.cycles_route_spike * spikes
                + self.cycles_route_core * len(core_cycles)
                + self.cycles_stimulus * stimulus_spikes + self.cycles_stimulus_end
                + self.cycles_step_fixed)

    def limits(self) -> dict[str, object]:
        out = super().limits()
        c = {n: getattr(self, L.cycle_field(n)) for n in L.CYCLE_NAMES}
        out["cycles_per_step"] = (
            f"max_core({c['event']} events + {c['synapse']} synapses + {c['list_end']} + "
            f"{c['neuron']} neurons [+ {c['trace']} max(axons - "
            f"{c['trace_beside_neuron']} neurons, 0) + {c['spiking']} spiking + "
            f"{c['plastic']} plastic_inputs + {c['list_end']}] - hidden headers: up to "
            f"{c['header_overlap']} cycles of an event or spiking neuron, one per item of "
            f"the row or column before) + {c['route_spike']} spikes"
            f" + {c['route_core']} cores + {c['stimulus']} stimulus_spikes + "
            f"{c['stimulus_end'] + c['step_fixed']}")
        return out
