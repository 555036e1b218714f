"""Dimension-order (XY) routing on a 2-D mesh, link numbering, and the chip routing table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .partition import unique_ints
from .progress import Stage

#: Directions of the links leaving a router: E (+x), W (-x), N (+y), S (-y).
LINK_DIRECTIONS = ("E", "W", "N", "S")
_STEP = {0: (1, 0), 1: (-1, 0), 2: (0, 1), 3: (0, -1)}


def link_id(x: int, y: int, direction: int, mesh_shape: tuple[int, int]) -> int:
    """Index of the directed link leaving router (x, y) towards `direction` (0..3 = E,W,N,S)."""
    return (int(y) * int(mesh_shape[0]) + int(x)) * 4 + int(direction)


def xy_route(src_xy, dst_xy) -> tuple[int, list[tuple[tuple[int, int], tuple[int, int]]]]:
    """Hops and directed links ((x, y) -> (x', y')) of the XY route: all of x first, then y."""
    x, y = int(src_xy[0]), int(src_xy[1])
    tx, ty = int(dst_xy[0]), int(dst_xy[1])
    links = []
    while x != tx:
        nx_ = x + (1 if tx > x else -1)
        links.append(((x, y), (nx_, y)))
        x = nx_
    while y != ty:
        ny_ = y + (1 if ty > y else -1)
        links.append(((x, y), (x, ny_)))
        y = ny_
    return len(links), links


def route_links(src_xy: np.ndarray, dst_xy: np.ndarray,
                mesh_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """XY routes of many (src, dst) router pairs at once: CSR (ptr, link ids in order)."""
    src_xy, dst_xy = np.asarray(src_xy, np.int64), np.asarray(dst_xy, np.int64)
    nx_ = int(mesh_shape[0])
    dx = dst_xy[:, 0] - src_xy[:, 0]
    dy = dst_xy[:, 1] - src_xy[:, 1]
    lx, ly = np.abs(dx), np.abs(dy)
    ptr = np.zeros(len(dx) + 1, np.int64)
    ptr[1:] = np.cumsum(lx + ly)
    flat = np.empty(int(ptr[-1]), np.int64)

    def steps(lengths):         # 0..len-1 for each route, concatenated
        total = int(lengths.sum())
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        return np.arange(total) - starts

    # x part: routers (x0 + j*sx, y0), direction E (0) or W (1)
    r = np.repeat(np.arange(len(dx)), lx)
    j = steps(lx)
    sx = np.sign(dx[r])
    x = src_xy[r, 0] + j * sx
    ids_x = ((src_xy[r, 1] * nx_ + x) * 4 + np.where(sx > 0, 0, 1))
    pos_x = ptr[r] + j
    flat[pos_x] = ids_x
    # y part: routers (x1, y0 + j*sy), direction N (2) or S (3)
    r = np.repeat(np.arange(len(dy)), ly)
    j = steps(ly)
    sy = np.sign(dy[r])
    y = src_xy[r, 1] + j * sy
    ids_y = ((y * nx_ + dst_xy[r, 0]) * 4 + np.where(sy > 0, 2, 3))
    flat[ptr[r] + lx[r] + j] = ids_y
    return ptr, flat


@dataclass
class RoutingTable:
    """Where every spike goes and by which links.

    Axon table (per global neuron, CSR): `dest_core[dest_ptr[i]:dest_ptr[i+1]]`, the cores
    that receive one packet per spike of neuron i. Routes (per used ordered core pair):
    `pair_src`, `pair_dst`, `hops_ew`, `hops_ns`, and `pair_ptr` into the links
    `pair_links[pair_ptr[p]:...]` (ids from `link_id`, in traversal order). The links
    are derived from the endpoints when asked for, not kept: they number pairs x hops,
    1e9 for the microcircuit at scale 0.25 on a strip of 37 chips (XY routing fixes
    them).
    """

    dest_ptr: np.ndarray
    dest_core: np.ndarray
    pair_src: np.ndarray
    pair_dst: np.ndarray
    hops_ew: np.ndarray
    hops_ns: np.ndarray
    pair_ptr: np.ndarray
    n_links: int
    core_xy: np.ndarray
    mesh_shape: tuple[int, int]

    @property
    def pair_links(self) -> np.ndarray:
        """Every route's link ids in traversal order (CSR by `pair_ptr`)."""
        xy = np.asarray(self.core_xy, np.int64)
        return route_links(xy[self.pair_src], xy[self.pair_dst], self.mesh_shape)[1]

    def as_dict(self) -> dict[str, np.ndarray]:
        """Arrays for `HardwareImage.routing`."""
        return {k: np.asarray(getattr(self, k)) for k in
                ("dest_ptr", "dest_core", "pair_src", "pair_dst", "hops_ew", "hops_ns",
                 "pair_ptr")} | {"n_links": np.asarray(self.n_links)}


def routing_table(core_of: np.ndarray, pre: np.ndarray, post: np.ndarray,
                  core_xy: np.ndarray, mesh_shape: tuple[int, int],
                  progress: Stage | None = None) -> RoutingTable:
    """Axon table and XY routes for every (neuron -> destination core) the synapses need;
    `progress` hears of the axon table (half) and the routes (the caller finishes it).
    O(S log S) in the synapses S: one sort of (neuron, core) keys, one of core pairs."""
    core_of = np.asarray(core_of, np.int64)
    n = len(core_of)
    n_cores = len(core_xy)
    pre, post = np.asarray(pre, np.int64), np.asarray(post, np.int64)
    keys = unique_ints(pre * n_cores + core_of[post])
    src_neuron, dst = keys // n_cores, keys % n_cores
    dest_ptr = np.zeros(n + 1, np.int64)
    dest_ptr[1:] = np.cumsum(np.bincount(src_neuron, minlength=n))
    if progress is not None:
        progress(0.5)
    pairs = unique_ints(core_of[src_neuron] * n_cores + dst)
    ps, pd = pairs // n_cores, pairs % n_cores
    xy = np.asarray(core_xy, np.int64)
    hops_ew, hops_ns = np.abs(xy[pd, 0] - xy[ps, 0]), np.abs(xy[pd, 1] - xy[ps, 1])
    ptr = np.zeros(len(pairs) + 1, np.int64)
    ptr[1:] = np.cumsum(hops_ew + hops_ns)
    return RoutingTable(dest_ptr=dest_ptr, dest_core=dst.astype(np.int64),
                        pair_src=ps.astype(np.int64), pair_dst=pd.astype(np.int64),
                        hops_ew=hops_ew, hops_ns=hops_ns, pair_ptr=ptr,
                        n_links=int(mesh_shape[0]) * int(mesh_shape[1]) * 4,
                        core_xy=xy, mesh_shape=(int(mesh_shape[0]), int(mesh_shape[1])))
