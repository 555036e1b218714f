"""Shared Signatures of the FPGA LIF/STDP core (rtl.core, rtl.chip): widths are parameters."""

from amaranth import signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


def ubits(max_value: int) -> int:
    """Bits of an unsigned field holding 0..max_value (at least 1)."""
    return max(1, int(max_value).bit_length())


class ControlSignature(wiring.Signature):
    """The chip's host-facing port (seen from the chip):

    - `start` (strobe) with `n_steps` runs that many timesteps; `busy` is high meanwhile;
      `t` is the number of timesteps done since reset;
    - `step_done` strobes once per timestep with `step_cycles`, the cycles it took;
    - `spike_valid` strobes once per neuron spike with `spike_axon` (the axon id, i.e.
      core * neurons_per_core + slot) during the router phase of the step `t` it fired in;
      no back-pressure: a consumer takes one per cycle;
    - `w_core`/`w_addr` select a synapse word; `w_data` is its weight one clock cycle
      later (a synchronous block-RAM read; read while the chip is idle);
    - `cfg_we` writes `cfg_data` at `cfg_addr` of memory region `cfg_region` (the ids of
      rtl.capacity.REGION_NAMES) of core `cfg_core`, in the cycle it is high, while idle;
      the chip-wide regions (rtl.capacity.CHIP_WIDE) are written whatever `cfg_core`;
    - `clear` (strobe while idle; bit 0: state, bit 1: also every memory) starts a clear:
      time, neuron state, ring buffers and traces to their reset values (`u` from `u0`),
      with bit 1 also every memory and register to 0 (the stimulus to its end marker);
      `busy` is high for the `capacity.clear_cycles + 1` cycles it takes.
    """

    def __init__(self, axon_bits: int, syn_bits: int, core_bits: int, weight_bits: int,
                 addr_bits: int = 1):
        self.axon_bits, self.syn_bits = axon_bits, syn_bits
        self.core_bits, self.weight_bits, self.addr_bits = core_bits, weight_bits, addr_bits
        super().__init__({
            "start": In(1), "n_steps": In(32), "busy": Out(1), "t": Out(32),
            "step_done": Out(1), "step_cycles": Out(32),
            "spike_valid": Out(1), "spike_axon": Out(unsigned(axon_bits)),
            "w_core": In(unsigned(core_bits)), "w_addr": In(unsigned(syn_bits)),
            "w_data": Out(signed(weight_bits)),
            "cfg_we": In(1), "cfg_core": In(unsigned(core_bits)), "cfg_region": In(8),
            "cfg_addr": In(unsigned(addr_bits)), "cfg_data": In(32), "clear": In(2),
        })


class CoreLinkSignature(wiring.Signature):
    """Chip <-> core (seen from the core): `go` starts a timestep at ring slot `t_slot`,
    `done` is high once it is over; the router writes the next step's event list
    (`in_we`, `in_addr`, `in_data`, length `in_n`) and reads the core's spikes
    (`out_n`, `out_addr` -> `out_data`); `w_addr` -> `w_data` reads a weight; `cfg_*`
    writes a memory while the core is done (ControlSignature); `clr` walks `clr_addr`
    over the memories to clear them (`clr_all`: every memory, else the state); `active`:
    the core holds neurons (n != 0), else it is not started and not routed."""

    def __init__(self, slot_bits: int, axon_bits: int, neuron_bits: int, syn_bits: int,
                 weight_bits: int, addr_bits: int = 1, clear_bits: int = 1):
        super().__init__({
            "cfg_we": In(1), "cfg_region": In(8), "cfg_addr": In(unsigned(addr_bits)),
            "cfg_data": In(32), "clr": In(1), "clr_all": In(1),
            "clr_addr": In(unsigned(clear_bits)), "active": Out(1),
            "go": In(1), "done": Out(1), "t_slot": In(unsigned(slot_bits)),
            "in_n": In(unsigned(axon_bits + 1)), "in_we": In(1),
            "in_addr": In(unsigned(axon_bits)), "in_data": In(unsigned(axon_bits)),
            "out_n": Out(unsigned(neuron_bits + 1)), "out_addr": In(unsigned(neuron_bits)),
            "out_data": Out(unsigned(neuron_bits)),
            "w_addr": In(unsigned(syn_bits)), "w_data": Out(signed(weight_bits)),
        })
