"""Simulation harness for the UART board side: a Python core model behind the HostBus,
and drivers that feed wire bytes (a list, or a live pseudo-terminal) into the dispatcher."""

from __future__ import annotations

import os
import select

import numpy as np
from amaranth.sim import Simulator

from neurocosim.host import protocol as P
from neurocosim.host.virtual_board import LifCoreModel
from neurocosim.rtl.uart.dispatcher import CommandDispatcher


def to_signed(value: int, region: P.Region) -> int:
    bits = 8 * region.width
    value &= (1 << bits) - 1
    if region.signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def rotated(value: int, bits: int, by: int) -> int:
    """`value` (`bits` wide) rotated right by `by` bits, as a register rotates."""
    by %= bits
    value &= (1 << bits) - 1
    return (value >> by) | ((value << (bits - by)) & ((1 << bits) - 1))


class BusModel:
    """Answers the dispatcher's HostBus with a LifCoreModel (the core's stand-in)."""

    def __init__(self, model: LifCoreModel):
        self.model = model
        self.regions = {r.id: r for r in model.identity.regions}
        self.pending_read = None
        self.stream = bytearray()
        self.steps_done = self.steps_target = 0
        self.cycles = self.last_cycles = self.max_cycles = self.spikes = 0
        self.peeks = 0   # the counters' rotation (HostBus.peek), in bytes

    async def run(self, ctx, bus) -> None:
        """Each cycle: drive this cycle's outputs from the state the last edge left (as
        registers would), then read the dispatcher's requests of this cycle."""
        ident = self.model.identity
        while True:
            await ctx.tick()
            # outputs, as registered at the edge that began this cycle
            ctx.set(bus.rvalid, self.pending_read is not None)
            if self.pending_read is not None:
                ctx.set(bus.rdata, self.pending_read & 0xFFFFFFFF)
                self.pending_read = None
            ctx.set(bus.running, self.steps_done < self.steps_target)
            for name, value in (("steps_done", self.steps_done),
                                ("steps_target", self.steps_target),
                                ("cycles", self.cycles), ("last_cycles", self.last_cycles),
                                ("max_cycles", self.max_cycles),
                                ("spike_count", self.spikes)):
                ctx.set(getattr(bus, name), rotated(value, len(getattr(bus, name)),
                                                    8 * self.peeks))
            if self.stream:
                ctx.set(bus.spikes.payload, self.stream[0])
                ctx.set(bus.spikes.valid, 1)
                if ctx.get(bus.spikes.ready):  # taken at the end of this cycle
                    del self.stream[0]
            else:
                ctx.set(bus.spikes.valid, 0)
            # requests of this cycle, acted on at its end
            core, rid, index = ctx.get(bus.core), ctx.get(bus.region), ctx.get(bus.index)
            if ctx.get(bus.we):
                region = self.regions[rid]
                self.model.write(core, region, index,
                                 np.array([to_signed(ctx.get(bus.wdata), region)]))
            if ctx.get(bus.re):
                self.pending_read = int(self.model.read(core, self.regions[rid], index, 1)[0])
            reset = ctx.get(bus.reset)
            if reset:
                self.model.reset(bool(reset & 2))
                self.stream.clear()
                self.steps_done = self.steps_target = 0
                self.cycles = self.last_cycles = self.max_cycles = self.spikes = 0
                self.peeks = 0
            if ctx.get(bus.run):
                self.steps_target += ctx.get(bus.run_steps)
            self.peeks = (self.peeks + ctx.get(bus.peek)) % 8
            # the core steps while the link can take its record
            if self.steps_done < self.steps_target and not self.stream:
                ids, cyc = self.model.step()
                self.stream += P.pack_step_record(self.steps_done, cyc, ids, ident.n_neurons)
                self.steps_done += 1
                self.cycles += cyc
                self.last_cycles = cyc
                self.max_cycles = max(self.max_cycles, cyc)
                self.spikes += len(ids)


def make_sim(model: LifCoreModel):
    dut = CommandDispatcher(model.identity)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    bus_model = BusModel(model)

    async def core(ctx):
        await bus_model.run(ctx, dut.bus)

    sim.add_testbench(core, background=True)
    return dut, sim


def exchange(model: LifCoreModel, requests: list[bytes], gap: int = 800,
             tail: int = 150) -> list[bytes]:
    """Feed each request's wire bytes, then `gap` idle cycles (`tail` once a frame has come
    back: fragments of a long answer leave longer gaps); return the bytes that came back
    after each request."""
    dut, sim = make_sim(model)
    replies: list[bytes] = []

    async def host(ctx):
        ctx.set(dut.o.ready, 1)
        for wire in requests:
            out = bytearray()
            for byte in wire:
                ctx.set(dut.i.payload, byte)
                ctx.set(dut.i.valid, 1)
                await ctx.tick()
                if ctx.get(dut.o.valid):
                    out.append(ctx.get(dut.o.payload))
            ctx.set(dut.i.valid, 0)
            idle = 0
            # until `gap` quiet cycles, or `tail` once a frame has ended (a NACK may follow)
            while idle < (tail if 0 in out else gap):
                await ctx.tick()
                if ctx.get(dut.o.valid):
                    out.append(ctx.get(dut.o.payload))
                    idle = 0
                else:
                    idle += 1
            replies.append(bytes(out))

    sim.add_testbench(host)
    sim.run()
    return replies


def serve_pty(model: LifCoreModel, fd: int, stop) -> None:
    """Bridge a pseudo-terminal master to the simulated dispatcher until stop() is true
    (polled every 64 cycles): the host driver on the slave end talks to the RTL."""
    dut, sim = make_sim(model)

    async def bridge(ctx):
        ctx.set(dut.o.ready, 1)
        inbox, outbox = bytearray(), bytearray()
        cycle = 0
        while True:
            if cycle % 64 == 0:
                if outbox:
                    os.write(fd, bytes(outbox))
                    outbox.clear()
                if stop():
                    return
                if select.select([fd], [], [], 0)[0]:
                    inbox += os.read(fd, 4096)
            if inbox:
                ctx.set(dut.i.payload, inbox[0])
                ctx.set(dut.i.valid, 1)
                del inbox[0]
            else:
                ctx.set(dut.i.valid, 0)
            await ctx.tick()
            cycle += 1
            if ctx.get(dut.o.valid):
                outbox.append(ctx.get(dut.o.payload))

    sim.add_testbench(bridge)
    sim.run()


def serve_pty_dut(dut, fd: int, stop, poll: int = 64) -> None:
    """Bridge a pseudo-terminal master to any design with wire-byte ports `i`/`o` (the
    fpga board without its UART) until stop() is true."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def bridge(ctx):
        ctx.set(dut.o.ready, 1)
        inbox, outbox = bytearray(), bytearray()
        cycle = 0
        while True:
            if cycle % poll == 0:
                if outbox:
                    os.write(fd, bytes(outbox))
                    outbox.clear()
                if stop():
                    return
                if select.select([fd], [], [], 0)[0]:
                    inbox += os.read(fd, 4096)
            if inbox:
                ctx.set(dut.i.payload, inbox[0])
                ctx.set(dut.i.valid, 1)
                del inbox[0]
            else:
                ctx.set(dut.i.valid, 0)
            await ctx.tick()
            cycle += 1
            if ctx.get(dut.o.valid):
                outbox.append(ctx.get(dut.o.payload))

    sim.add_testbench(bridge)
    sim.run()


def line_bits(byte: int) -> list[int]:
    """8N1 as the host's UART sends it: start 0, data LSB first, stop 1."""
    return [0] + [(byte >> k) & 1 for k in range(8)] + [1]


async def uart_send(ctx, pin, data: bytes, divisor: int) -> None:
    """Drive `data` onto a UART rx pin, 8N1, `divisor` clock cycles a bit."""
    for byte in data:
        for bit in line_bits(byte):
            ctx.set(pin, bit)
            await ctx.tick().repeat(divisor)


async def uart_receive_frame(ctx, pin, divisor: int, patience: int = 100_000) -> bytes:
    """Bytes read off a UART tx pin (8N1, each bit sampled in its middle) up to and
    including a 0x00 delimiter; an AssertionError after `patience` idle cycles."""
    received = bytearray()
    while not received or received[-1] != 0:
        idle = 0
        while ctx.get(pin):
            await ctx.tick()
            idle += 1
            assert idle < patience, f"no start bit on tx for {patience} cycles"
        await ctx.tick().repeat(divisor // 2)
        bits = [ctx.get(pin)]
        for _ in range(9):  # from mid start bit to mid stop bit; then hunt the next
            await ctx.tick().repeat(divisor)
            bits.append(ctx.get(pin))
        assert bits[0] == 0 and bits[9] == 1, "framing error on tx"
        received.append(sum(b << k for k, b in enumerate(bits[1:9])))
    return bytes(received)
