"""Spikes per second delivered over a simulated 1 Mbaud link (virtual board with the baud
model), as a ratio to the line's raw byte limit (100,000 bytes/s at 8N1), clean and with
1% of bytes damaged. Peer: NeuroCoreX's link, which streams one bit per neuron per
timestep and a marker byte with no framing, checksum or acknowledgement.

    .venv/bin/python benchmarks/link.py [--steps 400] [--baud 1000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import serial

from neurocosim.host.board import Board
from neurocosim.host.faults import FaultySerial
from neurocosim.host.virtual_board import LifCoreModel, VirtualBoard


def load(board: Board, rate_per_step: float, seed: int = 0) -> None:
    """Uncoupled neurons driven by bias so that about `rate_per_step` of them fire."""
    ident = board.identity
    npc = ident.neurons_per_core
    rng = np.random.default_rng(seed)
    period = max(1, int(round(1 / rate_per_step)))
    for c in range(ident.n_cores):
        board.write_region("vth", np.full(npc, 1000), core=c)
        board.write_region("bias", 1000 // period + rng.integers(0, 3, npc), core=c)
        board.write_region("leak_shift", np.full(npc, 31), core=c)  # no leak


def measure(baud: int, steps: int, rate: float, damage: float, npc: int) -> dict:
    with VirtualBoard(LifCoreModel(1, npc), baud=baud) as vb:
        ser = serial.serial_for_url(vb.port, timeout=0.002)
        port = FaultySerial(ser, rate=damage, seed=1) if damage else ser
        board = Board(port, baud=baud, timeout=0.05, retries=40)
        board.reset(everything=True)
        load(board, rate)
        t0 = time.perf_counter()
        records = board.run_steps(steps)
        wall = time.perf_counter() - t0
        spikes = sum(len(r[2]) for r in records)
        stats = board.link.stats
        ser.close()
    return {"spikes": spikes, "wall": wall, "spikes_per_s": spikes / wall,
            "bytes_per_s": (stats.bytes_in + stats.bytes_out) / wall,
            "retransmits": stats.retransmits, "steps": len(records)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--baud", type=int, default=1_000_000)
    ap.add_argument("--neurons", type=int, default=256)
    args = ap.parse_args()
    raw = args.baud / 10  # bytes per second at 8N1
    # the peer's format: a 0xFF marker and one bit per neuron per timestep
    peer_bytes_per_step = 1 + (args.neurons + 7) // 8
    print(f"link: {args.baud} baud, raw limit {raw:,.0f} bytes/s; {args.neurons} neurons, "
          f"{args.steps} timesteps per run")
    print(f"{'activity':>9} {'damage':>7} {'spikes/s':>10} {'bytes/s':>9} {'line use':>8} "
          f"{'spikes/raw byte':>15} {'peer spikes/s':>13} {'ours/peer':>9} {'retx':>5}")
    for rate in (0.01, 0.1, 0.5):
        for damage in (0.0, 0.01):
            m = measure(args.baud, args.steps, rate, damage, args.neurons)
            # the peer streams every step's bitmap at the raw rate with no overhead or retry
            # (and no protection: at 1% damage its data is silently wrong)
            peer = raw / peer_bytes_per_step * rate * args.neurons
            print(f"{rate:>9.2f} {damage:>7.2%} {m['spikes_per_s']:>10,.0f} "
                  f"{m['bytes_per_s']:>9,.0f} {m['bytes_per_s'] / raw:>8.2f} "
                  f"{m['spikes_per_s'] / raw:>15.3f} {peer:>13,.0f} "
                  f"{m['spikes_per_s'] / peer:>9.2f} {m['retransmits']:>5}")


if __name__ == "__main__":
    main()
