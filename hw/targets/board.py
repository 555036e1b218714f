"""The "board" target: the FPGA core on a real (or virtual) board, driven over UART.

It compiles exactly as the "fpga" target does (same image, same core) and differs only in
where the image runs: `neurocosim.host.board:BoardRunner`, whose runner options are
`port` ("virtual" or a device path), `baud`, `timeout`, `retries` and `progress` (PyNN:
`setup(target="board", port="/dev/ttyUSB0")`). The board holds the image's stimulus
memory (the input of [0, stimulus_horizon_ms)) and refuses to run past it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import TargetError
from .base import TargetSpec
from .fpga import FpgaSpec


@dataclass(frozen=True)
class BoardSpec(TargetSpec):
    """A board running the fpga target's core; `core` is that target's spec once compiled."""

    name: str = "board"
    description: str = ("the FPGA core on a board over UART (real port, or port='virtual' "
                        "for the emulator behind a pseudo-terminal)")
    runner: str = "neurocosim.host.board:BoardRunner"
    compiler: str = "neurocosim.hw.targets.board:compile_for_board"
    # the fpga core's models and fixed timestep (compile_for_board re-reads both from the
    # core target, so a variant core brings its own)
    models: tuple[str, ...] = FpgaSpec.models
    timestep: float | None = FpgaSpec.timestep
    plasticity: tuple[str, ...] = FpgaSpec.plasticity
    core_target: str = "fpga"
    core: TargetSpec | None = None


def compile_for_board(network, spec: BoardSpec):
    """Compile with the core target's compiler, then mark the image as the board's."""
    import dataclasses

    from ..compiler import check_capabilities, load_entry
    from . import get_target
    try:
        core = spec.core or get_target(spec.core_target)
    except TargetError as exc:
        raise TargetError(f"target 'board' compiles for the {spec.core_target!r} core, "
                          f"which is not available here ({exc})") from None
    check_capabilities(network, core)
    image = load_entry(core.compiler)(network, core)
    image.target = dataclasses.replace(spec, core=core, timestep=core.timestep,
                                       models=core.models)
    return image
