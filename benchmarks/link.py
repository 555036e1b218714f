"""Spikes per second delivered over a simulated 1 Mbaud link (virtual board with the baud
model), as a ratio to the line's raw byte limit (100,000 bytes/s at 8N1), clean and with
1%, 2% and 5% of bytes damaged both ways (dropped, duplicated or flipped; every run is
checked lossless against the same run on a clean line). Peer: NeuroCoreX's link, which
streams one bit per neuron per timestep and a marker byte with no framing, checksum or
acknowledgement. `--whole-frames` asks the board's answers in whole frames (a board
without FRAGMENTS, as the RTL board is today).

    .venv/bin/python benchmarks/link.py [--steps 1000] [--baud 1000000]
                                        [--damage 0,0.01,0.02,0.05] [--whole-frames]
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


def measure(baud: int, steps: int, rate: float, damage: float, npc: int,
            fragments: bool = True) -> dict:
    with VirtualBoard(LifCoreModel(1, npc), baud=baud, fragments=fragments) as vb:
        ser = serial.serial_for_url(vb.port, timeout=0.002)
        port = FaultySerial(ser, rate=damage, seed=1) if damage else ser
        board = Board(port, baud=baud, timeout=0.05, retries=40)
        board.reset(everything=True)
        load(board, rate)
        stats = board.link.stats
        bytes0, retx0 = stats.bytes_in + stats.bytes_out, stats.retransmits
        t0 = time.perf_counter()
        records = board.run_steps(steps)
        wall = time.perf_counter() - t0
        spikes = sum(len(r[2]) for r in records)
        ser.close()
    return {"spikes": spikes, "wall": wall, "spikes_per_s": spikes / wall, "records": records,
            "bytes_per_s": (stats.bytes_in + stats.bytes_out - bytes0) / wall,
            "retransmits": stats.retransmits - retx0, "steps": len(records)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--baud", type=int, default=1_000_000)
    ap.add_argument("--neurons", type=int, default=256)
    ap.add_argument("--damage", default="0,0.01,0.02,0.05",
                    help="fractions of damaged bytes, comma-separated")
    ap.add_argument("--activity", default="0.01,0.1,0.5",
                    help="fractions of neurons firing per step, comma-separated")
    ap.add_argument("--whole-frames", action="store_true",
                    help="answers in whole frames (a board without FRAGMENTS)")
    args = ap.parse_args()
    damages = [float(x) for x in args.damage.split(",")]
    raw = args.baud / 10  # bytes per second at 8N1
    # the peer's format: a 0xFF marker and one bit per neuron per timestep
    peer_bytes_per_step = 1 + (args.neurons + 7) // 8
    print(f"link: {args.baud} baud, raw limit {raw:,.0f} bytes/s; {args.neurons} neurons, "
          f"{args.steps} timesteps per run")
    print(f"{'activity':>9} {'damage':>7} {'spikes/s':>10} {'bytes/s':>9} {'line use':>8} "
          f"{'spikes/raw byte':>15} {'peer spikes/s':>13} {'ours/peer':>9} {'retx':>5}")
    for rate in (float(x) for x in args.activity.split(",")):
        clean = None
        for damage in damages:
            m = measure(args.baud, args.steps, rate, damage, args.neurons,
                        not args.whole_frames)
            clean = clean or m["records"]
            if not same(m["records"], clean):
                raise SystemExit(f"activity {rate}, damage {damage:.0%}: the records "
                                 "differ from the clean run's")
            # the peer streams every step's bitmap at the raw rate with no overhead or retry
            # (and no protection: at 1% damage its data is silently wrong)
            peer = raw / peer_bytes_per_step * rate * args.neurons
            print(f"{rate:>9.2f} {damage:>7.2%} {m['spikes_per_s']:>10,.0f} "
                  f"{m['bytes_per_s']:>9,.0f} {m['bytes_per_s'] / raw:>8.2f} "
                  f"{m['spikes_per_s'] / raw:>15.3f} {peer:>13,.0f} "
                  f"{m['spikes_per_s'] / peer:>9.2f} {m['retransmits']:>5}")


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x[0] == y[0] and x[1] == y[1] and
                                    np.array_equal(x[2], y[2]) for x, y in zip(a, b))


if __name__ == "__main__":
    main()
