"""The board link protocol: COBS-framed, CRC-32-checked, sequenced request/response frames.

One module encodes and decodes for the host driver, the virtual board, the RTL (which takes
its constants and IDENTIFY bytes from here) and the tests, so they can never disagree. It
lives beside the board side because rtl may not import host; host.protocol re-exports it.
docs/protocol.md is the written specification with byte layouts.

Frame (before COBS), all integers little-endian:

    0  u8   protocol version (PROTOCOL_VERSION)
    1  u8   type: a command code, the command code | 0x80 for its response, 0xFF error
    2  u16  sequence number (a response carries its request's)
    4  u16  payload length n (0..MAX_PAYLOAD)
    6  n    payload
    6+n u32 CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, zlib.crc32) of bytes 0..6+n

On the wire: COBS(frame) followed by one 0x00 delimiter (the host also sends one before
each request, so a request never merges with line noise that preceded it).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum

from ...hw.errors import LimitError, NeurocosimError

PROTOCOL_VERSION = 1
HEADER_SIZE = 6
CRC_SIZE = 4
#: largest payload of one frame: the board's receive buffer (one BRAM of 1 KiB) holds it
MAX_PAYLOAD = 1024
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
#: COBS adds one byte per 254 data bytes (and one at the start); plus the delimiter
MAX_WIRE = MAX_FRAME + MAX_FRAME // 254 + 2
#: the link's bit rate unless both ends are told otherwise (host.board, rtl build --baud)
DEFAULT_BAUD = 1_000_000
#: a board's spike buffer in bytes unless a build asks otherwise (8 iCE40 block RAMs)
DEFAULT_SPIKE_BUFFER = 4096
DELIMITER = 0x00
RESPONSE_BIT = 0x80


class ProtocolError(NeurocosimError):
    """A frame or message breaks the protocol."""


class FrameError(ProtocolError):
    """A received frame is damaged or malformed (the link drops it and retransmits)."""


class VersionError(ProtocolError):
    """The other side speaks another protocol version."""


class BoardError(ProtocolError):
    """The board understood a request and refused it (an ERROR response)."""

    def __init__(self, code: int, command: int, message: str):
        self.code, self.command = code, command
        try:
            what = Cmd(command).name
        except ValueError:
            what = f"0x{command:02x}"
        super().__init__(f"board refused {what}: {ErrorCode.name_of(code)}: {message}")


class BoardTimeoutError(ProtocolError, TimeoutError):
    """The board did not answer after all retries."""


class PortError(ProtocolError, OSError):
    """The serial port itself failed (unplugged adapter, closed pty, refused socket)."""


class Cmd(IntEnum):
    """Command codes (request type byte). A response has type code | 0x80."""

    IDENTIFY = 0x01
    RESET = 0x02
    WRITE_PARAMS = 0x10
    WRITE_WEIGHTS = 0x11
    WRITE_ROUTING = 0x12
    LOAD_STIMULUS = 0x13
    READ_REGION = 0x14
    RUN = 0x20
    READ_SPIKES = 0x21
    READ_COUNTERS = 0x22
    FRAGMENTS = 0x30   # another read's answer, cut into fragment frames (host.link)
    NACK = 0x7E   # only ever sent by the board: type 0xFE, "a damaged frame arrived"
    ERROR = 0x7F  # only ever sent as a response: type 0xFF


ERROR_TYPE = Cmd.ERROR | RESPONSE_BIT
#: the board's answer to a frame it had to drop (bad COBS, length or CRC): sequence 0,
#: empty payload; the host retransmits at once instead of waiting for its timeout
NACK_TYPE = Cmd.NACK | RESPONSE_BIT


class ErrorCode(IntEnum):
    """Codes in an ERROR response."""

    VERSION = 1        # request's version byte is not the board's
    UNKNOWN_COMMAND = 2
    BAD_PAYLOAD = 3    # wrong length or field for the command
    BAD_REGION = 4     # no such core/region, or region of another kind
    OUT_OF_RANGE = 5   # offset + count past the region's depth, or value too wide
    BUSY = 6           # a write while a run is in progress
    INTERNAL = 7

    @classmethod
    def name_of(cls, code: int) -> str:
        try:
            return cls(code).name
        except ValueError:
            return f"code {code}"


class RegionKind(IntEnum):
    """What a board memory region holds; each write command accepts one kind."""

    PARAMS = 0
    WEIGHTS = 1
    ROUTING = 2
    STIMULUS = 3


WRITE_KIND = {Cmd.WRITE_PARAMS: RegionKind.PARAMS, Cmd.WRITE_WEIGHTS: RegionKind.WEIGHTS,
              Cmd.WRITE_ROUTING: RegionKind.ROUTING, Cmd.LOAD_STIMULUS: RegionKind.STIMULUS}
KIND_WRITE = {v: k for k, v in WRITE_KIND.items()}


# --------------------------------------------------------------------------------------
# COBS (consistent overhead byte stuffing): no 0x00 inside an encoded frame.

def cobs_encode(data: bytes) -> bytes:
    """COBS-encode `data` (the result holds no zero byte; the delimiter is not added)."""
    out = bytearray()
    for chunk in bytes(data).split(b"\x00"):
        # a zero-free run longer than 254 is cut into 254-byte blocks with code 0xFF,
        # which carry no implied zero
        while len(chunk) >= 254:
            out.append(0xFF)
            out += chunk[:254]
            chunk = chunk[254:]
        out.append(len(chunk) + 1)
        out += chunk
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Invert `cobs_encode`; a zero byte or a block running past the end is a FrameError."""
    data = bytes(data)
    out = bytearray()
    i, n = 0, len(data)
    if n == 0:
        raise FrameError("empty COBS block")
    while i < n:
        code = data[i]
        if code == 0:
            raise FrameError(f"zero byte inside a COBS frame at offset {i}")
        end = i + code
        if end > n:
            raise FrameError(f"COBS block at offset {i} runs {end - n} byte(s) past the end")
        block = data[i + 1:end]
        if 0 in block:
            raise FrameError(f"zero byte inside a COBS frame at offset {i + 1 + block.index(0)}")
        out += block
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


# --------------------------------------------------------------------------------------
# Frames

def crc32(data: bytes) -> int:
    """CRC-32/ISO-HDLC (zlib): reflected poly 0xEDB88320, init and final xor 0xFFFFFFFF."""
    return zlib.crc32(data) & 0xFFFFFFFF


@dataclass(frozen=True)
class Frame:
    """One decoded frame."""

    type: int
    seq: int
    payload: bytes = b""
    version: int = PROTOCOL_VERSION

    @property
    def is_response(self) -> bool:
        return bool(self.type & RESPONSE_BIT)

    @property
    def command(self) -> int:
        return self.type & ~RESPONSE_BIT


def pack_frame(type_: int, seq: int, payload: bytes = b"",
               version: int = PROTOCOL_VERSION) -> bytes:
    """Header + payload + CRC (not yet COBS-encoded); refuses an oversized payload."""
    if len(payload) > MAX_PAYLOAD:
        raise LimitError("frame payload", len(payload), MAX_PAYLOAD, "bytes")
    if not 0 <= type_ <= 0xFF:
        raise ProtocolError(f"frame type {type_} is not a byte")
    if not 0 <= version <= 0xFF:
        raise ProtocolError(f"protocol version {version} is not a byte")
    body = struct.pack("<BBHH", version, type_, seq & 0xFFFF, len(payload)) + bytes(payload)
    return body + struct.pack("<I", crc32(body))


def encode_frame(type_: int, seq: int, payload: bytes = b"",
                 version: int = PROTOCOL_VERSION) -> bytes:
    """The bytes to send: COBS(header + payload + CRC) + 0x00."""
    return cobs_encode(pack_frame(type_, seq, payload, version)) + b"\x00"


def unpack_frame(raw: bytes) -> Frame:
    """Check length and CRC of a COBS-decoded frame and split it; FrameError if bad.

    The version byte is returned, not checked: the link layer decides what a frame of
    another version means (the board answers with an ERROR, the host refuses the board).
    """
    if len(raw) < HEADER_SIZE + CRC_SIZE:
        raise FrameError(f"frame of {len(raw)} bytes is shorter than the "
                         f"{HEADER_SIZE + CRC_SIZE}-byte minimum")
    if len(raw) > MAX_FRAME:
        raise FrameError(f"frame of {len(raw)} bytes exceeds the {MAX_FRAME}-byte maximum")
    version, type_, seq, length = struct.unpack_from("<BBHH", raw)
    if HEADER_SIZE + length + CRC_SIZE != len(raw):
        raise FrameError(f"frame says payload {length} bytes but holds "
                         f"{len(raw) - HEADER_SIZE - CRC_SIZE}")
    (crc,) = struct.unpack_from("<I", raw, len(raw) - CRC_SIZE)
    if crc != crc32(raw[:-CRC_SIZE]):
        raise FrameError("CRC mismatch")
    return Frame(type_, seq, bytes(raw[HEADER_SIZE:HEADER_SIZE + length]), version)


def decode_frame(wire: bytes) -> Frame:
    """Decode one frame from its wire bytes (with or without the trailing delimiter)."""
    wire = bytes(wire)
    if wire.endswith(b"\x00"):
        wire = wire[:-1]
    if len(wire) > MAX_WIRE:
        raise FrameError(f"encoded frame of {len(wire)} bytes exceeds the {MAX_WIRE}-byte "
                         "maximum")
    return unpack_frame(cobs_decode(wire))


@dataclass
class Deframer:
    """Cut a byte stream at 0x00 delimiters into frames, dropping damaged ones.

    Never raises on input: bad frames are counted in `errors` (and the last reason kept in
    `last_error`); an over-long run without a delimiter is discarded up to the next one.
    """

    buffer: bytearray = field(default_factory=bytearray)
    errors: int = 0
    frames: int = 0
    last_error: str = ""
    _overflow: bool = False

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        start = 0
        data = bytes(data)
        while True:
            cut = data.find(b"\x00", start)
            piece = data[start:] if cut < 0 else data[start:cut]
            if not self._overflow:
                self.buffer += piece
                if len(self.buffer) > MAX_WIRE:
                    self._overflow = True
                    self.buffer.clear()
            if cut < 0:
                return out
            start = cut + 1
            if self._overflow:
                self._overflow = False
                self._reject(f"frame longer than {MAX_WIRE} bytes")
                continue
            if not self.buffer:  # back-to-back delimiters: an idle line, not an error
                continue
            wire, self.buffer = bytes(self.buffer), bytearray()
            try:
                out.append(decode_frame(wire))
                self.frames += 1
            except FrameError as exc:
                self._reject(str(exc))

    def _reject(self, reason: str) -> None:
        self.errors += 1
        self.last_error = reason

    def reset(self) -> None:
        self.buffer.clear()
        self._overflow = False


# --------------------------------------------------------------------------------------
# Message payloads. Each pack_*/unpack_* pair is the one definition of a layout.

def _need(payload: bytes, size: int, what: str, exact: bool = True) -> None:
    if (len(payload) != size) if exact else (len(payload) < size):
        raise ProtocolError(f"{what} payload of {len(payload)} bytes, expected "
                            f"{'' if exact else 'at least '}{size}")


def _pack_str(s: str) -> bytes:
    b = s.encode("utf-8")
    if len(b) > 255:
        raise LimitError(f"string {s[:20]!r}... length", len(b), 255, "bytes")
    return bytes([len(b)]) + b


def _unpack_str(buf: bytes, i: int) -> tuple[str, int]:
    if i >= len(buf):
        raise ProtocolError("string runs past the end of the payload")
    n = buf[i]
    if i + 1 + n > len(buf):
        raise ProtocolError("string runs past the end of the payload")
    try:
        return buf[i + 1:i + 1 + n].decode("utf-8"), i + 1 + n
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"string is not UTF-8 ({exc})") from None


@dataclass(frozen=True)
class Region:
    """One writable/readable memory of the board: `depth` elements of `width` bytes.

    `range` (lowest, highest), when given, is narrower than the width: the values the
    board's memory holds exactly (a chip memory of fewer bits, an index below a capacity).
    A `writeonly` region is written by the host and not read back."""

    id: int
    kind: RegionKind
    name: str
    width: int       # bytes per element: 1, 2 or 4
    signed: bool
    depth: int       # elements per core
    readonly: bool = False   # held in the bitstream: read, not written
    writeonly: bool = False  # written, not read back (no read port on the board)
    range: "tuple[int, int] | None" = None

    @property
    def value_range(self) -> tuple[int, int]:
        """The lowest and highest value an element may hold."""
        if self.range is not None:
            return self.range
        bits = 8 * self.width
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else \
            (0, (1 << bits) - 1)

    def check(self, values, offset: int = 0) -> None:
        """Refuse values that do not fit this region (range and bounds), naming them."""
        import numpy as np
        v = np.asarray(values, dtype=np.int64)
        if offset < 0 or offset + v.size > self.depth:
            raise LimitError(f"region {self.name!r} elements", offset + v.size, self.depth,
                             f"offset {offset} + {v.size} values: "
                             f"{offset + v.size - self.depth} over")
        lo, hi = self.value_range
        if v.size and (v.min() < lo or v.max() > hi):
            bad = v[(v < lo) | (v > hi)][0]
            what = (f"{'signed' if self.signed else 'unsigned'} {8 * self.width}-bit"
                    if self.range is None else "what the board's memory holds")
            raise LimitError(f"region {self.name!r} value", int(bad), f"{lo}..{hi}", what)


_REGION_HEAD = struct.Struct("<BBBBI")  # id, kind, width, flags, depth
_REGION_RANGE = struct.Struct("<ii")    # lowest, highest (flag REGION_RANGE)
REGION_SIGNED = 0x01
REGION_READONLY = 0x02
REGION_WRITEONLY = 0x04
REGION_RANGE = 0x08


@dataclass(frozen=True)
class Identity:
    """The IDENTIFY response: who the board is and what it holds."""

    protocol_version: int
    model: str
    n_cores: int
    neurons_per_core: int
    clock_hz: int
    max_payload: int
    spike_buffer: int                 # bytes the board can hold before a run pauses
    params: tuple[tuple[str, int], ...] = ()   # core parameters (bit widths, formats...)
    regions: tuple[Region, ...] = ()

    @property
    def n_neurons(self) -> int:
        return self.n_cores * self.neurons_per_core

    def region(self, name: str) -> Region:
        for r in self.regions:
            if r.name == name:
                return r
        raise ProtocolError(f"board has no region {name!r}; it has "
                            f"{', '.join(r.name for r in self.regions) or 'none'}")


_IDENT_HEAD = struct.Struct("<HBHIHI")


def pack_identity(ident: Identity) -> bytes:
    out = bytearray(_IDENT_HEAD.pack(ident.protocol_version, ident.n_cores,
                                     ident.neurons_per_core, ident.clock_hz,
                                     ident.max_payload, ident.spike_buffer))
    out += _pack_str(ident.model)
    out.append(len(ident.params))
    for name, value in ident.params:
        out += _pack_str(name) + struct.pack("<q", int(value))
    out.append(len(ident.regions))
    for r in ident.regions:
        flags = (int(r.signed) | (REGION_READONLY if r.readonly else 0)
                 | (REGION_WRITEONLY if r.writeonly else 0)
                 | (REGION_RANGE if r.range is not None else 0))
        out += _REGION_HEAD.pack(r.id, int(r.kind), r.width, flags, r.depth)
        out += _pack_str(r.name)
        if r.range is not None:
            out += _REGION_RANGE.pack(*r.range)
    return bytes(out)


def unpack_identity(buf: bytes) -> Identity:
    _need(buf, _IDENT_HEAD.size, "IDENTIFY", exact=False)
    version, n_cores, npc, clock, max_payload, spike_buffer = _IDENT_HEAD.unpack_from(buf)
    model, i = _unpack_str(buf, _IDENT_HEAD.size)
    params = []
    if i >= len(buf):
        raise ProtocolError("IDENTIFY payload ends before its parameter count")
    n, i = buf[i], i + 1
    for _ in range(n):
        name, i = _unpack_str(buf, i)
        _need(buf[i:], 8, "IDENTIFY parameter", exact=False)
        params.append((name, struct.unpack_from("<q", buf, i)[0]))
        i += 8
    if i >= len(buf):
        raise ProtocolError("IDENTIFY payload ends before its region count")
    n, i = buf[i], i + 1
    regions = []
    for _ in range(n):
        _need(buf[i:], _REGION_HEAD.size, "IDENTIFY region", exact=False)
        rid, kind, width, flags, depth = _REGION_HEAD.unpack_from(buf, i)
        name, i = _unpack_str(buf, i + _REGION_HEAD.size)
        try:
            kind = RegionKind(kind)
        except ValueError:
            raise ProtocolError(f"IDENTIFY region {name!r}: unknown kind {kind}") from None
        if width not in (1, 2, 4):
            raise ProtocolError(f"IDENTIFY region {name!r}: element width {width} bytes "
                                "is not 1, 2 or 4")
        if flags & ~(REGION_SIGNED | REGION_READONLY | REGION_WRITEONLY | REGION_RANGE):
            raise ProtocolError(f"IDENTIFY region {name!r}: unknown flags 0x{flags:02x}")
        rng = None
        if flags & REGION_RANGE:
            _need(buf[i:], _REGION_RANGE.size, "IDENTIFY region range", exact=False)
            rng = _REGION_RANGE.unpack_from(buf, i)
            i += _REGION_RANGE.size
        regions.append(Region(rid, kind, name, width, bool(flags & REGION_SIGNED), depth,
                              bool(flags & REGION_READONLY), bool(flags & REGION_WRITEONLY),
                              rng))
    if i != len(buf):
        raise ProtocolError(f"IDENTIFY payload has {len(buf) - i} trailing byte(s)")
    return Identity(version, model, n_cores, npc, clock, max_payload, spike_buffer,
                    tuple(params), tuple(regions))


# RESET ------------------------------------------------------------------------------

RESET_STATE = 0   # neuron state, time, spike stream and counters; memories kept
RESET_ALL = 1     # also clear every memory region


def pack_reset(what: int) -> bytes:
    return bytes([what])


def unpack_reset(buf: bytes) -> int:
    _need(buf, 1, "RESET")
    if buf[0] not in (RESET_STATE, RESET_ALL):
        raise ProtocolError(f"RESET mode {buf[0]} is not {RESET_STATE} or {RESET_ALL}")
    return buf[0]


# WRITE_* / READ_REGION ----------------------------------------------------------------

_ACCESS = struct.Struct("<BBIH")  # core, region, offset, count
ACCESS_SIZE = _ACCESS.size
_DTYPES = {(1, True): "<i1", (1, False): "<u1", (2, True): "<i2", (2, False): "<u2",
           (4, True): "<i4", (4, False): "<u4"}


def values_per_frame(width: int, max_payload: int = MAX_PAYLOAD) -> int:
    """How many elements of `width` bytes one WRITE frame or READ response can carry."""
    return (max_payload - ACCESS_SIZE) // width


def pack_write(core: int, region: Region, offset: int, values) -> bytes:
    """A WRITE_* payload; values are checked against the region (no silent wrap)."""
    import numpy as np
    region.check(values, offset)
    v = np.asarray(values, dtype=np.int64)
    data = v.astype(_DTYPES[region.width, region.signed]).tobytes()
    if ACCESS_SIZE + len(data) > MAX_PAYLOAD:
        raise LimitError("values in one WRITE frame", v.size,
                         values_per_frame(region.width), f"{region.width}-byte elements")
    return _ACCESS.pack(core, region.id, offset, v.size) + data


def unpack_access(buf: bytes) -> tuple[int, int, int, int, bytes]:
    """(core, region id, offset, count, data bytes) of a WRITE_* or READ_REGION payload."""
    _need(buf, ACCESS_SIZE, "region access", exact=False)
    core, rid, offset, count = _ACCESS.unpack_from(buf)
    return core, rid, offset, count, bytes(buf[ACCESS_SIZE:])


def decode_values(region: Region, data: bytes, count: int):
    """Element bytes of `region` -> int64 array, checking the byte count."""
    import numpy as np
    if len(data) != count * region.width:
        raise ProtocolError(f"{count} elements of {region.width} bytes need "
                            f"{count * region.width} bytes, got {len(data)}")
    return np.frombuffer(data, dtype=_DTYPES[region.width, region.signed]).astype(np.int64)


def pack_read(core: int, region: Region, offset: int, count: int) -> bytes:
    if offset < 0 or count < 0 or offset + count > region.depth:
        raise LimitError(f"region {region.name!r} elements", offset + count, region.depth,
                         f"read of {count} from offset {offset}")
    if count > values_per_frame(region.width):
        raise LimitError("values in one READ response", count,
                         values_per_frame(region.width), f"{region.width}-byte elements")
    return _ACCESS.pack(core, region.id, offset, count)


# RUN / READ_SPIKES / READ_COUNTERS -------------------------------------------------------

def pack_run(n_steps: int) -> bytes:
    if not 0 <= n_steps <= 0xFFFFFFFF:
        raise LimitError("timesteps in one RUN", n_steps, 0xFFFFFFFF)
    return struct.pack("<I", n_steps)


def unpack_run(buf: bytes) -> int:
    _need(buf, 4, "RUN")
    return struct.unpack("<I", buf)[0]


_SPIKE_REQ = struct.Struct("<QH")     # cursor (stream bytes the host holds), max bytes
_SPIKE_RESP = struct.Struct("<QBQQ")  # cursor of data[0], status, steps done, steps target
SPIKE_RESP_HEAD = _SPIKE_RESP.size
STATUS_RUNNING = 0x01    # steps done < target
STATUS_STALLED = 0x02    # the run waits because the spike buffer is full


def pack_spike_request(cursor: int, max_bytes: int) -> bytes:
    return _SPIKE_REQ.pack(cursor, max_bytes)


def unpack_spike_request(buf: bytes) -> tuple[int, int]:
    _need(buf, _SPIKE_REQ.size, "READ_SPIKES")
    return _SPIKE_REQ.unpack(buf)


@dataclass(frozen=True)
class SpikeChunk:
    """A READ_SPIKES response: stream bytes from `cursor` on, and the run's progress."""

    cursor: int
    status: int
    steps_done: int
    steps_target: int
    data: bytes

    @property
    def running(self) -> bool:
        return bool(self.status & STATUS_RUNNING)


def pack_spike_chunk(c: SpikeChunk) -> bytes:
    return _SPIKE_RESP.pack(c.cursor, c.status, c.steps_done, c.steps_target) + c.data


def unpack_spike_chunk(buf: bytes) -> SpikeChunk:
    _need(buf, SPIKE_RESP_HEAD, "READ_SPIKES response", exact=False)
    cursor, status, done, target = _SPIKE_RESP.unpack_from(buf)
    return SpikeChunk(cursor, status, done, target, bytes(buf[SPIKE_RESP_HEAD:]))


@dataclass(frozen=True)
class Counters:
    """READ_COUNTERS: time and clock cycles of the core, and the link's own statistics."""

    steps: int
    cycles: int            # clock cycles spent in timesteps since reset
    last_step_cycles: int
    max_step_cycles: int
    spikes: int            # spikes emitted since reset
    rx_frames: int         # good frames received
    rx_errors: int         # frames dropped for bad CRC, COBS or length
    duplicates: int        # retransmitted requests answered from the cache


_COUNTERS = struct.Struct("<QQIIQIII")


def pack_counters(c: Counters) -> bytes:
    return _COUNTERS.pack(c.steps, c.cycles, c.last_step_cycles, c.max_step_cycles, c.spikes,
                          c.rx_frames & 0xFFFFFFFF, c.rx_errors & 0xFFFFFFFF,
                          c.duplicates & 0xFFFFFFFF)


def unpack_counters(buf: bytes) -> Counters:
    _need(buf, _COUNTERS.size, "READ_COUNTERS response")
    return Counters(*_COUNTERS.unpack(buf))


# FRAGMENTS -----------------------------------------------------------------------------
#
# A long answer (IDENTIFY, READ_REGION, READ_SPIKES, READ_COUNTERS) asked for in pieces, so
# that on a noisy line each piece is short enough to arrive whole. Request payload:
#     u8 command, u8 copies, u16 fragment data bytes, u8 first fragment, u8 m, m mask
#     bytes, then the command's own payload
# The board answers with fragments first, first+1, ... (m = 0: all of them) or only those
# whose bit is set in the mask (bit i, LSB first: fragment first + i), `copies` times over,
# each a frame of type FRAGMENTS | 0x80 with the request's sequence number and payload
#     u8 index, u8 last index, data (`size` bytes; the last fragment holds the rest)
# It keeps the last fragmented answer under (sequence, command, command payload): asking
# again with the same sequence and command re-sends fragments of that answer and never
# re-executes it (the payload may then be left out: the request is shorter).

FRAGMENTABLE = (Cmd.IDENTIFY, Cmd.READ_REGION, Cmd.READ_SPIKES, Cmd.READ_COUNTERS)
FRAGMENT_HEAD = 2      # u8 index, u8 last index
MAX_FRAGMENTS = 256
MAX_FRAGMENT_DATA = MAX_PAYLOAD - FRAGMENT_HEAD
MAX_COPIES = 8
_FRAG_REQ = struct.Struct("<BBHBB")   # command, copies, size, first, mask bytes


@dataclass(frozen=True)
class FragmentRequest:
    """A FRAGMENTS request: which command's answer, cut how, and which pieces to send."""

    command: int
    size: int            # data bytes per fragment (the last one may hold fewer)
    first: int = 0
    mask: bytes = b""    # bit i: send fragment first + i; empty: every fragment from first
    payload: bytes = b""  # the command's own request payload
    copies: int = 1      # the asked fragments are sent this many times over

    def wanted(self, n_fragments: int) -> list[int]:
        """The fragment indices this request asks for, of an answer of n_fragments."""
        if not self.mask:
            return list(range(self.first, n_fragments))
        return [self.first + i for i in range(8 * len(self.mask))
                if self.mask[i >> 3] >> (i & 7) & 1 and self.first + i < n_fragments]


def pack_fragment_request(req: FragmentRequest) -> bytes:
    if req.command not in FRAGMENTABLE:
        raise ProtocolError(f"command 0x{req.command:02x} is not fragmentable; only "
                            f"{', '.join(c.name for c in FRAGMENTABLE)}")
    if not 1 <= req.size <= MAX_FRAGMENT_DATA:
        raise LimitError("fragment data bytes", req.size, f"1..{MAX_FRAGMENT_DATA}")
    if not 1 <= req.copies <= MAX_COPIES:
        raise LimitError("fragment copies", req.copies, f"1..{MAX_COPIES}")
    if not 0 <= req.first < MAX_FRAGMENTS or len(req.mask) > 32:
        raise LimitError("fragment window", f"first {req.first}, {len(req.mask)} mask bytes",
                         f"first < {MAX_FRAGMENTS}, at most 32 mask bytes")
    return (_FRAG_REQ.pack(req.command, req.copies, req.size, req.first, len(req.mask))
            + req.mask + req.payload)


def unpack_fragment_request(buf: bytes) -> FragmentRequest:
    _need(buf, _FRAG_REQ.size, "FRAGMENTS", exact=False)
    command, copies, size, first, m = _FRAG_REQ.unpack_from(buf)
    i = _FRAG_REQ.size
    _need(buf[i:], m, "FRAGMENTS mask", exact=False)
    if command not in FRAGMENTABLE:
        raise ProtocolError(f"FRAGMENTS of command 0x{command:02x}, which is not "
                            "fragmentable")
    if not 1 <= size <= MAX_FRAGMENT_DATA:
        raise ProtocolError(f"FRAGMENTS size {size} outside 1..{MAX_FRAGMENT_DATA}")
    if not 1 <= copies <= MAX_COPIES:
        raise ProtocolError(f"FRAGMENTS copies {copies} outside 1..{MAX_COPIES}")
    return FragmentRequest(command, size, first, bytes(buf[i:i + m]), bytes(buf[i + m:]),
                           copies)


def split_answer(answer: bytes, size: int) -> list[bytes]:
    """The fragment payloads (index, last index, data) of `answer` cut every `size`
    bytes; an empty answer is one empty fragment."""
    n = max(1, -(-len(answer) // size))
    if n > MAX_FRAGMENTS:
        raise LimitError("fragments of one answer", n, MAX_FRAGMENTS,
                         f"{len(answer)} bytes in pieces of {size}")
    return [bytes([k, n - 1]) + answer[k * size:(k + 1) * size] for k in range(n)]


@dataclass
class Reassembly:
    """The fragments of one answer as they arrive (any order, duplicates, gaps), checked
    against each other and the fragment size asked for; `answer()` once complete."""

    size: int
    last: int | None = None
    parts: dict[int, bytes] = field(default_factory=dict)

    def add(self, payload: bytes) -> bool:
        """Take one fragment payload; True if it was new. A fragment that contradicts
        the others (count, size, or a different body at the same index) is a
        ProtocolError: its answer cannot be trusted."""
        if len(payload) < FRAGMENT_HEAD:
            raise ProtocolError(f"fragment of {len(payload)} bytes has no header")
        index, last, data = payload[0], payload[1], bytes(payload[FRAGMENT_HEAD:])
        if self.last is not None and last != self.last:
            raise ProtocolError(f"fragment says the answer ends at {last}, an earlier one "
                                f"said {self.last}")
        if index > last:
            raise ProtocolError(f"fragment {index} past the last index {last}")
        if len(data) > self.size or (index < last and len(data) != self.size) \
                or (index == last and last and not data):
            raise ProtocolError(f"fragment {index} of {last + 1} holds {len(data)} bytes; "
                                f"asked for {self.size} per fragment")
        self.last = last
        if index in self.parts:
            if self.parts[index] != data:
                raise ProtocolError(f"fragment {index} arrived twice with different data")
            return False
        self.parts[index] = data
        return True

    def missing(self) -> list[int]:
        """Fragment indices still to come ([0] before anything arrived)."""
        if self.last is None:
            return [0]
        return [k for k in range(self.last + 1) if k not in self.parts]

    @property
    def complete(self) -> bool:
        return self.last is not None and len(self.parts) == self.last + 1

    def answer(self) -> bytes:
        if not self.complete:
            raise ProtocolError(f"answer incomplete: fragments {self.missing()} missing")
        return b"".join(self.parts[k] for k in range(self.last + 1))


def pack_error(code: int, command: int, message: str) -> bytes:
    return bytes([code, command]) + message.encode("utf-8")[:MAX_PAYLOAD - 2]


def unpack_error(buf: bytes) -> BoardError:
    if len(buf) < 2:
        return BoardError(ErrorCode.INTERNAL, 0, f"malformed ERROR payload {buf!r}")
    return BoardError(buf[0], buf[1], buf[2:].decode("utf-8", "replace"))


# Spike stream records -------------------------------------------------------------------
#
# The spike stream is a byte stream (read with cursors, so records may straddle frames).
# One record per timestep, in order:
#     u32 step, u32 cycles of that step, u16 n | 0x8000 if bitmap, then
#     n u16 neuron ids (ascending)            if not bitmap
#     ceil(n_neurons / 8) bytes, LSB first    if bitmap (n = number of set bits)

_REC = struct.Struct("<IIH")
RECORD_HEAD = _REC.size
BITMAP_FLAG = 0x8000
MAX_IDS = 0x7FFF


def pack_step_record(step: int, cycles: int, ids, n_neurons: int) -> bytes:
    """One timestep's record; the smaller of id list and bitmap is chosen."""
    import numpy as np
    ids = np.asarray(ids, dtype=np.int64)
    nbytes_bitmap = (n_neurons + 7) // 8
    if ids.size and (ids.min() < 0 or ids.max() >= n_neurons):
        raise LimitError("spiking neuron id", int(ids.max()), n_neurons - 1)
    if 2 * ids.size > nbytes_bitmap or ids.size > MAX_IDS:
        bits = np.zeros(nbytes_bitmap * 8, dtype=np.uint8)
        bits[ids] = 1
        return (_REC.pack(step & 0xFFFFFFFF, cycles & 0xFFFFFFFF,
                          int(np.count_nonzero(bits)) | BITMAP_FLAG)
                + np.packbits(bits, bitorder="little").tobytes())
    return (_REC.pack(step & 0xFFFFFFFF, cycles & 0xFFFFFFFF, ids.size)
            + np.sort(ids).astype("<u2").tobytes())


@dataclass
class SpikeStreamParser:
    """Reassemble step records from stream bytes that arrive in arbitrary cuts.

    Checks that steps arrive consecutively (a lost or reordered record is an error, not a
    silent gap) and that a bitmap holds the count its header says.
    """

    n_neurons: int
    next_step: int = 0
    buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[tuple[int, int, "object"]]:
        """Append bytes; return the complete records as (step, cycles, ids array)."""
        import numpy as np
        self.buffer += data
        out = []
        buf, i = self.buffer, 0
        nbm = (self.n_neurons + 7) // 8
        while len(buf) - i >= RECORD_HEAD:
            step, cycles, n = _REC.unpack_from(buf, i)
            size = nbm if n & BITMAP_FLAG else 2 * n
            if len(buf) - i - RECORD_HEAD < size:
                break
            body = bytes(buf[i + RECORD_HEAD:i + RECORD_HEAD + size])
            if n & BITMAP_FLAG:
                bits = np.unpackbits(np.frombuffer(body, np.uint8), bitorder="little")
                ids = np.flatnonzero(bits[:self.n_neurons]).astype(np.int64)
                if ids.size != n & ~BITMAP_FLAG or bits[self.n_neurons:].any():
                    raise ProtocolError(f"spike bitmap of step {step} holds {ids.size} "
                                        f"spikes, its header says {n & ~BITMAP_FLAG}")
            else:
                ids = np.frombuffer(body, "<u2").astype(np.int64)
                if ids.size and ids.max() >= self.n_neurons:
                    raise ProtocolError(f"step {step}: neuron id {ids.max()} >= "
                                        f"{self.n_neurons}")
            if step != self.next_step & 0xFFFFFFFF:
                raise ProtocolError(f"spike stream: record of step {step} where step "
                                    f"{self.next_step} was due (lost or reordered data)")
            out.append((self.next_step, cycles, ids))
            self.next_step += 1
            i += RECORD_HEAD + size
        del buf[:i]
        return out
