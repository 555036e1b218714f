"""The backend's one `State`: the objects a script created, and the runner running them.

A run compiles the objects into the IR (`ir_builder`), compiles the IR for the chosen
target (its spec with the setup() overrides, strict or not) through the one registry in
`hw`, and advances that target's runner (`hw.runner.Runner`). Later runs hand a changed
network to the same runner (`update`: recompiled at t = 0, else refused by name), so time,
state and spikes in flight carry over, as `run(a); run(b) == run(a + b)` requires; PyNN's
`reset()` is the runner's `reset()`, which keeps the compiled image.
"""

from __future__ import annotations

import sys
import time

from pyNN import common

from ..hw import compiler as hw_compiler
from ..hw.targets import get_target

name = "neurocosim"


class ID(int, common.IDMixin):
    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    def __init__(self):
        super().__init__()
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.min_delay = 0.1
        self.min_delay_auto = False           # setup(min_delay="auto")
        self.max_delay = 10.0
        self.target = "reference"
        self.spec = get_target("reference")   # with setup()'s spec overrides
        self.target_options: dict = {}        # runner options from setup()
        self.strict = False
        self.seed = 0
        self.clear()

    def clear(self):
        self.populations = []
        self.projections = []
        self.current_sources = []
        self.recorders = set()
        self.write_on_end = []
        self.id_counter = 0
        self.segment_counter = -1
        self.engine = None
        self._network = None
        self._result = None
        self.reset()

    def reset(self):
        """Time back to 0 and a new segment: the runner goes back to its initial state
        (recordings cleared, the compiled image kept); an `initialize()` the script makes
        before the next run changes the network, which that run hands to `update`."""
        self.running = False
        self.t = 0.0
        self.t_start = 0.0
        self.segment_counter += 1
        self._result = None
        for rec in self.recorders:
            rec._reset()
        if self.engine is not None:
            self.engine.reset()

    @property
    def image(self):
        """The HardwareImage the runner runs (None before the first run)."""
        return None if self.engine is None else self.engine.image

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        from .ir_builder import build_network
        duration = tstop - self.t
        if duration < -self.dt / 2:
            raise ValueError(f"time {tstop} ms is in the past (current time {self.t} ms)")
        network = build_network(self)
        if self.min_delay_auto and network.projections:
            delays = [p.stored_delay.min() for p in network.projections if p.size]
            if delays:
                self.min_delay = float(min(delays))
        if self.engine is None:
            printer = CompileProgress(self.spec.name)
            image = hw_compiler.compile(network, self.spec, strict=self.strict,
                                        progress=printer)
            printer.finish()
            self.engine = hw_compiler.runner_for(image)(image, **self.target_options)
        elif not network.same_as(self._network):
            self.engine.update(network)
            if self.strict:
                self.engine.image.report.check_strict()
        self._network = network
        steps = round(duration / self.dt)
        if steps > 0:
            _run_with_progress(self.engine, steps, self.dt, self.spec.name)
        self.t = self.engine.t
        self.running = True
        self._result = None

    def result(self):
        """The engine's Result, cached until the next run."""
        if self.engine is None:
            return None
        if self._result is None:
            self._result = self.engine.result()
        return self._result

    def hardware_report(self):
        """The timing report of the last run (None on targets without timing)."""
        res = self.result()
        return None if res is None else res.timing


class CompileProgress:
    """The `progress(stage, done)` of a compile, printed to `stream` as the run's progress
    line is: nothing for a compile under `show_after` seconds, then "[target] compiling:
    placement 40%" on one updating line, and at the end "compiled in X s"."""

    def __init__(self, target: str, show_after: float = 3.0, stream=None,
                 clock=time.monotonic) -> None:
        self.target, self.show_after, self.clock = target, show_after, clock
        self.stream = sys.stderr if stream is None else stream
        self.start = clock()
        self.shown = False

    def __call__(self, stage: str, done: float) -> None:
        if self.clock() - self.start <= self.show_after:
            return
        self.stream.write(f"\r[{self.target}] compiling: {stage} {100 * done:.0f}%{' ' * 20}")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        """End the line with the compile time (only where it was slow)."""
        took = self.clock() - self.start
        if self.shown or took > self.show_after:
            self.stream.write(f"\r[{self.target}] compiled in {took:.1f} s{' ' * 40}\n")
            self.stream.flush()


#: The most steps a run advances at once: the runner draws a slice's input spikes
#: (Poisson sources) all at once and holds them while it runs. The full-scale
#: microcircuit's 1 s run in 50 slices of 18 ms peaked ~4 bytes per synapse above its
#: 200 ms run (2 ms slices); a slice costs ~1 ms more than the steps it runs.
MAX_SLICE_STEPS = 20


def _run_with_progress(engine, steps: int, dt: float, target: str,
                       show_after: float = 3.0) -> None:
    """Advance in 50 slices (more where a slice would exceed MAX_SLICE_STEPS); after
    `show_after` seconds, show progress on stderr. The ETA is the pace since the first
    slice, which carries the compilation warm-up (numba's JIT, first allocations):
    counting it made a 2% slice promise ten times the truth."""
    start = time.monotonic()
    slices = max(50 if steps >= 50 else 1, -(-steps // MAX_SLICE_STEPS))
    done = 0
    shown = False
    warm = None                     # (time, steps done) when the first slice ended
    for k in range(1, slices + 1):
        n = steps * k // slices - done
        if n:
            engine.run(n * dt)
            done += n
        now = time.monotonic()
        if warm is None:
            warm = (now, done)
            continue
        if now - start > show_after and k < slices:
            pace = (now - warm[0]) / (done - warm[1])
            sys.stderr.write(f"\r[{target}] {done * dt:.1f}/{steps * dt:.1f} ms "
                             f"({100 * done // steps}%), about {pace * (steps - done):.0f} s "
                             "left   ")
            sys.stderr.flush()
            shown = True
    if shown:
        sys.stderr.write(f"\r[{target}] {steps * dt:.1f} ms done in "
                         f"{time.monotonic() - start:.1f} s{' ' * 30}\n")


state = State()
