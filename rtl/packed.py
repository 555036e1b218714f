"""Memories whose words hold several of the core's host regions side by side, each at its
exact width (a synapse's target and delay; its weight and plastic flag; a column entry's
synapse and axon), cut into slices of the widths the FPGA family's block RAM takes, so
that a word of w bits and depth d takes the fewest block RAMs (the 9/18/36-bit ECP5 shapes
use the parity bits that 1/2/4-bit words leave). One read port and one write port, as one
memory of the word; the host writes one field at a time by read-modify-write.

Pure bit slicing: the cycle behaviour is that of one memory of the whole word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amaranth import Cat, Module, Mux, Shape, Signal, unsigned
from amaranth.lib.memory import Memory

#: (word width, words per block RAM) of each block RAM shape a family has; a family not
#: named here (and a build without a platform, e.g. the exported Verilog) uses ECP5's
RAM_SHAPES = {"ecp5": ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)),
              "ice40": ((2, 2048), (4, 1024), (8, 512), (16, 256))}


#: on ECP5, a memory of at most this many bits is LUT RAM (TRELLIS_DPR16X4): a block RAM
#: holds 18432, and the OrangeCrab's 56 are the limit where its LUTs are not
LUT_RAM_BITS = 8192


def memory_attrs(family: "str | None", bits: int, depth: int) -> "dict | None":
    """Synthesis attributes of a memory of `bits` bits in all and `depth` words: on ECP5 a
    small one (at most LUT_RAM_BITS, more than one word) is LUT RAM, not a block RAM; iCE40
    has no LUT RAM, and there the tools choose."""
    if family == "ecp5" and depth > 1 and bits <= LUT_RAM_BITS:
        return {"ram_style": "distributed"}
    return None


def slice_widths(width: int, depth: int, family: "str | None" = None) -> list[int]:
    """Slice widths (summing to `width`) for a `width` x `depth` memory that take the
    fewest of the family's block RAMs (ties: the fewest slices)."""
    if width < 1 or depth < 1:
        raise ValueError(f"packed memory: width={width}, depth={depth}; both must be >= 1")
    shapes = RAM_SHAPES.get((family or "ecp5").lower(), RAM_SHAPES["ecp5"])
    best: list[tuple[int, list[int]]] = [(0, [])]
    for w in range(1, width + 1):
        options = []
        for bits, words in shapes:
            cost, parts = best[max(0, w - bits)]
            options.append((cost + -(-depth // words), len(parts) + 1,
                            parts + [min(bits, w)]))
        cost, _, parts = min(options)
        best.append((cost, parts))
    return best[width][1]


@dataclass
class Field:
    """One host region in a packed word: its name, shape and bit offset."""
    name: str
    shape: Shape
    offset: int

    @property
    def width(self) -> int:
        return self.shape.width


@dataclass
class PackedMemory:
    """Fields (name, shape) side by side in one word of `depth` words, built into `m`
    as memories named `name`_0, _1, ... (the slices). `rd_addr` / `rd_data` are the read
    port (synchronous; transparent to the write port, so a read-modify-write sees the
    write of the cycle before), `wr_addr` / `wr_data` / `wr_en` the write port; `init`
    maps a field to its initial contents."""

    m: Module
    name: str
    fields: list[tuple[str, object]]
    depth: int
    init: dict[str, list[int]]
    family: "str | None" = None
    layout: dict[str, Field] = field(init=False)

    def __post_init__(self) -> None:
        offset, self.layout = 0, {}
        for name, shape in self.fields:
            shape = Shape.cast(shape)
            self.layout[name] = Field(name, shape, offset)
            offset += shape.width
        self.width = offset
        self.rd_addr = Signal(range(max(2, self.depth)), name=f"{self.name}_rd_addr")
        self.rd_data = Signal(self.width, name=f"{self.name}_rd_data")
        self.wr_addr = Signal(range(max(2, self.depth)), name=f"{self.name}_wr_addr")
        self.wr_data = Signal(self.width, name=f"{self.name}_wr_data")
        self.wr_en = Signal(name=f"{self.name}_wr_en")
        words = self.words()
        reads, low = [], 0
        for i, bits in enumerate(slice_widths(self.width, self.depth, self.family)):
            mask = (1 << bits) - 1
            mem = Memory(shape=unsigned(bits), depth=self.depth,
                         init=[(w >> low) & mask for w in words])
            self.m.submodules[f"{self.name}_{i}"] = mem
            wr = mem.write_port()
            rd = mem.read_port(transparent_for=(wr,))
            self.m.d.comb += [wr.addr.eq(self.wr_addr), wr.data.eq(self.wr_data[low:low + bits]),
                              wr.en.eq(self.wr_en), rd.addr.eq(self.rd_addr)]
            reads.append(rd.data)
            low += bits
        self.m.d.comb += self.rd_data.eq(Cat(*reads))

    def words(self) -> list[int]:
        """The initial words: each field's contents (two's complement), zero-padded."""
        words = [0] * self.depth
        for name, f in self.layout.items():
            values = self.init.get(name, [])
            if len(values) > self.depth:
                raise ValueError(f"{name}: {len(values)} initial values, depth {self.depth}")
            mask = (1 << f.width) - 1
            for i, v in enumerate(values):
                words[i] |= (int(v) & mask) << f.offset
        return words

    def view(self, word, name: str):
        """Field `name` of `word` (rd_data or any word-wide value) in its shape."""
        f = self.layout[name]
        bits = word[f.offset:f.offset + f.width]
        return bits.as_signed() if f.shape.signed else bits

    def replace(self, word, name: str, value):
        """`word` with field `name` replaced by `value` (truncated to its width)."""
        return Cat(*(value[:f.width] if f.name == name else word[f.offset:f.offset + f.width]
                     for f in self.layout.values()))

    def host_writes(self, link, host_we, region_id: dict[str, int]) -> None:
        """The host's field writes: in the cycle of a write to one of the fields' regions
        the word at cfg_addr is read; in the next it is written back with that field
        replaced (one field: written at once). A clear of everything (`clr` with
        `clr_all`) zeroes the word at clr_addr instead. Call after every other driver of
        rd_addr and wr_* (a later comb assignment wins)."""
        m = self.m
        hits = {name: host_we & (link.cfg_region == region_id[name]) for name in self.layout}
        pend = Signal(name=f"{self.name}_pend")
        pend_addr = Signal.like(link.cfg_addr, name=f"{self.name}_pend_addr")
        pend_data = Signal.like(link.cfg_data, name=f"{self.name}_pend_data")
        pend_field = Signal(range(max(2, len(hits))), name=f"{self.name}_pend_field")
        m.d.sync += pend.eq(0)
        if len(hits) > 1:
            for i, (name, hit) in enumerate(hits.items()):
                with m.If(hit):
                    m.d.comb += self.rd_addr.eq(link.cfg_addr)
                    m.d.sync += [pend.eq(1), pend_addr.eq(link.cfg_addr),
                                 pend_data.eq(link.cfg_data), pend_field.eq(i)]
        merged = self.rd_data
        for i, name in enumerate(hits):
            merged = Mux(pend_field == i, self.replace(self.rd_data, name, pend_data), merged)
        with m.If(link.clr & link.clr_all):
            m.d.comb += [self.wr_addr.eq(link.clr_addr), self.wr_data.eq(0),
                         self.wr_en.eq(1)]
        if len(hits) > 1:
            with m.Elif(pend):
                m.d.comb += [self.wr_addr.eq(pend_addr), self.wr_data.eq(merged),
                             self.wr_en.eq(1)]
        else:
            (name, hit), = hits.items()
            with m.Elif(hit):
                m.d.comb += [self.wr_addr.eq(link.cfg_addr),
                             self.wr_data.eq(self.replace(self.rd_data, name, link.cfg_data)),
                             self.wr_en.eq(1)]
