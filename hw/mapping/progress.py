"""Progress of the long compile steps (partition, placement, routing, synapse memories).

A compiler takes an optional `progress(stage, done)` callback; each long step wraps it in
a `Stage`, which forwards monotone fractions 0..1 at a bounded rate (a step of 1%, or
0.2 s since the last call) and always the final 1.0. Without a callback (`Stage.of(None,
...)` is None) the steps skip the bookkeeping: `if tick: tick(i)`.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

#: `progress(stage, done)`: `stage` names the step, `done` in 0..1, non-decreasing per stage
ProgressFn = Optional[Callable[[str, float], None]]


class Stage:
    """One stage's reporter: call it with the fraction done (values below an earlier one
    are held at it, so the caller sees a non-decreasing sequence), `finish()` at the end."""

    MIN_STEP = 0.01
    MIN_SECONDS = 0.2

    def __init__(self, callback: Callable[[str, float], None], name: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.callback, self.name, self.clock = callback, name, clock
        self.last = 0.0
        self.last_t = clock()
        self.callback(name, 0.0)

    @classmethod
    def of(cls, callback: ProgressFn, name: str) -> "Stage | None":
        """A reporter for `name`, or None without a callback (no cost to the caller)."""
        return None if callback is None else cls(callback, name)

    def __call__(self, done: float) -> None:
        done = min(max(float(done), self.last), 1.0)
        if done >= 1.0:
            return              # the 1.0 is finish()'s, sent once
        now = self.clock()
        if done - self.last >= self.MIN_STEP or now - self.last_t >= self.MIN_SECONDS:
            self.last, self.last_t = done, now
            self.callback(self.name, done)

    def finish(self) -> None:
        """Report 1.0 (once)."""
        if self.last < 1.0:
            self.last = 1.0
            self.callback(self.name, 1.0)


class StageTimes:
    """A progress callback that records each stage's wall time (from its 0.0 to its 1.0)
    and passes every call on to `forward`: where a compile's time goes
    (benchmarks/compile.py). Stages reported twice (rounds) add up."""

    def __init__(self, forward: ProgressFn = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.forward, self.clock = forward, clock
        self.seconds: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def __call__(self, stage: str, done: float) -> None:
        now = self.clock()
        if done == 0.0:
            self._started[stage] = now
        elif done >= 1.0 and stage in self._started:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._started.pop(stage)
        if self.forward is not None:
            self.forward(stage, done)
