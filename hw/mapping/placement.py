"""Placement: cores onto mesh positions, minimising expected traffic x hops."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import LimitError
from .partition import unique_ints
from .progress import Stage


def core_traffic(core_of: np.ndarray, pre: np.ndarray, post: np.ndarray,
                 n_cores: int | None = None, rates: np.ndarray | None = None) -> np.ndarray:
    """(n_cores, n_cores) expected packets per unit time from core a to core b.

    A neuron sends one packet per spike to each distinct core holding any of its targets
    (one axon per destination core, as Loihi and TrueNorth route), weighted by `rates`
    (spikes per unit time of each global neuron; 1 each by default: connection counts).
    """
    core_of = np.asarray(core_of, np.int64)
    n_cores = int(core_of.max()) + 1 if n_cores is None else int(n_cores)
    out = np.zeros((n_cores, n_cores))
    if len(pre) == 0:
        return out
    pre = np.asarray(pre, np.int64)
    pairs = unique_ints(pre * n_cores + core_of[np.asarray(post, np.int64)])
    src, dst_core = pairs // n_cores, pairs % n_cores
    w = np.ones(len(src)) if rates is None else np.asarray(rates, np.float64)[src]
    np.add.at(out, (core_of[src], dst_core), w)
    return out


def hop_matrix(core_xy: np.ndarray) -> np.ndarray:
    """Manhattan hop counts between every pair of cores (XY routing takes a shortest path)."""
    xy = np.asarray(core_xy, np.int64)
    return (np.abs(xy[:, None, 0] - xy[None, :, 0])
            + np.abs(xy[:, None, 1] - xy[None, :, 1]))


def placement_cost(traffic: np.ndarray, core_xy: np.ndarray) -> float:
    """Sum over core pairs of traffic x hops: the quantity placement minimises (over the
    pairs that talk: a dense hop matrix of 14,000 cores took 7 s)."""
    traffic = np.asarray(traffic)
    xy = np.asarray(core_xy, np.int64)
    a, b = np.nonzero(traffic)
    hops = np.abs(xy[a] - xy[b]).sum(axis=1)
    return float((traffic[a, b] * hops).sum())


def _slots(mesh_shape: tuple[int, int], cores_per_router: int) -> np.ndarray:
    nx, ny = int(mesh_shape[0]), int(mesh_shape[1])
    t = np.arange(nx * ny * cores_per_router) // cores_per_router
    return np.stack([t % nx, t // nx], axis=1).astype(np.int64)


def sequential_xy(n_cores: int, mesh_shape: tuple[int, int],
                  cores_per_router: int = 1) -> np.ndarray:
    """Core c on router c // cores_per_router, routers filled row by row (x fastest)."""
    slots = _slots(mesh_shape, cores_per_router)
    if n_cores > len(slots):
        raise LimitError("cores on the mesh", n_cores, len(slots),
                         f"mesh {mesh_shape[0]}x{mesh_shape[1]} with {cores_per_router} "
                         "core(s) per router")
    return slots[:n_cores].copy()


def place(traffic: np.ndarray, mesh_shape: tuple[int, int], strategy: str = "graph",
          seed: int = 0, cores_per_router: int = 1, swap_rounds: int = 4,
          progress: Stage | None = None) -> np.ndarray:
    """Mesh (x, y) of each core: "sequential" fills in order; "graph" bisects the traffic
    graph alongside the mesh (Kernighan-Lin, or the Fiedler vector for more than
    `_KL_MAX` cores), then improves by moves and pairwise swaps.

    The result never costs more than sequential placement (it starts over from it if not).
    `progress` gets the fraction done: the bisection's cores placed, then the swap
    rounds (the caller finishes it).
    """
    traffic = np.asarray(traffic, np.float64)
    n = traffic.shape[0]
    seq = sequential_xy(n, mesh_shape, cores_per_router)
    if strategy == "sequential" or n <= 1:
        return seq
    if strategy != "graph":
        raise ValueError(f"placement strategy {strategy!r}: use 'graph' or 'sequential'")
    slots = _slots(mesh_shape, cores_per_router)
    sym = traffic + traffic.T
    rng = np.random.default_rng(seed)
    slot_of = np.empty(n, np.int64)
    placed = 0

    def on_placed(k: int) -> None:
        nonlocal placed
        placed += k
        progress(0.5 * placed / n)

    _bisect(sym, np.arange(n), np.arange(len(slots)), slots, slot_of, rng,
            None if progress is None else on_placed)
    # the swap search costs O(cores x slots) per move: one round on large chips
    rounds = swap_rounds if n <= 256 else 1
    slot_of = _improve(sym, slot_of, slots, rng, rounds,
                       None if progress is None else lambda f: progress(0.5 + 0.5 * f))
    xy = slots[slot_of]
    if placement_cost(traffic, xy) > placement_cost(traffic, seq):
        xy = slots[_improve(sym, np.arange(n), slots, rng, rounds)]
    return xy


def _bisect(sym: np.ndarray, cores: np.ndarray, slot_ids: np.ndarray, slots: np.ndarray,
            slot_of: np.ndarray, rng: np.random.Generator,
            on_placed: Callable[[int], None] | None = None) -> None:
    """Recursive bisection: split the slots along their longer side, the cores by KL
    (spectrally for large subproblems); `on_placed(k)` as k cores get their slot."""
    if len(cores) == 0:
        return
    if len(slot_ids) == 1 or len(cores) == 1 and len(slot_ids) >= 1:
        # one core left: the slot nearest the middle of the region
        pos = slots[slot_ids]
        mid = pos.mean(axis=0)
        slot_of[cores[0]] = slot_ids[np.argmin(np.abs(pos - mid).sum(axis=1))]
        if on_placed is not None:
            on_placed(1)
        return
    pos = slots[slot_ids]
    span = pos.max(axis=0) - pos.min(axis=0)
    axis = 0 if span[0] >= span[1] else 1
    if span[axis] == 0:      # several cores share one router: any order is equal
        slot_of[cores] = slot_ids[:len(cores)]
        if on_placed is not None:
            on_placed(len(cores))
        return
    order = np.lexsort((pos[:, 1 - axis], pos[:, axis]))
    half = len(slot_ids) // 2
    # keep routers whole: move the cut to a change of coordinate
    coord = pos[order, axis]
    cut = int(np.searchsorted(coord, coord[half], side="left"))
    if cut == 0:
        cut = int(np.searchsorted(coord, coord[half], side="right"))
    left_slots, right_slots = slot_ids[order[:cut]], slot_ids[order[cut:]]
    # cores per side in proportion to the slots, padded with dummy nodes to fill them
    n_left = min(len(cores), round(len(cores) * len(left_slots) / len(slot_ids)))
    n_left = max(n_left, len(cores) - len(right_slots))
    sub = sym[np.ix_(cores, cores)]
    if len(cores) > _KL_MAX:
        left, right = _spectral_split(sub, n_left)
    else:
        left, right = _kl_split(sub, n_left, len(left_slots), len(right_slots), rng)
    _bisect(sym, cores[left], left_slots, slots, slot_of, rng, on_placed)
    _bisect(sym, cores[right], right_slots, slots, slot_of, rng, on_placed)


#: subproblems larger than this are split spectrally (networkx's KL is slow on big graphs)
_KL_MAX = 96


def _spectral_split(sub: np.ndarray, n_left: int) -> tuple[np.ndarray, np.ndarray]:
    """Split by the Fiedler vector of the traffic graph's Laplacian (first n_left left)."""
    from scipy.linalg import eigh

    lap = np.diag(sub.sum(axis=1)) - sub
    _, vecs = eigh(lap, subset_by_index=[0, 1])
    order = np.argsort(vecs[:, 1], kind="stable")
    return np.sort(order[:n_left]), np.sort(order[n_left:])


def _kl_split(sub: np.ndarray, n_left: int, cap_left: int, cap_right: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Kernighan-Lin bisection (networkx) into n_left / rest, padded with dummy nodes."""
    import networkx as nx
    from networkx.algorithms.community import kernighan_lin_bisection

    n = len(sub)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    ii, jj = np.nonzero(np.triu(sub, 1))
    g.add_weighted_edges_from(zip(ii.tolist(), jj.tolist(), sub[ii, jj].tolist()))
    n_dummy = max(0, 2 * max(n_left, n - n_left) - n)
    dummies = list(range(n, n + n_dummy))
    g.add_nodes_from(dummies)
    perm = rng.permutation(n).tolist()
    a, b = set(perm[:n_left]), set(perm[n_left:])
    # pad the smaller side so that KL (which swaps pairs) keeps the intended sizes
    for d in dummies:
        (a if len(a) < len(b) else b).add(d)
    a, b = kernighan_lin_bisection(g, partition=(a, b), weight="weight",
                                   seed=int(rng.integers(1 << 31)))
    left = np.array(sorted(i for i in a if i < n), np.int64)
    right = np.array(sorted(i for i in b if i < n), np.int64)
    if len(left) > cap_left or len(right) > cap_right:
        left, right = np.array(sorted(perm[:n_left]), np.int64), \
            np.array(sorted(perm[n_left:]), np.int64)
    return left, right


def _improve(sym: np.ndarray, slot_of: np.ndarray, slots: np.ndarray,
             rng: np.random.Generator, rounds: int,
             on_done: Callable[[float], None] | None = None) -> np.ndarray:
    """Best-improvement moves of each core to a free slot or swaps with another core;
    `on_done` gets the fraction of the rounds' moves tried.

    H[o, s] = sum_j sym[o, j] * hops(s, slot of j) is kept up to date, so the gain of every
    candidate slot for one core is O(slots) and applying a move is O(partners x slots).
    """
    slot_of = slot_of.copy()
    n, m = len(slot_of), len(slots)
    sym = sym.copy()
    np.fill_diagonal(sym, 0.0)
    dist = (np.abs(slots[:, None, 0] - slots[None, :, 0])
            + np.abs(slots[:, None, 1] - slots[None, :, 1])).astype(np.float64)
    occupant = np.full(m, -1, np.int64)
    occupant[slot_of] = np.arange(n)
    H = sym @ dist[:, slot_of].T

    def relocate(c: int, new: int) -> None:
        old = slot_of[c]
        talk = np.flatnonzero(sym[:, c])          # only c's traffic partners change
        H[talk] += np.outer(sym[talk, c], dist[:, new] - dist[:, old])
        slot_of[c] = new

    every = max(1, n // 200)
    for r in range(rounds):
        improved = False
        for j, c in enumerate(rng.permutation(n)):
            if on_done is not None and j % every == 0:
                on_done((r * n + j) / (rounds * n))
            sc = slot_of[c]
            occ = occupant
            gain = H[c, sc] - H[c]
            busy = occ >= 0
            o = occ[busy]
            gain[busy] += H[o, np.flatnonzero(busy)] - H[o, sc] \
                - 2.0 * dist[sc, busy] * sym[c, o]
            gain[sc] = 0.0
            best = int(np.argmax(gain))
            if gain[best] <= 1e-9 * (1.0 + abs(H[c, sc])):
                continue
            o = occupant[best]
            relocate(c, best)
            if o >= 0:
                relocate(o, sc)
            occupant[sc], occupant[best] = o, c
            improved = True
        if not improved:
            break
    return slot_of
