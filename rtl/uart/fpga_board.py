"""A whole fpga board: the image's chip (rtl.chip.Chip) behind the UART link.

The chip's memories are its bitstream's (built from one image), so the board's only
region is the readable synapse weights; IDENTIFY carries the image's checksum
("image_crc") and `Board.load` checks it instead of writing memories.
"""

import dataclasses

from amaranth import Module, ResetInserter
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from . import protocol as P
from .chip_bridge import ChipBridge
from .dispatcher import CommandDispatcher
from .link import UartLink


def _core_spec(image):
    return getattr(image.target, "core", None) or image.target


def fpga_board_identity(image, spike_buffer: int = 4096) -> P.Identity:
    """What the board built from `image` answers to IDENTIFY."""
    spec, d = _core_spec(image), image.data["fpga"]
    depth = max(len(c.memories["syn_w"]) for c in image.cores)
    width = 1 if spec.weight_bits <= 8 else 2 if spec.weight_bits <= 16 else 4
    regions = (P.Region(0, P.RegionKind.WEIGHTS, "syn_w", width, True, max(depth, 1),
                        readonly=True),)
    params = (("image_crc", P.image_checksum(image)), ("weight_bits", spec.weight_bits),
              ("state_bits", spec.state_bits), ("n_axons", int(d["n_axons"])))
    return P.Identity(P.PROTOCOL_VERSION, "neurocosim-fpga-rom", len(image.cores),
                      int(d["neurons_per_core"]), int(spec.clock_hz), P.MAX_PAYLOAD,
                      spike_buffer, params, regions)


class FpgaBoard(wiring.Component):
    """With `divisor`: UART pins `rx`/`tx`. Without: wire-byte streams `i`/`o` (the UART
    left out, for fast simulation of everything behind it)."""

    def __init__(self, image, divisor: int | None = None, spike_buffer: int = 4096):
        from ..chip import Chip
        self.image = dataclasses.replace(image, target=_core_spec(image))
        self.identity = fpga_board_identity(image, spike_buffer)
        self.divisor = divisor
        self._chip = Chip(self.image)
        self.n_neurons = len(image.cores) * int(image.data["fpga"]["neurons_per_core"])
        if divisor is None:
            members = {"i": In(stream.Signature(8)), "o": Out(stream.Signature(8))}
        else:
            members = {"rx": In(1, init=1), "tx": Out(1, init=1)}
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        chip = self._chip
        bridge = ChipBridge(chip.ctl.signature, self.n_neurons,
                            [len(c.memories["syn_w"]) for c in self.image.cores])
        m.submodules.bridge = bridge
        m.submodules.chip = ResetInserter({"sync": bridge.chip_reset})(chip)
        wiring.connect(m, chip.ctl, bridge.ctl)
        if self.divisor is None:
            m.submodules.link = link = CommandDispatcher(self.identity)
            wiring.connect(m, wiring.flipped(self.i), link.i)
            wiring.connect(m, link.o, wiring.flipped(self.o))
        else:
            m.submodules.link = link = UartLink(self.identity, self.divisor)
            m.d.comb += [link.rx.eq(self.rx), self.tx.eq(link.tx)]
        wiring.connect(m, link.bus, bridge.bus)
        return m
