"""The host side of the board: `Board`, which identifies a board, loads a HardwareImage,
runs it and reads results over a `host.link.Link` (retransmission, fragments, frame sizes
from the line's measured damage), and the "board" target's runner.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import numpy as np

from ..hw import metrics
from ..hw.errors import LimitError, TargetError
from ..hw.layouts import fpga as L
from ..hw.result import TimingReport
from ..hw.runner import Recorded, Runner
from ..hw.stimulus import InputSpikes
from . import protocol as P
from .link import (FRAME_WIRE, MIN_CHUNK, MIN_FRAGMENT, SHRINK_AFTER, Link, best_fragment,
                   open_port)

#: a write frame's bytes besides its values: access fields, frame, leading delimiter, and
#: its acknowledgement frame
WRITE_OVERHEAD = P.ACCESS_SIZE + 2 * FRAME_WIRE + 1

class Board:
    """A neurocosim board (real, or virtual behind a pty/socket) speaking host.protocol.

    `Board(port)` opens the port and identifies the board; a board of another protocol
    version is refused with VersionError before anything else happens.
    """

    def __init__(self, port: Any, baud: int = P.DEFAULT_BAUD, timeout: float = 0.25,
                 retries: int = 12):
        self._ser = open_port(port, baud)
        self._owns_port = isinstance(port, str)
        self.link = Link(self._ser, baud=baud, timeout=timeout, retries=retries)
        #: the board answers FRAGMENTS (None until IDENTIFY, asked in fragments, told)
        self.fragments: bool | None = None
        try:
            self.identity = self.identify()
        except Exception:
            self.close()
            raise
        self.link.max_payload = min(P.MAX_PAYLOAD, self.identity.max_payload)
        self.link.chunk = self.link.max_payload
        self.cursor = 0
        self.parser = P.SpikeStreamParser(self.identity.n_neurons)
        self._synced = False  # the spike stream is ours once this session has reset

    # ---- commands -----------------------------------------------------------------

    def identify(self) -> P.Identity:
        """Ask the board who it is (in fragments; a board that refuses FRAGMENTS is asked
        again in one frame and thereafter); refuse another protocol version."""
        ident = P.unpack_identity(self._read(P.Cmd.IDENTIFY, b"", P.MAX_PAYLOAD))
        if ident.protocol_version != P.PROTOCOL_VERSION:
            raise P.VersionError(f"board speaks protocol version {ident.protocol_version}; "
                                 f"this host speaks version {P.PROTOCOL_VERSION}")
        return ident

    def reset(self, everything: bool = False) -> None:
        """Clear neuron state, time, spike stream and counters (and memories if asked)."""
        self.link.request(P.Cmd.RESET, P.pack_reset(P.RESET_ALL if everything
                                                    else P.RESET_STATE))
        self.cursor = 0
        self.parser = P.SpikeStreamParser(self.identity.n_neurons)
        self._synced = True

    def write_region(self, name: str, values, core: int = 0, offset: int = 0) -> None:
        """Write int values into a region, in frames sized to the line's current health."""
        region = self.identity.region(name)
        if region.readonly:
            raise TargetError(f"region {name!r} of this board ({self.identity.model}) is "
                              "read-only: it is held in the bitstream")
        values = np.asarray(values, dtype=np.int64).ravel()
        region.check(values, offset)
        self._check_core(core)
        cmd = P.KIND_WRITE[region.kind]
        if self.fragments:  # back to back, in frames sized to the line
            d = best_fragment(self.link.line.rate, MIN_FRAGMENT,
                              self.link.max_payload - P.ACCESS_SIZE, WRITE_OVERHEAD)
            n = max(1, d // region.width)
            self.link.send_all(cmd, [P.pack_write(core, region, offset + i, values[i:i + n])
                                     for i in range(0, values.size, n)])
            return
        i = 0
        while i < values.size:
            def build(chunk: int, i=i):
                n = max(1, (chunk - P.ACCESS_SIZE) // region.width)
                part = values[i:i + n]
                return P.pack_write(core, region, offset + i, part), 16, part.size
            i += self._exchange(cmd, build)

    def read_region(self, name: str, core: int = 0, count: int | None = None,
                    offset: int = 0) -> np.ndarray:
        """Read `count` elements (default: the whole region) back from the board."""
        region = self.identity.region(name)
        if region.writeonly:
            raise TargetError(f"region {name!r} of this board ({self.identity.model}) is "
                              "write-only: the board has no read port for it")
        self._check_core(core)
        count = region.depth - offset if count is None else count
        out = []
        i = 0
        while i < count:
            def build(chunk: int, i=i):
                n = min(count - i, max(1, (chunk - P.ACCESS_SIZE) // region.width))
                return (P.pack_read(core, region, offset + i, n),
                        P.ACCESS_SIZE + n * region.width, n)
            if self.fragments:  # a whole answer's worth, in pieces sized to the line
                payload, expect, n = build(P.MAX_PAYLOAD)
                resp = self._read(P.Cmd.READ_REGION, payload, expect)
            else:
                resp, n = self._exchange(P.Cmd.READ_REGION, build, with_response=True)
            c, rid, off, cnt, body = P.unpack_access(resp)
            if (c, rid, off, cnt) != (core, region.id, offset + i, n):
                raise P.ProtocolError(f"READ_REGION answered ({c}, {rid}, {off}, {cnt}) for "
                                      f"({core}, {region.id}, {offset + i}, {n})")
            out.append(P.decode_values(region, body, cnt))
            i += n
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def start(self, n_steps: int) -> None:
        """Start a run of `n_steps` timesteps (spikes are read with `spikes()`)."""
        if not self._synced:
            raise TargetError("reset() or load() the board before running it: its spike "
                              "stream position is known only after a reset in this session")
        self.link.request(P.Cmd.RUN, P.pack_run(n_steps))

    def read_chunk(self) -> P.SpikeChunk:
        """One READ_SPIKES exchange; advances the cursor past the bytes received."""
        def build(size: int):
            want = max(1, size - P.SPIKE_RESP_HEAD)
            return P.pack_spike_request(self.cursor, want), P.SPIKE_RESP_HEAD + want, want
        if self.fragments:
            resp = self._read(P.Cmd.READ_SPIKES, *build(self.link.max_payload)[:2])
        else:
            resp, _ = self._exchange(P.Cmd.READ_SPIKES, build, with_response=True)
        chunk = P.unpack_spike_chunk(resp)
        if chunk.cursor != self.cursor:
            raise P.ProtocolError(f"spike stream answered from byte {chunk.cursor}, "
                                  f"asked for byte {self.cursor}")
        self.cursor += len(chunk.data)
        return chunk

    def spikes(self, parser: P.SpikeStreamParser | None = None,
               poll: float = 0.0) -> Iterator[tuple[int, int, np.ndarray]]:
        """(step, cycles, hardware neuron ids) per timestep until the run has finished."""
        parser = parser or self.parser
        while True:
            chunk = self.read_chunk()
            yield from parser.feed(chunk.data)
            if not chunk.running and not chunk.data:
                if parser.buffer:
                    raise P.ProtocolError(f"spike stream ended inside a record "
                                          f"({len(parser.buffer)} bytes left)")
                return
            if not chunk.data and poll:
                time.sleep(poll)

    def run_steps(self, n_steps: int,
                  progress: Callable[[int], None] | None = None,
                  parser: P.SpikeStreamParser | None = None
                  ) -> list[tuple[int, int, np.ndarray]]:
        """Run `n_steps` and collect every step's record (step, cycles, ids)."""
        self.start(n_steps)
        records = []
        for rec in self.spikes(parser):
            records.append(rec)
            if progress is not None:
                progress(rec[0])
        return records

    def load(self, image: Any) -> None:
        """Clear the board and write every memory of a HardwareImage (see image_regions).
        An image that does not fit the board is refused (LimitError naming the limit)
        before anything is sent."""
        writes = image_regions(image, self.identity)
        for core, region, values in sorted(writes, key=lambda w: w[2].size <= w[1].depth):
            region.check(values)  # (first the arrays longer than their region)
        self.reset(everything=True)
        for core, region, values in writes:
            self.write_region(region.name, values, core=core)

    def counters(self) -> P.Counters:
        return P.unpack_counters(self._read(P.Cmd.READ_COUNTERS, b"", 44))

    def close(self) -> None:
        if self._owns_port:
            self._ser.close()

    def __enter__(self) -> "Board":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read(self, cmd: int, payload: bytes, expect: int) -> bytes:
        """A read's answer: in fragments when the board answers FRAGMENTS (learnt from
        its first answer: fragments, or an UNKNOWN_COMMAND refusal), else in one frame."""
        if self.fragments is not False:
            try:
                answer = self.link.fetch(cmd, payload, expect)
                self.fragments = True
                return answer
            except P.BoardError as exc:
                if not (exc.code == P.ErrorCode.UNKNOWN_COMMAND
                        and exc.command == P.Cmd.FRAGMENTS and self.fragments is None):
                    raise
                self.fragments = False
        return self.link.request(cmd, payload, expect)

    def _exchange(self, cmd: int, build, with_response: bool = False):
        """An idempotent request whose frame size may shrink: `build(size)` gives
        (payload, expected response bytes, items carried) for the link's best size. A few
        failed attempts at one size retry with the size cap halved; at the smallest size
        the link's own limits apply, so a dead board is reported after at most
        7 * SHRINK_AFTER + retries attempts."""
        while True:
            size = self.link.size()
            payload, expect, items = build(size)
            small = size <= MIN_CHUNK
            try:
                resp = self.link.request(cmd, payload, expect,
                                         attempts=None if small else SHRINK_AFTER)
            except P.BoardTimeoutError:
                if small:
                    raise
                self.link.chunk = max(MIN_CHUNK, min(self.link.chunk, size) // 2)
                continue
            return (resp, items) if with_response else items

    def _check_core(self, core: int) -> None:
        if not 0 <= core < self.identity.n_cores:
            raise TargetError(f"core {core} does not exist; the board has "
                              f"{self.identity.n_cores} core(s)")


# --------------------------------------------------------------------------------------
# Images onto boards, and the "board" target's runner

def image_regions(image: Any, identity: P.Identity) -> list[tuple[int, P.Region, np.ndarray]]:
    """(core, region, values) for every board region the image fills.

    A region named like an array of core c (its `params` or `memories`) gets that array,
    flattened in C order; a region named like an integer array of `image.routing` or
    `image.data` gets it on core 0. An image array that no board region takes is an
    error: the board cannot hold that network. A target's own table in `image.data`
    (e.g. data["fpga"]) mixes memories with host-side bookkeeping: its entries that name
    a board region (integer scalars or arrays) are written, the others stay on the host.
    """
    if len(image.cores) > identity.n_cores:
        raise LimitError("board cores", len(image.cores), identity.n_cores,
                         f"{identity.model}: {len(image.cores) - identity.n_cores} over")
    by_name = {r.name: r for r in identity.regions}
    out, unused = [], []
    npc = identity.neurons_per_core
    for core in image.cores:
        if core.neurons.size > npc:
            raise LimitError("board neurons per core", int(core.neurons.size), npc,
                             f"core {core.index}: {core.neurons.size - npc} over")
    for table in image.data.values():  # board ids are core * neurons_per_core + slot
        stride = table.get("neurons_per_core") if isinstance(table, dict) else None
        if stride is not None and len(image.cores) > 1 and int(stride) != npc:
            raise TargetError(f"the image numbers its neurons {int(stride)} per core, the "
                              f"board {npc} per core: compile it with "
                              f"neurons_per_core={npc}")
    for core in image.cores:
        for table in (core.params, core.memories):
            for name, arr in table.items():
                if name in by_name:
                    out.append((core.index, by_name[name], np.asarray(arr).ravel()))
                else:
                    unused.append(f"core {core.index} {name}")
    for table in (image.routing, image.data):
        for name, arr in table.items():
            if isinstance(arr, dict):  # a target's own table: only what the board holds
                for key, value in arr.items():
                    if key in by_name and np.asarray(value).dtype.kind in "iub":
                        out.append((0, by_name[key], np.atleast_1d(np.asarray(value))))
                continue
            if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iub":
                continue  # not a hardware memory (e.g. compiler notes)
            if name in by_name:
                out.append((0, by_name[name], arr.ravel()))
            else:
                unused.append(name)
    if unused:
        raise TargetError(f"the board ({identity.model}) has no region for "
                          f"{', '.join(unused)}; its regions are "
                          f"{', '.join(by_name)}")
    return out


class BoardRunner(Runner):
    """Runner of the "board" target (hw.runner.Runner): load an image onto a board, run it
    in windows, read back spikes, cycles and weights.

    Options: `port` (a serial URL or device path, or "virtual" for an in-process virtual
    board), `baud`, `timeout` and `retries` (link), `progress` (callable(step)).
    Input: the board holds the image's stimulus memory, i.e. hw.stimulus over
    [0, stimulus_horizon_ms); each window is checked against it, and a window that needs
    input after it is refused by name (the memory is a list the chip reads once, not a
    ring the host could refill during a run).
    """

    target = "board"
    OPTIONS = {"port": None, "baud": P.DEFAULT_BAUD, "timeout": 0.25, "retries": 12,
               "progress": None}

    def __init__(self, image: Any, **options: Any) -> None:
        super().__init__(image, **options)
        opt = self.options
        if opt["port"] is None:
            raise TargetError("target 'board' needs a port: setup(target='board', "
                              "port='/dev/ttyUSB0') (or port='virtual' for the emulator)")
        self._virtual = None
        port = opt["port"]
        if port == "virtual":
            from .virtual_board import VirtualBoard
            self._virtual = VirtualBoard.for_image(self.image, baud=None).start()
            port = self._virtual.port
        try:
            self.board = Board(port, baud=opt["baud"], timeout=opt["timeout"],
                               retries=opt["retries"])
            self.board.load(self.image)
        except Exception:
            self.close()
            raise
        self._fpga = self.image.data.get(L.DATA)
        #: the fpga core's spec (a board image's `core`, or an fpga image's own)
        self._core = getattr(self.spec, "core", None) or self.spec
        self._trace = _StepTrace()
        self._ir_of_hw = _ir_table(self.image, self.board.identity)

    @property
    def records(self) -> list[tuple[int, int, np.ndarray]]:
        """(step, cycles, board neuron ids) of every step run (built on demand)."""
        return self._trace.records()

    def _advance(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        self._check_input(k0, k1, inputs)
        self.board.start(k1 - k0)
        for step, cycles, ids in self.board.spikes():
            self._trace.add(step, cycles, ids)
            if self.options["progress"] is not None:
                self.options["progress"](step)

    def _check_input(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        """The window's input must be what the board's stimulus memory holds."""
        if self._fpga is None:
            if len(inputs):
                raise TargetError(f"target 'board': this image ({self.board.identity.model})"
                                  f" has no stimulus memory for the {len(inputs)} input "
                                  "spike(s) of the network")
            return
        d, core = self._fpga, self._core
        step, axon = L.stimulus_entries(inputs.neuron, inputs.stamp, d["axon_of"])
        covered = int(d["stimulus_steps"])
        if step.size and step[-1] >= covered:
            first = int(step[step >= covered][0])
            raise TargetError(
                f"target 'board': running to t = {k1 * self.dt:g} ms needs input spikes at "
                f"t = {(first + 1) * self.dt:g} ms and later, after the board's stimulus "
                f"memory ends (stimulus_horizon_ms={core.stimulus_horizon_ms:g}; "
                f"{len(d['stim_step'])} of stimulus_depth={core.stimulus_depth} entries); "
                f"run at most to {covered * self.dt:g} ms or compile with a larger "
                "stimulus_horizon_ms")
        held = (d["stim_step"] >= k0) & (d["stim_step"] < k1)
        if not (np.array_equal(step, d["stim_step"][held])
                and np.array_equal(axon, d["stim_axon"][held])):
            raise TargetError(f"target 'board': the image's stimulus memory does not hold "
                              f"the network's input (hw.stimulus) for steps {k0}..{k1 - 1}; "
                              "recompile the image")

    def _collect(self) -> Recorded:
        steps, hw_ids, cycles = self._trace.arrays()
        ir = self._ir_of_hw[hw_ids]
        if np.any(ir < 0):
            raise P.ProtocolError(f"board reported a spike of hardware neuron "
                                  f"{hw_ids[ir < 0][0]}, which the image does not use")
        link = self.board.link.stats
        return Recorded(neuron=ir, stamp=steps + 1, weights=self._weights(),
                        timing=self._timing(steps, hw_ids, cycles, link.retransmits),
                        info={"board": self.board.identity.model, "link": vars(link).copy()})

    def _weights(self) -> dict[str, np.ndarray]:
        """Weights read back: per projection (fpga images), else per core and region."""
        cores = range(len(self.image.cores))
        if self._fpga is not None:
            stored = [self.board.read_region("syn_w", core=c) for c in cores]
            return L.projection_weights(self._fpga, stored)
        return {f"core{c}.{r.name}": self.board.read_region(r.name, core=c)
                for r in self.board.identity.regions
                if r.kind == P.RegionKind.WEIGHTS and not r.writeonly for c in cores}

    def _timing(self, steps: np.ndarray, hw_ids: np.ndarray, cycles: np.ndarray,
                retransmits: int) -> TimingReport:
        """The fpga cycle model's report over the board's cycles (emulator.fpga.timing);
        cycles and hardware time only for other cores."""
        clock = float(self.board.identity.clock_hz)
        if self._fpga is not None:
            from ..emulator.fpga.timing import fpga_timing
            d = self._fpga
            sent = d["stim_step"] < cycles.size
            rep = fpga_timing(self.spec.name, self.image, self._core, cycles, steps, hw_ids,
                              d["stim_step"][sent], d["stim_axon"][sent], clock)
            values = dict(rep.metrics)
        else:
            some = bool(cycles.size)
            values = {"steps": cycles.size, "spikes_total": hw_ids.size,
                      "cycles_total": int(cycles.sum()),
                      "cycles_per_step_mean": float(cycles.mean()) if some else 0.0,
                      "cycles_per_step_max": int(cycles.max()) if some else 0,
                      "chip_time_ns": float(cycles.sum()) / clock * 1e9}
        values["link_retransmits"] = retransmits
        return metrics.timing_report(self.spec.name, values, {"cycles_per_step": cycles})

    def _reset(self) -> None:
        self.board.reset(everything=False)
        self._trace = _StepTrace()

    def update(self, network) -> None:
        """A changed network: recompiled and loaded at t = 0 (the base's rule)."""
        if self.steps == 0:
            self.close()
        super().update(network)

    def close(self) -> None:
        board = getattr(self, "board", None)
        if board is not None:
            board.close()
        if self._virtual is not None:
            self._virtual.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class _StepTrace:
    """Every step's cycles and spikes in compact arrays (a long run holds millions of
    steps: 4 bytes per cycle count and per spike, consolidated in blocks)."""

    BLOCK = 65536

    def __init__(self) -> None:
        self.n_steps = 0
        self._cycles: list[np.ndarray] = []
        self._ids: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._open_cycles: list[int] = []
        self._open_ids: list[np.ndarray] = []

    def add(self, step: int, cycles: int, ids: np.ndarray) -> None:
        if step != self.n_steps:
            raise P.ProtocolError(f"step {step} recorded where step {self.n_steps} was due")
        self._open_cycles.append(cycles)
        self._open_ids.append(ids)
        self.n_steps += 1
        if len(self._open_cycles) >= self.BLOCK:
            self._close()

    def _close(self) -> None:
        if self._open_cycles:
            self._cycles.append(np.array(self._open_cycles, np.uint32))
            self._counts.append(np.array([len(i) for i in self._open_ids], np.int32))
            self._ids.append(np.concatenate(self._open_ids).astype(np.int32)
                             if self._open_ids else np.zeros(0, np.int32))
            self._open_cycles, self._open_ids = [], []

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(step of each spike, board id of each spike, cycles of each step)."""
        self._close()
        cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
        counts = cat(self._counts, np.int64)
        return (np.repeat(np.arange(counts.size, dtype=np.int64), counts),
                cat(self._ids, np.int64), cat(self._cycles, np.int64))

    def records(self) -> list[tuple[int, int, np.ndarray]]:
        steps, ids, cycles = self.arrays()
        cuts = np.searchsorted(steps, np.arange(cycles.size + 1))
        return [(k, int(cycles[k]), ids[cuts[k]:cuts[k + 1]]) for k in range(cycles.size)]


def _ir_table(image: Any, ident: P.Identity) -> np.ndarray:
    """Hardware neuron id (core * neurons_per_core + slot) -> IR global id (-1: unused)."""
    npc = ident.neurons_per_core
    out = np.full(ident.n_neurons, -1, np.int64)
    for core in image.cores:
        g = np.asarray(core.neurons, np.int64)
        out[core.index * npc + np.arange(g.size)] = g
    return out
