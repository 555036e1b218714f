"""The one place Numba's compiler flags are set (every kernel uses `njit` from here), and
how the parallel kernels run: workers on threads of their own meeting at barriers, and the
choice between an engine's serial and parallel kernel."""

import math
import os
import platform
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ClassVar

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils
from numba.extending import intrinsic

from .errors import TargetError

#: cache compiled kernels on disk (CI runs many processes); NEUROCOSIM_NO_JIT_CACHE=1 turns it off
CACHE = os.environ.get("NEUROCOSIM_NO_JIT_CACHE", "") == ""


def njit(*args, **kwargs):
    """numba.njit with the project's flags (cache, nogil); extra flags may be added per use."""
    kwargs.setdefault("cache", CACHE)
    kwargs.setdefault("nogil", True)
    return numba.njit(*args, **kwargs)


@njit(inline="always")
def into_ring(s, base, ring, off, w, buf):
    """Synapse s's weight w[s] into a delay ring of `ring` entries, at its offset off[s]
    from the sending step's slot at `base` (the engines' static delivery)."""
    at = base + off[s]
    if at >= ring:
        at -= ring
    buf[at] += w[s]


@intrinsic
def prefetch(typingctx, arr, idx):
    """A hint that arr[idx] will soon be read (LLVM's prefetch: read, keep in all cache
    levels): a spike's synapse row starts on its way from memory while the row before
    it is delivered, so the rows' cache misses overlap instead of following each other."""
    if not isinstance(arr, numba.types.Array):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        at = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [at, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return numba.types.void(arr, idx), codegen


@njit(inline="always")
def prefetch_row(off, w, lo, hi):
    """`prefetch` the synapses lo..hi-1 of a row (offsets and weights), a 64-byte cache
    line at a time (each array's itemsize sets its stride)."""
    step = max(64 // off.itemsize, 1)
    for s in range(lo, hi, step):
        prefetch(off, s)
    step = max(64 // w.itemsize, 1)
    for s in range(lo, hi, step):
        prefetch(w, s)


def _shift32(op: str, result):
    """A Numba intrinsic for a 32-bit shift (LLVM's `op` on i32) of an integer by a count
    in 0..31: Numba widens int32 arithmetic to 64 bits, and a vectorised loop then shifts
    in 64-bit lanes (half the lanes, and AVX2 has no 64-bit arithmetic shift)."""
    def typer(typingctx, x, b):
        if not (isinstance(x, numba.types.Integer) and isinstance(b, numba.types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            i32 = ir.IntType(32)
            vx, vb = (builder.trunc(a, i32) if a.type.width > 32 else
                      builder.sext(a, i32) if a.type.width < 32 else a for a in args)
            return getattr(builder, op)(vx, vb)
        return result(x, b), codegen
    typer.__name__ = f"{op}32"
    return intrinsic(typer)


#: x >> b (arithmetic), x >> b (logical) and x << b on the low 32 bits of x, for
#: 0 <= b < 32 (a larger count is undefined in LLVM: callers mask it)
sar32 = _shift32("ashr", numba.types.int32)
shr32 = _shift32("lshr", numba.types.uint32)
shl32 = _shift32("shl", numba.types.int32)


def _element_pointer(context, builder, aryty, ary, idx):
    """The address of ary[idx] (no bounds check), for the atomic intrinsics."""
    return builder.gep(context.make_array(aryty)(context, builder, ary).data, [idx])


@intrinsic
def atomic_add(typingctx, arr, idx, value):
    """arr[idx] += value as one atomic step (sequentially consistent), returning the old
    value: a worker's arrival at `barrier`, which also publishes its writes before it."""
    if not (isinstance(arr, numba.types.Array) and arr.dtype == numba.types.int64):
        return None

    def codegen(context, builder, signature, args):
        at = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        val = context.cast(builder, args[2], signature.args[2], numba.types.int64)
        return builder.atomic_rmw("add", at, val, "seq_cst")
    return numba.types.int64(arr, idx, value), codegen


@intrinsic
def atomic_load(typingctx, arr, idx):
    """arr[idx] read as one atomic step (acquire: the writes published before the value
    are seen after it); a spinning loop reads memory every time, never a register."""
    if not (isinstance(arr, numba.types.Array) and arr.dtype == numba.types.int64):
        return None

    def codegen(context, builder, signature, args):
        at = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(at, "acquire", 8)
    return numba.types.int64(arr, idx), codegen


@intrinsic
def spin_pause(typingctx):
    """A hint that this is a spin-wait loop (x86's `pause`: saves power and lets the other
    core's write arrive sooner); nothing on other processors."""
    def codegen(context, builder, signature, args):
        if platform.machine().lower() in ("x86_64", "amd64", "i686", "i386"):
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()
    return numba.types.void(), codegen


@intrinsic
def yield_cpu(typingctx):
    """sched_yield(2): give the core to another runnable thread (a waiting worker whose
    peer the system has not scheduled)."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
        builder.call(fn, [])
        return context.get_dummy_value()
    return numba.types.void(), codegen


#: spins (each with `spin_pause`, 20-50 ns) before a waiting worker yields its core, some
#: 0.1-0.2 ms: far more than two idle cores' steps differ, far less than a time slice
SPINS = 1 << 12


@njit(inline="always")
def barrier(sync, workers, passed):
    """Wait until all `workers` have arrived at this barrier, the passed-th (from 0) since
    sync[0] was zeroed; every worker passes the same barriers in the same order. A
    counter that only grows needs no reset between barriers."""
    atomic_add(sync, 0, 1)
    goal = workers * (passed + 1)
    spins = 0
    while atomic_load(sync, 0) < goal:
        if spins < SPINS:
            spins += 1
            spin_pause()
        else:
            yield_cpu()


def run_workers(kernel, workers: int, *args):
    """kernel(w, workers, sync, *args) for w = 0 .. workers-1 at once, each on its own
    thread (0 on this one, the others from a pool kept for the process), where sync is a
    fresh int64 array the kernel's `barrier`s count in; returns worker 0's value. Unlike
    a Numba parallel loop, the workers run a whole chunk of steps with a barrier between
    steps (some 40 ns on two idle cores) instead of a parallel region opened and joined
    every step (microseconds), and every worker is its own thread whatever the
    threading layer, so no barrier waits for a worker that a thread runs after it."""
    sync = np.zeros(SYNC_WORDS, dtype=np.int64)
    pool = _pool(workers - 1)
    others = [pool.submit(kernel, w, workers, sync, *args) for w in range(1, workers)]
    value = kernel(0, workers, sync, *args)
    for f in others:
        if f.result() != value:
            raise RuntimeError(f"workers stopped at different steps: {f.result()} and {value}")
    return value


#: int64 words of a `run_workers` sync array: word 0 the barrier's counter, words
#: SYNC_OWN .. SYNC_WORDS - 1 the kernel's own (a cache line away from the counter)
SYNC_WORDS = 16
SYNC_OWN = 8
#: the pool of `run_workers` and the process it belongs to (a list: no global statement)
_POOL: list = []


def _pool(size: int) -> ThreadPoolExecutor:
    """A pool of at least `size` threads, each free to take a worker at once (the pool
    serves `run_workers` alone, which waits for all its workers). A forked child (a sweep
    worker) gets its own: the parent's threads do not exist there, and a worker handed to
    them would never start while the others wait for it at a barrier."""
    if not _POOL or _POOL[0] != os.getpid() or _POOL[1]._max_workers < size:
        _POOL[:] = [os.getpid(), ThreadPoolExecutor(max(size, 1),
                                                    thread_name_prefix="neurocosim-worker")]
    return _POOL[1]


def check_threads(value, who: str) -> int:
    """A runner's `threads` option checked: a whole number from 1 to Numba's thread count
    (numba.config.NUMBA_NUM_THREADS: the cores Numba found, or its environment setting)."""
    most = numba.config.NUMBA_NUM_THREADS
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not whole or not 1 <= value <= most:
        raise TargetError(f"{who}: threads={value!r}; use a whole number from 1 to {most} "
                          "(numba.config.NUMBA_NUM_THREADS, the cores Numba uses)")
    return int(value)


@dataclass
class KernelChoice:
    """Which of an engine's two kernels, serial or parallel (the same result bit for bit),
    runs the next chunk of steps: the one measured faster per step (or per unit of the
    engine's work, `note`), for `steps` steps; every `interval`-th chunk the other one for
    an eighth of that, measured again. A parallel kernel's workers meet at a barrier once
    a step, so it gains only while the system runs them side by side: on cores busy with
    other processes a barrier waits for a thread the system has not scheduled
    (milliseconds), and the serial kernel is the faster one. A kernel's cost is the least
    of its last RECENT measurements, so one chunk the system interrupted does not move a
    run onto the slower kernel, while load that lasts does within RECENT chunks. Each probe
    that finds the same kernel faster doubles the interval (up to MAX_INTERVAL); a change
    of the faster kernel sets it back to PROBE. The parallel kernel, while the slower, is
    probed every UNSURE chunks until it has RECENT measurements."""

    #: the parallel kernel may run (threads > 1 and a network large enough)
    parallel: bool
    #: steps per chunk
    steps: int
    #: seconds per unit of work (`note`) of each kernel's last RECENT chunks, serial then
    #: parallel
    recent: list = field(default_factory=lambda: [[], []])
    #: steps run so far, serial then parallel
    ran: list = field(default_factory=lambda: [0, 0])
    #: chunks from one probe to the next, and chunks since the last
    interval: int = 8
    chunks: int = 0
    #: None: the kernel measured faster; True or False: always the parallel (where it may
    #: run) or the serial one (benchmarks compare the two kernels' costs with it)
    force: "bool | None" = None
    #: the next `note` is of a probe (the kernel measured slower, run to measure it again)
    probing: bool = False

    PROBE: ClassVar[int] = 8
    #: kernels' costs within this factor of each other are a close call (whole-chunk probes)
    CLOSE: ClassVar[float] = 1.5
    MAX_INTERVAL: ClassVar[int] = 256
    #: measurements per kernel its cost is the least of
    RECENT: ClassVar[int] = 3
    #: chunks between probes of the parallel kernel, while the slower, until it has RECENT
    #: measurements (a run's first chunk on it may have been interrupted)
    UNSURE: ClassVar[int] = 2

    @property
    def cost(self) -> "tuple[float, float]":
        """Each kernel's cost, serial then parallel: the least of its recent measurements
        (nan: not measured yet)."""
        return tuple(min(r) if r else math.nan for r in self.recent)

    def _faster(self) -> bool:
        """Whether the parallel kernel is the faster (both measured)."""
        serial, parallel = self.cost
        return parallel < serial

    def pick(self) -> "tuple[bool, int]":
        """(whether the next chunk runs on the parallel kernel, its steps). A probe is a
        whole chunk while the two kernels were measured within CLOSE of each other: a
        short one pays alone for moving the neurons' state into the other core's cache
        (or back), which made a 26-step probe of the faster parallel kernel lose on idle
        cores; an eighth of a chunk once one kernel is clearly the slower. The first serial
        chunk is a quarter chunk: moving the state costs it, so it errs towards the
        parallel kernel, which the whole-chunk probes of a close call correct."""
        if not self.parallel or self.force is not None:
            return self.parallel and bool(self.force), self.steps
        serial, parallel = self.cost
        close = not max(serial, parallel) > self.CLOSE * min(serial, parallel)  # nan: close
        probe = self.steps if close else max(8, self.steps // 8)
        if math.isnan(parallel):
            return True, probe
        if math.isnan(serial):                  # a quarter chunk: it may only be slower
            return False, max(8, self.steps // 4)
        self.chunks += 1                        # since the last probe
        faster = self._faster()
        # a parallel kernel measured fewer than RECENT times may have lost its chunk to a
        # barrier waiting for a thread the system had not scheduled
        unsure = not faster and len(self.recent[1]) < self.RECENT
        if self.chunks < (min(self.interval, self.UNSURE) if unsure else self.interval):
            return faster, self.steps
        self.chunks, self.probing = 0, True
        return not faster, probe

    def note(self, parallel: bool, steps: int, seconds: float,
             work: "float | None" = None) -> None:
        """A chunk of `steps` steps took `seconds` on the chosen kernel; `work`: its work in
        the engine's unit (default: the steps), so that chunks of unequal work compare."""
        probe, self.probing = self.probing, False
        if steps <= 0:
            return
        both = not any(math.isnan(c) for c in self.cost)
        before = self._faster() if both else None
        recent = self.recent[int(parallel)]
        recent.append(seconds / (work if work else steps))
        del recent[:-self.RECENT]
        self.ran[int(parallel)] += steps
        if before is None:
            return
        if self._faster() != before:            # the other kernel is now the faster
            self.interval, self.chunks = self.PROBE, 0
        elif probe:
            self.interval = min(2 * self.interval, self.MAX_INTERVAL)
