"""Timing of a Loihi-style run: what each barrier-synchronised timestep costs on the mesh.

Computed from each step's spikes and the image's placement, on a second thread while the
dynamics run the next steps (`TimingStream`: kernels.run_steps publishes every step as it
ends): the timing never feeds back into the dynamics of a barrier-synchronised chip. A
block of steps is timed on its own clock (`time_steps`) and the blocks are merged into the
run in step order, so both threads can time a backlog; `time_chunk` and `merge` do the
same for a chunk of steps handed over whole (the GPU engine's). Model of one timestep
(times in ns from the step's start):

1. every core sweeps its compartments in slot order, `neuron_latency` each; a neuron in
   slot j is done at (j + 1) * neuron_latency;
2. each spike becomes one packet per destination core (the axon table); a core sends
   its packets one after another, `spike_out_latency` each, a packet leaving when both its
   neuron is done and the previous packet has left;
3. packets travel their XY route hop by hop (whichever packet reaches a link first takes
   it); a directed link carries one packet at a time for its hop latency (E/W or N/S), so
   packets queue on busy links. Computed by emulator.interconnect.sweep_route, which
   serves the links in the XY channel order and gives the event-driven order and times;
4. the destination core performs the packet's synaptic ops (`synop_latency` each) one
   packet after another, in arrival order;
5. the step ends when the slowest core has finished its sweep, its sends and its
   synaptic ops, plus the barrier: barrier_min + (barrier_max - barrier_min) x (span of
   the used routers / span of the whole mesh), spans being Manhattan diameters.

Metrics (REFERENCE.md, interconnect family): per packet latency = arrival at the
destination router - the neuron's done time (so it includes waiting to be sent); per
receiving core, packets in arrival order with times on the chip's own clock (steps laid
end to end): ISI distortion |(recv[i] - recv[i-1]) - (gen[i] - gen[i-1])| and disorder
(gen[i] < gen[i-1]); energy by event category (pJ); packets per directed link.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...hw.jit import SPINS, atomic_add, atomic_load, njit, spin_pause, yield_cpu
from ...hw.layouts.loihi import CORE_XY
from ...hw.metrics import timing_report
from ...hw.result import TimingReport
from ..interconnect import route_in_place, router_box, sort_by_keys
from .kernels import PUB_K0, PUB_N0, PUB_STEPS

#: accumulator slots of TimingState.acc
(CLOCK, PACKETS, SYNOPS, HOPS_EW, HOPS_NS, LAT_SUM, LAT_MAX, ISI_SUM, ISI_MAX, ISI_MIN,
 ISI_N, DISORDER) = range(12)
N_ACC = 12
#: latency histogram: bins of this many ns, the last bin holds everything beyond
HIST_BIN_NS = 10.0
HIST_BINS = 1000
#: cost vector layout passed to the kernel
(T_NEURON, T_OUT, T_SYN, T_EW, T_NS, T_BARRIER) = range(6)


@dataclass
class TimingState:
    """The run's timing so far (chunks merged in step order) and the chip it is for."""

    costs: np.ndarray            # (6,) ns: neuron, spike out, synop, hop E/W, hop N/S, barrier
    core_xy: np.ndarray          # (n_cores, 2)
    nx: int
    comps: np.ndarray            # compartments per core
    box: np.ndarray              # (x0, y0, width, height): the routers the cores occupy
    acc: np.ndarray              # N_ACC accumulators
    link_count: np.ndarray       # packets per directed link
    lat_hist: np.ndarray         # latency histogram (HIST_BIN_NS bins)
    core_busy: np.ndarray        # per core: sum over steps of its finishing time (ns)
    last_gen: np.ndarray         # per receiving core: chip time of the last packet's spike
    last_recv: np.ndarray        # ... and of its arrival
    step_ns: list                # per-chunk arrays of step durations


@dataclass
class ChunkTiming:
    """One chunk of steps timed on its own clock (from 0, no packet before it), so chunks
    can be timed in any order; `merge` adds them to the run in step order."""

    acc: np.ndarray
    link_count: np.ndarray
    lat_hist: np.ndarray
    core_busy: np.ndarray
    first_gen: np.ndarray        # per receiving core: its first packet's spike and arrival
    first_recv: np.ndarray
    last_gen: np.ndarray         # ... and its last packet's (NaN: none in this chunk)
    last_recv: np.ndarray
    step_ns: np.ndarray


@dataclass
class Scratch:
    """Working arrays of one thread's timing calls (grown when a step needs more)."""

    f: np.ndarray                # (3, max packets per step + 1): departure, arrival, generation
    i: np.ndarray                # (17, ...): dst, synapses, src x, y, dst x, y,
    #                              arrival order and sort scratch (3), router scratch (8)
    core_f: np.ndarray           # (2, n_cores): send free, receive free
    core_i: np.ndarray           # (2, n_cores + 1): packets per destination core, fill
    groups: np.ndarray           # (2, routers in the box + 1): the router's line groups


def cores_box(core_xy: np.ndarray) -> np.ndarray:
    """(x0, y0, width, height): the routers the cores occupy (interconnect.router_box)."""
    xy = np.asarray(core_xy, np.int64).reshape(-1, 2)
    return router_box(np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]))


def barrier_ns(spec, core_xy: np.ndarray) -> float:
    """Barrier time: from its minimum on one router to its maximum across the full mesh."""
    nx, ny = spec.mesh_shape
    full = max((nx - 1) + (ny - 1), 1)
    box = cores_box(core_xy)
    span = int(box[2] - 1 + box[3] - 1)
    lo, hi = spec.barrier_latency_min_ns, spec.barrier_latency_max_ns
    return lo + (hi - lo) * span / full


def new_state(spec, core_xy: np.ndarray, comps: np.ndarray) -> TimingState:
    """Zeroed timing state for a chip with these cores."""
    core_xy = np.asarray(core_xy, np.int64).reshape(-1, 2)
    nx, ny = spec.mesh_shape
    n_cores = len(comps)
    costs = np.array([spec.neuron_latency_ns, spec.spike_out_latency_ns,
                      spec.synop_latency_ns, spec.hop_ew_latency_ns, spec.hop_ns_latency_ns,
                      barrier_ns(spec, core_xy)])
    return TimingState(costs=costs, core_xy=core_xy, nx=int(nx),
                       comps=np.asarray(comps, np.int64), box=cores_box(core_xy),
                       acc=_zero_acc(),
                       link_count=np.zeros(nx * ny * 4, np.int64),
                       lat_hist=np.zeros(HIST_BINS, np.int64),
                       core_busy=np.zeros(n_cores), last_gen=np.full(n_cores, np.nan),
                       last_recv=np.full(n_cores, np.nan), step_ns=[])


def _zero_acc() -> np.ndarray:
    acc = np.zeros(N_ACC)
    acc[ISI_MIN] = np.inf
    return acc


def new_scratch(state: TimingState, max_packets: int = 4096) -> Scratch:
    """Working arrays for one thread timing chunks of this state's chip."""
    m = max(int(max_packets), 1) + 1
    n_cores = len(state.comps)
    return Scratch(f=np.zeros((3, m)), i=np.zeros((17, m), np.int64),
                   core_f=np.zeros((2, n_cores)), core_i=np.zeros((2, n_cores + 1), np.int64),
                   groups=np.zeros((2, int(state.box[2] * state.box[3]) + 1), np.int64))


def time_chunk(state: TimingState, ids: np.ndarray, counts: np.ndarray, engine,
               scratch: Scratch) -> ChunkTiming:
    """Time the steps whose spikes are ids (step after step, counts[j] of step j) on the
    chunk's own clock; reads `state` only, so any thread may run it (one scratch each).
    Releases the GIL (runs beside the dynamics)."""
    n_cores = len(state.comps)
    part = ChunkTiming(acc=_zero_acc(), link_count=np.zeros_like(state.link_count),
                       lat_hist=np.zeros_like(state.lat_hist), core_busy=np.zeros(n_cores),
                       first_gen=np.full(n_cores, np.nan), first_recv=np.full(n_cores, np.nan),
                       last_gen=np.full(n_cores, np.nan), last_recv=np.full(n_cores, np.nan),
                       step_ns=np.zeros(len(counts)))
    scratch.f, scratch.i = time_steps(
        ids, counts, engine.axon_ptr, engine.axon_dst, engine.axon_synapses, engine.core_of,
        engine.done_ns, state.costs, state.core_xy, state.nx, state.comps, part.acc,
        part.link_count, part.lat_hist, part.core_busy, part.first_gen, part.first_recv,
        part.last_gen, part.last_recv, scratch.f, scratch.i, scratch.core_f, scratch.core_i,
        scratch.groups, state.box, HIST_BIN_NS, part.step_ns)
    return part


#: words of a TimingStream's sync array besides the dynamics' (kernels.PUB_*): the next
#: block to claim, and the dynamics' end (each on a cache line of its own)
S_CLAIM, S_CLOSED, S_WORDS = 0, 16, 24
#: steps per block of a stream: what a thread claims and times on its own clock
BLOCK = 8


@dataclass
class TimingStream:
    """Steps timed while the dynamics run them. The dynamics append every spike to all_id,
    count each step's in all_cnt and publish the step (sync[PUB_STEPS]); the timing thread
    claims blocks of BLOCK steps in order (sync[S_CLAIM]) and times each, once published,
    on its own clock into its rows (acc, ends: first and last packet per receiving core);
    after the dynamics (`close_stream`) this thread claims the blocks left as well, so both
    cores time the backlog. `merge_stream` adds the blocks to the run in step order."""

    k0: int                      # the run's step of all_cnt[0]
    steps: int                   # steps at most
    sync: np.ndarray
    all_id: np.ndarray
    all_cnt: np.ndarray
    acc: np.ndarray              # (blocks, N_ACC)
    ends: np.ndarray             # (4, blocks, n_cores): first gen, first recv, last gen, last recv
    step_ns: np.ndarray          # (steps,)
    link_count: np.ndarray       # (2, links): per thread, the timing thread's first
    lat_hist: np.ndarray         # (2, HIST_BINS)
    core_busy: np.ndarray        # (2, n_cores)


def new_stream(state: TimingState, k0: int, steps: int, spikes: int) -> TimingStream:
    """A stream of at most `steps` steps from step k0 holding at most `spikes` spikes."""
    blocks = -(-steps // BLOCK)
    n_cores = len(state.comps)
    acc = np.zeros((blocks, N_ACC))
    acc[:, ISI_MIN] = np.inf
    sync = np.zeros(S_WORDS, np.int64)
    sync[PUB_K0] = k0
    return TimingStream(k0=k0, steps=steps, sync=sync, all_id=np.empty(spikes, np.int64),
                        all_cnt=np.zeros(steps, np.int64), acc=acc,
                        ends=np.full((4, blocks, n_cores), np.nan), step_ns=np.zeros(steps),
                        link_count=np.zeros((2, len(state.link_count)), np.int64),
                        lat_hist=np.zeros((2, HIST_BINS), np.int64),
                        core_busy=np.zeros((2, n_cores)))


def time_stream(stream: TimingStream, state: TimingState, engine, scratch: Scratch,
                thread: int) -> None:
    """Claim and time the stream's blocks until none is left (on the timing thread from the
    stream's start, on the dynamics' thread after `close_stream`). Releases the GIL."""
    _time_blocks(stream.sync, stream.steps, stream.all_id, stream.all_cnt, engine.axon_ptr,
                 engine.axon_dst, engine.axon_synapses, engine.core_of, engine.done_ns,
                 state.costs, state.core_xy, state.nx, state.comps, stream.acc, stream.ends,
                 stream.step_ns, stream.link_count[thread], stream.lat_hist[thread],
                 stream.core_busy[thread], scratch.f, scratch.i, scratch.core_f,
                 scratch.core_i, scratch.groups, state.box, HIST_BIN_NS)


@njit
def close_stream(sync) -> None:
    """The dynamics have published their last step of the stream."""
    atomic_add(sync, S_CLOSED, 1)


@njit
def _published(sync, need):
    """Wait until `need` steps are published or the dynamics closed the stream; returns
    the steps published."""
    spins = 0
    while True:
        pub = atomic_load(sync, PUB_STEPS)
        if pub >= need:
            return pub
        if atomic_load(sync, S_CLOSED) != 0:
            return atomic_load(sync, PUB_STEPS)
        if spins < SPINS:
            spins += 1
            spin_pause()
        else:
            yield_cpu()


@njit
def _time_blocks(sync, steps, all_id, all_cnt, axon_ptr, axon_dst, axon_syn, core_of,
                 done_ns, costs, core_xy, nx, comps, acc, ends, step_ns, link_count,
                 lat_hist, core_busy, scratch_f, scratch_i, core_f, core_i, groups, box,
                 hist_bin):
    """`time_steps` over the blocks this thread claims, in increasing order (so the spikes
    before a block are summed once): each block on its own clock into its rows."""
    at_step = 0          # all_cnt summed up to this step ...
    at_id = 0            # ... into this offset of all_id
    while True:
        b = atomic_add(sync, S_CLAIM, 1)
        j0 = b * BLOCK
        if j0 >= steps:
            return
        j1 = min(_published(sync, min(j0 + BLOCK, steps)), j0 + BLOCK)
        if j1 <= j0:     # the dynamics stopped before this block
            return
        for j in range(at_step, j0):
            at_id += all_cnt[j]
        m = 0
        for j in range(j0, j1):
            m += all_cnt[j]
        scratch_f, scratch_i = time_steps(
            all_id[at_id:at_id + m], all_cnt[j0:j1], axon_ptr, axon_dst, axon_syn, core_of,
            done_ns, costs, core_xy, nx, comps, acc[b], link_count, lat_hist, core_busy,
            ends[0, b], ends[1, b], ends[2, b], ends[3, b], scratch_f, scratch_i, core_f,
            core_i, groups, box, hist_bin, step_ns[j0:j1])
        at_step, at_id = j1, at_id + m


def merge_stream(state: TimingState, stream: TimingStream, steps: int) -> None:
    """Add the stream's first `steps` steps (timed, both threads done) to the run."""
    blocks = -(-steps // BLOCK)
    _merge_blocks(state.acc, state.last_gen, state.last_recv, stream.acc[:blocks],
                  stream.ends[:, :blocks])
    state.link_count += stream.link_count.sum(axis=0)
    state.lat_hist += stream.lat_hist.sum(axis=0)
    state.core_busy += stream.core_busy.sum(axis=0)
    state.step_ns.append(stream.step_ns[:steps].copy())


@njit
def _merge_blocks(acc, last_gen, last_recv, b_acc, ends):
    for b in range(len(b_acc)):
        _merge_acc(acc, b_acc[b], last_gen, last_recv, ends[0, b], ends[1, b], ends[2, b],
                   ends[3, b])

def merge(state: TimingState, part: ChunkTiming) -> None:
    """Append a chunk, the next in step order, to the run: its clock starts where the run's
    ends; each receiving core's first packet pairs with its last one before the chunk (ISI
    distortion, disorder)."""
    _merge_acc(state.acc, part.acc, state.last_gen, state.last_recv, part.first_gen,
               part.first_recv, part.last_gen, part.last_recv)
    state.link_count += part.link_count
    state.lat_hist += part.lat_hist
    state.core_busy += part.core_busy
    state.step_ns.append(part.step_ns)


@njit
def _pair(isi, g, r, lg, lr):
    """One receiving core's packet (spike at g, arrival at r) after its previous one (lg,
    lr), added to isi = (sum, n, max, min, disorder): ISI distortion |(r - lr) - (g - lg)|,
    disorder when its spike is older than the previous packet's."""
    s, n, mx, mn, dis = isi
    delta = abs((r - lr) - (g - lg))
    return s + delta, n + 1.0, max(mx, delta), min(mn, delta), dis + (1.0 if g < lg else 0.0)


@njit
def _merge_acc(acc, pa, last_gen, last_recv, first_gen, first_recv, p_last_gen, p_last_recv):
    clock = acc[CLOCK]
    isi = (acc[ISI_SUM] + pa[ISI_SUM], acc[ISI_N] + pa[ISI_N], max(acc[ISI_MAX], pa[ISI_MAX]),
           min(acc[ISI_MIN], pa[ISI_MIN]), acc[DISORDER] + pa[DISORDER])
    for c in range(len(last_gen)):
        if not np.isnan(last_gen[c]) and not np.isnan(first_gen[c]):
            isi = _pair(isi, first_gen[c] + clock, first_recv[c] + clock, last_gen[c],
                        last_recv[c])
        if not np.isnan(p_last_gen[c]):
            last_gen[c], last_recv[c] = p_last_gen[c] + clock, p_last_recv[c] + clock
    acc[ISI_SUM], acc[ISI_N], acc[ISI_MAX], acc[ISI_MIN], acc[DISORDER] = isi
    for k in (CLOCK, PACKETS, SYNOPS, HOPS_EW, HOPS_NS, LAT_SUM):
        acc[k] += pa[k]
    acc[LAT_MAX] = max(acc[LAT_MAX], pa[LAT_MAX])


@njit
def time_steps(ids, counts, axon_ptr, axon_dst, axon_syn, core_of, done_ns, costs, core_xy,
               nx, comps, acc, link_count, lat_hist, core_busy, first_gen, first_recv,
               last_gen, last_recv, scratch_f, scratch_i, core_f, core_i, groups, box,
               hist_bin, step_ns):
    """`step_timing` for each step of a chunk; grows the packet scratch when a step needs
    more and returns it."""
    a = 0
    for j in range(len(counts)):
        b = a + counts[j]
        m = 0
        for q in range(a, b):
            m += axon_ptr[ids[q] + 1] - axon_ptr[ids[q]]
        if m + 1 > scratch_f.shape[1]:
            scratch_f = np.zeros((scratch_f.shape[0], 2 * m + 1))
            scratch_i = np.zeros((scratch_i.shape[0], 2 * m + 1), np.int64)
        step_ns[j] = step_timing(b - a, ids[a:b], axon_ptr, axon_dst, axon_syn, core_of,
                                 done_ns, costs, core_xy, nx, comps, acc, link_count,
                                 lat_hist, core_busy, first_gen, first_recv, last_gen,
                                 last_recv, scratch_f, scratch_i, core_f, core_i, groups,
                                 box, hist_bin)
        a = b
    return scratch_f, scratch_i


@njit
def step_timing(n_sp, spiked, axon_ptr, axon_dst, axon_syn, core_of, done_ns, costs, core_xy,
                nx, comps, acc, link_count, lat_hist, core_busy, first_gen, first_recv,
                last_gen, last_recv, scratch_f, scratch_i, core_f, core_i, groups, box,
                hist_bin):
    """Time one step whose spikes are spiked[:n_sp] (global ids in increasing order, so
    each core's neurons come in slot order). Returns the step's duration in ns."""
    send_free, recv_free = core_f[0], core_f[1]
    send_free[:] = 0.0
    recv_free[:] = 0.0
    core_i[0, :] = 0
    # 1-2: packets leave their cores one after another
    m = _send(n_sp, spiked, axon_ptr, axon_dst, axon_syn, core_of, done_ns, costs[T_OUT],
              core_xy, scratch_f, scratch_i, send_free, core_i[0])
    # 3: XY routes over idle links, first come first served (interconnect.sweep_route)
    arr, px, py, qx, qy = scratch_f[1], scratch_i[2], scratch_i[3], scratch_i[4], scratch_i[5]
    arr[:m] = scratch_f[0, :m]
    h_ew, h_ns = route_in_place(arr[:m], px[:m], py[:m], qx[:m], qy[:m], nx, box,
                                costs[T_EW], costs[T_NS], costs[T_EW], costs[T_NS],
                                link_count, scratch_i[9:17], groups)
    acc[HOPS_EW] += h_ew
    acc[HOPS_NS] += h_ns
    # 4: each destination core's packets in arrival order
    _receive(m, len(comps), costs[T_SYN], acc, lat_hist, first_gen, first_recv, last_gen,
             last_recv, scratch_f, scratch_i, core_i, recv_free, hist_bin)
    acc[PACKETS] += m
    # 5: the slowest core, then the barrier
    end = 0.0
    for c in range(len(comps)):
        e = max(comps[c] * costs[T_NEURON], send_free[c], recv_free[c])
        core_busy[c] += e
        end = max(end, e)
    acc[CLOCK] = acc[CLOCK] + end + costs[T_BARRIER]
    return end + costs[T_BARRIER]


@njit
def _send(n_sp, spiked, axon_ptr, axon_dst, axon_syn, core_of, done_ns, t_out, core_xy,
          scratch_f, scratch_i, send_free, per_dst):
    """One packet per (spike, destination core), leaving its core back to back, each when
    its neuron is done: departure, generation, destination, synapses and both routers'
    positions into the scratch rows; per_dst[d + 1] counts each destination's packets.
    Returns the number of packets."""
    dep, gen = scratch_f[0], scratch_f[2]
    dst, nsyn = scratch_i[0], scratch_i[1]
    px, py, qx, qy = scratch_i[2], scratch_i[3], scratch_i[4], scratch_i[5]
    m = 0
    for q in range(n_sp):
        i = spiked[q]
        c = core_of[i]
        done = done_ns[i]
        cx, cy = core_xy[c, 0], core_xy[c, 1]
        free = max(done, send_free[c])      # a neuron's packets leave back to back
        for a in range(axon_ptr[i], axon_ptr[i + 1]):
            free += t_out
            dep[m] = free
            gen[m] = done
            d = axon_dst[a]
            dst[m] = d
            per_dst[d + 1] += 1
            nsyn[m] = axon_syn[a]
            px[m] = cx
            py[m] = cy
            qx[m] = core_xy[d, 0]
            qy[m] = core_xy[d, 1]
            m += 1
        if axon_ptr[i + 1] > axon_ptr[i]:
            send_free[c] = free
    return m


@njit
def _receive(m, n_cores, t_syn, acc, lat_hist, first_gen, first_recv, last_gen, last_recv,
             scratch_f, scratch_i, core_i, recv_free, hist_bin):
    """Per destination core, its packets in arrival order (equal arrivals: earlier
    generation, then index): synaptic ops one after another; latency, ISI distortion and
    disorder. A source's packets to one destination keep their order on its XY path, so
    a core's list is a few ascending runs (sort_by_keys)."""
    arr, gen = scratch_f[1], scratch_f[2]
    dst, nsyn = scratch_i[0], scratch_i[1]
    order, tmp, runs = scratch_i[6], scratch_i[7], scratch_i[8]
    ptr, fill = core_i[0], core_i[1]
    clock = acc[CLOCK]
    for c in range(n_cores):
        ptr[c + 1] += ptr[c]
    fill[:] = ptr
    for p in range(m):
        d = dst[p]
        order[fill[d]] = p
        fill[d] += 1
    lat_sum, lat_max, synops = acc[LAT_SUM], acc[LAT_MAX], acc[SYNOPS]
    isi = (acc[ISI_SUM], acc[ISI_N], acc[ISI_MAX], acc[ISI_MIN], acc[DISORDER])
    last_bin = len(lat_hist) - 1
    inv_bin = 1.0 / hist_bin
    for c in range(n_cores):     # accumulators in locals: the stores below cannot alias them
        lo, hi = ptr[c], ptr[c + 1]
        if lo == hi:
            continue
        sort_by_keys(order[lo:hi], arr, gen, tmp[lo:hi], runs[lo:hi + 1])
        free = 0.0
        lg, lr = last_gen[c], last_recv[c]
        first = np.isnan(lg)
        for q in range(lo, hi):
            p = order[q]
            free = max(free, arr[p]) + nsyn[p] * t_syn
            lat = arr[p] - gen[p]
            lat_sum += lat
            lat_max = max(lat_max, lat)
            lat_hist[min(int(lat * inv_bin), last_bin)] += 1
            g_abs, r_abs = clock + gen[p], clock + arr[p]
            if not first:
                isi = _pair(isi, g_abs, r_abs, lg, lr)
            else:                # the first packet this core receives (merge pairs it)
                first_gen[c], first_recv[c] = g_abs, r_abs
            first = False
            lg, lr = g_abs, r_abs
            synops += nsyn[p]
        last_gen[c], last_recv[c] = lg, lr
        recv_free[c] = free
    acc[LAT_SUM], acc[LAT_MAX], acc[SYNOPS] = lat_sum, lat_max, synops
    acc[ISI_SUM], acc[ISI_N], acc[ISI_MAX], acc[ISI_MIN], acc[DISORDER] = isi


def costs_for_interconnect(spec, core_xy: np.ndarray):
    """The same model as `step_timing`, as emulator.interconnect's MeshCosts."""
    from ..interconnect import MeshCosts
    return MeshCosts(hop_ew_latency_ns=spec.hop_ew_latency_ns,
                     hop_ns_latency_ns=spec.hop_ns_latency_ns,
                     hop_ew_energy_pj=spec.hop_ew_energy_pj,
                     hop_ns_energy_pj=spec.hop_ns_energy_pj,
                     inject_latency_ns=spec.spike_out_latency_ns,
                     inject_energy_pj=spec.spike_out_energy_pj, serial_inject=True,
                     barrier_ns=barrier_ns(spec, core_xy))


def packets_of(engine, ids: np.ndarray, steps: np.ndarray):
    """The packet trace of recorded spikes, in the order the chip sends them: per step,
    spikes by global id (so each core's by slot), then the neuron's destination cores.
    Returns (step, src core, dst core, generation ns within the step, synapses)."""
    order = np.lexsort((ids, steps))
    ids, steps = ids[order], steps[order]
    counts = np.diff(engine.axon_ptr)[ids]
    rep = np.repeat(np.arange(len(ids)), counts)
    within = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
    entry = np.repeat(engine.axon_ptr[ids], counts) + within
    neuron = ids[rep]
    gen = engine.done_ns[neuron]
    return (steps[rep], engine.core_of[neuron], engine.axon_dst[entry], gen,
            engine.axon_synapses[entry])


def interconnect_report(engine, ids: np.ndarray, steps: np.ndarray) -> TimingReport:
    """The run's timing through emulator.interconnect.barrier_timing (full per-packet
    arrays), plus the Loihi categories the mesh model does not know (neuron, synop)."""
    from ..interconnect import barrier_timing
    spec = engine.spec
    core_xy = np.asarray(engine.image.routing[CORE_XY], np.int64).reshape(-1, 2)
    n_steps = engine.steps
    step, src, dst, gen, nsyn = packets_of(engine, ids, steps)
    busy = np.broadcast_to(engine.comps * spec.neuron_latency_ns,
                           (n_steps, len(engine.comps)))
    rep = barrier_timing(step, src, dst, gen, core_xy, spec.mesh_shape,
                         costs_for_interconnect(spec, core_xy), n_steps, busy,
                         nsyn * spec.synop_latency_ns)
    m = dict(rep.metrics)
    n_updates = float(engine.comps.sum()) * n_steps
    m["energy_neuron_pJ"] = n_updates * spec.neuron_energy_pj
    m["energy_synop_pJ"] = float(nsyn.sum()) * spec.synop_energy_pj
    m["energy_spike_out_pJ"] = m["energy_inject_pJ"]
    m["synaptic_events"] = float(nsyn.sum())
    m["energy_total_pJ"] = m["energy_neuron_pJ"] + m["energy_synop_pJ"] + m["energy_mesh_pJ"]
    m["realtime_load_max"] = m["step_max_ns"] / (spec.timestep * 1e6)
    return timing_report(spec.name, m, rep.arrays)


def report(state: TimingState, spec, n_steps: int) -> TimingReport:
    """TimingReport of everything timed so far (names and units of hw.metrics)."""
    acc = state.acc
    step_ns = np.concatenate(state.step_ns) if state.step_ns else np.zeros(0)
    packets = acc[PACKETS]
    n_updates = float(state.comps.sum()) * n_steps
    energy = {
        "energy_neuron_pJ": n_updates * spec.neuron_energy_pj,
        "energy_synop_pJ": acc[SYNOPS] * spec.synop_energy_pj,
        "energy_spike_out_pJ": packets * spec.spike_out_energy_pj,
        "energy_mesh_ew_pJ": acc[HOPS_EW] * spec.hop_ew_energy_pj,
        "energy_mesh_ns_pJ": acc[HOPS_NS] * spec.hop_ns_energy_pj,
    }
    step_max = float(step_ns.max()) if n_steps else 0.0
    metrics = {
        "steps": float(n_steps),
        "chip_time_ns": float(step_ns.sum()),
        "step_mean_ns": float(step_ns.mean()) if n_steps else 0.0,
        "step_max_ns": step_max,
        "realtime_load_max": step_max / (spec.timestep * 1e6),
        "barrier_ns": float(state.costs[T_BARRIER]),
        "packets": float(packets),
        "synaptic_events": float(acc[SYNOPS]),
        "hops_total": float(acc[HOPS_EW] + acc[HOPS_NS]),
        "hops_ew": float(acc[HOPS_EW]),
        "hops_ns": float(acc[HOPS_NS]),
        "hops_mean": float((acc[HOPS_EW] + acc[HOPS_NS]) / packets) if packets else 0.0,
        "latency_mean_ns": float(acc[LAT_SUM] / packets) if packets else 0.0,
        "latency_max_ns": float(acc[LAT_MAX]),
        "latency_hist_bin_ns": HIST_BIN_NS,
        "isi_distortion_mean_ns": float(acc[ISI_SUM] / acc[ISI_N]) if acc[ISI_N] else 0.0,
        "isi_distortion_max_ns": float(acc[ISI_MAX]),
        "isi_distortion_min_ns": float(acc[ISI_MIN]) if acc[ISI_N] else 0.0,
        "disorder": float(acc[DISORDER]),
        **energy,
        "energy_total_pJ": float(sum(energy.values())),
    }
    arrays = {"step_ns": step_ns, "link_packets": state.link_count.copy(),
              "core_busy_ns": state.core_busy.copy(), "latency_hist": state.lat_hist.copy()}
    return timing_report(spec.name, metrics, arrays)
