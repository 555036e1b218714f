"""Partitioning: which core each neuron lives on, respecting every per-core limit given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import LimitError
from ..ir import Network
from .progress import Stage


def unique_ints(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array (sort-based: numpy 2.3's hashing
    np.unique is ~50x slower on millions of int64 keys)."""
    s = np.sort(np.asarray(keys, np.int64), kind="stable")
    if s.size == 0:
        return s
    keep = np.empty(s.size, np.bool_)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def synapse_pairs(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """Global (pre, post) neuron ids of every synapse of `network`, projection by projection."""
    off = network.offsets()
    pre = [off[p.pre] + p.pre_idx for p in network.projections]
    post = [off[p.post] + p.post_idx for p in network.projections]
    if not pre:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(pre).astype(np.int64), np.concatenate(post).astype(np.int64)


@dataclass
class FanIn:
    """Per neuron: its synapse count and its distinct presynaptic sources, sorted (CSR
    `src[ptr[i]:ptr[i + 1]]`); computed once (one sort of the synapses) and reused by
    every partition round."""

    n_syn: np.ndarray
    src: np.ndarray
    ptr: np.ndarray


def fan_in(pre: "np.ndarray | None", post: "np.ndarray | None", n: int) -> FanIn:
    """The `FanIn` of `n` neurons from global synapse lists (none: no synapses)."""
    if pre is None or post is None:
        pre = post = np.zeros(0, np.int64)
    pre, post = np.asarray(pre, np.int64), np.asarray(post, np.int64)
    for name, ids in (("pre", pre), ("post", post)):
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            raise ValueError(f"partition: a {name} neuron id is outside 0..{n - 1}")
    n_syn = np.bincount(post, minlength=n)
    keys = unique_ints(post * max(n, 1) + pre)
    ptr = np.zeros(n + 1, np.int64)
    ptr[1:] = np.cumsum(np.bincount(keys // max(n, 1), minlength=n))
    return FanIn(n_syn=n_syn, src=keys % max(n, 1), ptr=ptr)


def _check_alone(i: int, units: int, cap: int, n_fresh: int, axon_limit: float,
                 need_bytes: float, syn_limit: float, n_syn: int) -> None:
    """Refuse a neuron that cannot fit even an empty core, naming the limit and excess."""
    if units > cap:
        raise LimitError("neurons per core", units, cap,
                         f"neuron {i} alone needs {units} compartments/slots")
    if n_fresh > axon_limit:
        raise LimitError("input axons per core", n_fresh, axon_limit,
                         f"neuron {i} has {n_fresh} distinct presynaptic sources, "
                         f"{n_fresh - axon_limit} too many")
    if need_bytes > syn_limit:
        raise LimitError("synapse memory per core (bytes)", int(np.ceil(need_bytes)),
                         int(syn_limit), f"neuron {i}'s {n_syn} synapses "
                         f"alone exceed it by {int(np.ceil(need_bytes - syn_limit))}")


def partition(sizes: Sequence[int], neurons_per_core: "int | Sequence[int]", *,
              cores: int | None = None,
              pre: np.ndarray | None = None, post: np.ndarray | None = None,
              axons_per_core: int | None = None,
              synapse_bytes_per_core: float | None = None, bytes_per_synapse: float = 0.0,
              bytes_per_axon: float = 0.0, units: np.ndarray | None = None,
              split_populations: bool = True, fans: FanIn | None = None,
              progress: Stage | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy in-order fill of cores: (core_of, slot_of) for the neurons of `sizes` populations.

    A neuron joins the current core while every limit holds: `neurons_per_core` (one
    value, or one per population; counted in `units` per neuron, e.g. compartments;
    default 1 each), `axons_per_core` distinct
    presynaptic sources of the core's synapses (`pre`/`post` global synapse lists), and
    `synapse_bytes_per_core` = synapses x `bytes_per_synapse` + input axons x
    `bytes_per_axon`. With `split_populations` each population starts on a fresh core.
    `fans` (`fan_in(pre, post, n)`) stands in for `pre`/`post` when partitioning again.
    Raises LimitError naming the limit and the excess when one neuron alone cannot fit a
    core, or when more than `cores` cores are needed.
    """
    sizes = [int(s) for s in sizes]
    n = sum(sizes)
    caps = np.broadcast_to(np.asarray(neurons_per_core, np.int64), (len(sizes),))
    if caps.size and caps.min() < 1:
        raise LimitError("neurons per core", 1, int(caps.min()), "a core must hold a neuron")
    cap_of = np.repeat(caps, sizes) if n else np.zeros(0, np.int64)
    units = np.ones(n, np.int64) if units is None else np.asarray(units, np.int64)
    if units.shape != (n,):
        raise ValueError(f"units: expected {n} values, got shape {units.shape}")
    fans = fan_in(pre, post, n) if fans is None else fans
    n_syn, src, ptr = fans.n_syn, fans.src, fans.ptr
    syn_limit = np.inf if synapse_bytes_per_core is None else float(synapse_bytes_per_core)
    axon_limit = np.inf if axons_per_core is None else int(axons_per_core)

    core_of = np.empty(n, np.int64)
    slot_of = np.empty(n, np.int64)
    seen = np.zeros(n, np.bool_)
    seen_list: list[np.ndarray] = []
    core, used, axons, syn_bytes, slot = 0, 0, 0, 0.0, 0
    starts = set(np.cumsum([0] + sizes[:-1]).tolist()) if split_populations else {0}
    every = max(1, n // 200)
    for i in range(n):
        if progress is not None and i % every == 0:
            progress(i / n)
        if i in starts and slot > 0:
            core, used, axons, syn_bytes, slot = core + 1, 0, 0, 0.0, 0
            for s in seen_list:
                seen[s] = False
            seen_list = []
        fan = src[ptr[i]:ptr[i + 1]]
        fresh = fan[~seen[fan]]
        need_bytes = n_syn[i] * bytes_per_synapse + len(fresh) * bytes_per_axon
        fits = (used + units[i] <= cap_of[i] and axons + len(fresh) <= axon_limit
                and syn_bytes + need_bytes <= syn_limit)
        if not fits and slot > 0:
            core, used, axons, syn_bytes, slot = core + 1, 0, 0, 0.0, 0
            for s in seen_list:
                seen[s] = False
            seen_list = []
            fresh = fan
            need_bytes = n_syn[i] * bytes_per_synapse + len(fresh) * bytes_per_axon
        _check_alone(i, int(units[i]), int(cap_of[i]), len(fresh), axon_limit, need_bytes,
                     syn_limit, int(n_syn[i]))
        seen[fresh] = True
        seen_list.append(fresh)
        core_of[i], slot_of[i] = core, slot
        used += int(units[i])
        axons += len(fresh)
        syn_bytes += need_bytes
        slot += 1
    n_cores = core + 1 if n else 0
    if cores is not None and n_cores > cores:
        raise LimitError("cores", n_cores, int(cores),
                         f"{n_cores - int(cores)} core(s) too many for {n} neurons")
    return core_of, slot_of
