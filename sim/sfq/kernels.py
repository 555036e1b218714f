"""Numba kernel of the pulse engine: the same heap loop as engine.Simulator.run, over arrays.

Private: the driver (fast.FastSimulator) flattens the tables, owns the buffers and grows
them when a kernel call returns asking for room. Times are int64 femtoseconds.
"""

from __future__ import annotations

import numpy as np

from ...hw.jit import njit

NONE = -(1 << 62)        # "no pulse yet" in last-pulse times

# return codes
DONE, GROW_HEAP, GROW_REC, NEED_UNIFORMS, VIOLATION, BITS_USED_UP = 0, 1, 2, 3, 4, 5
# io slots (MAXF: most firings of one row, the heap room an event needs)
HN, SEQ, RN, UI, MAXF = 0, 1, 2, 3, 4
# stats slots
EVENTS, SWITCHES, DROPPED, PASSED, BLOCKED = 0, 1, 2, 3, 4


@njit
def _less(ht, hs, i, j):
    return ht[i] < ht[j] or (ht[i] == ht[j] and hs[i] < hs[j])


@njit
def _swap(ht, hs, hw, i, j):
    ht[i], ht[j] = ht[j], ht[i]
    hs[i], hs[j] = hs[j], hs[i]
    hw[i], hw[j] = hw[j], hw[i]


@njit
def heap_push(ht, hs, hw, n, t, s, w):
    """Push (t, s, w) onto the heap of size n; returns the new size."""
    ht[n], hs[n], hw[n] = t, s, w
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if _less(ht, hs, i, parent):
            _swap(ht, hs, hw, i, parent)
            i = parent
        else:
            break
    return n + 1


@njit
def _pop(ht, hs, hw, n):
    """Remove the root (the caller read it); returns the new size."""
    n -= 1
    ht[0], hs[0], hw[0] = ht[n], hs[n], hw[n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        small = left
        if left + 1 < n and _less(ht, hs, left + 1, left):
            small = left + 1
        if _less(ht, hs, small, i):
            _swap(ht, hs, hw, i, small)
            i = small
        else:
            break
    return n


@njit
def _first_broken(t, c, r, lb, after_ptr, after_in, after_min, last, last_any):
    """The first timing constraint of row r (cell c) that a pulse at t breaks, or -1;
    checked before the pulse changes the cell's state or last-pulse times."""
    for k in range(after_ptr[r], after_ptr[r + 1]):
        x = after_in[k]
        lt = last_any[c] if x < 0 else last[lb + x]
        if lt != NONE and t - lt < after_min[k]:
            return k
    return -1


@njit
def run_events(end, ht, hs, hw, io, dst, dst_port, rec_slot, rec_t, rec_w,
               row_base, n_in, state, last_base, last, last_any,
               row_dest, row_jj, row_jjb, row_stoch, after_ptr, after_in, after_min,
               fire_ptr, fire_wire, fire_delay, drop, p, bits_ptr, bits_len, bits_idx, bits,
               u, stats, viol):
    """Deliver pulses before `end`; returns a code (DONE, or what the driver must do)."""
    n = io[HN]
    seq = io[SEQ]
    rn = io[RN]
    ui = io[UI]
    cap, rcap = ht.shape[0], rec_t.shape[0]
    code = DONE
    while n > 0 and ht[0] < end:
        if n + io[MAXF] > cap:
            code = GROW_HEAP
            break
        if rn >= rcap:
            code = GROW_REC
            break
        w = hw[0]
        c = dst[w] if w >= 0 else -1
        r = -1
        if c >= 0:
            r = row_base[c] + state[c] * n_in[c] + dst_port[w]
            if row_stoch[r] and bits_ptr[c] < 0 and ui >= u.shape[0]:
                code = NEED_UNIFORMS
                break
        t = ht[0]
        n = _pop(ht, hs, hw, n)
        stats[EVENTS] += 1
        if rec_slot[w] >= 0:
            rec_t[rn] = t
            rec_w[rn] = w
            rn += 1
        if c < 0:
            continue
        i = dst_port[w]
        lb = last_base[c]
        bad = _first_broken(t, c, r, lb, after_ptr, after_in, after_min, last, last_any)
        if bad >= 0:
            if drop[c]:
                stats[DROPPED] += 1
                continue
            x = after_in[bad]
            viol[0], viol[1], viol[2], viol[3] = c, w, t, x
            viol[4] = last_any[c] if x < 0 else last[lb + x]
            viol[5] = after_min[bad]
            code = VIOLATION
            break
        last[lb + i] = t
        last_any[c] = t
        state[c] = row_dest[r]
        if row_stoch[r]:
            if bits_ptr[c] >= 0:
                if bits_idx[c] >= bits_len[c]:
                    viol[0] = c
                    code = BITS_USED_UP
                    break
                ok = bits[bits_ptr[c] + bits_idx[c]]
                bits_idx[c] += 1
            else:
                ok = u[ui] < p[c]
                ui += 1
            if ok:
                stats[PASSED] += 1
            else:
                stats[BLOCKED] += 1
                stats[SWITCHES] += row_jjb[r]
                continue
        stats[SWITCHES] += row_jj[r]
        for k in range(fire_ptr[r], fire_ptr[r + 1]):
            n = heap_push(ht, hs, hw, n, t + fire_delay[k], seq, fire_wire[k])
            seq += 1
    io[HN], io[SEQ], io[RN], io[UI] = n, seq, rn, ui
    return code


def empty_heap(cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int64))
