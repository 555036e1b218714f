"""The host driver against the virtual board: clean and faulty lines, dead and foreign
boards, region round trips, and server behaviour (duplicates never execute twice)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import serial

from neurocosim.host import protocol as P
from neurocosim.host.board import Board
from neurocosim.host.faults import FaultySerial
from neurocosim.host.virtual_board import BoardServer, LifCoreModel, VirtualBoard
from neurocosim.hw.errors import LimitError, TargetError


def load_random_network(board: Board, seed: int) -> None:
    """Random LIF parameters and sparse weights on every core of the link test core."""
    rng = np.random.default_rng(seed)
    ident = board.identity
    npc, n = ident.neurons_per_core, ident.n_neurons
    for c in range(ident.n_cores):
        board.write_region("vth", rng.integers(60, 140, npc), core=c)
        board.write_region("v_reset", rng.integers(-10, 5, npc), core=c)
        board.write_region("bias", rng.integers(0, 16, npc), core=c)
        board.write_region("leak_shift", rng.integers(2, 6, npc), core=c)
        board.write_region("refrac", rng.integers(0, 4, npc), core=c)
        board.write_region("stim_gain", np.full(npc, 80), core=c)
        w = rng.integers(-30, 50, n * npc) * (rng.random(n * npc) < 0.08)
        board.write_region("weights", w, core=c)
        board.write_region("route", rng.integers(0, 2, n), core=c)
    events = sorted({(int(t) << 16) | int(j) for t, j in
                     zip(rng.integers(0, 300, 200), rng.integers(0, npc, 200))})
    board.write_region("stimulus", np.array(events + [0xFFFFFFFF]), core=0)


def run_on(port, seed: int, steps: int, **kw) -> tuple[list, np.ndarray, P.Counters]:
    board = Board(port, **kw)
    board.reset(everything=True)
    load_random_network(board, seed)
    records = board.run_steps(steps)
    weights = board.read_region("weights", core=board.identity.n_cores - 1)
    return records, weights, board.counters()


def direct_run(seed: int, steps: int, model_args=(2, 64)) -> list:
    """The same network stepped in-process, no link at all (the oracle of the link)."""
    model = LifCoreModel(*model_args)

    class Direct:
        identity = model.identity

        def write_region(self, name, values, core=0):
            region = model.identity.region(name)
            model.write(core, region, 0, np.asarray(values, np.int64))

    load_random_network(Direct(), seed)
    out = []
    for k in range(steps):
        ids, cycles = model.step()
        out.append((k, cycles, ids))
    return out


def same_records(a, b) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0] and x[1] == y[1] and np.array_equal(x[2], y[2]) for x, y in zip(a, b))


@pytest.fixture
def vboard():
    with VirtualBoard(LifCoreModel(2, 64)) as vb:
        yield vb


def test_clean_link_equals_direct_model(vboard):
    records, weights, counters = run_on(vboard.port, seed=1, steps=600, timeout=0.5)
    assert same_records(records, direct_run(1, 600))
    assert counters.steps == 600 and counters.spikes == sum(len(r[2]) for r in records)
    assert counters.cycles == sum(r[1] for r in records)
    assert counters.spikes > 100  # the network is not silent, or the test proves nothing


def test_one_percent_damaged_bytes_lose_nothing(vboard):
    """Drops, duplicates and flips at 1% of bytes both ways: every spike arrives once,
    in order, and results equal the clean run's."""
    steps = 1500
    ser = serial.serial_for_url(vboard.port, timeout=0.002)
    faulty = FaultySerial(ser, rate=0.01, seed=7)
    records, weights, counters = run_on(faulty, seed=2, steps=steps, timeout=0.03,
                                        retries=40)
    clean = direct_run(2, steps)
    assert same_records(records, clean)
    assert [r[0] for r in records] == list(range(steps))
    # the final weights read back over the faulty line equal what was written
    rng_board = direct_weights(seed=2)
    assert np.array_equal(weights, rng_board)
    # the line really was damaged, and the link really did recover
    assert faulty.stats.drop > 20 and faulty.stats.dup > 20 and faulty.stats.flip > 20
    assert counters.rx_errors > 0 and counters.duplicates > 0
    ser.close()


def direct_weights(seed: int) -> np.ndarray:
    model = LifCoreModel(2, 64)

    class Direct:
        identity = model.identity

        def write_region(self, name, values, core=0):
            model.write(core, model.identity.region(name), 0, np.asarray(values, np.int64))

    load_random_network(Direct(), seed)
    return model.read(1, model.identity.region("weights"), 0, 128 * 64)


def test_silent_board_times_out_in_bounded_time():
    master, slave = os.openpty()
    try:
        t0 = time.monotonic()
        with pytest.raises(P.BoardTimeoutError, match="IDENTIFY after 3 attempts"):
            Board(os.ttyname(slave), timeout=0.05, retries=3)
        assert time.monotonic() - t0 < 5.0  # bounded: 3 attempts, not a hang
    finally:
        os.close(master)
        os.close(slave)


def test_board_that_stops_mid_run_times_out(vboard):
    board = Board(vboard.port, timeout=0.05, retries=3)
    board.reset(everything=True)
    vboard.mute()  # the board goes silent, its port stays open
    t0 = time.monotonic()
    with pytest.raises(P.BoardTimeoutError, match="RUN after 3 attempts"):
        board.run_steps(100)
    assert time.monotonic() - t0 < 5.0
    vboard.close()  # a port that goes away is a PortError, not a hang
    with pytest.raises(P.PortError):
        for _ in range(5):
            board.counters()


def test_wrong_protocol_version_is_refused():
    with VirtualBoard(LifCoreModel(), version=P.PROTOCOL_VERSION + 1) as vb:
        with pytest.raises(P.VersionError, match=r"board speaks protocol version 2; "
                                                 r"this host speaks version 1"):
            Board(vb.port, timeout=0.2, retries=2)


def test_tcp_transport_and_region_round_trip():
    with VirtualBoard(LifCoreModel(1, 32), transport="tcp") as vb:
        assert vb.port.startswith("socket://")
        board = Board(vb.port, timeout=0.5)
        rng = np.random.default_rng(0)
        w = rng.integers(-128, 128, 32 * 32)
        board.write_region("weights", w)
        assert np.array_equal(board.read_region("weights"), w)
        assert board.identity.model == "neurocosim-lif-link-test"
        board.close()


def test_bad_requests_get_clear_errors(vboard):
    board = Board(vboard.port, timeout=0.5)
    with pytest.raises(LimitError, match=r"region 'weights' value: needs 200"):
        board.write_region("weights", [200])
    with pytest.raises(TargetError, match="core 5 does not exist"):
        board.write_region("vth", [1], core=5)
    with pytest.raises(P.ProtocolError, match="no region 'nope'"):
        board.read_region("nope")
    # a write of the wrong kind is refused by the board itself
    region = board.identity.region("vth")
    with pytest.raises(P.BoardError, match="BAD_REGION.*PARAMS, not WEIGHTS"):
        board.link.request(P.Cmd.WRITE_WEIGHTS, P.pack_write(0, region, 0, [1]))


def test_server_answers_duplicates_from_cache_without_rerunning():
    server = BoardServer(LifCoreModel(1, 8))
    run = P.encode_frame(P.Cmd.RUN, 9, P.pack_run(5))
    first = server.feed(run)
    again = server.feed(run)
    assert first == again and server.steps_target == 5 and server.duplicates == 1
    # the same sequence number with another payload is a new request
    server.pump()
    server.feed(P.encode_frame(P.Cmd.RUN, 9, P.pack_run(3)))
    assert server.steps_target == 8


def test_server_nacks_damaged_frames_and_survives_garbage():
    server = BoardServer(LifCoreModel(1, 8))
    rng = np.random.default_rng(5)
    for _ in range(200):
        out = server.feed(rng.integers(0, 256, rng.integers(1, 400)).astype(np.uint8).tobytes())
        for f in P.Deframer().feed(out):
            assert f.type in (P.NACK_TYPE, P.ERROR_TYPE) or f.is_response
    reply = P.Deframer().feed(server.feed(b"\x00" + P.encode_frame(P.Cmd.IDENTIFY, 1)))
    # the leading delimiter ends the garbage (answered with a NACK), then the request
    assert [f.type for f in reply][-2:] in ([P.NACK_TYPE, P.Cmd.IDENTIFY | P.RESPONSE_BIT],
                                            [P.Cmd.IDENTIFY | P.RESPONSE_BIT, P.NACK_TYPE])


def test_spike_buffer_backpressure_stalls_run_not_data():
    model = LifCoreModel(1, 16, spike_buffer=64)
    server = BoardServer(model)
    for r in ("bias", "vth"):
        region = model.identity.region(r)
        server.feed(P.encode_frame(P.Cmd.WRITE_PARAMS, 1 if r == "bias" else 2,
                                   P.pack_write(0, region, 0, np.full(16, 5 if r == "bias"
                                                                      else 1))))
    server.feed(P.encode_frame(P.Cmd.RUN, 3, P.pack_run(100)))
    server.pump()
    assert server.stalled and server.steps_done < 100
    parser, cursor, seq, got = P.SpikeStreamParser(16), 0, 4, []
    while True:
        frames = P.Deframer().feed(server.feed(
            P.encode_frame(P.Cmd.READ_SPIKES, seq, P.pack_spike_request(cursor, 40))))
        chunk = P.unpack_spike_chunk(frames[0].payload)
        got += parser.feed(chunk.data)
        cursor += len(chunk.data)
        seq += 1
        if not chunk.running and not chunk.data:
            break
    assert [g[0] for g in got] == list(range(100))
    assert all(len(g[2]) == 16 for g in got)  # bias 5 >= vth 1: every neuron every step


def test_cli_board_info_against_a_virtual_board(vboard, capsys):
    from neurocosim.host.cli import main
    assert main(["board", "info", "--port", vboard.port, "--timeout", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "neurocosim-lif-link-test: protocol 1, 2 core(s) x 64 neurons" in out
    assert "region   6 weights" in out and "x i8 (-128..127, read-write)" in out


class BrokenModel(LifCoreModel):
    """A core model that fails at its fifth step (a bug, or a broken emulator)."""

    def step(self):
        if self.t == 4:
            raise FloatingPointError("simulated failure")
        return super().step()


def test_failing_model_is_reported_not_a_hang():
    with VirtualBoard(BrokenModel(1, 8)) as vb:
        board = Board(vb.port, timeout=0.5, retries=3)
        with pytest.raises(TargetError, match="reset\\(\\) or load\\(\\)"):
            board.start(3)
        board.reset(everything=True)
        with pytest.raises(P.BoardError, match="INTERNAL: .*FloatingPointError"):
            board.run_steps(10)
        board.reset()  # a reset clears the fault; the board serves again
        assert board.counters().steps == 0
        board.close()


def test_fault_wrapper_damages_at_its_rate_and_repeats_with_its_seed():
    data = bytes(range(256)) * 400  # 102,400 bytes
    a = FaultySerial(None, rate=0.01, seed=3)
    out = a.damage(data)
    n = a.stats.damaged
    assert abs(n - 1024) < 5 * 32  # binomial: mean 1024, sd ~32
    assert min(a.stats.drop, a.stats.dup, a.stats.flip) > 250
    assert len(out) == len(data) - a.stats.drop + a.stats.dup
    b = FaultySerial(None, rate=0.01, seed=3)
    assert b.damage(data) == out
    assert FaultySerial(None, rate=0.0).damage(data) == data
    with pytest.raises(ValueError, match="fault rate 2 must be in 0..1"):
        FaultySerial(None, rate=2)
