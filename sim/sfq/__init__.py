"""SFQ pulse-level simulation: a heap event engine over the cells of `hw.layouts.sfq`, its
Numba kernel, and the runner of the "sfq" target.

    from neurocosim.sim.sfq import Circuit, Simulator
    c = Circuit(); x = c.input("x"); (q,) = c.add("jtl", x); c.probe(q, "q")
    sim = Simulator(c.netlist()); sim.schedule("x", [10.0]); sim.run(100.0)
    sim.pulses("q")  # -> [15.7] ps
"""

from ...hw.compile_sfq import Circuit
from .engine import Simulator, Stats, TimingViolation
from .fast import FastSimulator
from .runner import Engine

__all__ = ["Circuit", "Simulator", "FastSimulator", "Stats", "TimingViolation", "Engine"]
