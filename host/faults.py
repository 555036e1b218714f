"""A fault-injecting serial wrapper: drops, duplicates and flips bytes at a set rate.

Wraps any serial-like object (pyserial port, pty) on the host side, damaging bytes in both
directions, so tests and benchmarks see what a noisy cable, a USB-serial overrun or a
glitching FPGA would do to the link. Seeded: the same seed damages the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

FAULT_KINDS = ("drop", "dup", "flip")


@dataclass
class FaultStats:
    """How many bytes were seen and damaged, by kind."""

    bytes: int = 0
    drop: int = 0
    dup: int = 0
    flip: int = 0

    @property
    def damaged(self) -> int:
        return self.drop + self.dup + self.flip


@dataclass
class FaultySerial:
    """`rate` is the probability that a byte is damaged; the damage is one of `kinds`
    picked uniformly (a flip xors a random non-zero mask). `directions` is any of
    "tx" (host to board) and "rx" (board to host)."""

    inner: Any
    rate: float = 0.01
    seed: int = 0
    kinds: tuple[str, ...] = FAULT_KINDS
    directions: tuple[str, ...] = ("tx", "rx")
    stats: FaultStats = field(default_factory=FaultStats)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate {self.rate} must be in 0..1")
        bad = set(self.kinds) - set(FAULT_KINDS)
        if bad or not self.kinds:
            raise ValueError(f"fault kinds {sorted(bad) or '()'} not among {FAULT_KINDS}")
        bad = set(self.directions) - {"tx", "rx"}
        if bad:
            raise ValueError(f"fault directions {sorted(bad)} not among ('tx', 'rx')")
        self._rng = np.random.default_rng(self.seed)

    def damage(self, data: bytes) -> bytes:
        """The bytes as the faulty line delivers them."""
        data = bytes(data)
        if not data or self.rate == 0:
            self.stats.bytes += len(data)
            return data
        hits = np.flatnonzero(self._rng.random(len(data)) < self.rate)
        self.stats.bytes += len(data)
        if hits.size == 0:
            return data
        out = bytearray()
        prev = 0
        for i in hits:
            out += data[prev:i]
            kind = self.kinds[int(self._rng.integers(len(self.kinds)))]
            if kind == "drop":
                pass
            elif kind == "dup":
                out += data[i:i + 1] * 2
            else:
                out.append(data[i] ^ int(self._rng.integers(1, 256)))
            setattr(self.stats, kind, getattr(self.stats, kind) + 1)
            prev = i + 1
        out += data[prev:]
        return bytes(out)

    # ---- the serial interface the link uses ------------------------------------------

    def write(self, data: bytes) -> int:
        self.inner.write(self.damage(data) if "tx" in self.directions else data)
        return len(data)

    def read(self, n: int = 1) -> bytes:
        data = self.inner.read(n)
        return self.damage(data) if "rx" in self.directions else data

    @property
    def in_waiting(self) -> int:
        return self.inner.in_waiting

    def flush(self) -> None:
        flush = getattr(self.inner, "flush", None)
        if flush is not None:
            flush()

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
