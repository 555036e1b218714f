"""A virtual board: a core model behind a pseudo-terminal or a TCP socket, speaking
host.protocol exactly as the FPGA's UART front end does, with an optional baud-rate model.

Users without hardware and the tests run the real host driver (host.board) against it.
Layers: `BoardModel` (the core: regions, reset, one timestep), `BoardServer` (the
protocol: frames in, frames out, duplicate cache, spike stream buffer, counters; no I/O)
and `VirtualBoard` (a thread moving bytes between a pty/socket and the server).
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..hw.layouts import fpga as L
from ..rtl.capacity import ChipCapacity, fpga_identity
from . import protocol as P


class BoardModel:
    """What a board holds and does: memory regions per core, reset, one timestep."""

    identity: P.Identity

    def write(self, core: int, region: P.Region, offset: int, values: np.ndarray) -> None:
        raise NotImplementedError

    def read(self, core: int, region: P.Region, offset: int, count: int) -> np.ndarray:
        raise NotImplementedError

    def reset(self, everything: bool) -> None:
        raise NotImplementedError

    def step(self) -> tuple[np.ndarray, int]:
        """Advance one timestep; return (board neuron ids that spiked, clock cycles)."""
        raise NotImplementedError

    def steps(self, n: int) -> list[tuple[np.ndarray, int]]:
        """Advance `n` timesteps (a model with a batch kernel overrides this)."""
        return [self.step() for _ in range(n)]


class LifCoreModel(BoardModel):
    """The stand-in core of the virtual board while the FPGA emulator is not attached: an
    integer LIF core with dense per-core weights, in the UART-visible layout of
    docs/protocol.md ("link test core"). Per timestep t, for each neuron j of core c:

        v = v - (v >> leak_shift) + bias + sum_i w[i, j] * s_i(t-1) * route[c][i]
            + stim_gain * (stimulus event (t, j))
        if refractory: v = v_reset, count down;  elif v >= vth: spike, v = v_reset,
        refractory = refrac

    v and the sum are int32 wrapping as the hardware's 32-bit adder would. A full reset
    sets vth to 2**31 - 1, so the slots an image leaves unused never fire. Clock cycles of
    a step: 4 + neurons_per_core + (input spikes of the busiest core) * neurons_per_core.
    """

    def __init__(self, n_cores: int = 1, neurons_per_core: int = 64, stim_depth: int = 4096,
                 clock_hz: int = 100_000_000, spike_buffer: int = 8192):
        if not 1 <= n_cores <= 16:
            raise ValueError(f"n_cores={n_cores} must be in 1..16")
        if not 1 <= neurons_per_core <= 1024:
            raise ValueError(f"neurons_per_core={neurons_per_core} must be in 1..1024")
        n = n_cores * neurons_per_core
        regions = (
            P.Region(0, P.RegionKind.PARAMS, "vth", 4, True, neurons_per_core),
            P.Region(1, P.RegionKind.PARAMS, "v_reset", 4, True, neurons_per_core),
            P.Region(2, P.RegionKind.PARAMS, "bias", 4, True, neurons_per_core),
            P.Region(3, P.RegionKind.PARAMS, "leak_shift", 1, False, neurons_per_core),
            P.Region(4, P.RegionKind.PARAMS, "refrac", 1, False, neurons_per_core),
            P.Region(5, P.RegionKind.PARAMS, "stim_gain", 4, True, neurons_per_core),
            P.Region(6, P.RegionKind.WEIGHTS, "weights", 1, True, n * neurons_per_core),
            P.Region(7, P.RegionKind.ROUTING, "route", 1, False, n),
            # stimulus events: (step << 16) | board neuron id, ascending, 0xFFFFFFFF ends
            P.Region(8, P.RegionKind.STIMULUS, "stimulus", 4, False, stim_depth),
        )
        self.identity = P.Identity(P.PROTOCOL_VERSION, "neurocosim-lif-link-test", n_cores,
                                   neurons_per_core, clock_hz, P.MAX_PAYLOAD, spike_buffer,
                                   (("v_bits", 32), ("weight_bits", 8)), regions)
        self.n_cores, self.npc, self.n = n_cores, neurons_per_core, n
        self.mem = {(c, r.id): np.zeros(r.depth, np.int64)
                    for c in range(n_cores) for r in regions}
        self.reset(True)

    def write(self, core, region, offset, values):
        self.mem[core, region.id][offset:offset + len(values)] = values

    def read(self, core, region, offset, count):
        return self.mem[core, region.id][offset:offset + count].copy()

    def reset(self, everything):
        if everything:  # a cleared neuron never fires: vth at the int32 maximum
            for key, arr in self.mem.items():
                arr[:] = {0: 2**31 - 1, 8: 0xFFFFFFFF}.get(key[1], 0)
        self.v = np.zeros(self.n, np.int64)
        self.refr = np.zeros(self.n, np.int64)
        self.last = np.zeros(self.n, bool)
        self.t = 0
        self._stim_i = np.zeros(self.n_cores, np.int64)

    def _p(self, name):
        rid = self.identity.region(name).id
        return np.concatenate([self.mem[c, rid] for c in range(self.n_cores)])

    def step(self):
        npc = self.npc
        spikes_in = self.last.astype(np.int64)
        syn = np.zeros(self.n, np.int64)
        busiest = 0
        for c in range(self.n_cores):
            gate = spikes_in * self.mem[c, 7]
            busiest = max(busiest, int(gate.sum()))
            w = self.mem[c, 6].reshape(self.n, npc)
            syn[c * npc:(c + 1) * npc] = gate @ w
            stim, i = self.mem[c, 8], self._stim_i[c]
            while i < stim.size and stim[i] != 0xFFFFFFFF and (stim[i] >> 16) <= self.t:
                if stim[i] >> 16 == self.t:
                    j = int(stim[i] & 0xFFFF)
                    if c * npc <= j < (c + 1) * npc:
                        syn[j] += self.mem[c, 5][j - c * npc]
                i += 1
            self._stim_i[c] = i
        v = self.v - (self.v >> self._p("leak_shift")) + self._p("bias") + syn
        v = ((v + 2**31) % 2**32) - 2**31
        refr = self.refr > 0
        fire = ~refr & (v >= self._p("vth"))
        v = np.where(refr | fire, self._p("v_reset"), v)
        self.refr = np.where(fire, self._p("refrac"), np.maximum(self.refr - 1, 0))
        self.v, self.last = v, fire
        self.t += 1
        return np.flatnonzero(fire), 4 + npc + busiest * npc


class FpgaBoardModel(BoardModel):
    """The fpga target's core on the virtual board: its memories as regions (the same
    table as the RTL board's, rtl.capacity.fpga_regions, for the spec's limits), stepped
    by the fpga emulator's bit- and cycle-exact model: its Numba FastChip (default) or its
    naive oracle ChipModel (`engine="python"`).

    Writes between runs go into the model in place (state kept) except to `n`,
    `n_axons` and `ring_depth`, which rebuild it; RESET_STATE rebuilds it from the
    memories, keeping weights that STDP changed (as the hardware's memories would).
    """

    def __init__(self, spec, n_cores: int | None = None, axon_depth: int | None = None,
                 spike_buffer: int = 8192, engine: str = "numba"):
        if engine not in ("numba", "python"):
            raise ValueError(f"engine {engine!r} must be 'numba' (the emulator's FastChip) "
                             "or 'python' (its oracle ChipModel)")
        if engine == "numba":
            from ..emulator.fpga.engine import FastChip as chip_class
        else:
            from ..emulator.fpga.oracle import ChipModel as chip_class
        self._ChipModel = chip_class
        self.engine = engine
        self.spec = spec
        n_cores = spec.n_cores if n_cores is None else n_cores
        if not 1 <= n_cores <= spec.max_cores:
            raise ValueError(f"n_cores={n_cores} must be in 1..{spec.max_cores}")
        self.capacity = ChipCapacity.of_spec(spec, n_cores, axon_depth)
        self.identity = fpga_identity(spec, self.capacity, "neurocosim-fpga-virtual",
                                      spike_buffer)
        self.n_cores = n_cores
        self.mem = {(c, r.id): np.zeros(r.depth, np.int64)
                    for c in range(n_cores) for r in self.identity.regions}
        self._by_id = {r.id: r for r in self.identity.regions}
        self.reset(True)

    def _arr(self, name: str, core: int = 0) -> np.ndarray:
        return self.mem[core, self.identity.region(name).id]

    def reset(self, everything: bool) -> None:
        if everything:
            for (c, rid), arr in self.mem.items():
                arr[:] = L.STIM_END if self._by_id[rid].name == "stim_step" else 0
        else:
            self._sync_back()
        self.chip = None

    def _sync_back(self) -> None:
        """Copy the weights the model changed back into the memories."""
        if self.chip is not None:
            for c, weights in enumerate(self.chip.weights()):
                self._arr("syn_w", c)[:len(weights)] = weights

    def _build(self):
        from ..hw.image import Core, HardwareImage
        from ..hw.ir import Network
        cores = []
        for c in range(self.n_cores):
            n = int(self._arr("n", c)[0])
            params = {k: self._arr(k, c)[:1].copy() for k in L.CORE_SCALARS}
            params.update({k: self._arr(k, c).copy() for k in L.NEURON_PARAMS})
            memories = {k: self._arr(k, c).copy()
                        for k in L.SYNAPSE_MEMORIES + L.POINTER_MEMORIES}
            cores.append(Core(c, np.arange(n), params, memories))
        step, axon = self._arr("stim_step"), self._arr("stim_axon")
        used = step != L.STIM_END
        data = {"ring_depth": max(1, int(self._arr("ring_depth")[0])),
                "neurons_per_core": self.spec.neurons_per_core,
                "n_axons": int(self._arr("n_axons")[0]),
                "stim_step": step[used], "stim_axon": axon[used]}
        image = HardwareImage(target=self.spec, network=Network(), cores=cores,
                              data={L.DATA: data})
        return self._ChipModel(image)

    def write(self, core, region, offset, values):
        self.mem[core, region.id][offset:offset + len(values)] = values
        if self.chip is None:
            return
        if region.name in ("n", "n_axons", "ring_depth") or region.kind == P.RegionKind.STIMULUS:
            self._sync_back()
            self.chip = None  # rebuilt (from the memories) at the next step
        elif self.engine == "python":
            self._write_oracle(core, region.name, offset, values)
        else:
            self._write_fast(core, region.name, offset, values)

    def _write_oracle(self, core: int, name: str, offset: int, values) -> None:
        """A write into the running oracle ChipModel's per-core tables."""
        c = self.chip.cores[core]
        if name in L.CORE_SCALARS:
            c.sc[name] = int(values[0])
            return
        lst = (c.p if name in L.NEURON_PARAMS else c.m)[name]
        for i, v in enumerate(values):
            if offset + i < len(lst):
                lst[offset + i] = int(v)

    def _write_fast(self, core: int, name: str, offset: int, values) -> None:
        """A write into the running FastChip's flat arrays (per-core offsets)."""
        from ..emulator.fpga import kernels as K
        chip = self.chip
        if name in L.CORE_SCALARS:
            chip.sc[core, L.CORE_SCALARS.index(name)] = int(values[0])
            return
        if name == "row_ptr":
            arr, base, size = chip.row_ptr[core], 0, chip.row_ptr.shape[1]
        elif name in chip.params:
            arr, base, size = chip.params[name], chip.off[core, K.OFF_N], int(chip.sc[core, L.N])
        elif name in chip.mem:
            col = {"col_ptr": K.OFF_CP, "col_syn": K.OFF_CS, "col_pre": K.OFF_CS}.get(name,
                                                                                     K.OFF_S)
            starts = chip.off[:, col]  # first index of each core (no end entry)
            ends = np.append(starts[1:], len(chip.mem[name]))
            arr, base, size = chip.mem[name], starts[core], ends[core] - starts[core]
        else:  # initial values (u0): used at the next reset
            return
        n = max(0, min(len(values), size - offset))
        arr[base + offset:base + offset + n] = values[:n]

    def read(self, core, region, offset, count):
        self._sync_back()
        return self.mem[core, region.id][offset:offset + count].copy()

    def step(self):
        return self.steps(1)[0]

    def steps(self, n):
        if self.chip is None:
            self.chip = self._build()
        if self.engine == "python":
            return [(np.asarray(s, np.int64), int(c))
                    for s, c in (self.chip.step() for _ in range(n))]
        t0 = self.chip.t
        axons, at, cycles = self.chip.run(n)
        cuts = np.searchsorted(at, np.arange(t0, t0 + n + 1))
        return [(axons[cuts[k]:cuts[k + 1]], int(cycles[k])) for k in range(n)]


@dataclass
class BoardServer:
    """The board's protocol engine: bytes in -> bytes out, no I/O of its own.

    A request repeated with the same sequence number and CRC is answered from the cache
    (never executed twice). A run advances in `pump()` while the spike buffer has room.
    """

    model: BoardModel
    version: int = P.PROTOCOL_VERSION
    #: answers FRAGMENTS (False: refuses it UNKNOWN_COMMAND, as the RTL board does today)
    fragments: bool = True
    deframer: P.Deframer = field(default_factory=P.Deframer)
    duplicates: int = 0
    fault: str = ""
    _last_key: tuple[int, bytes] | None = None
    _last_reply: bytes = b""
    _frag_key: tuple[int, int, bytes] | None = None
    _frag_answer: bytes = b""

    def __post_init__(self) -> None:
        self._reset_run()

    def safe_pump(self, max_steps: int) -> None:
        """`pump` for the serving thread: a failing model is reported, not fatal."""
        try:
            self.pump(max_steps)
        except Exception as exc:
            self.fault = f"{type(exc).__name__}: {exc}"
            self.steps_target = self.steps_done  # the run is over

    def _reset_run(self) -> None:
        self.stream = bytearray()
        self.base = 0              # stream byte offset of stream[0]
        self.steps_done = 0
        self.steps_target = 0
        self.cycles = 0
        self.last_cycles = 0
        self.max_cycles = 0
        self.spike_count = 0
        self._last_record = P.RECORD_HEAD

    @property
    def identity(self) -> P.Identity:
        return self.model.identity

    @property
    def running(self) -> bool:
        return self.steps_done < self.steps_target

    def feed(self, data: bytes) -> bytes:
        """Handle every complete frame in `data`; return the bytes to send back."""
        out = bytearray()
        errors = self.deframer.errors
        for frame in self.deframer.feed(data):
            out += self.handle(frame)
        if self.deframer.errors != errors:
            out += P.encode_frame(P.NACK_TYPE, 0, b"", self.version)
        return bytes(out)

    def handle(self, frame: P.Frame) -> bytes:
        if frame.is_response:
            return b""  # a board ignores responses (an echo on the line)
        key = (frame.seq, P.pack_frame(frame.type, frame.seq, frame.payload, frame.version))
        if key == self._last_key:
            self.duplicates += 1
            return self._last_reply
        if frame.version != self.version:
            reply = P.encode_frame(P.ERROR_TYPE, frame.seq,
                                   P.pack_error(P.ErrorCode.VERSION, frame.type,
                                                f"board speaks version {self.version}, "
                                                f"request is version {frame.version}"),
                                   self.version)
        else:
            try:
                if frame.type == P.Cmd.FRAGMENTS and self.fragments:
                    reply = self._fragments(frame.seq, frame.payload)
                else:
                    self._frag_key = None  # (a kept answer never outlives other requests)
                    payload = self._execute(frame.command, frame.payload)
                    reply = P.encode_frame(frame.type | P.RESPONSE_BIT, frame.seq, payload,
                                           self.version)
            except _Refusal as r:
                reply = P.encode_frame(P.ERROR_TYPE, frame.seq,
                                       P.pack_error(r.code, frame.type, r.message),
                                       self.version)
        self._last_key, self._last_reply = key, reply
        return reply

    def _execute(self, cmd: int, payload: bytes) -> bytes:
        try:
            cmd = P.Cmd(cmd)
        except ValueError:
            raise _Refusal(P.ErrorCode.UNKNOWN_COMMAND, f"command 0x{cmd:02x}") from None
        if cmd == P.Cmd.FRAGMENTS:
            raise _Refusal(P.ErrorCode.UNKNOWN_COMMAND, "this board answers in whole frames")
        if self.fault and cmd not in (P.Cmd.IDENTIFY, P.Cmd.RESET, P.Cmd.READ_COUNTERS):
            raise _Refusal(P.ErrorCode.INTERNAL, f"the core model failed ({self.fault}); "
                                                 "RESET the board")
        try:
            if cmd == P.Cmd.IDENTIFY:
                _empty(payload)
                return P.pack_identity(self.identity)
            if cmd == P.Cmd.RESET:
                what = P.unpack_reset(payload)
                self.model.reset(what == P.RESET_ALL)
                self._reset_run()
                self.fault = ""
                return b""
            if cmd in P.WRITE_KIND:
                return self._write(cmd, payload)
            if cmd == P.Cmd.READ_REGION:
                core, region, offset, count, data = self._access(payload, None)
                if data:
                    raise _Refusal(P.ErrorCode.BAD_PAYLOAD, "READ_REGION carries no data")
                if count * region.width + P.ACCESS_SIZE > self.identity.max_payload:
                    raise _Refusal(P.ErrorCode.OUT_OF_RANGE,
                                   f"{count} elements do not fit one response")
                values = self.model.read(core, region, offset, count)
                return P.pack_write(core, region, offset, values)
            if cmd == P.Cmd.RUN:
                n = P.unpack_run(payload)
                if self.running:
                    raise _Refusal(P.ErrorCode.BUSY, "a run is in progress")
                self.steps_target = self.steps_done + n
                return b""
            if cmd == P.Cmd.READ_SPIKES:
                return self._read_spikes(payload)
            if cmd == P.Cmd.READ_COUNTERS:
                _empty(payload)
                d = self.deframer
                return P.pack_counters(P.Counters(self.steps_done, self.cycles,
                                                  self.last_cycles, self.max_cycles,
                                                  self.spike_count, d.frames, d.errors,
                                                  self.duplicates))
        except P.ProtocolError as exc:
            raise _Refusal(P.ErrorCode.BAD_PAYLOAD, str(exc)) from None
        except _Refusal:
            raise
        except Exception as exc:  # the model failed: say so, keep serving
            self.fault = f"{type(exc).__name__}: {exc}"
            raise _Refusal(P.ErrorCode.INTERNAL, self.fault) from None
        raise _Refusal(P.ErrorCode.UNKNOWN_COMMAND, f"command {cmd.name} is response-only")

    def _fragments(self, seq: int, payload: bytes) -> bytes:
        """FRAGMENTS: the asked pieces of a read's answer, each its own frame. The answer
        is computed once per (sequence, command, payload) and kept, so a host asking
        again for the pieces it missed gets pieces of the same answer."""
        try:
            req = P.unpack_fragment_request(payload)
        except P.ProtocolError as exc:
            raise _Refusal(P.ErrorCode.BAD_PAYLOAD, str(exc)) from None
        key = (seq, req.command, req.payload)
        again = self._frag_key is not None and self._frag_key[:2] == key[:2]
        if key != self._frag_key and not (again and not req.payload):
            self._frag_answer = self._execute(req.command, req.payload)
            self._frag_key = key
        try:
            parts = P.split_answer(self._frag_answer, req.size)
        except P.LimitError as exc:
            raise _Refusal(P.ErrorCode.OUT_OF_RANGE, str(exc)) from None
        rtype = P.Cmd.FRAGMENTS | P.RESPONSE_BIT
        return b"".join(P.encode_frame(rtype, seq, parts[k], self.version)
                        for _ in range(req.copies) for k in req.wanted(len(parts)))

    def _write(self, cmd: int, payload: bytes) -> bytes:
        """WRITE_*: values into a region, between runs, each within the region's range."""
        if self.running:
            raise _Refusal(P.ErrorCode.BUSY, "memories are written between runs")
        core, region, offset, count, data = self._access(payload, P.WRITE_KIND[cmd])
        values = P.decode_values(region, data, count)
        lo, hi = region.value_range
        bad = values[(values < lo) | (values > hi)]
        if bad.size:
            raise _Refusal(P.ErrorCode.OUT_OF_RANGE,
                           f"region {region.name!r}: value {int(bad[0])} outside {lo}..{hi}")
        self.model.write(core, region, offset, values)
        return b""

    def _read_spikes(self, payload: bytes) -> bytes:
        """READ_SPIKES: drop the stream before the cursor, run on, answer what is there."""
        cursor, want = P.unpack_spike_request(payload)
        end = self.base + len(self.stream)
        if not self.base <= cursor <= end:
            raise _Refusal(P.ErrorCode.OUT_OF_RANGE,
                           f"cursor {cursor} outside the buffered {self.base}..{end}")
        del self.stream[:cursor - self.base]
        self.base = cursor
        self.safe_pump(1 << 30)
        if self.fault:
            raise _Refusal(P.ErrorCode.INTERNAL, f"the core model failed during the run "
                                                 f"({self.fault})")
        want = min(want, self.identity.max_payload - P.SPIKE_RESP_HEAD)
        status = ((P.STATUS_RUNNING if self.running else 0)
                  | (P.STATUS_STALLED if self.stalled else 0))
        return P.pack_spike_chunk(P.SpikeChunk(cursor, status, self.steps_done,
                                               self.steps_target, bytes(self.stream[:want])))

    def _access(self, payload, kind):
        core, rid, offset, count, data = P.unpack_access(payload)
        if core >= self.identity.n_cores:
            raise _Refusal(P.ErrorCode.BAD_REGION, f"core {core} >= {self.identity.n_cores}")
        region = next((r for r in self.identity.regions if r.id == rid), None)
        if region is None:
            raise _Refusal(P.ErrorCode.BAD_REGION, f"no region {rid}")
        if kind is not None and region.kind != kind:
            raise _Refusal(P.ErrorCode.BAD_REGION,
                           f"region {region.name!r} holds {region.kind.name}, not {kind.name}")
        if kind is not None and region.readonly:
            raise _Refusal(P.ErrorCode.BAD_REGION, f"region {region.name!r} is read-only")
        if kind is None and region.writeonly:
            raise _Refusal(P.ErrorCode.BAD_REGION, f"region {region.name!r} is write-only")
        if offset + count > region.depth:
            raise _Refusal(P.ErrorCode.OUT_OF_RANGE,
                           f"region {region.name!r}: {offset}+{count} > depth {region.depth}")
        return core, region, offset, count, data

    @property
    def stalled(self) -> bool:
        return self.running and len(self.stream) >= self.identity.spike_buffer

    def pump(self, max_steps: int = 1 << 30) -> int:
        """Run timesteps while a run is pending and the spike buffer has room."""
        done = 0
        while done < max_steps and self.running and not self.stalled:
            # a batch sized to the buffer's room at the last record's size (the buffer is
            # a soft limit here: a batch may overfill it by a few records)
            room = self.identity.spike_buffer - len(self.stream)
            per = max(P.RECORD_HEAD, self._last_record)
            batch = max(1, min(max_steps - done, self.steps_target - self.steps_done,
                               room // per, 256))
            for ids, cycles in self.model.steps(batch):
                record = P.pack_step_record(self.steps_done, cycles, ids,
                                            self.identity.n_neurons)
                self._last_record = len(record)
                self.stream += record
                self.steps_done += 1
                self.cycles += cycles
                self.last_cycles = cycles
                self.max_cycles = max(self.max_cycles, cycles)
                self.spike_count += len(ids)
            done += batch
        return done


class _Refusal(Exception):
    def __init__(self, code: int, message: str):
        self.code, self.message = code, message


def _empty(payload: bytes) -> None:
    if payload:
        raise P.ProtocolError(f"payload of {len(payload)} bytes where none belongs")


class VirtualBoard:
    """Serve a BoardServer on a pseudo-terminal (default) or a TCP socket, in a thread.

    `baud` (None: as fast as the host reads) models the UART: n bytes take 10*n/baud
    seconds each way. `port` is what `Board(port)` opens: a pty path or "socket://...".
    """

    def __init__(self, model: BoardModel | None = None, transport: str = "pty",
                 baud: int | None = None, version: int = P.PROTOCOL_VERSION,
                 steps_per_pump: int = 64, fragments: bool = True):
        if transport not in ("pty", "tcp"):
            raise ValueError(f"transport {transport!r} must be 'pty' or 'tcp'")
        if baud is not None and baud <= 0:
            raise ValueError(f"baud {baud} must be > 0")
        self.server = BoardServer(model or LifCoreModel(), version=version,
                                  fragments=fragments)
        self.baud = baud
        self.steps_per_pump = steps_per_pump
        self._stop = threading.Event()
        self._muted = threading.Event()
        self._lock = threading.Lock()
        self._listener = None
        if transport == "pty":
            import tty
            self._fd, slave = os.openpty()
            tty.setraw(slave)
            self.port = os.ttyname(slave)
            self._slave = slave  # kept open so the master never sees a hang-up
        else:
            self._listener = socket.create_server(("127.0.0.1", 0))
            self.port = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
            self._fd = None
            self._slave = None
        self._thread = threading.Thread(target=self._serve, name="virtual-board",
                                        daemon=True)

    @classmethod
    def for_image(cls, image, **kw) -> "VirtualBoard":
        """A virtual board for `image`: the fpga core (its emulator's model) for an image
        of the fpga target, else the link test core sized for the image."""
        fpga = image.data.get(L.DATA) if isinstance(image.data, dict) else None
        if fpga is not None:
            spec = getattr(image.target, "core", None) or image.target
            model = FpgaBoardModel(spec, n_cores=max(1, len(image.cores)),
                                   axon_depth=max(int(fpga["n_axons"]), 1))
            return cls(model, **kw)
        npc = max([c.neurons.size for c in image.cores] + [1])
        return cls(LifCoreModel(max(1, len(image.cores)), npc), **kw)

    def start(self) -> "VirtualBoard":
        self._thread.start()
        return self

    def __enter__(self) -> "VirtualBoard":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for fd in (self._fd, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._listener is not None:
            self._listener.close()

    # ---- the serving thread ----------------------------------------------------------

    def mute(self) -> None:
        """Stop answering (the port stays open): a board that hung or lost its clock."""
        self._muted.set()

    def _line(self, n_bytes: int) -> None:
        if self.baud:
            time.sleep(10.0 * n_bytes / self.baud)

    def _serve(self) -> None:
        if self._listener is not None:
            self._listener.settimeout(0.05)
            while not self._stop.is_set():
                try:
                    conn, _ = self._listener.accept()
                except (socket.timeout, OSError):
                    continue
                with conn:
                    self._loop(conn.fileno(), lambda b: conn.sendall(b))
            return
        self._loop(self._fd, lambda b: os.write(self._fd, b))

    def _loop(self, fd: int, send) -> None:
        server = self.server
        while not self._stop.is_set():
            busy = server.running and not server.stalled
            ready, _, _ = select.select([fd], [], [], 0 if busy else 0.02)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                if self._muted.is_set():
                    continue
                self._line(len(data))
                reply = server.feed(data)
                if reply:
                    self._line(len(reply))
                    try:
                        send(reply)
                    except OSError:
                        return
            elif busy:
                server.safe_pump(self.steps_per_pump)
