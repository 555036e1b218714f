"""The FrameSender alone (rtl.uart.sender): its wire bytes equal protocol.encode_frame for
buffer slices with and without `pre`, resends and NACKs, under random back-pressure, on
frames chosen to reach COBS's corners (zero runs, 254-byte blocks, a frame whose last
byte is zero)."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from neurocosim.rtl.uart import protocol as P
from neurocosim.rtl.uart.sender import COBS_BLOCK, NACK_WIRE, FrameSender

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def _seq_ending_in_zero(payload: bytes) -> int:
    """A sequence number whose frame (type 0x81, `payload`) ends in a zero CRC byte."""
    for seq in range(1 << 16):
        if P.pack_frame(0x81, seq, payload)[-1] == 0:
            return seq
    raise AssertionError("no such sequence number")


def _cases(rng: random.Random) -> list[tuple]:
    """(kind, buffer bytes, seq, type, pre_on, pre) of a session."""
    nonzero = lambda n: bytes(rng.randint(1, 255) for _ in range(n))  # noqa: E731
    cases = [("send", b"", 1, 0x81, False, 0), ("send", b"", 2, 0xFF, True, 0x0203),
             ("send", bytes(40), 3, 0x94, False, 0),
             ("send", b"\x07", _seq_ending_in_zero(b"\x07"), 0x81, False, 0)]
    for n in (COBS_BLOCK - 7, COBS_BLOCK - 6, COBS_BLOCK - 5, 2 * COBS_BLOCK, 1000):
        cases.append(("send", nonzero(n), rng.randint(1, 0xFFFF), 0xA1, False, 0))
        cases.append(("resend",) + cases[-1][1:])
    cases.append(("nack", b"", 0, 0, False, 0))
    for _ in range(12):
        n = rng.randint(0, P.MAX_PAYLOAD - 2)
        zeros = rng.random()
        buf = bytes(0 if rng.random() < zeros else rng.randint(1, 255) for _ in range(n))
        kind = rng.choice(["send", "send", "resend", "nack"])
        cases.append((kind, buf, rng.randint(0, 0xFFFF), rng.randint(0, 255),
                      rng.random() < 0.5, rng.randint(0, 0xFFFF)))
    return cases


async def _load(ctx, dut, buf: bytes, start: int) -> None:
    for j, byte in enumerate(buf):
        ctx.set(dut.w_addr, start + j)
        ctx.set(dut.w_data, byte)
        ctx.set(dut.w_en, 1)
        await ctx.tick()
    ctx.set(dut.w_en, 0)


async def _collect(ctx, dut, rng: random.Random) -> bytes:
    """The wire bytes of one frame, with `o.ready` low at random."""
    out = bytearray()
    for _ in range(20_000):
        if ctx.get(dut.o.valid) and ctx.get(dut.o.ready):
            out.append(ctx.get(dut.o.payload))
        await ctx.tick()
        ctx.set(dut.o.ready, rng.random() < 0.7)
        if out and out[-1] == 0:
            break
    while ctx.get(dut.busy):
        await ctx.tick()
    return bytes(out)


@pytest.mark.parametrize("seed", [1, 2])
def test_frame_sender_streams_what_the_protocol_encodes(seed):
    rng = random.Random(seed)
    dut = FrameSender()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    got, want = [], []

    async def bench(ctx):
        last = None
        for kind, buf, seq, typ, pre_on, pre in _cases(rng):
            if kind == "send":
                start = P.HEADER_SIZE + rng.randint(0, P.MAX_PAYLOAD - len(buf))
                await _load(ctx, dut, buf, start)
                for port, value in ((dut.send, 1), (dut.type, typ), (dut.seq, seq),
                                    (dut.n, len(buf)), (dut.start, start), (dut.pre, pre),
                                    (dut.pre_on, pre_on)):
                    ctx.set(port, value)
                body = (pre.to_bytes(2, "little") if pre_on else b"") + buf
                last = P.encode_frame(typ, seq, body)
                want.append(last)
            elif kind == "resend":
                ctx.set(dut.resend, 1)
                want.append(last)
            else:
                ctx.set(dut.nack, 1)
                want.append(NACK_WIRE)
            ctx.set(dut.o.ready, 1)
            await ctx.tick()
            for port in (dut.send, dut.resend, dut.nack):
                ctx.set(port, 0)
            got.append(await _collect(ctx, dut, rng))

    sim.add_testbench(bench)
    sim.run()
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        assert a == b, f"frame {k}: {a[:24].hex()}... != {b[:24].hex()}..."
    # the session reached the corners it was built for
    frames = [P.cobs_decode(w[:-1]) for w in want]
    assert any(f[-1] == 0 for f in frames)
    assert any(b"\xff" in w and len(w) > COBS_BLOCK for w in want)
