"""The backend's one `State`: the objects a script created, and the engine running them.

A run compiles the objects into the IR (`ir_builder`), compiles the IR for the chosen
target through the one registry in `hw`, and advances that target's runner. Later runs
hand the changed network to the same runner (`update`), so time, state and spikes in
flight carry over, as `run(a); run(b) == run(a + b)` requires.
"""

from __future__ import annotations

import sys
import time

from pyNN import common

from ..hw import compiler as hw_compiler
from ..hw.errors import TargetError
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
        self.max_delay = 10.0
        self.target = "reference"
        self.target_options: dict = {}
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
        self.image = None
        self._network = None
        self._reset_pending = False
        self.reset()

    def reset(self):
        """Time back to 0 and a new segment; the engine is reset at the next run, after
        any `initialize()` the script makes in between."""
        self.running = False
        self.t = 0.0
        self.t_start = 0.0
        self.segment_counter += 1
        for rec in self.recorders:
            rec._reset()
        if self.engine is not None:
            self._reset_pending = True

    @property
    def spec(self):
        return get_target(self.target)

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        from .ir_builder import build_network
        duration = tstop - self.t
        if duration < -self.dt / 2:
            raise ValueError(f"time {tstop} ms is in the past (current time {self.t} ms)")
        network = build_network(self)
        if getattr(self, "min_delay_auto", False) and network.projections:
            delays = [p.delay.min() for p in network.projections if p.size]
            if delays:
                self.min_delay = float(min(delays))
        if self.engine is None:
            self.image = hw_compiler.compile(network, self.spec)
            runner = hw_compiler.runner_for(self.image)
            self.engine = runner(self.image, **self.target_options)
        else:
            if self._network is not None and network.same_as(self._network):
                pass                        # nothing changed: the engine goes on as it is
            elif hasattr(self.engine, "update"):
                self.engine.update(network)
            elif self._reset_pending:
                self.image = hw_compiler.compile(network, self.spec)
                self.engine = hw_compiler.runner_for(self.image)(self.image,
                                                                 **self.target_options)
            else:
                raise TargetError(f"target {self.spec.name!r} cannot change the network "
                                  "between runs; call reset() first")
            if self._reset_pending and hasattr(self.engine, "reset"):
                self.engine.reset()
        self._reset_pending = False
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
        if getattr(self, "_result", None) is None:
            self._result = self.engine.result()
        return self._result

    def hardware_report(self):
        """The timing report of the last run (None on targets without timing)."""
        res = self.result()
        return None if res is None else res.timing


def _run_with_progress(engine, steps: int, dt: float, target: str) -> None:
    """Advance in slices; after a few seconds, show progress on stderr."""
    start = time.monotonic()
    slices = 50 if steps >= 50 else 1
    done = 0
    shown = False
    for k in range(1, slices + 1):
        n = steps * k // slices - done
        if n:
            engine.run(n * dt)
            done += n
        elapsed = time.monotonic() - start
        if elapsed > 3.0 and k < slices:
            left = elapsed * (steps - done) / done
            sys.stderr.write(f"\r[{target}] {done * dt:.1f}/{steps * dt:.1f} ms "
                             f"({100 * done // steps}%), about {left:.0f} s left   ")
            sys.stderr.flush()
            shown = True
    if shown:
        sys.stderr.write(f"\r[{target}] {steps * dt:.1f} ms done in "
                         f"{time.monotonic() - start:.1f} s{' ' * 30}\n")


state = State()
