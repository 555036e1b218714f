"""Placement: cores onto mesh positions, minimising expected traffic x hops."""

from __future__ import annotations

from typing import Callable

import numpy as np

from scipy import sparse

from ..errors import LimitError
from ..jit import njit
from .partition import unique_ints
from .progress import Stage


def traffic_matrix(core_of: np.ndarray, pre: np.ndarray, post: np.ndarray,
                   n_cores: int | None = None,
                   rates: np.ndarray | None = None) -> sparse.csr_array:
    """Sparse (n_cores, n_cores) expected packets per unit time from core a to core b.

    A neuron sends one packet per spike to each distinct core holding any of its targets
    (one axon per destination core, as Loihi and TrueNorth route), weighted by `rates`
    (spikes per unit time of each global neuron; 1 each by default: connection counts).
    One sort of the synapses: O(S log S), never n_cores x n_cores.
    """
    core_of = np.asarray(core_of, np.int64)
    n_cores = int(core_of.max()) + 1 if n_cores is None else int(n_cores)
    pre = np.asarray(pre, np.int64)
    pairs = unique_ints(pre * n_cores + core_of[np.asarray(post, np.int64)])
    src, dst_core = pairs // n_cores, pairs % n_cores
    w = np.ones(len(src)) if rates is None else np.asarray(rates, np.float64)[src]
    return sparse.csr_array((w, (core_of[src], dst_core)), shape=(n_cores, n_cores))


def core_traffic(core_of: np.ndarray, pre: np.ndarray, post: np.ndarray,
                 n_cores: int | None = None, rates: np.ndarray | None = None) -> np.ndarray:
    """`traffic_matrix` as a dense array (small chips, tests)."""
    return traffic_matrix(core_of, pre, post, n_cores, rates).toarray()


def hop_matrix(core_xy: np.ndarray) -> np.ndarray:
    """Manhattan hop counts between every pair of cores (XY routing takes a shortest path)."""
    xy = np.asarray(core_xy, np.int64)
    return (np.abs(xy[:, None, 0] - xy[None, :, 0])
            + np.abs(xy[:, None, 1] - xy[None, :, 1]))


def placement_cost(traffic: "np.ndarray | sparse.sparray", core_xy: np.ndarray) -> float:
    """Sum over core pairs of traffic x hops: the quantity placement minimises (over the
    pairs that talk, dense or sparse traffic: a dense hop matrix of 14,000 cores took 7 s)."""
    t = sparse.coo_array(traffic)
    xy = np.asarray(core_xy, np.int64)
    hops = np.abs(xy[t.row] - xy[t.col]).sum(axis=1)
    return float((t.data * hops).sum())


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


#: the dense search (`_improve`: cores x slots and slots x slots matrices) runs up to
#: these many cores and slots; larger chips take the sparse path (`_place_sparse`)
_DENSE_CORES = 512
_DENSE_SLOTS = 4096


def place(traffic: "np.ndarray | sparse.sparray", mesh_shape: tuple[int, int],
          strategy: str = "graph", seed: int = 0, cores_per_router: int = 1,
          swap_rounds: int = 4, progress: Stage | None = None) -> np.ndarray:
    """Mesh (x, y) of each core: "sequential" fills in order; "graph" bisects the traffic
    graph (dense or sparse) alongside the mesh (Kernighan-Lin, or the Fiedler vector for
    more than `_KL_MAX` cores), then improves by moves and pairwise swaps: over every slot
    on small chips, near each core's best spot on large ones (`_place_sparse`).

    The result never costs more than sequential placement (it starts over from it if not).
    `progress` gets the fraction done: the bisection's cores placed, then the swap
    rounds (the caller finishes it).
    """
    n = traffic.shape[0]
    seq = sequential_xy(n, mesh_shape, cores_per_router)
    if strategy == "sequential" or n <= 1:
        return seq
    if strategy != "graph":
        raise ValueError(f"placement strategy {strategy!r}: use 'graph' or 'sequential'")
    slots = _slots(mesh_shape, cores_per_router)
    rng = np.random.default_rng(seed)
    on_placed = None if progress is None else _Placed(progress, n)
    if n > _DENSE_CORES or len(slots) > _DENSE_SLOTS:
        return _place_sparse(sparse.csr_array(traffic, dtype=np.float64), mesh_shape,
                             cores_per_router, seq, rng, swap_rounds, on_placed)
    traffic = traffic.toarray() if sparse.issparse(traffic) else np.asarray(traffic,
                                                                            np.float64)
    sym = traffic + traffic.T
    slot_of = np.empty(n, np.int64)
    _bisect(sym, np.arange(n), np.arange(len(slots)), slots, slot_of, rng, on_placed)
    # the swap search costs O(cores x slots) per move: one round above 256 cores
    swap_rounds = swap_rounds if n <= 256 else 1
    slot_of = _improve(sym, slot_of, slots, rng, swap_rounds,
                       None if progress is None else lambda f: progress(0.5 + 0.5 * f))
    xy = slots[slot_of]
    if placement_cost(traffic, xy) > placement_cost(traffic, seq):
        xy = slots[_improve(sym, np.arange(n), slots, rng, swap_rounds)]
    return xy


class _Placed:
    """Progress of the bisection: the first half, by cores placed."""

    def __init__(self, progress: Stage, n: int) -> None:
        self.progress, self.n, self.placed = progress, n, 0

    def __call__(self, k: int) -> None:
        self.placed += k
        self.progress(0.5 * self.placed / self.n)


def _place_sparse(traffic: sparse.csr_array, mesh_shape: tuple[int, int], per_router: int,
                  seq: np.ndarray, rng: np.random.Generator, rounds: int,
                  on_placed: "_Placed | None") -> np.ndarray:
    """Large chips: bisection of the sparse traffic graph over a compact block of routers
    (as many as the cores need, not the whole mesh), then local swaps; O(E log E) in the
    E core pairs that talk (each level of bisection and each swap round is O(E))."""
    n = traffic.shape[0]
    sym = (traffic + traffic.T).tocsr()
    sym.setdiag(0.0)
    sym.eliminate_zeros()
    slots = _slots(mesh_shape, per_router)
    region = _compact_region(n, mesh_shape, per_router)
    slot_of = np.empty(n, np.int64)
    _bisect(sym, np.arange(n), region, slots, slot_of, rng, on_placed)
    done = None if on_placed is None else (
        lambda f: on_placed.progress(0.5 + 0.5 * f))
    slot_of = _swap_local(sym, slot_of, slots, mesh_shape, per_router, rng, rounds, done)
    xy = slots[slot_of]
    return seq if placement_cost(traffic, xy) > placement_cost(traffic, seq) else xy


def _compact_region(n: int, mesh_shape: tuple[int, int], per_router: int) -> np.ndarray:
    """Slot ids of the near-square block of routers at the mesh's origin that holds n
    cores (a long multi-chip strip is used only as far as needed)."""
    nx, ny = int(mesh_shape[0]), int(mesh_shape[1])
    routers = -(-n // per_router)
    h = min(ny, max(1, int(np.ceil(np.sqrt(routers)))))
    w = -(-routers // h)
    if w > nx:
        w, h = nx, -(-routers // nx)
    r = np.arange(nx * ny)
    keep = (r % nx < w) & (r // nx < h)
    return (np.flatnonzero(keep)[:, None] * per_router + np.arange(per_router)).ravel()


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
    sub = sym[cores][:, cores] if sparse.issparse(sym) else \
        sym[np.ix_(cores, cores)]
    if len(cores) > _KL_MAX:
        left, right = _spectral_split(sub, n_left)
    else:
        left, right = _kl_split(sub, n_left, len(left_slots), len(right_slots), rng)
    _bisect(sym, cores[left], left_slots, slots, slot_of, rng, on_placed)
    _bisect(sym, cores[right], right_slots, slots, slot_of, rng, on_placed)


#: subproblems larger than this are split spectrally (networkx's KL is slow on big graphs)
_KL_MAX = 96


def _spectral_split(sub: "np.ndarray | sparse.csr_array",
                    n_left: int) -> tuple[np.ndarray, np.ndarray]:
    """Split by the Fiedler vector of the traffic graph's Laplacian (first n_left left):
    dense eigh on small chips, sparse LOBPCG (O(E) per iteration) on large ones."""
    if sparse.issparse(sub):
        fiedler = _sparse_fiedler(sub)
    else:
        from scipy.linalg import eigh

        lap = np.diag(sub.sum(axis=1)) - sub
        fiedler = eigh(lap, subset_by_index=[0, 1])[1][:, 1]
    order = np.argsort(fiedler, kind="stable")
    return np.sort(order[:n_left]), np.sort(order[n_left:])


def _sparse_fiedler(sub: sparse.csr_array) -> np.ndarray:
    """The Laplacian's eigenvector of the second smallest eigenvalue (LOBPCG, Jacobi
    preconditioned, the constant vector held out; a fixed start, so repeatable)."""
    from scipy.sparse.linalg import lobpcg

    n = sub.shape[0]
    deg = np.asarray(sub.sum(axis=1)).ravel()
    lap = sparse.diags_array(deg) - sub
    inv = sparse.diags_array(1.0 / np.maximum(deg, 1e-12))
    start = np.cos(np.pi * (np.arange(n) + 0.5) / n)[:, None]   # slowest cosine mode
    ones = np.ones((n, 1))
    _, vec = lobpcg(lap, start, M=inv, Y=ones, largest=False, tol=1e-5, maxiter=200)
    return vec[:, 0]


def _upper_edges(sub: "np.ndarray | sparse.csr_array") -> tuple[np.ndarray, ...]:
    """(i, j, weight) of the edges i < j of a symmetric traffic matrix."""
    if sparse.issparse(sub):
        up = sparse.triu(sub, 1).tocoo()
        return up.row, up.col, up.data
    ii, jj = np.nonzero(np.triu(sub, 1))
    return ii, jj, sub[ii, jj]


def _kl_split(sub: "np.ndarray | sparse.csr_array", n_left: int, cap_left: int,
              cap_right: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Kernighan-Lin bisection (networkx) into n_left / rest, padded with dummy nodes."""
    import networkx as nx
    from networkx.algorithms.community import kernighan_lin_bisection

    n = sub.shape[0]
    g = nx.Graph()
    g.add_nodes_from(range(n))
    ii, jj, ww = _upper_edges(sub)
    g.add_weighted_edges_from(zip(ii.tolist(), jj.tolist(), ww.tolist()))
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


#: a core's candidate routers: the `_BEST` cheapest for it (its partners where they are)
#: within `_WINDOW` routers of its partners' weighted median along x and along y
_WINDOW = 8
_BEST = 6


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> int:
    """The value at which half the weight lies on either side (the L1-optimal spot)."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return int(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def _swap_local(sym: sparse.csr_array, slot_of: np.ndarray, slots: np.ndarray,
                mesh_shape: tuple[int, int], per_router: int, rng: np.random.Generator,
                rounds: int, on_done: Callable[[float], None] | None = None) -> np.ndarray:
    """Best-improvement swaps (or moves to a free slot) of each core with the slots of the
    router at the weighted median of its partners' positions and of its 4 neighbours.

    A core's cost at a slot is sum_j sym[c, j] * hops; trying K slots costs
    O(K x (its degree + the occupants' degrees)), so a round is O(E) for E talking pairs.
    """
    slot_of = slot_of.copy()
    n, nx, ny = len(slot_of), int(mesh_shape[0]), int(mesh_shape[1])
    sym.sort_indices()
    ptr, idx, w = sym.indptr, sym.indices, sym.data
    occupant = np.full(len(slots), -1, np.int64)
    occupant[slot_of] = np.arange(n)
    pos = slots[slot_of]
    every = max(1, n // 200)
    for r in range(rounds):
        improved = False
        for j, c in enumerate(rng.permutation(n)):
            if on_done is not None and j % every == 0:
                on_done((r * n + j) / (rounds * n))
            if ptr[c] == ptr[c + 1]:
                continue
            cand = _candidates(c, idx, w, ptr, pos, nx, ny, per_router, slot_of[c])
            gain = _swap_gains(c, cand, idx, w, ptr, pos, slots, occupant, slot_of[c])
            best = int(np.argmax(gain))
            if gain[best] <= 1e-9:
                continue
            sc, s, o = slot_of[c], cand[best], occupant[cand[best]]
            slot_of[c], occupant[s], pos[c] = s, c, slots[s]
            occupant[sc] = o
            if o >= 0:
                slot_of[o], pos[o] = sc, slots[sc]
            improved = True
        if not improved:
            break
    return slot_of


def _candidates(c: int, idx: np.ndarray, w: np.ndarray, ptr: np.ndarray, pos: np.ndarray,
                nx: int, ny: int, per_router: int, home: int) -> np.ndarray:
    """Slot ids of the `_BEST` routers where c alone would cost least, searched within
    `_WINDOW` of its partners' weighted median (the cost separates: f(x) + g(y))."""
    nb, wc = idx[ptr[c]:ptr[c + 1]], w[ptr[c]:ptr[c + 1]]
    axes = []
    for k, size in ((0, nx), (1, ny)):
        mid = _weighted_median(pos[nb, k], wc)
        at = np.arange(max(0, mid - _WINDOW), min(size, mid + _WINDOW + 1))
        axes.append((at, np.abs(at[:, None] - pos[nb, k][None]) @ wc))
    (xs, fx), (ys, fy) = axes
    cost = (fy[:, None] + fx[None, :]).ravel()
    best = np.argsort(cost, kind="stable")[:_BEST]
    routers = ys[best // len(xs)] * nx + xs[best % len(xs)]
    cand = (routers[:, None] * per_router + np.arange(per_router)).ravel()
    return cand[cand != home]


@njit
def _swap_gains(c: int, cand: np.ndarray, idx: np.ndarray, w: np.ndarray, ptr: np.ndarray,
                pos: np.ndarray, slots: np.ndarray, occupant: np.ndarray,
                home: int) -> np.ndarray:
    """Decrease of the total traffic x hops if c moves to each candidate slot, swapping
    with its occupant: C_c(home) - C_c(s) + C_o(s) - C_o(home) - 2 sym[c, o] hops(home, s).

    Compiled: one pass over c's partners per candidate and one over each occupant's
    (numpy's version built arrays of candidates x partners: 35 ms a call, 650 s of the
    microcircuit's placement at scale 0.25)."""
    hx, hy = slots[home, 0], slots[home, 1]
    here = 0.0
    for k in range(ptr[c], ptr[c + 1]):
        j = idx[k]
        here += w[k] * (abs(hx - pos[j, 0]) + abs(hy - pos[j, 1]))
    gain = np.empty(len(cand), np.float64)
    for a in range(len(cand)):
        ax, ay = slots[cand[a], 0], slots[cand[a], 1]
        there = 0.0
        for k in range(ptr[c], ptr[c + 1]):
            j = idx[k]
            there += w[k] * (abs(ax - pos[j, 0]) + abs(ay - pos[j, 1]))
        g = here - there
        o = occupant[cand[a]]
        if o >= 0:
            stay, move, w_co = 0.0, 0.0, 0.0
            for k in range(ptr[o], ptr[o + 1]):
                j = idx[k]
                stay += w[k] * (abs(pos[j, 0] - ax) + abs(pos[j, 1] - ay))
                move += w[k] * (abs(pos[j, 0] - hx) + abs(pos[j, 1] - hy))
                if j == c:
                    w_co += w[k]
            g += stay - move - 2.0 * w_co * (abs(ax - hx) + abs(ay - hy))
        gain[a] = g
    return gain
