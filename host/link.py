"""The host's end of the board link: stop-and-wait requests with retransmission, long
answers fetched in fragments, and frame sizes chosen from the line's measured damage rate.

Reliability: every request carries a sequence number and a CRC-32; a lost, damaged or
unanswered exchange is retransmitted (the board answers a duplicate from its cache, so a
command never runs twice). A long answer is asked for with FRAGMENTS (docs/protocol.md):
the board sends it as short frames, the host keeps the ones that arrive whole and asks
again for the others only. The per-byte damage rate is estimated from how many frames of
which sizes arrived (`LineEstimate`), and frame and fragment sizes are the ones that carry
the most data per byte on the line at that rate.

A board that stops answering raises BoardTimeoutError after `retries` silent attempts; a
line that damages so much that even the smallest frames do not arrive raises
LineTooNoisyError (a BoardTimeoutError); every wait is bounded.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..hw.errors import TargetError
from . import protocol as P

#: smallest payload a whole-frame write or read is cut to (a spike read's payload holds
#: its 25-byte chunk header)
MIN_CHUNK = 64
#: smallest fragment data (and at most MAX_FRAGMENTS fragments per answer)
MIN_FRAGMENT = 8
#: wire bytes of a frame around its payload: header, CRC, COBS code byte, delimiter
FRAME_WIRE = P.HEADER_SIZE + P.CRC_SIZE + 2
#: failed attempts at one frame size before an idempotent request is re-cut smaller
SHRINK_AFTER = 3
#: clean first-try exchanges after which the frame size cap doubles again
GROW_AFTER = 4
#: per-byte damage rate (as -ln(survival)) beyond which the line is declared unusable:
#: about 18% of bytes damaged, where a 40-byte exchange arrives whole 1 time in 3000
MAX_RATE = 0.2
#: frames this short (wire bytes) are the smallest the link sends; failing at them proves
#: the line beyond use
SMALL_FRAME = 80
#: at most this many times `retries` failed attempts on a damaged but usable line
MAX_PATIENCE = 50


def _serial_error() -> type:
    import serial
    return serial.SerialException


def open_port(port: Any, baud: int = P.DEFAULT_BAUD, poll: float = 0.005) -> Any:
    """A pyserial port from a URL/path ("loop://", "socket://h:p", a pty, /dev/ttyUSB0),
    or `port` itself when it already is a serial-like object (read/write/in_waiting)."""
    if not isinstance(port, str):
        return port
    import serial
    try:
        ser = serial.serial_for_url(port, baudrate=baud, timeout=poll, write_timeout=5.0)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise TargetError(f"cannot open board port {port!r}: {exc}") from exc
    return ser


class LineTooNoisyError(P.BoardTimeoutError):
    """The line damages so many bytes that even the smallest frames do not arrive."""


@dataclass
class LinkStats:
    """What the link did: requests, retransmissions, bad frames seen, bytes each way."""

    requests: int = 0
    retransmits: int = 0
    timeouts: int = 0
    bad_frames: int = 0
    stale_frames: int = 0
    nacks: int = 0
    bytes_out: int = 0
    bytes_in: int = 0
    fragments: int = 0        # good fragment frames received
    fragment_rounds: int = 0  # FRAGMENTS requests sent (first asks and re-asks)


@dataclass
class LineEstimate:
    """The line's per-byte damage rate `rate` (-ln of a byte's survival probability),
    estimated from the recent frames: observations (wire bytes, frames sent, frames that
    arrived whole), and the rate at which the expected arrivals sum(sent * exp(-rate * L))
    equal the arrivals (solved by bisection: the sum falls as the rate grows)."""

    window: int = 200
    _obs: deque = field(default_factory=deque)
    _rate: float | None = 0.0

    def add(self, wire_bytes: int, sent: int, ok: int) -> None:
        self._obs.append((wire_bytes, sent, ok))
        if len(self._obs) > self.window:
            self._obs.popleft()
        self._rate = None

    @property
    def rate(self) -> float:
        if self._rate is None:
            self._rate = self._solve()
        return self._rate

    def _solve(self) -> float:
        sent, ok = self.frames
        if ok >= sent:
            return 0.0
        if ok == 0:
            return 1.0
        lo, hi = 0.0, 1.0
        for _ in range(30):
            mid = (lo + hi) / 2
            expected = sum(s * math.exp(-mid * n) for n, s, _ in self._obs)
            lo, hi = (mid, hi) if expected > ok else (lo, mid)
        return (lo + hi) / 2

    @property
    def frames(self) -> tuple[int, int]:
        """(frames sent, frames that arrived whole) in the window."""
        return sum(o[1] for o in self._obs), sum(o[2] for o in self._obs)

    def survival(self, wire_bytes: int) -> float:
        """Probability that a frame of `wire_bytes` arrives whole at the estimated rate."""
        return math.exp(-self.rate * wire_bytes)


def best_payload(rate: float, lo: int, hi: int) -> int:
    """The payload d in lo..hi carrying most data per attempt, d * exp(-rate (h + d)),
    whatever the exchange's other bytes h: d = 1 / rate."""
    return hi if rate <= 1.0 / hi else max(lo, min(hi, int(1.0 / rate)))


def best_fragment(rate: float, lo: int, hi: int,
                  h: int = FRAME_WIRE + P.FRAGMENT_HEAD) -> int:
    """The data d in lo..hi per frame carrying most data per wire byte,
    d * exp(-rate (h + d)) / (h + d), for frames of h bytes besides the data (a fragment's
    own: header, CRC, COBS, delimiter, index): rate d^2 + rate h d - h = 0."""
    if rate <= 0:
        return hi
    d = (-rate * h + math.sqrt(rate * rate * h * h + 4 * rate * h)) / (2 * rate)
    return max(lo, min(hi, int(d)))


@dataclass
class Link:
    """Stop-and-wait ARQ over a serial port: `request(cmd, payload) -> response payload`,
    and `fetch` for a long answer in fragments."""

    port: Any
    baud: int | None = P.DEFAULT_BAUD
    timeout: float = 0.25
    retries: int = 12
    max_payload: int = P.MAX_PAYLOAD
    stats: LinkStats = field(default_factory=LinkStats)
    line: LineEstimate = field(default_factory=LineEstimate)
    seq: int = field(default_factory=lambda: random.randrange(1 << 16))
    #: cap on the frame size: halved on each retransmission, doubled after GROW_AFTER
    #: clean exchanges (the line estimate sets the size below it)
    chunk: int = P.MAX_PAYLOAD
    _deframer: P.Deframer = field(default_factory=P.Deframer)
    _clean_run: int = 0
    #: the board keeps requests that arrive while it answers one (the virtual board does;
    #: the RTL spoils them): learnt by send_all, which then sends one write at a time
    queues_requests: bool = True
    _spoiled_bursts: int = 0

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"link timeout {self.timeout} s must be > 0")
        if self.retries < 1:
            raise ValueError(f"link retries {self.retries} must be >= 1")

    def transfer_time(self, n_bytes: int) -> float:
        """Seconds `n_bytes` take on the line at 8N1 (10 bits per byte)."""
        return 10.0 * n_bytes / self.baud if self.baud else 0.0

    def size(self) -> int:
        """The payload bytes of the next whole-frame write or read: the best for the
        measured damage rate, at most the cap `chunk`."""
        return best_payload(self.line.rate, MIN_CHUNK, max(MIN_CHUNK, self.chunk))

    def request(self, cmd: int, payload: bytes = b"", expect: int = 64,
                attempts: int | None = None) -> bytes:
        """Send a request and return its response payload; `expect` is the response's
        size bound in bytes (to size the wait). Raises BoardError on an ERROR response,
        VersionError on a board of another protocol version, BoardTimeoutError after
        `attempts` attempts (default: `retries` silent ones, or as many failed ones as
        the measured damage makes plausible) and LineTooNoisyError on an unusable line."""
        self.seq = (self.seq + 1) & 0xFFFF
        wire = b"\x00" + P.encode_frame(cmd, self.seq, payload) + b"\x00"
        size = len(wire) + expect + expect // 254 + FRAME_WIRE
        wait = self.timeout + self.transfer_time(size)
        self.stats.requests += 1
        failures = silent = 0
        reason = "no answer"
        while True:
            if failures:
                self.stats.retransmits += 1
                self._adapt(failed=True)
            in_before = self.stats.bytes_in
            self._write(wire)
            frame, reason = self._await(self.seq, wait)
            heard = self.stats.bytes_in != in_before
            if heard:  # (silence is a slow or dead board, not a measure of damage)
                self.line.add(size, 1, frame is not None)
            if frame is not None:
                break
            failures += 1
            silent = 0 if heard else silent + 1
            self._check_give_up(P.Cmd(cmd).name, failures, silent, size, wait, reason,
                                attempts)
        if not failures:
            self._adapt(failed=False)
        if frame.type == P.ERROR_TYPE:
            raise P.unpack_error(frame.payload)
        if frame.type != cmd | P.RESPONSE_BIT:
            raise P.ProtocolError(f"response of type 0x{frame.type:02x} to command "
                                  f"0x{cmd:02x}")
        return frame.payload

    def _check_give_up(self, what: str, failures: int, silent: int, size: int,
                       wait: float, reason: str, attempts: int | None) -> None:
        """Raise when retrying further is pointless: `attempts` failures when given; else
        `retries` silent attempts (a dead board), `retries` failures on a line damaged
        beyond MAX_RATE at the smallest frames (LineTooNoisyError), or more failures than
        MAX_PATIENCE times `retries`, scaled by how rarely frames of this size arrive."""
        rate = self.line.rate
        if attempts is not None:
            limit = attempts
        elif silent >= self.retries:
            limit = failures
        elif failures >= self.retries and rate > MAX_RATE and size <= SMALL_FRAME:
            seen = self.line.frames
            damage = (f"about {1 - math.exp(-rate):.0%} of bytes (measured over the last "
                      f"{seen[0]} frames)" if seen[1] else
                      f"more than it can carry: none of the last {seen[0]} frames arrived "
                      "whole")
            raise LineTooNoisyError(
                f"board link unusable during {what}: the line damages {damage}; "
                f"{failures} attempts with {size}-byte exchanges failed "
                f"({self.stats.bad_frames} bad frames seen)")
        else:
            odds = 1.0 / max(self.line.survival(size), 1e-9)
            limit = self.retries * min(MAX_PATIENCE, max(1, math.ceil(odds)))
        if failures >= limit:
            raise P.BoardTimeoutError(
                f"board did not answer command {what} after {failures} attempts "
                f"of {wait:.3g} s each ({reason}; {self.stats.bad_frames} bad frames seen)")

    def fetch(self, cmd: int, payload: bytes = b"", expect: int = P.MAX_PAYLOAD) -> bytes:
        """The answer to read `cmd`, asked for with FRAGMENTS in pieces sized to the line,
        re-asking only for the pieces that did not arrive; raises as `request` does."""
        self.stats.requests += 1
        lo = max(MIN_FRAGMENT, -(-expect // P.MAX_FRAGMENTS))
        asm, seq = None, 0
        failures = silent = 0
        heard = True
        while asm is None or not asm.complete:
            best = best_fragment(self.line.rate, lo, P.MAX_FRAGMENT_DATA)
            if asm is None or (not asm.parts and best <= asm.size // 4 and heard):
                # (re)start in pieces much smaller (not after silence: a slow board
                # answers this sequence number late, and the answer is still good)
                self.seq = seq = (self.seq + 1) & 0xFFFF
                asm = P.Reassembly(best)
            req = _next_ask(cmd, payload, asm, self.line.survival(
                FRAME_WIRE + P.FRAGMENT_HEAD + asm.size))
            wire = (b"\x00" + P.encode_frame(P.Cmd.FRAGMENTS, seq, P.pack_fragment_request(req))
                    + b"\x00")  # (a second delimiter: the board sees a damaged one at once)
            frag_wire = FRAME_WIRE + P.FRAGMENT_HEAD + asm.size + asm.size // 254
            asked = req.copies * (len(req.wanted(asm.last + 1)) if asm.last is not None
                                  else max(1, -(-expect // asm.size)))
            wait = self.timeout + self.transfer_time(len(wire) + asked * frag_wire)
            in_before, held = self.stats.bytes_in, len(asm.parts)
            if failures:
                self.stats.retransmits += 1
            self._write(wire)
            self.stats.fragment_rounds += 1
            got, reason = self._collect(seq, asm, req, wait)
            heard = self.stats.bytes_in != in_before
            if got:
                self.line.add(len(wire) + FRAME_WIRE, 1, 1)
                self.line.add(frag_wire, asked, min(got, asked))
            elif heard:
                self.line.add(len(wire) + frag_wire, 1, 0)
            if len(asm.parts) > held:
                failures = silent = 0
                continue
            failures += 1
            silent = 0 if heard else silent + 1
            self._check_give_up(P.Cmd(cmd).name, failures, silent, len(wire) + frag_wire,
                                wait, reason or "no new fragment", None)
        return asm.answer()

    def send_all(self, cmd: int, payloads: list[bytes], window: int = 64) -> None:
        """Requests whose answers are empty (writes), sent back to back `window` at a time
        with their own sequence numbers; those whose acknowledgement did not arrive are
        sent again. For a board that executes every whole request frame in order (a
        FRAGMENTS board): a write executed twice writes the same values (the line keeps
        order, so no older frame overtakes a newer one). Raises as `request` does."""
        todo = list(payloads)
        pending: dict[int, bytes] = {}
        failures = silent = 0
        while todo or pending:
            while todo and len(pending) < (window if self.queues_requests else 1):
                self.seq = (self.seq + 1) & 0xFFFF
                pending[self.seq] = b"\x00" + P.encode_frame(cmd, self.seq, todo.pop(0))
                self.stats.requests += 1
            burst = b"".join(pending.values())
            frame_wire = len(burst) // len(pending) + FRAME_WIRE
            wait = self.timeout + self.transfer_time(len(burst) + len(pending) * FRAME_WIRE)
            in_before, sent = self.stats.bytes_in, len(pending)
            if failures:
                self.stats.retransmits += sent
            self._write(burst)
            first = next(iter(pending))
            acked, reason = self._collect_acks(cmd, pending, wait)
            self._learn_queueing(sent, acked, first not in pending)
            heard = self.stats.bytes_in != in_before
            if heard:
                self.line.add(frame_wire, sent, acked)
            if acked:
                failures = silent = 0
                continue
            failures += 1
            silent = 0 if heard else silent + 1
            self._check_give_up(P.Cmd(cmd).name, failures, silent, frame_wire, wait,
                                reason or "no acknowledgement", None)

    def _learn_queueing(self, sent: int, acked: int, first_acked: bool) -> None:
        """Three bursts of 4+ frames in a row of which only the first was taken: the board
        drops requests that arrive while it answers one (line damage hits frames at random,
        and so with odds of about 1e-5 even at 5% damage), so writes go one at a time."""
        if sent >= 4 and acked == 1 and first_acked:
            self._spoiled_bursts += 1
            if self._spoiled_bursts >= 3:
                self.queues_requests = False
        elif acked >= 2:
            self._spoiled_bursts = 0

    def _collect_acks(self, cmd: int, pending: dict[int, bytes],
                      wait: float) -> tuple[int, str]:
        """Take acknowledgements of `pending` requests (removing them) until none is left,
        the line has gone quiet after some bytes, or `wait` has passed."""
        deadline = time.monotonic() + wait
        quiet = self._quiet()
        acked, last_byte = 0, None
        while pending:
            data = self._read()
            now = time.monotonic()
            if data:
                last_byte = now
                self.stats.bytes_in += len(data)
                errors = self._deframer.errors
                for frame in self._deframer.feed(data):
                    self._check_version(frame)
                    if frame.type == P.NACK_TYPE:
                        self.stats.nacks += 1
                    elif frame.seq not in pending or not frame.is_response:
                        self.stats.stale_frames += 1
                    elif frame.type == P.ERROR_TYPE:
                        raise P.unpack_error(frame.payload)
                    elif frame.type == cmd | P.RESPONSE_BIT:
                        del pending[frame.seq]
                        acked += 1
                    else:
                        raise P.ProtocolError(f"response of type 0x{frame.type:02x} to "
                                              f"command 0x{cmd:02x}")
                self.stats.bad_frames += self._deframer.errors - errors
            elif last_byte is not None and now - last_byte > quiet:
                return acked, "acknowledgements lost"
            if now > deadline:
                self.stats.timeouts += 1
                self._deframer.reset()
                return acked, "timeout"
        return acked, ""

    def _collect(self, seq: int, asm: P.Reassembly, req: P.FragmentRequest,
                 wait: float) -> tuple[int, str]:
        """Take this request's fragments until all asked for are in, as many frames as
        were asked have gone by (whole or damaged: the burst is over), the line has gone
        quiet after some arrived, or `wait` has passed: (good fragments, why it ended)."""
        deadline = time.monotonic() + wait
        quiet = self._quiet()
        got = seen = 0
        last_byte = None
        while True:
            data = self._read()
            now = time.monotonic()
            if data:
                self.stats.bytes_in += len(data)
                errors, before = self._deframer.errors, got
                for frame in self._deframer.feed(data):
                    self._check_version(frame)
                    if frame.type == P.NACK_TYPE and not got:
                        self.stats.nacks += 1
                        return 0, "the board received a damaged frame"
                    if frame.seq != seq or not frame.is_response:
                        self.stats.stale_frames += 1
                    elif frame.type == P.ERROR_TYPE:
                        raise P.unpack_error(frame.payload)
                    elif frame.type == P.Cmd.FRAGMENTS | P.RESPONSE_BIT:
                        asm.add(frame.payload)
                        got += 1
                        self.stats.fragments += 1
                    else:
                        raise P.ProtocolError(f"response of type 0x{frame.type:02x} to "
                                              "FRAGMENTS")
                bad = self._deframer.errors - errors
                self.stats.bad_frames += bad
                seen += got - before + bad
                if got > before or bad or self._deframer.buffer:
                    last_byte = now  # the answer is coming (stale frames do not count)
                if asm.last is not None:
                    wanted = req.wanted(asm.last + 1)
                    if not set(wanted) - set(asm.parts):
                        return got, ""
                    if got and seen >= req.copies * len(wanted):
                        return got, "fragments lost"
            elif last_byte is not None and now - last_byte > quiet:
                return got, "fragments lost"
            if now > deadline:
                self.stats.timeouts += 1
                self._deframer.reset()
                return got, "timeout"

    def _quiet(self) -> float:
        """Seconds of silence after some bytes that end a wait early: a frame's bytes
        follow each other at the line rate, so a pause means its delimiter or the rest
        was lost (a quarter of `timeout`, for slow boards such as a simulated one)."""
        return min(self.timeout, max(0.005 + self.transfer_time(64), self.timeout / 4))

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            flush = getattr(self.port, "flush", None)
            if flush is not None:
                flush()
        except (OSError, _serial_error()) as exc:
            raise P.PortError(f"writing to the board port failed: {exc}") from exc
        self.stats.bytes_out += len(data)

    def _read(self) -> bytes:
        try:
            n = getattr(self.port, "in_waiting", 0) or 1
            return self.port.read(n)
        except (OSError, _serial_error()) as exc:
            raise P.PortError(f"reading from the board port failed: {exc}") from exc

    @staticmethod
    def _check_version(frame: P.Frame) -> None:
        if frame.version != P.PROTOCOL_VERSION:
            raise P.VersionError(
                f"board speaks protocol version {frame.version}; this host speaks version "
                f"{P.PROTOCOL_VERSION} (update the board's bitstream or this neurocosim)")

    def _await(self, seq: int, wait: float) -> "tuple[P.Frame | None, str]":
        """The response to `seq`, or (None, why) on timeout or a damaged frame."""
        deadline = time.monotonic() + wait
        quiet = self._quiet()
        errors_before = self._deframer.errors
        last_byte = None
        while True:
            data = self._read()
            now = time.monotonic()
            if data:
                last_byte = now
                self.stats.bytes_in += len(data)
                for frame in self._deframer.feed(data):
                    self._check_version(frame)
                    if frame.type == P.NACK_TYPE:
                        self.stats.nacks += 1
                        return None, "the board received a damaged frame"
                    if frame.is_response and frame.seq == seq:
                        return frame, ""
                    self.stats.stale_frames += 1
                if self._deframer.errors != errors_before:
                    # a damaged frame arrived: most likely our answer; ask again now
                    self.stats.bad_frames += self._deframer.errors - errors_before
                    return None, f"damaged frame ({self._deframer.last_error})"
            elif last_byte is not None and now - last_byte > quiet and self._deframer.buffer:
                # the line went quiet inside a frame: its delimiter was damaged
                self._deframer.reset()
                self.stats.bad_frames += 1
                return None, "frame cut short"
            if now > deadline:
                self.stats.timeouts += 1
                self._deframer.reset()
                return None, "timeout"

    def _adapt(self, failed: bool) -> None:
        """Halve the size cap on a failure, double it after GROW_AFTER clean exchanges."""
        if failed:
            self.chunk = max(MIN_CHUNK, self.chunk // 2)
            self._clean_run = 0
        else:
            self._clean_run += 1
            if self._clean_run >= GROW_AFTER and self.chunk < self.max_payload:
                self.chunk = min(self.max_payload, self.chunk * 2)
                self._clean_run = 0


def _next_ask(cmd: int, payload: bytes, asm: P.Reassembly,
              arrive: float) -> P.FragmentRequest:
    """The FRAGMENTS request for what `asm` still lacks, whose fragments each arrive with
    probability `arrive`: everything from the first gap on when most of that range is
    missing (no mask bytes to damage), else a bitmap of the missing ones within the next
    64 fragments; each sent often enough that half arrive in this round (the last few
    9 in 10: a round costs a request, which may itself be damaged). Once the
    board has answered, the command's payload is left out (it holds the answer)."""
    missing = asm.missing()
    first = missing[0]
    few = asm.last is not None and len(missing) <= 8
    lost = max(1e-3, 1.0 - arrive)
    copies = min(P.MAX_COPIES if few else 4,
                 math.ceil(math.log(0.1 if few else 0.5) / math.log(lost) - 1e-9))
    if asm.last is None:
        return P.FragmentRequest(cmd, asm.size, first, b"", payload, max(1, copies))
    span = min(missing[-1] - first + 1, 64)
    window = [k for k in missing if k < first + span]
    if len(window) == len(missing) and len(window) * 5 >= 4 * (asm.last + 1 - first):
        return P.FragmentRequest(cmd, asm.size, first, b"", b"", max(1, copies))
    mask = bytearray((span + 7) // 8)
    for k in window:
        mask[(k - first) >> 3] |= 1 << ((k - first) & 7)
    return P.FragmentRequest(cmd, asm.size, first, bytes(mask), b"", max(1, copies))
