"""SFQ pulse-level simulation: cells as transition tables, a heap event engine, the runner.

    from neurocosim.sim.sfq import Circuit, Simulator
    c = Circuit(); x = c.input("x"); (q,) = c.add("jtl", x); c.probe(q, "q")
    sim = Simulator(c.netlist()); sim.schedule("x", [10.0]); sim.run(100.0)
    sim.pulses("q")  # -> [15.7] ps
"""

from ...hw.compile_sfq import Circuit, Netlist
from .cells import CellTableError, CellType, Transition, define, library, neuron
from .engine import Simulator, Stats, TimingViolation
from .fast import FastSimulator
from .runner import Engine

__all__ = ["Circuit", "Netlist", "CellTableError", "CellType", "Transition", "define",
           "library", "neuron", "Simulator", "FastSimulator", "Stats", "TimingViolation", "Engine"]
