"""The link's view of a core: the HostBus signature the dispatcher drives.

A core (the FPGA core, or a test model behind the simulator) flips this signature. Regions
and cores are numbered as in the board's IDENTIFY table (host.protocol.Identity).
"""

from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class HostBus(wiring.Signature):
    """Driven by the link (Out) and answered by the core (In):

    - memory access: `core`, `region`, `index`, `wdata`; `we` writes one element in the
      cycle it is high; `re` asks for one element, answered by `rvalid` with `rdata`
      (any latency);
    - control: `reset` pulses (bit 0: state, bit 1: also memories), `run` pulses to add
      `run_steps` timesteps to the run; `running` is high while steps remain and while
      a reset is still under way (the link answers RESET once it is low);
    - `spikes`: the core's spike stream bytes (host.protocol step records), flow-
      controlled: the core stalls while the link's spike buffer is full;
    - counters the core keeps: `steps_done`, `steps_target`, `cycles`, `last_cycles`,
      `max_cycles`, `spike_count`; each `peek` pulse rotates all six one byte toward
      the low end (the link copies them out a low byte at a time, and peeks each 8 times
      (32-bit ones 4 times) a round, so they end where they began). The link peeks only
      while it holds `spikes.ready` low, so the counters hold still meanwhile.
    """

    def __init__(self):
        super().__init__({
            "core": Out(8), "region": Out(8), "index": Out(32), "wdata": Out(32),
            "we": Out(1), "re": Out(1), "rdata": In(32), "rvalid": In(1),
            "reset": Out(2), "run": Out(1), "peek": Out(1), "run_steps": Out(32), "running": In(1),
            "spikes": In(stream.Signature(8)),
            "steps_done": In(64), "steps_target": In(64), "cycles": In(64),
            "last_cycles": In(32), "max_cycles": In(32), "spike_count": In(64),
        })
