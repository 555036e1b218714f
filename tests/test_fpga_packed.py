"""rtl.packed: the slice widths take no more block RAM than any one shape and sum to the
word; a packed memory's host writes (read-modify-write, one field at a time) keep the
other fields, also back to back at one address, and a clear of everything zeroes it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

amaranth = pytest.importorskip("amaranth")

from amaranth import Module, Signal, signed, unsigned  # noqa: E402
from amaranth.sim import Simulator  # noqa: E402

from neurocosim.rtl.packed import RAM_SHAPES, PackedMemory, slice_widths  # noqa: E402


def blocks(widths: list[int], depth: int, family: str) -> int:
    """Block RAMs of slices `widths`, each in its cheapest shape."""
    return sum(min(-(-w // bits) * -(-depth // words) for bits, words in RAM_SHAPES[family])
               for w in widths)


@pytest.mark.parametrize("family", sorted(RAM_SHAPES))
@pytest.mark.parametrize("width,depth", [(1, 100), (9, 2048), (13, 8192), (24, 8192),
                                         (26, 32768), (17, 131072), (40, 300)])
def test_slices_sum_to_the_word_and_beat_every_single_shape(family, width, depth):
    widths = slice_widths(width, depth, family)
    assert sum(widths) == width and all(w >= 1 for w in widths)
    single = min(-(-width // bits) * -(-depth // words) for bits, words in RAM_SHAPES[family])
    assert blocks(widths, depth, family) <= single


def test_ecp5_slices_use_the_parity_bits():
    # 13 x 8192: 9 + 4 bits take 4 + 2 DP16KD; one 13-bit memory takes 7 at best
    assert blocks(slice_widths(13, 8192, "ecp5"), 8192, "ecp5") == 6


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="width=0"):
        slice_widths(0, 10)


REGIONS = {"a": 1, "b": 2, "c": 3}


def packed_bench(family: str):
    """A packed memory of fields a (signed 5), b (unsigned 3), c (unsigned 7) and depth 6
    behind a host link; returns (module, memory, link, host write enable, read address)."""
    m = Module()
    link = SimpleNamespace(cfg_region=Signal(4), cfg_addr=Signal(4), cfg_data=Signal(16),
                           clr=Signal(), clr_all=Signal(), clr_addr=Signal(4))
    we = Signal()
    mem = PackedMemory(m, "p", [("a", signed(5)), ("b", unsigned(3)), ("c", unsigned(7))],
                       6, {"a": [-3, 2], "b": [5], "c": [100, 1, 2]}, family)
    raddr = Signal(4)
    m.d.comb += mem.rd_addr.eq(raddr)       # the walks' address; a host write's wins
    mem.host_writes(link, we, REGIONS)
    return m, mem, link, we, raddr


@pytest.mark.parametrize("family", sorted(RAM_SHAPES))
def test_host_writes_keep_the_other_fields_back_to_back(family):
    m, mem, link, we, raddr = packed_bench(family)
    seen = {}

    async def bench(ctx):
        async def read(addr):
            ctx.set(raddr, addr)
            await ctx.tick()
            return tuple(ctx.get(mem.view(mem.rd_data, f)) for f in "abc")

        assert await read(0) == (-3, 5, 100) and await read(1) == (2, 0, 1)
        # back to back at address 4: a, b, c; then c at address 1, a at 4 again
        for region, addr, data in (("a", 4, -7), ("b", 4, 6), ("c", 4, 99), ("c", 1, 77),
                                   ("a", 4, 9)):
            ctx.set(we, 1)
            ctx.set(link.cfg_region, REGIONS[region])
            ctx.set(link.cfg_addr, addr)
            ctx.set(link.cfg_data, data & 0xFFFF)
            await ctx.tick()
        ctx.set(we, 0)
        await ctx.tick()
        seen["after"] = [await read(a) for a in range(6)]
        ctx.set(link.clr, 1)
        ctx.set(link.clr_all, 1)
        for a in range(6):
            ctx.set(link.clr_addr, a)
            await ctx.tick()
        ctx.set(link.clr, 0)
        seen["cleared"] = [await read(a) for a in range(6)]

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen["after"] == [(-3, 5, 100), (2, 0, 77), (0, 0, 2), (0, 0, 0), (9, 6, 99),
                             (0, 0, 0)]
    assert seen["cleared"] == [(0, 0, 0)] * 6
