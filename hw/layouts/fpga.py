"""The fpga image format: what `hw.compile_fpga` writes and the emulator (`emulator.fpga`),
the RTL (`rtl.chip`, `rtl.core`, `rtl.capacity`) and the host (`host.board`,
`host.virtual_board`) read, each name written once here; and the cycle table.

A core (`hw.image.Core`) holds CORE_SCALARS (shape (1,) arrays) and NEURON_PARAMS (one
entry per neuron slot) in `params`, and the SYNAPSE_MEMORIES and POINTER_MEMORIES in
`memories`: row_ptr[a]:row_ptr[a + 1] are the synapses of axon a on the core (grouped by
axon), col_ptr[j]:col_ptr[j + 1] the plastic inputs of neuron j (col_syn: synapse index,
col_pre: its axon). `HardwareImage.data[DATA]` holds the chip-wide memories (CHIP_WIDE)
and the host's bookkeeping: n_neurons, neurons_per_core (the axon stride), lsb_mV (v's
LSB), axon_of / ir_of_axon (IR global id <-> axon), stimulus_steps (the steps the
stimulus memory covers) and projections (per projection: core, index and scale to IR
units of each synapse, in IR order).

Axon numbering: neurons fill cores in order (axon = core * neurons_per_core + slot), the
spike sources follow (axon = n_neurons + source index).

Stimulus memory: entries (step, axon), sorted by step then axon, ended by STIM_END; the
router broadcasts the entries of step k at the end of step k, so they are events of step
k + 1. An input spike of stamp s (`hw.stimulus`: emitted in step s - 1) is the entry
(s - 1, axon); the core has no event list before step 0, so a stamp-0 spike becomes the
entry (0, axon) (delivered one step late; the compiler reports it). The image holds the
stimulus of steps [0, data["stimulus_steps"]) (`FpgaSpec.stimulus_horizon_ms`).
"""

from __future__ import annotations

import numpy as np

#: the key of HardwareImage.data holding the chip-wide memories and bookkeeping
DATA = "fpga"

#: per-core scalar registers, in this order (the kernels index them by position)
CORE_SCALARS = ("n", "w_shift", "stdp", "a_plus", "a_minus", "w_min", "w_max", "dx", "dy")
N, W_SHIFT, STDP, A_PLUS, A_MINUS, W_MIN, W_MAX, DX, DY = range(len(CORE_SCALARS))
#: per-neuron parameters: threshold, reset, bias, membrane and synaptic decays,
#: refractory steps, initial v
NEURON_PARAMS = ("theta", "u_reset", "bias", "dm", "ds", "refrac", "u0")
#: per-synapse memories of a core (one entry per synapse) and the two pointer tables
SYNAPSE_MEMORIES = ("syn_post", "syn_w", "syn_delay", "syn_plastic", "col_syn", "col_pre")
POINTER_MEMORIES = ("row_ptr", "col_ptr")
#: held once by the chip (written through any core; every core keeps a copy of the first two)
CHIP_WIDE = ("n_axons", "ring_depth", "stim_step", "stim_axon")
#: every writable memory, in board-region-id order
REGION_NAMES = (CORE_SCALARS + NEURON_PARAMS + CHIP_WIDE[:2] + SYNAPSE_MEMORIES
                + POINTER_MEMORIES + CHIP_WIDE[2:])
REGION_ID = {name: i for i, name in enumerate(REGION_NAMES)}
#: the regions the host reads back (the chip has one spare read port: the weights')
READABLE = ("syn_w",)
#: a stimulus entry that is never reached (cleared memory; the end of the list)
STIM_END = (1 << 32) - 1
#: clock cycles per item of each phase, as the RTL's state machines (rtl.core, rtl.chip)
#: spend them; FpgaSpec has one field `cycles_<name>` per entry (a sweep may vary them,
#: the RTL generator refuses a spec that differs)
RTL_CYCLES = {
    "event": 2,         # per event of the list: list entry, then its row bounds
    "synapse": 1,       # per synapse of the event's row on the core: ring accumulate
    "list_end": 1,      # end of the event list (and of the potentiation list)
    "neuron": 1,        # per neuron: isyn, v, refractory, threshold, post trace
    "trace": 1,         # per axon of the network, on a core with plastic synapses
    "spiking": 2,       # per spiking neuron of such a core: list entry, column bounds
    "plastic": 1,       # per plastic input of that neuron: potentiation
    "route_spike": 1,   # router: per neuron spike broadcast
    "route_core": 1,    # router: per core visited
    "stimulus": 1,      # per stimulus spike broadcast
    "stimulus_end": 1,  # the stimulus entry that ends the step's list
    "step_fixed": 3,    # start pulse, all-done detection, end of step
    "header_overlap": 2,  # header cycles of a list entry (event, spiking neuron) that run
    #                       during the previous entry's walk, at most one per item of it
    "trace_beside_neuron": 1,  # pre traces walked beside each neuron update (the rest,
    #                            axons beyond them, after the neuron walk)
}
CYCLE_NAMES = tuple(RTL_CYCLES)
(C_EVENT, C_SYNAPSE, C_LIST_END, C_NEURON, C_TRACE, C_SPIKING, C_PLASTIC, C_ROUTE_SPIKE,
 C_ROUTE_CORE, C_STIMULUS, C_STIMULUS_END, C_STEP_FIXED, C_HEADER_OVERLAP,
 C_TRACE_BESIDE_NEURON) = range(len(CYCLE_NAMES))


def header_cycles(header: int, overlap: int, previous_items: int) -> int:
    """Cycles a list entry's header (`header` cycles: an event's row bounds, a spiking
    neuron's column bounds) adds to its core's phase when up to `overlap` of them run
    during the previous entry's walk of `previous_items` items (0 for the list's first)."""
    return header - min(overlap, previous_items)


def traces_after_neurons(axons: int, neurons: int, beside: int) -> int:
    """Pre traces left for the trace walk after the neuron walk, which takes `beside` of
    them with each of its `neurons` updates."""
    return max(axons - beside * neurons, 0)


def cycle_field(name: str) -> str:
    """The FpgaSpec field holding the cost of cycle-table entry `name`."""
    return f"cycles_{name}"


def projection_weights(data: dict, stored: "list[np.ndarray]") -> dict[str, np.ndarray]:
    """Each projection's weights in IR units (nA, magnitudes) and IR synapse order, from
    every core's stored syn_w (data: the image's data[DATA])."""
    out = {}
    for name, where in data["projections"].items():
        w = np.array([stored[c][i] for c, i in zip(where["core"], where["index"])],
                     np.float64)
        out[name] = np.abs(w * np.asarray(where["scale"], np.float64))
    return out


def stimulus_entries(neuron: np.ndarray, stamp: np.ndarray,
                     axon_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stimulus memory entries (step, axon) of input spikes (global IR neuron, stamp):
    step = stamp - 1, stamp 0 sent in step 0 as well; one entry per (step, axon), sorted
    by step then axon."""
    step = np.maximum(np.asarray(stamp, np.int64), 1) - 1
    axon = np.asarray(axon_of, np.int64)[np.asarray(neuron, np.int64)]
    if not step.size:
        return step, axon
    order = np.lexsort((axon, step))
    step, axon = step[order], axon[order]
    keep = np.ones(step.size, bool)
    keep[1:] = (np.diff(step) != 0) | (np.diff(axon) != 0)
    return step[keep], axon[keep]
