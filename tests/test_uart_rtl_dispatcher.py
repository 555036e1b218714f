"""The RTL command dispatcher (receiver, sender, duplicate cache, spike buffer) against the
Python board (host.virtual_board.BoardServer) on the same requests, and the unchanged host
driver talking to the simulated RTL through a pseudo-terminal."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from neurocosim.host import protocol as P
from neurocosim.host.board import Board
from neurocosim.host.virtual_board import BoardServer, LifCoreModel

from rtl_uart.harness import exchange, serve_pty

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def generated_requests(model: LifCoreModel, seed: int) -> list[bytes]:
    """A session of valid and invalid requests, retransmissions and damaged frames."""
    rng = np.random.default_rng(seed)
    ident = model.identity
    regions = list(ident.regions)
    reqs, seq = [], 100

    def frame(cmd, payload=b"", version=P.PROTOCOL_VERSION):
        nonlocal seq
        seq += 1
        return b"\x00" + P.encode_frame(cmd, seq, payload, version)

    def values(r, n):
        bits = 8 * r.width
        lo, hi = ((-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if r.signed
                  else (0, (1 << bits) - 1))
        return rng.integers(lo, hi, n, endpoint=True)

    reqs += [frame(P.Cmd.IDENTIFY), frame(P.Cmd.RESET, P.pack_reset(P.RESET_ALL))]
    for _ in range(6):
        r = regions[rng.integers(len(regions))]
        n = int(rng.integers(1, 6))
        off = int(rng.integers(0, r.depth - n + 1))
        core = int(rng.integers(ident.n_cores))
        reqs.append(frame(P.KIND_WRITE[r.kind], P.pack_write(core, r, off, values(r, n))))
        reqs.append(frame(P.Cmd.READ_REGION, P.pack_read(core, r, off, n)))
    reqs.append(reqs[-1])  # a retransmission: answered from the cache
    r = regions[0]
    wrong_kind = P.Cmd.WRITE_WEIGHTS if r.kind != P.RegionKind.WEIGHTS else P.Cmd.WRITE_PARAMS
    reqs += [
        frame(wrong_kind, P.pack_write(0, r, 0, [1])),                         # BAD_REGION
        frame(P.Cmd.WRITE_PARAMS, bytes([ident.n_cores, r.id]) + bytes(6)),    # bad core
        frame(P.Cmd.WRITE_PARAMS, bytes([0, 99]) + bytes(6)),                  # no region
        frame(P.Cmd.READ_REGION, bytes([0, r.id]) + (r.depth).to_bytes(4, "little")
              + (1).to_bytes(2, "little")),                                   # OUT_OF_RANGE
        frame(P.Cmd.WRITE_PARAMS, P.pack_write(0, r, 0, [5])[:-1]),           # short data
        frame(P.Cmd.IDENTIFY, b"x"),                                           # BAD_PAYLOAD
        frame(P.Cmd.RESET, bytes([7])),                                        # bad mode
        frame(0x55),                                                           # unknown
        frame(P.Cmd.IDENTIFY, version=P.PROTOCOL_VERSION + 3),                 # VERSION
        frame(P.Cmd.READ_SPIKES, P.pack_spike_request(5, 10)),                 # bad cursor
        frame(P.Cmd.RUN, b"\x01"),                                             # BAD_PAYLOAD
        # UNKNOWN_COMMAND: the RTL answers in whole frames only (docs/protocol.md,
        # "Fragments"), and the host falls back on this refusal
        frame(P.Cmd.FRAGMENTS, P.pack_fragment_request(P.FragmentRequest(P.Cmd.IDENTIFY, 16))),
    ]
    damaged = bytearray(frame(P.Cmd.READ_COUNTERS))
    damaged[5] ^= 0x21
    reqs += [bytes(damaged), frame(P.Cmd.READ_COUNTERS)]
    return reqs


def comparable(wire: bytes) -> list[tuple]:
    """Decoded frames; ERROR frames compared by code and command, not message text."""
    out = []
    for f in P.Deframer().feed(wire):
        out.append((f.type, f.seq, f.payload[:2] if f.type == P.ERROR_TYPE else f.payload))
    return sorted(out)


def test_rtl_dispatcher_answers_exactly_like_the_python_board():
    model = LifCoreModel(2, 8, stim_depth=16, spike_buffer=256)
    requests = generated_requests(model, seed=11)
    rtl = exchange(LifCoreModel(2, 8, stim_depth=16, spike_buffer=256), requests)
    server = BoardServer(model, fragments=False)
    python = [server.feed(w) for w in requests]
    assert len(rtl) == len(python)
    for k, (a, b) in enumerate(zip(rtl, python)):
        assert comparable(a) == comparable(b), f"request {k}"
    # the session exercised every kind of answer
    types = {t for w in python for t, _, _ in comparable(w)}
    assert {P.ERROR_TYPE, P.NACK_TYPE, P.Cmd.IDENTIFY | 0x80,
            P.Cmd.READ_REGION | 0x80, P.Cmd.READ_COUNTERS | 0x80} <= types


HEAVY = os.environ.get("NEUROCOSIM_HEAVY", "") not in ("", "0")


@pytest.mark.parametrize("cores,npc,steps", [
    (2, 16, 20),
    pytest.param(2, 64, 200, marks=[pytest.mark.heavy, pytest.mark.skipif(
        not HEAVY, reason="heavy: set NEUROCOSIM_HEAVY=1")]),
])
def test_host_driver_runs_a_network_on_the_simulated_rtl(cores, npc, steps):
    """Board (unchanged host code) -> pty -> simulated dispatcher -> core model: spikes
    and read-back weights equal the core model stepped directly."""
    from test_board import load_random_network
    master, slave = os.openpty()
    import tty
    tty.setraw(slave)
    done = threading.Event()
    model = LifCoreModel(cores, npc, stim_depth=256, spike_buffer=1024)
    sim = threading.Thread(target=serve_pty, args=(model, master, done.is_set), daemon=True)
    sim.start()
    try:
        board = Board(os.ttyname(slave), timeout=20.0, retries=3)
        assert board.identity == model.identity
        board.reset(everything=True)
        load_random_network(board, seed=4)
        records = board.run_steps(steps)
        w = board.read_region("weights", core=1)
        counters = board.counters()
        board.close()
    finally:
        done.set()
        sim.join(timeout=30)
        os.close(master)
        os.close(slave)
    # the oracle: the same network written straight into a fresh model, stepped directly
    oracle = LifCoreModel(cores, npc, stim_depth=256)

    class Direct:
        identity = oracle.identity

        def write_region(self, name, values, core=0):
            oracle.write(core, oracle.identity.region(name), 0, np.asarray(values, np.int64))

    load_random_network(Direct(), seed=4)
    expected = [oracle.step() for _ in range(steps)]
    assert [r[0] for r in records] == list(range(steps))
    assert all(r[1] == e[1] and np.array_equal(r[2], e[0]) for r, e in zip(records, expected))
    assert sum(len(r[2]) for r in records) > 10
    assert np.array_equal(w, oracle.read(1, oracle.identity.region("weights"), 0,
                                         oracle.identity.region("weights").depth))
    assert counters.steps == steps and counters.rx_errors == 0 and counters.duplicates == 0
