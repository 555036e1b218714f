"""A whole fpga board: the chip (rtl.chip.Chip) behind the UART link.

The chip is built for a capacity (rtl.capacity.ChipCapacity; default: exactly what the
build image needs) and holds the build image at power-up; its memories are the board's
regions (rtl.capacity.fpga_regions, the virtual board's too), so `Board.load` writes any
image that fits. IDENTIFY reports the capacity (cores, neurons per core, and the
synapses, axons, ring depth, stimulus entries and STDP hardware as core parameters).
"""

import dataclasses

from amaranth import Module, ResetInserter
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..capacity import ChipCapacity, fpga_identity
from . import protocol as P
from .chip_bridge import ChipBridge
from .dispatcher import CommandDispatcher
from .link import UartLink

MODEL = "neurocosim-fpga"


def _core_spec(image):
    return getattr(image.target, "core", None) or image.target


class FpgaBoard(wiring.Component):
    """With `divisor`: UART pins `rx`/`tx`. Without: wire-byte streams `i`/`o` (the UART
    left out, for fast simulation of everything behind it). `clock_hz` is the clock that
    IDENTIFY reports (default the spec's `clock_hz`; a board build passes its own)."""

    def __init__(self, image, divisor: int | None = None,
                 spike_buffer: int = P.DEFAULT_SPIKE_BUFFER,
                 capacity: ChipCapacity | None = None, clock_hz: int | None = None):
        from ..chip import Chip
        self.image = dataclasses.replace(image, target=_core_spec(image))
        self._chip = Chip(self.image, capacity)
        self.capacity = self._chip.capacity
        spec = self.image.target
        if clock_hz is not None:
            if not isinstance(clock_hz, int) or clock_hz <= 0:
                raise ValueError(f"clock_hz={clock_hz!r} must be a positive integer (Hz)")
            spec = dataclasses.replace(spec, clock_hz=clock_hz)
        self.identity = fpga_identity(spec, self.capacity, MODEL, spike_buffer)
        self.divisor = divisor
        self.n_neurons = self.capacity.n_cores * self.capacity.neurons_per_core
        # built now, so that bad parameters (divisor, spike buffer) fail here
        self._link = (CommandDispatcher(self.identity) if divisor is None
                      else UartLink(self.identity, divisor))
        if divisor is None:
            members = {"i": In(stream.Signature(8)), "o": Out(stream.Signature(8))}
        else:
            members = {"rx": In(1, init=1), "tx": Out(1, init=1)}
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        chip = self._chip
        bridge = ChipBridge(chip.ctl.signature, self.n_neurons)
        m.submodules.bridge = bridge
        m.submodules.chip = ResetInserter({"sync": bridge.chip_reset})(chip)
        wiring.connect(m, chip.ctl, bridge.ctl)
        m.submodules.link = link = self._link
        if self.divisor is None:
            wiring.connect(m, wiring.flipped(self.i), link.i)
            wiring.connect(m, link.o, wiring.flipped(self.o))
        else:
            m.d.comb += [link.rx.eq(self.rx), self.tx.eq(link.tx)]
        wiring.connect(m, link.bus, bridge.bus)
        return m
