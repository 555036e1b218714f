"""The Numba-backed simulator: `Simulator`'s tables flattened into arrays, `run` in a kernel.

`FastSimulator` is a drop-in `Simulator` (same constructor, schedule, run, reset, pulses,
stats): it prepares through the Python engine, whose loop stays as the slow, obviously
correct oracle, and then runs `kernels.run_events`. Both consume the random stream in the
same chunks and order, so their pulses are identical (tests compare them on generated
netlists).
"""

from __future__ import annotations

import numpy as np

from ...hw.errors import NetworkError
from . import kernels as K
from .engine import _BUF, Simulator, Stats


class FastSimulator(Simulator):
    """`Simulator` whose event loop runs in Numba."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._flatten_rows()
        nl = self.netlist
        self._last_base = np.zeros(nl.n_cells, np.int64)
        self._last_base[1:] = np.cumsum(self._n_in)[:-1]
        self._bits_ptr = np.full(nl.n_cells, -1, np.int64)
        self._bits_len = np.zeros(nl.n_cells, np.int64)
        chunks, at = [], 0
        for c, (bits, _) in self._bits.items():
            self._bits_ptr[c], self._bits_len[c] = at, len(bits)
            chunks.append(bits)
            at += len(bits)
        self._bitsarr = np.concatenate(chunks) if chunks else np.zeros(1, np.bool_)
        self._rec_slot = np.full(nl.n_wires, -1, np.int64)
        for k, w in enumerate(self._rec):
            self._rec_slot[w] = k
        self._reset_arrays()

    def _flatten_rows(self) -> None:
        """One flat block of rows per distinct per-cell row list (shared when cells are
        alike), with CSR lists of separation constraints and firings."""
        blocks: dict[int, int] = {}
        dest, jj, jjb, stoch = [], [], [], []
        a_ptr, a_in, a_min = [0], [], []
        f_ptr, f_wire, f_delay = [0], [], []
        row_base = np.zeros(self.netlist.n_cells, np.int64)
        for c, rows in enumerate(self._rows):
            key = id(rows)
            if key not in blocks:
                blocks[key] = len(dest)
                for (d, after, j, jb, sto, fires) in rows:
                    dest.append(d), jj.append(j), jjb.append(jb), stoch.append(sto)
                    for x, m in after:
                        a_in.append(x), a_min.append(m)
                    a_ptr.append(len(a_in))
                    for w, dl in fires:
                        f_wire.append(w), f_delay.append(dl)
                    f_ptr.append(len(f_wire))
            row_base[c] = blocks[key]
        i64 = lambda v: np.asarray(v, dtype=np.int64)  # noqa: E731
        self._t = dict(
            row_base=row_base, n_in=i64(self._n_in), row_dest=i64(dest), row_jj=i64(jj),
            row_jjb=i64(jjb), row_stoch=np.asarray(stoch, dtype=np.bool_),
            after_ptr=i64(a_ptr), after_in=i64(a_in), after_min=i64(a_min),
            fire_ptr=i64(f_ptr), fire_wire=i64(f_wire), fire_delay=i64(f_delay),
            drop=np.asarray(self._drop, dtype=np.bool_),
            p=np.nan_to_num(self.p_pass, nan=0.0))
        self._maxf = max([b - a for a, b in zip(f_ptr[:-1], f_ptr[1:])] + [1])

    def reset(self) -> None:
        super().reset()
        self._reset_arrays()

    def _reset_arrays(self) -> None:
        """The kernel's state at time 0 (from the Python engine's freshly reset state)."""
        nl = self.netlist
        self._state = np.asarray(self.state, dtype=np.int64)
        self._lastarr = np.full(int(sum(self._n_in)), K.NONE, np.int64)
        self._last_anyarr = np.full(nl.n_cells, K.NONE, np.int64)
        self._bits_idx = np.zeros(nl.n_cells, np.int64)
        self._uarr = np.asarray(self._u, dtype=np.float64)
        self._ht, self._hs, self._hw = K.empty_heap(1024)
        self._io = np.zeros(5, np.int64)
        self._io[K.MAXF] = self._maxf
        self._rec_t = np.zeros(1 << 14, np.int64)
        self._rec_w = np.zeros(1 << 14, np.int64)
        self._stats = np.zeros(5, np.int64)
        self._viol = np.zeros(6, np.int64)

    def _grow_heap(self, need: int) -> None:
        cap = len(self._ht)
        while cap < need:
            cap *= 2
        for name in ("_ht", "_hs", "_hw"):
            old = getattr(self, name)
            new = np.zeros(cap, np.int64)
            new[:len(old)] = old
            setattr(self, name, new)

    def _push(self, wire: int, t: np.ndarray) -> None:
        io = self._io
        self._grow_heap(int(io[K.HN]) + t.size + int(io[K.MAXF]))
        for x in t.tolist():
            io[K.HN] = K.heap_push(self._ht, self._hs, self._hw, io[K.HN], x, io[K.SEQ], wire)
            io[K.SEQ] += 1

    def run_fs(self, end: int) -> None:
        if end < self.now_fs:
            raise NetworkError(f"run until {end / 1000} ps is before now "
                               f"({self.now_fs / 1000} ps)")
        t, io = self._t, self._io
        while True:
            code = K.run_events(
                end, self._ht, self._hs, self._hw, io, self.netlist.wire_dst,
                self.netlist.wire_dst_port, self._rec_slot, self._rec_t, self._rec_w,
                t["row_base"], t["n_in"], self._state, self._last_base, self._lastarr,
                self._last_anyarr, t["row_dest"], t["row_jj"], t["row_jjb"], t["row_stoch"],
                t["after_ptr"], t["after_in"], t["after_min"], t["fire_ptr"], t["fire_wire"],
                t["fire_delay"], t["drop"], t["p"], self._bits_ptr, self._bits_len,
                self._bits_idx, self._bitsarr, self._uarr, self._stats, self._viol)
            self._flush()
            if code == K.DONE:
                break
            if code == K.GROW_HEAP:
                self._grow_heap(2 * len(self._ht))
            elif code == K.NEED_UNIFORMS:
                self._uarr = self._rng.random(_BUF)
                io[K.UI] = 0
            elif code == K.VIOLATION:
                c, w, tv, x, lt, m = (int(v) for v in self._viol)
                self._raise(c, w, tv, -1 if x < 0 else x, lt, m)
            elif code == K.BITS_USED_UP:
                c = int(self._viol[0])
                raise NetworkError(f"synapse {self.netlist.cell_names[c]!r}: its "
                                   f"{self._bits_len[c]} pre-drawn decisions are used up")
        self.now_fs = end

    def _flush(self) -> None:
        """Move recorded pulses into the per-wire records; refresh the public stats."""
        rn = int(self._io[K.RN])
        for tt, w in zip(self._rec_t[:rn].tolist(), self._rec_w[:rn].tolist()):
            self._rec[w].append(tt)
        self._io[K.RN] = 0
        s = self._stats
        self.stats = Stats(events=int(s[K.EVENTS]), switches=int(s[K.SWITCHES]),
                           dropped=int(s[K.DROPPED]), passed=int(s[K.PASSED]),
                           blocked=int(s[K.BLOCKED]))
