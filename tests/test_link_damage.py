"""The board link on a badly damaged line: long answers in fragments (docs/protocol.md,
FRAGMENTS), frame sizes from the measured damage rate, and a named error when the line is
beyond use. The oracle is the link test core stepped in-process with no link at all."""

from __future__ import annotations

import time

import numpy as np
import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim.host import protocol as P
from neurocosim.host.board import Board
from neurocosim.host.faults import FaultySerial
from neurocosim.host.link import LineEstimate, LineTooNoisyError, best_fragment
from neurocosim.host.virtual_board import BoardServer, LifCoreModel, VirtualBoard

from test_board import direct_run, load_random_network, same_records


def run_damaged(rate: float, steps: int, model_args=(1, 48), seed: int = 3,
                fragments: bool = True, **kw):
    """Load the random network over a line damaging `rate` of bytes both ways, run it and
    read its weights back: (records, weights, board, fault stats)."""
    with VirtualBoard(LifCoreModel(*model_args), fragments=fragments) as vb:
        ser = serial.serial_for_url(vb.port, timeout=0.002)
        faulty = FaultySerial(ser, rate=rate, seed=seed)
        try:
            board = Board(faulty, timeout=kw.pop("timeout", 0.03), **kw)
            board.reset(everything=True)
            load_random_network(board, seed)
            records = board.run_steps(steps)
            weights = board.read_region("weights", core=board.identity.n_cores - 1)
        finally:
            ser.close()
    return records, weights, board, faulty.stats


def direct_weights(seed: int, model_args) -> np.ndarray:
    model = LifCoreModel(*model_args)

    class Direct:
        identity = model.identity

        def write_region(self, name, values, core=0):
            model.write(core, model.identity.region(name), 0, np.asarray(values, np.int64))

    load_random_network(Direct(), seed)
    region = model.identity.region("weights")
    return model.read(model.n_cores - 1, region, 0, region.depth)


def check_lossless(rate: float, steps: int, model_args) -> Board:
    records, weights, board, faults = run_damaged(rate, steps, model_args)
    assert same_records(records, direct_run(3, steps, model_args))
    assert sum(len(r[2]) for r in records) > steps // 10  # not a silent network
    assert np.array_equal(weights, direct_weights(3, model_args))
    assert board.fragments is True
    # the line really was damaged at about its rate, in every way, and the link saw it
    assert faults.damaged > 0.8 * rate * faults.bytes
    assert min(faults.drop, faults.dup, faults.flip) > 0.25 * faults.damaged
    assert board.link.stats.bad_frames > 100
    # the estimate of the damage is near the truth (-ln(1 - rate) per byte; above it by
    # up to 2x: a damaged delimiter loses two frames, a NACK may answer a good request)
    assert 0.7 < board.link.line.rate / -np.log(1 - rate) < 2.5
    return board


def test_five_percent_damage_both_ways_over_2000_steps_loses_nothing():
    """IDENTIFY, the load, 2000 steps of spikes and the weights read back, each exactly as
    the model without a link, at 5% of bytes dropped, duplicated or flipped both ways
    (about 10 s)."""
    board = check_lossless(0.05, 2000, (2, 64))
    assert board.link.stats.fragments > 2000


def test_two_percent_damage_loses_nothing():
    check_lossless(0.02, 300, (1, 48))


def test_line_beyond_use_is_a_named_error_in_bounded_time():
    """At 60% damaged bytes nothing gets through: LineTooNoisyError (a BoardTimeoutError)
    naming the measured damage, after a bounded wait, never a hang."""
    with VirtualBoard(LifCoreModel(1, 16)) as vb:
        ser = serial.serial_for_url(vb.port, timeout=0.002)
        t0 = time.monotonic()
        with pytest.raises(LineTooNoisyError, match=r"unusable during IDENTIFY: the line damages"):
            Board(FaultySerial(ser, rate=0.6, seed=1), timeout=0.03, retries=6)
        assert time.monotonic() - t0 < 20
        ser.close()


def test_board_without_fragments_is_asked_in_whole_frames():
    """A board that refuses FRAGMENTS (UNKNOWN_COMMAND, as a board without fragments does) is used
    in whole frames, as before, and gives the same results."""
    records, weights, board, _ = run_damaged(0.0, 200, fragments=False)
    assert board.fragments is False and board.link.stats.fragments == 0
    assert same_records(records, direct_run(3, 200, (1, 48)))
    assert np.array_equal(weights, direct_weights(3, (1, 48)))


def test_board_without_fragments_keeps_its_one_percent_behaviour():
    """Whole frames at 1% damage (the RTL board's mode): lossless, in frames that stay
    large (a spike read carries tens of stream bytes, not a few)."""
    records, weights, board, faults = run_damaged(0.01, 300, fragments=False)
    assert same_records(records, direct_run(3, 300, (1, 48)))
    assert np.array_equal(weights, direct_weights(3, (1, 48)))
    stats = board.link.stats
    assert faults.damaged > 100 and stats.retransmits > 0
    stream = board.cursor  # stream bytes read
    assert stream > 3000 and stats.requests < stream / 16


def fragment_frames(server: BoardServer, seq: int, req: P.FragmentRequest) -> list:
    reply = server.feed(P.encode_frame(P.Cmd.FRAGMENTS, seq, P.pack_fragment_request(req)))
    return P.Deframer().feed(reply)


def test_server_keeps_a_fragmented_answer_for_its_sequence_number():
    """Asking again (same sequence number, payload left out) returns pieces of the same
    spike chunk although the run went on meanwhile; a new sequence number reads anew."""
    server = BoardServer(LifCoreModel(1, 16))
    server.feed(P.encode_frame(P.Cmd.RUN, 1, P.pack_run(40)))
    spikes = P.pack_spike_request(0, 100)
    first = fragment_frames(server, 7, P.FragmentRequest(P.Cmd.READ_SPIKES, 16, 0, b"",
                                                         spikes))
    asm = P.Reassembly(16)
    for f in first:
        assert f.type == P.Cmd.FRAGMENTS | P.RESPONSE_BIT and f.seq == 7
        asm.add(f.payload)
    answer = asm.answer()
    assert answer == P.pack_spike_chunk(P.unpack_spike_chunk(answer))
    again = fragment_frames(server, 7, P.FragmentRequest(P.Cmd.READ_SPIKES, 16, 2,
                                                         b"\x05", b"", copies=2))
    assert [f.payload[0] for f in again] == [2, 4, 2, 4]
    assert all(f.payload[2:] == answer[16 * f.payload[0]:16 * f.payload[0] + 16]
               for f in again)
    fresh = fragment_frames(server, 8, P.FragmentRequest(P.Cmd.READ_COUNTERS, 1000))
    assert len(fresh) == 1 and P.unpack_counters(fresh[0].payload[2:]).steps == 40


def test_fragments_of_a_write_or_bad_request_are_refused_by_name():
    server = BoardServer(LifCoreModel(1, 16))
    bad = P.pack_fragment_request(P.FragmentRequest(P.Cmd.IDENTIFY, 8))
    bad = bytes([P.Cmd.RUN]) + bad[1:]
    (f,) = P.Deframer().feed(server.feed(P.encode_frame(P.Cmd.FRAGMENTS, 3, bad)))
    err = P.unpack_error(f.payload)
    assert err.code == P.ErrorCode.BAD_PAYLOAD and "not fragmentable" in str(err)
    with pytest.raises(P.LimitError, match="fragments of one answer"):
        P.split_answer(bytes(300), 1)


@settings(max_examples=200, deadline=None)
@given(answer=st.binary(max_size=600), size=st.integers(3, 64),
       order=st.lists(st.integers(0, 255), max_size=400), data=st.data())
def test_reassembly_of_any_arrival_order_is_the_answer(answer, size, order, data):
    """Fragments in any order, with duplicates and gaps: `missing` names exactly the ones
    not yet in, and once none is missing the answer is the original, byte for byte."""
    parts = P.split_answer(answer, size)
    asm = P.Reassembly(size)
    seen = set()
    for k in order:
        k %= len(parts)
        assert asm.add(parts[k]) == (k not in seen)
        seen.add(k)
        assert asm.missing() == [i for i in range(len(parts)) if i not in seen]
    for k in data.draw(st.permutations(range(len(parts)))):
        asm.add(parts[k])
    assert asm.complete and asm.answer() == answer


@settings(max_examples=300, deadline=None)
@given(answer=st.binary(min_size=1, max_size=300), size=st.integers(3, 40),
       junk=st.lists(st.binary(max_size=50), min_size=1, max_size=5))
def test_reassembly_refuses_contradicting_fragments_by_name(answer, size, junk):
    """Any fragment that disagrees with the others (count, size, body) is a ProtocolError,
    never another exception and never a silently wrong answer."""
    parts = P.split_answer(answer, size)
    asm = P.Reassembly(size)
    for payload in [parts[0], *junk, *parts]:
        try:
            asm.add(payload)
        except P.ProtocolError:
            pass
    if asm.complete:
        genuine = asm.last == len(parts) - 1 and all(
            asm.parts[k] == p[2:] for k, p in enumerate(parts))
        assert (asm.answer() == answer) == genuine


@given(req=st.builds(P.FragmentRequest, st.sampled_from(P.FRAGMENTABLE),
                     st.integers(1, P.MAX_FRAGMENT_DATA), st.integers(0, 255),
                     st.binary(max_size=32), st.binary(max_size=20), st.integers(1, 8)))
def test_fragment_request_round_trip(req):
    assert P.unpack_fragment_request(P.pack_fragment_request(req)) == req


def test_line_estimate_finds_the_damage_rate_and_sizes_follow_it():
    rng = np.random.default_rng(0)
    est = LineEstimate(window=400)
    for _ in range(400):
        n = int(rng.integers(20, 200))
        est.add(n, 1, int(rng.random() < 0.95 ** n))
    assert 0.8 < est.rate / -np.log(0.95) < 1.25
    assert best_fragment(0.0, 8, 1022) == 1022
    assert 8 <= best_fragment(est.rate, 8, 1022) <= 16
    assert best_fragment(-np.log(0.99), 8, 1022) > 2 * best_fragment(est.rate, 8, 1022)


def test_a_board_that_spoils_queued_requests_gets_one_write_at_a_time():
    """Bursts of which only the first frame is taken, three in a row (the RTL dispatcher
    drops a request that arrives while it answers one): writes go one at a time; random
    losses in between reset the count (line damage does not look like that)."""
    from neurocosim.host.link import Link
    link = Link(port=None)
    for _ in range(2):
        link._learn_queueing(64, 1, True)
    link._learn_queueing(16, 5, True)            # several taken: a queueing board
    link._learn_queueing(64, 1, True)
    assert link.queues_requests
    link._learn_queueing(64, 1, True)
    link._learn_queueing(64, 1, True)
    assert not link.queues_requests
    link = Link(port=None)
    for _ in range(5):
        link._learn_queueing(3, 1, True)         # short bursts prove nothing
    assert link.queues_requests
