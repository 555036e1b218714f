"""The one vocabulary of timing metrics: every runner names its TimingReport entries from
this table, so `compare` lines targets up by name and unit (docs/metrics.md prints it).

A metric's unit is in its name's suffix (`_ns`, `_us`, `_pJ`, `_cycles`) or, for counts
and ratios, in the table. A runner that reports a name missing here is refused by
`timing_report`, naming the metric, so the vocabulary cannot drift apart again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import TargetError
from .result import TimingReport


@dataclass(frozen=True)
class Metric:
    """One named quantity of a timing report: its unit and what it counts."""

    unit: str
    description: str


def _m(unit: str, description: str) -> Metric:
    return Metric(unit, description)


#: What every target with timing reports, so `compare` always has these columns.
COMMON = ("steps", "synaptic_events", "chip_time_ns", "energy_total_pJ")

#: Scalar metrics (TimingReport.metrics), by name.
METRICS: dict[str, Metric] = {
    # time base and work
    "steps": _m("steps", "timesteps run"),
    "spikes_total": _m("spikes", "spikes of all neurons (not the sources)"),
    "synaptic_events": _m("events", "synaptic events delivered (one per spike per synapse)"),
    "crossbar_events": _m("events", "synapse reads of the crossbar, fan-out copies included "
                          "(truenorth: the work its synaptic energy is counted on)"),
    "chip_time_ns": _m("ns", "hardware time of the whole run (sum of step durations)"),
    "step_mean_ns": _m("ns", "mean hardware duration of one timestep"),
    "step_max_ns": _m("ns", "longest hardware duration of one timestep"),
    "realtime_load_max": _m("ratio", "longest step over the timestep's real-time budget"),
    "cycles_total": _m("cycles", "clock cycles of the whole run"),
    "cycles_per_step_mean": _m("cycles", "mean clock cycles per timestep"),
    "cycles_per_step_max": _m("cycles", "most clock cycles of one timestep"),
    "barrier_ns": _m("ns", "barrier synchronisation time per step"),
    "tick_ns": _m("ns", "length of one hardware tick"),
    "core_sweep_max_ns": _m("ns", "longest neuron sweep of a core in one tick"),
    "tick_utilization_max": _m("ratio", "longest core sweep over the tick length"),
    # spike packets on the interconnect
    "packets": _m("packets", "spike packets sent between cores"),
    "latency_mean_ns": _m("ns", "mean spike latency, generation to arrival at the core"),
    "latency_max_ns": _m("ns", "longest spike latency"),
    "latency_min_ns": _m("ns", "shortest spike latency"),
    "latency_hist_bin_ns": _m("ns", "bin width of the latency_hist array"),
    "isi_distortion_mean_ns": _m("ns", "mean |change| of inter-spike intervals at arrival"),
    "isi_distortion_max_ns": _m("ns", "largest |change| of an inter-spike interval"),
    "isi_distortion_min_ns": _m("ns", "smallest |change| of an inter-spike interval"),
    "disorder": _m("packets", "packets that arrive after a packet sent later"),
    "hops_total": _m("hops", "router hops of all packets"),
    "hops_mean": _m("hops", "mean router hops per packet"),
    "hops_ew": _m("hops", "east-west hops of all packets"),
    "hops_ns": _m("hops", "north-south hops of all packets"),
    "wait_mean_ns": _m("ns", "mean time a packet waits for a busy link"),
    "wait_max_ns": _m("ns", "longest time a packet waits for a busy link"),
    "link_packets_max": _m("packets", "packets over the busiest link"),
    "link_busy_max_ns": _m("ns", "busy time of the busiest link"),
    "link_utilization_max": _m("ratio", "busy time of the busiest link over the run"),
    "packets_late": _m("packets", "packets that missed their tick and slipped"),
    "packets_in_flight": _m("packets", "packets not delivered by the end of the run"),
    "slip_ticks_max": _m("ticks", "most ticks a late packet slipped"),
    # energy (pJ everywhere)
    "energy_total_pJ": _m("pJ", "energy of the whole run"),
    "energy_neuron_pJ": _m("pJ", "energy of neuron updates"),
    "energy_synop_pJ": _m("pJ", "energy of synaptic events"),
    "energy_spike_out_pJ": _m("pJ", "energy of spikes leaving their core"),
    "energy_mesh_pJ": _m("pJ", "energy of the mesh (injection and hops)"),
    "energy_mesh_ew_pJ": _m("pJ", "energy of east-west hops"),
    "energy_mesh_ns_pJ": _m("pJ", "energy of north-south hops"),
    "energy_inject_pJ": _m("pJ", "energy of injecting packets into the mesh"),
    "energy_static_pJ": _m("pJ", "static (leakage or bias) energy over the run"),
    "energy_clock_pJ": _m("pJ", "energy of the clock tree and control logic, every cycle"),
    "energy_pulse_pJ": _m("pJ", "energy of SFQ junction switching"),
    # links to a host
    "link_retransmits": _m("frames", "frames the host sent again over the board link"),
    # SFQ pulse level
    "pulse_events": _m("pulses", "SFQ pulses simulated"),
    "junction_switches": _m("switches", "Josephson junction switching events"),
    "dropped_pulses": _m("pulses", "pulses lost at a busy cell"),
    "synapse_passed": _m("pulses", "pulses a stochastic synapse let through"),
    "synapse_blocked": _m("pulses", "pulses a stochastic synapse blocked"),
    "simulated_ps": _m("ps", "pulse-level time simulated"),
}

#: Per-item arrays (TimingReport.arrays), by name.
ARRAYS: dict[str, Metric] = {
    "step_ns": _m("ns", "hardware duration of each timestep"),
    "cycles_per_step": _m("cycles", "clock cycles of each timestep"),
    "core_done_ns": _m("ns", "when each core finished, per step"),
    "core_packets_in": _m("packets", "packets received per core"),
    "core_latency_mean_ns": _m("ns", "mean latency of packets into each core"),
    "core_isi_distortion_max_ns": _m("ns", "largest ISI distortion into each core"),
    "core_disorder": _m("packets", "disordered packets into each core"),
    "core_busy_ns": _m("ns", "busy time of each core"),
    "core_sweep_ns": _m("ns", "neuron sweep time of each core, per tick"),
    "link_packets": _m("packets", "packets over each mesh link"),
    "link_busy_ns": _m("ns", "busy time of each mesh link"),
    "link_occupancy_ns": _m("ns", "occupancy of each mesh link"),
    "latency_ns": _m("ns", "latency of each packet"),
    "latency_hist": _m("packets", "packets per latency bin (the last bin: all beyond)"),
    "packet_src_core": _m("core", "source core of each packet"),
    "packet_dst_core": _m("core", "destination core of each packet"),
    "packet_gen_ns": _m("ns", "generation time of each packet"),
    "packet_arrival_ns": _m("ns", "arrival time of each packet"),
    "packet_wait_ns": _m("ns", "link wait of each packet"),
    "packet_hops_ew": _m("hops", "east-west hops of each packet"),
    "packet_hops_ns": _m("hops", "north-south hops of each packet"),
    "packet_step": _m("steps", "timestep of each packet"),
    "packet_deliver_tick": _m("ticks", "tick each packet is delivered for"),
    "packet_used_tick": _m("ticks", "tick each packet is used in"),
    "tick_late_packets": _m("packets", "late packets per tick"),
}


def unit(name: str) -> str:
    """The unit of a metric or array name; an unknown name is an error naming it."""
    table = METRICS if name in METRICS else ARRAYS
    if name not in table:
        raise TargetError(f"timing metric {name!r} is not in the metric vocabulary "
                          "(neurocosim.hw.metrics, docs/metrics.md)")
    return table[name].unit


def timing_report(target: str, metrics: dict, arrays: "dict | None" = None) -> TimingReport:
    """A TimingReport whose every name is in the vocabulary (an unknown one names the
    target and the metric); scalars become floats, arrays numpy arrays."""
    arrays = arrays or {}
    for name in list(metrics) + list(arrays):
        table = METRICS if name in metrics else ARRAYS
        if name not in table:
            kind = "metric" if table is METRICS else "array"
            raise TargetError(f"target {target!r} reports timing {kind} {name!r}, which is "
                              "not in the metric vocabulary (neurocosim.hw.metrics)")
    return TimingReport(metrics={k: float(v) for k, v in metrics.items()},
                        arrays={k: np.asarray(v) for k, v in arrays.items()})


def markdown() -> str:
    """docs/metrics.md: the vocabulary as Markdown (the file is this function's output,
    and a test keeps them equal)."""
    lines = ["# Timing metrics: one vocabulary", "",
             "Every target names the entries of its `TimingReport` from this table "
             "(`neurocosim.hw.metrics`), so `compare` lines targets up by name and unit. A "
             "runner that reports a name not listed here is refused. Times are ns (hardware "
             "time), energy pJ, counts are plain numbers.", "",
             "Every target with timing reports " + ", ".join(f"`{k}`" for k in COMMON) + ".",
             "", "| metric | unit | what it is |", "|---|---|---|"]
    lines += [f"| `{k}` | {m.unit} | {m.description} |" for k, m in METRICS.items()]
    lines += ["", "| array | unit | what it holds |", "|---|---|---|"]
    lines += [f"| `{k}` | {m.unit} | {m.description} |" for k, m in ARRAYS.items()]
    return "\n".join(lines) + "\n"
