"""Timing of a Loihi-style run: what each barrier-synchronised timestep costs on the mesh.

Model of one timestep k (times in ns from the step's start), from the spikes the engine
recorded and the image's placement:

1. every core sweeps its compartments in slot order, `neuron_latency` each; a neuron in
   slot j is done at (j + 1) * neuron_latency;
2. each spike becomes one packet per destination core (the axon table); a core sends
   its packets one after another, `spike_out_latency` each, a packet leaving when both its
   neuron is done and the previous packet has left;
3. packets travel their XY route hop by hop (event-driven: whichever packet reaches a
   link first takes it); every directed link carries one packet at a time for its hop
   latency (E/W or N/S), so packets queue on busy links;
4. the destination core performs the packet's synaptic ops (`synop_latency` each) one
   packet after another, in arrival order;
5. the step ends when the slowest core has finished its sweep, its sends and its
   synaptic ops, plus the barrier: barrier_min + (barrier_max - barrier_min) x (span of
   the used routers / span of the whole mesh), the span being the Manhattan diameter.

Metrics (REFERENCE.md, interconnect family): per packet latency = arrival at the
destination router - the neuron's done time; per receiving core, packets in arrival order:
ISI distortion |(recv[i] - recv[i-1]) - (gen[i] - gen[i-1])| and disorder (gen[i] <
gen[i-1]), with times on the chip's own clock (steps laid end to end); energy by event
category (pJ); packets per directed link.
"""

from __future__ import annotations

import heapq

import numpy as np

from ...hw.result import TimingReport
from ..jit import njit


@njit
def _steps(step_ptr, src_core, src_slot, dst_core, nsyn, core_xy, nx, n_links, comps,
           t_neuron, t_out, t_syn, t_ew, t_ns, barrier,
           step_ns, pk_gen, pk_arr, pk_hops_ew, pk_hops_ns, link_count, core_busy):
    """Per step: departure, XY route with link queues, arrival, synaptic ops. Writes the
    step durations and, per packet (in input order), generation / arrival time and hops."""
    n_cores = len(comps)
    link_free = np.zeros(n_links)
    pos_x = np.zeros(len(src_core), np.int64)
    pos_y = np.zeros(len(src_core), np.int64)
    send_free = np.zeros(n_cores)
    recv_free = np.zeros(n_cores)
    for k in range(len(step_ptr) - 1):
        a, b = step_ptr[k], step_ptr[k + 1]
        link_free[:] = 0.0
        send_free[:] = 0.0
        recv_free[:] = 0.0
        dep = np.empty(b - a)
        for p in range(a, b):       # packets come sorted by (source core, slot)
            c = src_core[p]
            gen = (src_slot[p] + 1) * t_neuron
            pk_gen[p] = gen
            start = max(gen, send_free[c])
            send_free[c] = start + t_out
            dep[p - a] = start + t_out
        # event-driven hops: the packet that reaches a link first takes it first
        heap = [(0.0, np.int64(0))]
        heap.pop()
        for p in range(a, b):
            heapq.heappush(heap, (dep[p - a], np.int64(p)))
            pos_x[p] = core_xy[src_core[p], 0]
            pos_y[p] = core_xy[src_core[p], 1]
        while len(heap) > 0:
            t, p = heapq.heappop(heap)
            x, y = pos_x[p], pos_y[p]
            tx, ty = core_xy[dst_core[p], 0], core_xy[dst_core[p], 1]
            if x != tx:
                d = 0 if tx > x else 1
                lid = (y * nx + x) * 4 + d
                t = max(t, link_free[lid]) + t_ew
                pos_x[p] = x + (1 if d == 0 else -1)
                pk_hops_ew[p] += 1
            elif y != ty:
                d = 2 if ty > y else 3
                lid = (y * nx + x) * 4 + d
                t = max(t, link_free[lid]) + t_ns
                pos_y[p] = y + (1 if d == 2 else -1)
                pk_hops_ns[p] += 1
            else:
                pk_arr[p] = t
                continue
            link_free[lid] = t
            link_count[lid] += 1
            heapq.heappush(heap, (t, p))
        # synaptic ops at the destinations, in arrival order
        order2 = np.argsort(pk_arr[a:b], kind="mergesort")
        for q in range(b - a):
            p = a + order2[q]
            c = dst_core[p]
            recv_free[c] = max(recv_free[c], pk_arr[p]) + nsyn[p] * t_syn
        end = 0.0
        for c in range(n_cores):
            e = max(comps[c] * t_neuron, send_free[c], recv_free[c])
            core_busy[k, c] = e
            if e > end:
                end = e
        step_ns[k] = end + barrier


def packets_of(engine, ids: np.ndarray, steps: np.ndarray):
    """One row per (spike, destination core), sorted by step, source core, slot."""
    counts = np.diff(engine.axon_ptr)[ids]
    rep = np.repeat(np.arange(len(ids)), counts)
    starts = np.repeat(engine.axon_ptr[ids], counts)
    within = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
    entry = starts + within
    neuron = ids[rep]
    step = steps[rep]
    src_core = engine.core_of[neuron]
    src_slot = engine.slot_of[neuron]
    order = np.lexsort((engine.axon_dst[entry], src_slot, src_core, step))
    return (step[order], neuron[order], src_core[order], src_slot[order],
            engine.axon_dst[entry][order], engine.axon_synapses[entry][order])


def barrier_ns(spec, core_xy: np.ndarray) -> float:
    """Barrier time: from its minimum on one router to its maximum across the full mesh."""
    nx, ny = spec.mesh_shape
    full = max((nx - 1) + (ny - 1), 1)
    span = 0
    if len(core_xy):
        span = int(np.ptp(core_xy[:, 0]) + np.ptp(core_xy[:, 1]))
    lo, hi = spec.barrier_latency_min_ns, spec.barrier_latency_max_ns
    return lo + (hi - lo) * span / full


def _per_core_order_metrics(dst, gen_abs, arr_abs):
    """ISI distortion |delta| (array) and disorder count, per receiving core in arrival order."""
    order = np.lexsort((gen_abs, arr_abs, dst))
    d, g, r = dst[order], gen_abs[order], arr_abs[order]
    same = d[1:] == d[:-1]
    delta = np.abs((r[1:] - r[:-1]) - (g[1:] - g[:-1]))[same]
    disorder = int(np.count_nonzero((g[1:] < g[:-1]) & same))
    return delta, disorder


def timing_report(engine, ids: np.ndarray, steps: np.ndarray) -> TimingReport:
    """TimingReport of everything the engine ran (see the module docstring)."""
    spec = engine.spec
    n_steps = engine._k
    core_xy = np.asarray(engine.image.routing["core_xy"], np.int64).reshape(-1, 2)
    nx, ny = spec.mesh_shape
    step, neuron, src_core, src_slot, dst_core, nsyn = packets_of(engine, ids, steps)
    m = len(step)
    step_ptr = np.searchsorted(step, np.arange(n_steps + 1)).astype(np.int64)
    step_ns = np.zeros(n_steps)
    pk_gen, pk_arr = np.zeros(m), np.zeros(m)
    hops_ew, hops_ns = np.zeros(m, np.int64), np.zeros(m, np.int64)
    n_links = nx * ny * 4
    link_count = np.zeros(n_links, np.int64)
    core_busy = np.zeros((n_steps, len(engine.comps)))
    barrier = barrier_ns(spec, core_xy)
    _steps(step_ptr, src_core, src_slot, dst_core, nsyn, core_xy, nx, n_links,
           engine.comps.astype(np.int64), spec.neuron_latency_ns, spec.spike_out_latency_ns,
           spec.synop_latency_ns, spec.hop_ew_latency_ns, spec.hop_ns_latency_ns, barrier,
           step_ns, pk_gen, pk_arr, hops_ew, hops_ns, link_count, core_busy)
    step_start = np.concatenate([[0.0], np.cumsum(step_ns)])
    latency = pk_arr - pk_gen
    delta, disorder = _per_core_order_metrics(dst_core, step_start[step] + pk_gen,
                                              step_start[step] + pk_arr)
    n_spikes_out = m
    n_synops = int(nsyn.sum())
    n_updates = int(engine.comps.sum()) * n_steps
    energy = {
        "energy_neuron_pJ": n_updates * spec.neuron_energy_pj,
        "energy_synop_pJ": n_synops * spec.synop_energy_pj,
        "energy_spike_out_pJ": n_spikes_out * spec.spike_out_energy_pj,
        "energy_mesh_ew_pJ": float(hops_ew.sum()) * spec.hop_ew_energy_pj,
        "energy_mesh_ns_pJ": float(hops_ns.sum()) * spec.hop_ns_energy_pj,
    }
    metrics = {
        "steps": float(n_steps),
        "chip_time_ns": float(step_ns.sum()),
        "step_mean_ns": float(step_ns.mean()) if n_steps else 0.0,
        "step_max_ns": float(step_ns.max()) if n_steps else 0.0,
        "step_p99_ns": float(np.percentile(step_ns, 99)) if n_steps else 0.0,
        "barrier_ns": barrier,
        "speedup_vs_realtime": (n_steps * spec.timestep * 1e6 / float(step_ns.sum()))
        if n_steps and step_ns.sum() > 0 else 0.0,
        "packets": float(m),
        "synaptic_ops": float(n_synops),
        "latency_mean_ns": float(latency.mean()) if m else 0.0,
        "latency_max_ns": float(latency.max()) if m else 0.0,
        "hops_mean": float((hops_ew + hops_ns).mean()) if m else 0.0,
        "isi_distortion_mean_ns": float(delta.mean()) if delta.size else 0.0,
        "isi_distortion_max_ns": float(delta.max()) if delta.size else 0.0,
        "isi_distortion_min_ns": float(delta.min()) if delta.size else 0.0,
        "disorder": float(disorder),
        **energy,
        "energy_total_pJ": float(sum(energy.values())),
    }
    arrays = {"step_ns": step_ns, "link_packets": link_count, "core_busy_ns": core_busy,
              "latency_ns": latency, "packet_step": step, "packet_src_core": src_core,
              "packet_dst_core": dst_core, "packet_hops_ew": hops_ew,
              "packet_hops_ns": hops_ns}
    return TimingReport(metrics=metrics, arrays=arrays)
