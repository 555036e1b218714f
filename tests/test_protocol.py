"""The link protocol: COBS, CRC, frames, payload layouts, spike records; fuzzed decoder."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurocosim.host import protocol as P
from neurocosim.hw.errors import LimitError


def naive_cobs_encode(data: bytes) -> bytes:
    """Byte-by-byte COBS as the textbook writes it (oracle for the split-based encoder)."""
    out, block = bytearray(), bytearray()
    for b in data:
        if b == 0:
            out += bytes([len(block) + 1]) + block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out += bytes([255]) + block
                block = bytearray()
    out += bytes([len(block) + 1]) + block
    return bytes(out)


@given(st.binary(max_size=2000))
def test_cobs_round_trip_and_no_zero(data):
    enc = P.cobs_encode(data)
    assert 0 not in enc
    assert P.cobs_decode(enc) == data
    assert len(enc) <= len(data) + len(data) // 254 + 2


@given(st.lists(st.sampled_from([0, 1, 7, 255]), max_size=800).map(bytes))
def test_cobs_matches_naive_encoder_on_zero_heavy_data(data):
    # both are valid COBS; they may differ only in a trailing empty block after 254 bytes
    assert P.cobs_decode(naive_cobs_encode(data)) == data
    assert P.cobs_decode(P.cobs_encode(data)) == data


def test_crc_is_crc32_iso_hdlc_check_value():
    # the catalogue check value of CRC-32/ISO-HDLC on "123456789"
    assert P.crc32(b"123456789") == 0xCBF43926


@given(st.integers(0, 0xFF), st.integers(0, 0xFFFF), st.binary(max_size=P.MAX_PAYLOAD))
def test_frame_round_trip(type_, seq, payload):
    wire = P.encode_frame(type_, seq, payload)
    assert wire.endswith(b"\x00") and 0 not in wire[:-1]
    f = P.decode_frame(wire)
    assert (f.type, f.seq, f.payload, f.version) == (type_, seq, payload, P.PROTOCOL_VERSION)


def test_frame_layout_is_as_documented():
    raw = P.pack_frame(0x21, 0x1234, b"\x01\x02")
    assert raw[:6] == bytes([1, 0x21, 0x34, 0x12, 2, 0]) and raw[6:8] == b"\x01\x02"
    assert struct.unpack("<I", raw[8:])[0] == zlib.crc32(raw[:8])


def test_oversized_payload_refused_with_limit():
    with pytest.raises(LimitError, match=r"frame payload: needs 1025.*allows 1024"):
        P.pack_frame(1, 0, bytes(P.MAX_PAYLOAD + 1))


def test_decoder_rejects_oversized_wire_frame():
    with pytest.raises(P.FrameError, match="exceeds"):
        P.decode_frame(b"\x01" * (P.MAX_WIRE + 1))


def test_version_byte_is_carried_not_checked():
    f = P.decode_frame(P.encode_frame(1, 5, b"x", version=9))
    assert f.version == 9


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(min_size=0, max_size=300), st.integers(0, 2**32 - 1),
       st.lists(st.tuples(st.sampled_from(["flip", "drop", "dup", "insert"]),
                          st.integers(0, 10**6), st.integers(1, 255)),
                min_size=1, max_size=4))
def test_mutated_frames_are_rejected_never_crash(payload, seed, mutations):
    good = P.encode_frame(0x10, seed & 0xFFFF, payload)
    wire = bytearray(good[:-1])
    for kind, pos, val in mutations:
        if not wire:
            break
        i = pos % len(wire)
        if kind == "flip":
            wire[i] ^= val
        elif kind == "drop":
            del wire[i]
        elif kind == "dup":
            wire.insert(i, wire[i])
        else:
            wire.insert(i, val)
    try:
        f = P.decode_frame(bytes(wire))
    except P.FrameError:
        return
    # a mutated frame may only decode if the mutations cancelled out exactly
    assert bytes(wire) == good[:-1]
    assert f.payload == payload


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash_the_deframer(data):
    d = P.Deframer()
    frames = d.feed(data)
    for f in frames:  # anything accepted passed the CRC and the length check
        assert P.decode_frame(P.encode_frame(f.type, f.seq, f.payload, f.version)) == f
    assert len(d.buffer) <= P.MAX_WIRE


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=8), st.data())
def test_deframer_recovers_frames_from_any_cuts(payloads, data):
    wire = b"".join(P.encode_frame(0x81, i, p) for i, p in enumerate(payloads))
    wire = b"\x00\x00" + wire  # idle delimiters before the first frame are not errors
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    d, got = P.Deframer(), []
    for a, b in zip([0, *cuts], [*cuts, len(wire)]):
        got += d.feed(wire[a:b])
    assert [f.payload for f in got] == payloads and d.errors == 0


def test_deframer_skips_overlong_garbage_and_resyncs():
    d = P.Deframer()
    frames = d.feed(b"\x05" * (P.MAX_WIRE + 50) + b"\x00" + P.encode_frame(1, 2, b"ok"))
    assert [f.payload for f in frames] == [b"ok"] and d.errors == 1
    assert "longer" in d.last_error


def test_identity_round_trip():
    ident = P.Identity(1, "fpga-lif", 2, 64, 100_000_000, 1024, 4096,
                       (("v_bits", 18), ("w_bits", -8)),
                       (P.Region(0, P.RegionKind.PARAMS, "vth", 4, True, 64),
                        P.Region(1, P.RegionKind.WEIGHTS, "weights", 1, True, 4096),
                        P.Region(2, P.RegionKind.WEIGHTS, "syn_w", 2, True, 99, True),
                        P.Region(3, P.RegionKind.ROUTING, "row_ptr", 2, False, 33,
                                 writeonly=True, range=(0, 300)),
                        P.Region(4, P.RegionKind.PARAMS, "w_min", 4, True, 1,
                                 range=(-128, 127))))
    assert P.unpack_identity(P.pack_identity(ident)) == ident
    with pytest.raises(P.ProtocolError, match="trailing"):
        P.unpack_identity(P.pack_identity(ident) + b"\x00")


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_identity_decoder_rejects_garbage_cleanly(buf):
    try:
        P.unpack_identity(buf)
    except P.ProtocolError:
        pass


@given(st.sampled_from([(1, True), (1, False), (2, True), (2, False), (4, True), (4, False)]),
       st.data())
def test_write_payload_round_trip(fmt, data):
    width, signed = fmt
    region = P.Region(3, P.RegionKind.WEIGHTS, "w", width, signed, 5000)
    bits = 8 * width
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    n = data.draw(st.integers(0, P.values_per_frame(width)))
    values = np.array(data.draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)),
                      dtype=np.int64)
    buf = P.pack_write(2, region, 7, values)
    core, rid, off, count, body = P.unpack_access(buf)
    assert (core, rid, off, count) == (2, 3, 7, n)
    assert np.array_equal(P.decode_values(region, body, count), values)


def test_write_refuses_out_of_range_value_and_bounds():
    region = P.Region(0, P.RegionKind.WEIGHTS, "w", 1, True, 10)
    with pytest.raises(LimitError, match=r"region 'w' value: needs 128"):
        P.pack_write(0, region, 0, [1, 128])
    with pytest.raises(LimitError, match=r"region 'w' elements: needs 11, .* allows 10 "
                                         r"\(offset 5 \+ 6 values: 1 over\)"):
        P.pack_write(0, region, 5, np.zeros(6))


def test_a_region_range_narrower_than_its_width_is_what_is_checked():
    region = P.Region(0, P.RegionKind.ROUTING, "syn_post", 1, False, 10, range=(0, 15))
    assert region.value_range == (0, 15)
    P.pack_write(0, region, 0, [0, 15])
    with pytest.raises(LimitError, match=r"region 'syn_post' value: needs 16, the target "
                                         r"allows 0..15 \(what the board's memory holds\)"):
        P.pack_write(0, region, 0, [3, 16])


@given(st.lists(st.tuples(st.integers(0, 2**32 - 1),
                          st.sets(st.integers(0, 299), max_size=300)), max_size=30),
       st.data())
def test_spike_records_round_trip_through_any_cuts(steps, data):
    n = 300
    stream = b"".join(P.pack_step_record(k, c, sorted(ids), n)
                      for k, (c, ids) in enumerate(steps))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    parser, got = P.SpikeStreamParser(n), []
    for a, b in zip([0, *cuts], [*cuts, len(stream)]):
        got += parser.feed(stream[a:b])
    assert len(got) == len(steps) and not parser.buffer
    for k, ((c, ids), (step, cycles, arr)) in enumerate(zip(steps, got)):
        assert step == k and cycles == c and arr.tolist() == sorted(ids)


def test_spike_record_chooses_bitmap_when_smaller():
    dense = P.pack_step_record(0, 0, np.arange(100), 100)
    sparse = P.pack_step_record(0, 0, [3], 100)
    assert len(dense) == P.RECORD_HEAD + 13 and len(sparse) == P.RECORD_HEAD + 2


def test_spike_parser_detects_a_missing_step():
    parser = P.SpikeStreamParser(10)
    parser.feed(P.pack_step_record(0, 1, [1], 10))
    with pytest.raises(P.ProtocolError, match="step 2 where step 1 was due"):
        parser.feed(P.pack_step_record(2, 1, [1], 10))


def test_counters_and_spike_chunk_round_trip():
    c = P.Counters(10, 12345, 100, 200, 77, 5, 1, 2)
    assert P.unpack_counters(P.pack_counters(c)) == c
    ch = P.SpikeChunk(2**40, P.STATUS_RUNNING, 5, 10, b"abc")
    assert P.unpack_spike_chunk(P.pack_spike_chunk(ch)) == ch
