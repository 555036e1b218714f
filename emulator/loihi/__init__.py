"""Cycle-accurate emulator of the Loihi-style target (lava bit-accurate CUBA LIF).

`lif_step` is the public one-step update over integer arrays; `Engine` runs a compiled
image (the runner named by `LoihiSpec.runner`).
"""

from .engine import Engine
from .lif import lif_step
from .oracle import lif_step_oracle

__all__ = ["Engine", "lif_step", "lif_step_oracle"]
