"""Hierarchical routing timing of the DynapSE-style chip: latency, ISI distortion,
disorder and energy of every spike event.

Model (times in ns; costs are the spec's ASSUMED fields): a neuron spike of step k,
sub-step j is generated at (k dt + (j + 1) h); it becomes one event per destination core
its SRAM reaches. Each core's encoder emits one event per `encode_latency_ns`, first come
first served (ties: lower neuron first), so bursts queue; an event then takes R1 (the
core broadcast, `core_latency_ns`), plus R2 (`chip_hop_latency_ns`) to another core of the
chip, plus R3 (`board_hop_latency_ns`) per chip router crossed. Energy: a spike
(`spike_energy_pj`), a broadcast per event, an R2 hop to another core, R3 hops per chip
crossed, and a synaptic operation per CAM match (source spikes included). Latency, ISI
distortion and disorder per receiving core come from `emulator.interconnect.spike_metrics`.
"""

from __future__ import annotations

import numpy as np

from ...hw import metrics
from ...hw.jit import njit
from ...hw.layouts import dynapse as L
from ...hw.result import TimingReport
from ...hw.targets.dynapse import DynapseSpec
from ..interconnect import spike_metrics


@njit
def encoder_queue(core, t_gen, service):
    """Leave times of events served one per `service` ns per core, in the given order
    (sorted by core, then generation time)."""
    out = np.empty(len(t_gen))
    free = -np.inf
    for i in range(len(t_gen)):
        if i == 0 or core[i] != core[i - 1]:
            free = -np.inf
        start = t_gen[i] if t_gen[i] > free else free
        free = start + service
        out[i] = free
    return out


def packets(spec: DynapseSpec, nrn, step, sub, cnt, neuron_core, routing):
    """One event per spike and destination core: (source core, destination core, t_gen)."""
    ptr, dest = routing[L.DEST_PTR], routing[L.DEST_CORE]
    n_spk = np.repeat(nrn, cnt)
    h_ns = spec.timestep * 1e6 / spec.substeps
    t_spk = np.repeat(step * spec.timestep * 1e6 + (sub + 1) * h_ns, cnt)
    fan = ptr[n_spk + 1] - ptr[n_spk]
    first = np.repeat(ptr[n_spk], fan)
    within = np.arange(fan.sum()) - np.repeat(np.cumsum(fan) - fan, fan)
    src_core = np.repeat(neuron_core[n_spk], fan)
    return src_core, dest[first + within], np.repeat(t_spk, fan), n_spk.size


def routing_report(spec: DynapseSpec, nrn, step, sub, cnt, neuron_core, routing,
                   steps: int, synaptic_events: int) -> TimingReport:
    """The run's TimingReport (metric names from hw.metrics)."""
    src, dst, t_gen, n_spikes = packets(spec, nrn, step, sub, cnt, neuron_core, routing)
    order = np.lexsort((t_gen, src))
    leave = np.empty(len(t_gen))
    leave[order] = encoder_queue(src[order], t_gen[order], spec.encode_latency_ns)
    chip_s, chip_d = src // spec.cores_per_chip, dst // spec.cores_per_chip
    other_core = (src != dst)
    chips_crossed = np.abs(chip_s - chip_d)
    arrival = (leave + spec.core_latency_ns + other_core * spec.chip_hop_latency_ns
               + chips_crossed * spec.board_hop_latency_ns)
    m, arrays = spike_metrics(dst, t_gen, arrival, spec.n_cores)
    e_spk = n_spikes * spec.spike_energy_pj
    e_route = (len(dst) * spec.broadcast_energy_pj + other_core.sum() * spec.chip_hop_energy_pj
               + chips_crossed.sum() * spec.board_hop_energy_pj)
    e_syn = synaptic_events * spec.synop_energy_pj
    m.update({"steps": steps, "spikes_total": n_spikes, "synaptic_events": synaptic_events,
              "chip_time_ns": steps * spec.timestep * 1e6,
              "hops_total": float(other_core.sum() + chips_crossed.sum()),
              "energy_spike_out_pJ": e_spk, "energy_mesh_pJ": float(e_route),
              "energy_synop_pJ": e_syn, "energy_total_pJ": float(e_spk + e_route + e_syn)})
    arrays.update({"packet_src_core": src, "packet_dst_core": dst, "packet_gen_ns": t_gen,
                   "packet_arrival_ns": arrival, "latency_ns": arrival - t_gen})
    return metrics.timing_report(spec.name, m, arrays)
