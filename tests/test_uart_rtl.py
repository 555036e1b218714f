"""Amaranth-simulator tests of the board's UART front end against host.protocol:
bit-level UART rx/tx against a Python line model, CRC-32 and COBS on generated frames."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.host import protocol as P
from neurocosim.rtl.uart import CRC32_RESIDUE, CobsDecoder, Crc32, UartRx, UartTx

from rtl_uart.harness import line_bits, uart_receive_frame, uart_send

# the constructors refused in test_uart_divisor_is_checked are never elaborated, by design
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def simulate(dut, bench) -> None:
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("divisor", [4, 7])
def test_uart_tx_matches_line_model(divisor):
    data = list(np.random.default_rng(divisor).integers(0, 256, 12)) + [0x00, 0xFF]
    dut = UartTx(divisor)
    sampled = []

    async def bench(ctx):
        for byte in data:
            while not ctx.get(dut.i.ready):
                await ctx.tick()
            ctx.set(dut.i.payload, int(byte))
            ctx.set(dut.i.valid, 1)
            await ctx.tick()
            ctx.set(dut.i.valid, 0)
            # find the start bit, then sample the middle of each bit
            while ctx.get(dut.tx):
                await ctx.tick()
            await ctx.tick().repeat(divisor // 2)
            bits = []
            for _ in range(10):
                bits.append(ctx.get(dut.tx))
                await ctx.tick().repeat(divisor)
            sampled.append(bits)

    simulate(dut, bench)
    assert sampled == [line_bits(int(b)) for b in data]


@pytest.mark.parametrize("divisor", [4, 9])
def test_uart_rx_matches_line_model(divisor):
    data = [int(b) for b in np.random.default_rng(divisor).integers(0, 256, 12)] + [0, 255]
    dut = UartRx(divisor)
    got, errors = [], []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(3)
        for byte in data:
            for bit in line_bits(byte):
                ctx.set(dut.rx, bit)
                for _ in range(divisor):
                    await ctx.tick()
                    if ctx.get(dut.o.valid):
                        got.append(ctx.get(dut.o.payload))
                    errors.append(ctx.get(dut.frame_error))
        for _ in range(4 * divisor):
            await ctx.tick()
            if ctx.get(dut.o.valid):
                got.append(ctx.get(dut.o.payload))

    simulate(dut, bench)
    assert got == data and not any(errors)


def test_uart_rx_flags_a_low_stop_bit():
    dut = UartRx(4)
    flagged = []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        for bit in [1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1]:  # stop bit 0
            ctx.set(dut.rx, bit)
            for _ in range(4):
                await ctx.tick()
                flagged.append((ctx.get(dut.frame_error), ctx.get(dut.o.valid)))

    simulate(dut, bench)
    assert any(e for e, _ in flagged) and not any(v for _, v in flagged)


def test_uart_divisor_is_checked():
    with pytest.raises(ValueError, match="divisor 1 must be an integer >= 2"):
        UartTx(1)
    with pytest.raises(ValueError, match="divisor 3 must be an integer >= 4"):
        UartRx(3)


@settings(max_examples=10, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 0xFFFF), st.integers(0, 0xFF),
       st.integers(-1, 400))
def test_crc32_matches_protocol_on_frames(payload, seq, type_, flip_at):
    raw = P.pack_frame(type_, seq, payload)
    damaged = bytearray(raw)
    if 0 <= flip_at < len(raw):
        damaged[flip_at] ^= 0x5A
    dut = Crc32()
    seen = {}

    async def bench(ctx):
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        for k, byte in enumerate(damaged):
            if k == len(damaged) - P.CRC_SIZE:
                seen["crc"] = ctx.get(dut.crc)
            ctx.set(dut.i.payload, byte)
            ctx.set(dut.i.valid, 1)
            await ctx.tick()
        ctx.set(dut.i.valid, 0)
        seen["ok"] = ctx.get(dut.ok)

    simulate(dut, bench)
    assert seen["crc"] == P.crc32(bytes(damaged[:-P.CRC_SIZE]))
    assert seen["ok"] == (bytes(damaged) == raw) and CRC32_RESIDUE == 0x2144DF1C


def run_cobs(wire: bytes) -> list[tuple[bytes, bool]]:
    """Feed wire bytes (gaps between them, as from a UART); frames as (bytes, error)."""
    dut = CobsDecoder()
    frames, current = [], bytearray()

    async def bench(ctx):
        for byte in list(wire) + [None] * 2:
            if byte is None:
                ctx.set(dut.i.valid, 0)
            else:
                ctx.set(dut.i.payload, byte)
                ctx.set(dut.i.valid, 1)
            await ctx.tick()
            ctx.set(dut.i.valid, 0)
            if ctx.get(dut.o_valid):
                current.append(ctx.get(dut.o_data))
            if ctx.get(dut.end):
                frames.append((bytes(current), bool(ctx.get(dut.error))))
                current.clear()
            await ctx.tick()  # an idle cycle between bytes
            if ctx.get(dut.o_valid):
                current.append(ctx.get(dut.o_data))
            if ctx.get(dut.end):
                frames.append((bytes(current), bool(ctx.get(dut.error))))
                current.clear()

    simulate(dut, bench)
    return frames


@settings(max_examples=10, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=3))
def test_cobs_decoder_recovers_protocol_frames(payloads):
    wire = b"".join(P.encode_frame(0x81, i, p) for i, p in enumerate(payloads))
    frames = run_cobs(wire)
    assert frames == [(P.pack_frame(0x81, i, p), False) for i, p in enumerate(payloads)]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=80))
def test_cobs_decoder_agrees_with_python_on_garbage(body):
    wire = bytes(b for b in body if b) + b"\x00"
    (frame, error), = run_cobs(wire)
    if len(wire) == 1:
        assert (frame, error) == (b"", False)
        return
    try:
        expected = P.cobs_decode(wire[:-1])
    except P.FrameError:
        assert error
    else:
        assert not error and frame == expected


def test_uart_link_answers_identify_through_the_pins():
    """Host bytes in on the rx pin at 8N1, the IDENTIFY answer out on the tx pin."""
    from neurocosim.host.virtual_board import LifCoreModel
    from neurocosim.rtl.uart.link import UartLink
    ident = LifCoreModel(1, 4, stim_depth=8, spike_buffer=64).identity
    divisor = 4
    dut = UartLink(ident, divisor)
    request = b"\x00" + P.encode_frame(P.Cmd.IDENTIFY, 77)
    received = bytearray()

    async def bench(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(4)
        await uart_send(ctx, dut.rx, request, divisor)
        received.extend(await uart_receive_frame(ctx, dut.tx, divisor))

    simulate(dut, bench)
    frame = P.decode_frame(bytes(received))
    assert (frame.type, frame.seq) == (P.Cmd.IDENTIFY | P.RESPONSE_BIT, 77)
    assert P.unpack_identity(frame.payload) == ident
