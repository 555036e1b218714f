"""Both cores: the reference engine and the loihi emulator give the same result bit for bit
on one thread (the serial kernels) and on two (the parallel kernels, forced on small
networks by lowering their size threshold): spikes, recorded traces, weights, state and
timing metrics."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.emulator.loihi import engine as loihi_engine
from neurocosim.hw.errors import TargetError
from neurocosim.hw.jit import KernelChoice, barrier, njit, run_workers
from neurocosim.hw import ir
from neurocosim.sim.reference import engine as ref_engine
from neurocosim.sim.reference import kernels as ref_kernels
from neurocosim.sim.reference.build import build_synapses

sys.path.insert(0, str(Path(__file__).parent))
from test_loihi_emulator import small_network  # noqa: E402
from test_reference_oracle import random_network  # noqa: E402

#: KernelChoice.pick as written (the fixture below replaces it)
PICK = KernelChoice.pick

pytestmark = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                reason="Numba has one thread here")


@pytest.fixture(scope="module", params=["parallel", "alternate"])
def parallel_always(request):
    """The parallel kernels on networks of any size, in chunks of 32 steps: on every chunk,
    or on every other one (the serial kernel between: `KernelChoice` switches kernels
    from one chunk to the next)."""
    turn = iter(range(1 << 30))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ref_engine, "PARALLEL_MIN_NEURONS", 0)
        mp.setattr(loihi_engine, "PARALLEL_MIN_NEURONS", 0)
        mp.setattr(ref_engine, "_STEPS_PER_CHOICE", 1)
        mp.setattr(loihi_engine, "_STEPS_PER_CHOICE", 1)
        if request.param == "parallel":
            mp.setattr(KernelChoice, "pick", lambda self: (self.parallel, self.steps))
        else:
            mp.setattr(KernelChoice, "pick",
                       lambda self: (self.parallel and next(turn) % 2 == 1, self.steps))
        yield


def assert_identical(a, b) -> None:
    """Two Results equal bit for bit (spikes in their order, traces with NaN, weights)."""
    assert set(a.spikes) == set(b.spikes)
    for pop, sp in a.spikes.items():
        np.testing.assert_array_equal(sp.ids, b.spikes[pop].ids, err_msg=pop)
        np.testing.assert_array_equal(sp.times, b.spikes[pop].times, err_msg=pop)
    for pop, sigs in a.signals.items():
        for var, sig in sigs.items():
            other = b.signals[pop][var]
            np.testing.assert_array_equal(sig.times, other.times)
            np.testing.assert_array_equal(sig.data, other.data, err_msg=f"{pop}.{var}")
    assert set(a.weights) == set(b.weights)
    for name, w in a.weights.items():
        np.testing.assert_array_equal(w, b.weights[name], err_msg=name)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), cut=st.integers(1, 399),
       model=st.sampled_from(["IF_curr_exp", "IF_cond_exp"]),
       rule=st.sampled_from([None, "stdp_additive", "stdp_multiplicative",
                             "tsodyks_markram"]),
       homogeneous=st.booleans())
def test_reference_two_threads_equal_one(parallel_always, seed, cut, model, rule,
                                         homogeneous):
    net = random_network(seed, model, plasticity=rule, currents=True, n=24,
                         homogeneous=homogeneous)
    results = []
    for threads in (1, 2):
        eng = ref_engine.Engine(net, threads=threads)
        assert len(eng._parts.own_lo) == threads       # the kernel this test means to run
        eng.run(cut * 0.1)                               # a split run: in-flight spikes
        eng.run(40.0 - cut * 0.1)                        # cross the kernel calls
        results.append(eng.result())
    assert sum(len(s) for s in results[0].spikes.values()) > 0
    assert_identical(*results)


def _static_network(rng: np.random.Generator) -> ir.Network:
    """Static projections between two populations: rows empty, with one (delay,
    receptor) or many, multapses (one pair, delay and receptor repeated, in one
    projection or two), weights whose sums depend on their order."""
    sizes = rng.integers(1, 40, size=2)
    params = dict(cm=0.25, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0,
                  v_rest=-65.0, v_reset=-70.0, v_thresh=-50.0, i_offset=0.0)
    pops = [ir.Population(f"p{i}", int(s), "IF_curr_exp", params) for i, s in enumerate(sizes)]
    prjs = []
    for k in range(int(rng.integers(1, 5))):
        a, b = rng.integers(0, 2, size=2)
        m = int(rng.integers(0, 300))
        pre = rng.integers(0, max(1, sizes[a] // int(rng.integers(1, 4))), m)  # empty rows
        delays = rng.integers(1, int(rng.choice([2, 3, 40])), m) * 0.1
        prjs.append(ir.Projection(f"j{k}", f"p{a}", f"p{b}", pre, rng.integers(0, sizes[b], m),
                                  rng.uniform(0.1, 1, m) * 10.0 ** rng.integers(-8, 8, m),
                                  delays, rng.choice(["excitatory", "inhibitory"])))
    return ir.Network(pops, prjs, timestep=0.1)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), parts=st.integers(1, 6), step=st.integers(-1, 50))
def test_reference_delivery_in_parts_equals_one_delivery(seed, parts, step):
    """The static delivery of a step's spikes onto a partition of the targets (each part
    taking its synapses of a row from `row_parts`: rows sorted by target) fills the
    delay ring bit for bit as one delivery onto all targets, for cuts anywhere (empty
    parts, a part of one neuron, cuts at 0 and n)."""
    rng = np.random.default_rng(seed)
    syn = build_synapses(_static_network(rng), 0.1)
    n = len(syn.st_ptr) - 1
    spikes = rng.integers(0, n, int(rng.integers(0, 3 * n)))      # repeats included
    cuts = np.sort(np.concatenate([[0, n], rng.integers(0, n + 1, parts - 1)]))
    no_plastic = (np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0),
                  np.zeros(0, np.int64), np.zeros((9, 0)), np.zeros((4, 0)))
    start = rng.uniform(-1, 1, syn.n_slots * 2 * n)
    target = np.arange(len(start)) % n
    seg = ref_kernels.row_parts(syn.st_ptr, syn.st_off, n, cuts[:-1])
    one = ref_kernels.row_parts(syn.st_ptr, syn.st_off, n, np.zeros(1, np.int64))
    np.testing.assert_array_equal(one, np.stack([syn.st_ptr[:-1], syn.st_ptr[1:]], 1))

    def deliver(st_seg: np.ndarray, c: int, lo: int, hi: int) -> np.ndarray:
        buf = start.copy()
        ref_kernels._deliver(spikes, len(spikes), step, 0.1, n, st_seg, c, c + 1,
                             syn.st_off, syn.st_w, buf, syn.n_slots, lo, hi, *no_plastic)
        return buf

    whole = deliver(one, 0, 0, n)
    joined = start.copy()
    for t, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:])):
        mine = (target >= lo) & (target < hi)
        part = deliver(seg, t, lo, hi)
        np.testing.assert_array_equal(part[~mine], start[~mine])   # only its own targets
        joined[mine] = part[mine]
    np.testing.assert_array_equal(joined, whole)
    if np.diff(syn.st_ptr)[spikes].any():          # the spikes have synapses: delivered
        assert not np.array_equal(whole, start)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), parts=st.integers(1, 6), k=st.integers(0, 40),
       rule=st.sampled_from(["stdp_additive", "stdp_multiplicative", "tsodyks_markram"]))
def test_reference_plastic_arrivals_in_parts_equal_one_pass(seed, parts, k, rule):
    """The plastic arrivals of step k onto a partition of the targets (each part's
    synapses of a row and delay found by binary search) change only their own targets'
    input and their own synapses, and joined they equal one pass over all targets bit
    for bit."""
    rng = np.random.default_rng(seed)
    syn = build_synapses(random_network(seed, "IF_curr_exp", plasticity=rule, n=24), 0.1)
    n = len(syn.pl_ptr) - 1
    senders = np.flatnonzero(syn.plastic_out)
    hist = np.zeros((syn.n_hist, max(1, len(senders))), np.int64)
    hist_n = np.full(syn.n_hist, len(senders))         # every sender fired every step
    for row in range(syn.n_hist):
        hist[row, :len(senders)] = rng.permutation(senders)
    cuts = np.sort(np.concatenate([[0, n], rng.integers(0, n + 1, parts - 1)]))
    state = (rng.uniform(0, 2, (syn.n_slots + 1) * 2 * n), syn.pl_w.copy(),
             np.abs(rng.normal(1, 1, (4, len(syn.pl_w)))))
    state[2][[1, 3]] = rng.integers(-20, k + 1, (2, len(syn.pl_w)))      # spike stamps
    target = np.arange(len(state[0])) % n
    base = (k % (syn.n_slots + 1)) * 2 * n

    def arrive(lo: int, hi: int) -> tuple:
        buf, w, st_ = (x.copy() for x in state)
        ref_kernels._arrivals(k, 0.1, base, buf, hist, hist_n, syn.n_hist, syn.pl_ptr,
                              syn.pl_tgt, syn.pl_delay, w, syn.pl_rule, syn.pl_par, st_, n,
                              lo, hi)
        return buf, w, st_

    whole = arrive(0, n)
    joined = tuple(x.copy() for x in state)
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        part = arrive(lo, hi)
        mine = (target >= lo) & (target < hi)
        own = (syn.pl_tgt % n >= lo) & (syn.pl_tgt % n < hi)
        for x, y, m in zip(part, state, (mine, own, own)):
            np.testing.assert_array_equal(x[..., ~m], y[..., ~m])     # nobody else's
        for x, y, m in zip(joined, part, (mine, own, own)):
            x[..., m] = y[..., m]
    for x, y in zip(joined, whole):
        np.testing.assert_array_equal(x, y)
    if (syn.pl_delay <= k + 1).any():            # some spike has arrived: a change
        assert not np.array_equal(whole[2], state[2])


@settings(max_examples=3, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), cut=st.integers(1, 399),
       rule=st.sampled_from([None, "stdp_additive", "tsodyks_markram"]))
def test_reference_update_on_two_threads_changes_nothing(parallel_always, seed, cut, rule):
    """update() rebuilds the parts and the refractory lists per part mid-run."""
    net = random_network(seed, "IF_curr_exp", plasticity=rule, currents=True, n=24)
    one = ref_engine.Engine(net, threads=1)
    one.run(40.0)
    two = ref_engine.Engine(net, threads=2)
    two.run(cut * 0.1)
    two.update(random_network(seed, "IF_curr_exp", plasticity=rule, currents=True, n=24))
    assert len(two._parts.own_lo) == 2
    two.run(40.0 - cut * 0.1)
    assert_identical(one.result(), two.result())


@settings(max_examples=4, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), stdp=st.booleans(), delta=st.booleans(),
       split=st.integers(1, 59), timing=st.sampled_from([True, False]))
def test_loihi_two_threads_equal_one(parallel_always, seed, stdp, delta, split, timing):
    net = small_network(seed, delta=delta, stdp=stdp)
    image = hw.compile(net, "loihi", compartments_per_core=10)
    out = []
    for threads in (1, 2):
        eng = loihi_engine.Engine(image, timing=timing, threads=threads)
        assert (eng._parts is None) == (threads == 1)
        eng.run(float(split))
        eng.run(float(60 - split))
        res = eng.result()
        out.append((res, eng.state(), res.info["weights_raw"],
                    dict(res.timing.metrics) if timing else None))
    assert_identical(out[0][0], out[1][0])
    for key, state in out[0][1].items():
        np.testing.assert_array_equal(state, out[1][1][key], err_msg=key)
    for name, w in out[0][2].items():
        np.testing.assert_array_equal(w, out[1][2][name], err_msg=name)
    assert out[0][3] == out[1][3]


def test_threads_option_is_checked_and_small_networks_stay_serial(monkeypatch):
    net = random_network(1, "IF_curr_exp", n=10)
    image = hw.compile(small_network(1), "loihi")
    monkeypatch.setattr(ref_engine, "PARALLEL_MIN_NEURONS", 11)     # one over the cells
    monkeypatch.setattr(loihi_engine, "PARALLEL_MIN_NEURONS", 18)
    assert len(ref_engine.Engine(net, threads=2)._parts.own_lo) == 1
    assert loihi_engine.Engine(image, threads=2)._parts is None
    monkeypatch.setattr(ref_engine, "PARALLEL_MIN_NEURONS", 10)     # as many as the cells
    monkeypatch.setattr(loihi_engine, "PARALLEL_MIN_NEURONS", 17)
    assert len(ref_engine.Engine(net, threads=2)._parts.own_lo) == 2
    assert loihi_engine.Engine(image, threads=2)._parts is not None
    for bad in (0, numba.config.NUMBA_NUM_THREADS + 1, 1.5, True):
        with pytest.raises(TargetError, match="threads"):
            ref_engine.Engine(net, threads=bad)
        with pytest.raises(TargetError, match="threads"):
            loihi_engine.Engine(image, threads=bad)


def test_kernel_choice_runs_the_faster_kernel_and_probes_the_other_ever_more_rarely():
    choice = KernelChoice(True, 160)
    assert PICK(choice) == (True, 160)      # nothing measured: a whole parallel chunk first
    choice.note(True, 160, 0.8)
    assert PICK(choice) == (False, 40)      # then the serial kernel, a quarter chunk
    choice.note(False, 40, 0.08)            # 2 ms a step against 5 ms: probes of an eighth
    picks = []
    for _ in range(8 + 16 + 32):
        picks.append(PICK(choice))
        parallel, steps = picks[-1]
        choice.note(parallel, steps, steps * (5e-3 if parallel else 2e-3))
    probes = [c for c, (parallel, _) in enumerate(picks, 1) if parallel]
    # every UNSURE chunks until measured RECENT times, then the interval doubles on
    assert probes == [2, 4, 36] and all(picks[c - 1][1] == 20 for c in probes)
    assert choice.ran == [40 + 53 * 160, 160 + 3 * 20]
    choice.note(True, 20, 0.001)            # the parallel kernel became the faster one
    assert choice.interval == KernelChoice.PROBE and PICK(choice) == (True, 160)
    close = KernelChoice(True, 160)         # within CLOSE of each other: whole-chunk probes
    close.note(True, 160, 160 * 1.2e-3)
    close.note(False, 160, 160 * 1e-3)
    picks = [PICK(close) for _ in range(KernelChoice.UNSURE)]   # measured once so far
    assert picks[:-1] == [(False, 160)] * (KernelChoice.UNSURE - 1)
    assert picks[-1] == (True, 160)
    assert PICK(KernelChoice(False, 100)) == (False, 100)
    weighed = KernelChoice(True, 160)       # the parallel kernel slower per step, but its
    weighed.note(True, 160, 0.8, work=4000.0)          # chunk had 4x the work (a burst)
    weighed.note(False, 160, 0.6, work=1000.0)
    assert PICK(weighed) == (True, 160)
    forced = KernelChoice(True, 100, force=False)       # benchmarks: one kernel throughout
    assert [PICK(forced) for _ in range(20)] == [(False, 100)] * 20
    forced.force = True
    assert [PICK(forced) for _ in range(20)] == [(True, 100)] * 20
    assert PICK(KernelChoice(False, 100, force=True)) == (False, 100)   # may not run



def test_kernel_choice_probes_again_soon_a_kernel_whose_first_chunk_was_interrupted():
    """The run's first parallel chunk ran 3x slow: the serial kernel runs, but the parallel
    one is probed again after UNSURE chunks, not PROBE, and wins the run back."""
    choice = KernelChoice(True, 160)
    choice.note(True, 160, 160 * 3e-3)          # interrupted: 3 ms a step
    choice.note(False, 40, 40 * 1.7e-3)         # serial 1.7 ms
    picks = [PICK(choice) for _ in range(KernelChoice.UNSURE)]
    assert picks[:-1] == [(False, 160)] * (KernelChoice.UNSURE - 1) and picks[-1][0] is True
    choice.note(True, picks[-1][1], picks[-1][1] * 1e-3)
    assert PICK(choice) == (True, 160)


def test_kernel_choice_rides_out_one_slow_chunk_but_not_lasting_load():
    """A chunk the system interrupted (3x slower) leaves the run on the faster kernel;
    RECENT slow chunks in a row move it, and one fast probe brings it back."""
    choice = KernelChoice(True, 160)
    choice.note(True, 160, 160 * 1e-3)         # parallel 1 ms a step
    choice.note(False, 160, 160 * 1.7e-3)       # serial 1.7 ms
    assert PICK(choice) == (True, 160)
    choice.note(True, 160, 160 * 3e-3)          # one interrupted chunk
    assert PICK(choice) == (True, 160)
    for _ in range(KernelChoice.RECENT - 1):    # the load lasts
        choice.note(True, 160, 160 * 3e-3)
    assert choice.interval == KernelChoice.PROBE
    picks = [PICK(choice) for _ in range(KernelChoice.PROBE)]
    assert picks[:-1] == [(False, 160)] * (KernelChoice.PROBE - 1)
    assert picks[-1][0] is True                 # the parallel kernel probed again
    choice.note(True, picks[-1][1], picks[-1][1] * 1e-3)    # the cores are free again
    assert PICK(choice) == (True, 160) and choice.interval == KernelChoice.PROBE


def test_kernel_choice_probes_the_slower_parallel_or_serial_kernel_ever_more_rarely():
    choice = KernelChoice(True, 160)
    choice.note(True, 160, 160 * 1e-3)
    choice.note(False, 160, 160 * 2e-3)
    picks = []
    for _ in range(8 + 16 + 32 + 64):
        picks.append(PICK(choice))
        parallel, steps = picks[-1]
        choice.note(parallel, steps, steps * (1e-3 if parallel else 2e-3))
    probes = [c for c, (parallel, _) in enumerate(picks, 1) if not parallel]
    assert probes == [8, 24, 56, 120] and all(picks[c - 1][1] == 20 for c in probes)
    assert choice.interval == 128

def _busy_network(n: int, seed: int, homogeneous: bool) -> ir.Network:
    """IF_curr_exp cells driven to fire every millisecond or two, each refractory for 1 ms
    of it (with `homogeneous`, one i_offset for all: the kernels' fast path, which lists
    refractory neurons), recurrently connected; their spikes and two v traces recorded."""
    rng = np.random.default_rng(seed)
    params = dict(cm=0.25, tau_m=10.0, tau_syn_E=2.0, tau_syn_I=2.0, tau_refrac=1.0,
                  v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0,
                  i_offset=4.0 if homogeneous else rng.uniform(2.0, 6.0, n))
    cells = ir.Population("cells", n, "IF_curr_exp", params, {"v": rng.uniform(-65, -50, n)})
    m = 20 * n
    prj = ir.Projection("rec", "cells", "cells", rng.integers(0, n, m), rng.integers(0, n, m),
                        rng.uniform(0.0, 0.05, m), np.round(rng.uniform(0.1, 2.0, m), 1))
    return ir.Network([cells], [prj], recordings=[
        ir.Recording("cells", "spikes", np.arange(n)), ir.Recording("cells", "v", [0, n - 1])],
        timestep=0.1)


def test_spike_record_filling_mid_chunk_stops_every_worker_at_one_step(parallel_always):
    """Cells firing every millisecond fill the engine's spike record (room for 4 spikes a
    recorded neuron) many times within a run: the parallel kernel's workers stop at the
    same step each time and the call goes on from there, as the serial kernel does."""
    n = 300
    net = _busy_network(n, 5, homogeneous=False)
    results = []
    for threads in (1, 2):
        eng = ref_engine.Engine(net, threads=threads)
        eng.run(60.0)
        results.append(eng.result())
    assert len(results[0].spikes["cells"]) > 5 * 4 * n      # the record filled 5+ times
    assert_identical(*results)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(workers=st.integers(1, 4), steps=st.integers(1, 300), seed=st.integers(0, 2**31 - 1))
def test_workers_see_every_write_made_before_a_barrier(workers, steps, seed):
    """`hw.jit.run_workers` with `barrier`: workers that dawdle at random still see, after
    each barrier, what every worker wrote before it, and return together."""
    dawdle = np.random.default_rng(seed).integers(0, 2000, size=(steps, workers))
    board = np.full((steps, workers), -1, dtype=np.int64)
    seen = np.zeros((workers, steps), dtype=np.int64)
    assert run_workers(_exchange, workers, dawdle, board, seen) == steps
    assert (seen == workers).all()
    np.testing.assert_array_equal(board, 7 * np.arange(steps)[:, None] + np.arange(workers))


def test_workers_run_in_a_forked_child():
    """A child forked after the parent ran workers (a sweep's worker) gets threads of its
    own: the parent's pool threads do not exist there, and a worker handed to them would
    leave the others waiting at a barrier for ever."""
    import multiprocessing
    board = np.full((50, 2), -1, dtype=np.int64)
    run_workers(_exchange, 2, np.zeros((50, 2), np.int64), board, np.zeros((2, 50), np.int64))
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_exchange_in_child).get(timeout=120)
    assert got == 2 * 2 * 50          # each worker saw both, at each of 50 barriers


def _exchange_in_child() -> int:
    """test_workers_run_in_a_forked_child's child: the writes every worker saw."""
    seen = np.zeros((2, 50), dtype=np.int64)
    run_workers(_exchange, 2, np.zeros((50, 2), np.int64), np.full((50, 2), -1, np.int64),
                seen)
    return int(seen.sum())


@njit
def _exchange(w, workers, sync, dawdle, board, seen):
    """Worker w of test_workers_see_every_write_made_before_a_barrier: write, wait, read."""
    for b in range(len(board)):
        x = 0.0
        for _ in range(dawdle[b, w]):            # a pace of its own
            x += math.sqrt(x + 1.0)
        board[b, w] = 7 * b + w + int(x < 0)
        barrier(sync, workers, b)
        for u in range(workers):
            seen[w, b] += board[b, u] == 7 * b + u
    return len(board)


def test_microcircuit_spikes_identical_on_one_and_two_threads(parallel_always):
    """examples/microcircuit.py (scale 0.02, 150 ms, Poisson background) through PyNN with
    setup(threads=1) and threads=2: the same spikes."""
    from neurocosim.pynn_backend.simulator import state
    from neurocosim.sim.scripts import run_pynn_script
    script = Path(__file__).parent.parent / "examples" / "microcircuit.py"
    trains = []
    for threads in (1, 2):
        assert run_pynn_script(script, "reference", ["--scale", "0.02", "--duration", "150"],
                               quiet=True, settings={"threads": threads}) == 0
        assert (state.engine._choice.ran[1] > 0) == (threads == 2)   # the parallel kernel ran
        res = state.result()
        trains.append({pop: (sp.ids.copy(), sp.times.copy())
                       for pop, sp in res.spikes.items()})
    assert set(trains[0]) == set(trains[1])
    assert sum(len(ids) for ids, _ in trains[0].values()) > 100
    for pop, (ids, times) in trains[0].items():
        np.testing.assert_array_equal(ids, trains[1][pop][0], err_msg=pop)
        np.testing.assert_array_equal(times, trains[1][pop][1], err_msg=pop)


def test_nest_imported_first_survives_a_parallel_kernel(tmp_path):
    """NEST, then a parallel kernel, then nest.ResetKernel(): no crash (the parallel
    kernels run on threads of their own, `hw.jit.run_workers`; a Numba parallel region on
    GNU OpenMP made NEST 3.10's next ResetKernel crash)."""
    pytest.importorskip("nest")
    code = (
        "import nest, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_reference_oracle import random_network\n"
        "from neurocosim.sim.reference import engine as E\n"
        "from neurocosim.hw.jit import KernelChoice\n"
        "E.PARALLEL_MIN_NEURONS = 0\n"
        "KernelChoice.pick = lambda self: (self.parallel, self.steps)\n"
        "eng = E.Engine(random_network(1, 'IF_curr_exp', n=24), threads=2)\n"
        "eng.run(5.0)\n"
        "assert eng._choice.ran[1] > 0\n"
        "nest.ResetKernel(); nest.Simulate(1.0); print('survived')\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300, env=env)
    assert out.returncode == 0 and "survived" in out.stdout, out.stderr[-2000:]
