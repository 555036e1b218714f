"""Fit parameter groups onto the DynapSE-style target's cores: one group per core, so a
network with more distinct groups than cores has some of them share a core's parameters.

Agglomerative merging with Ward's cost (n_a n_b / (n_a + n_b) |c_a - c_b|^2, n neurons,
c the neuron-weighted centre of the normalised parameters): at each step the cheapest
pair of the same model whose merge frees a core is merged (the cheapest pair of the same
model when no pair frees one, since a merge never costs a core), until the cores fit.
Deterministic: ties go to the lower indices. `compile_dynapse` names every merge and the
parameter errors it causes in the mapping report.
"""

from __future__ import annotations

import numpy as np


def cores_needed(sizes, per_core: int) -> int:
    """Cores for groups of these neuron counts, each group on cores of its own."""
    return int(sum(-(-int(n) // per_core) for n in sizes))


def normalise(points: np.ndarray) -> np.ndarray:
    """Each parameter over its mean magnitude across the groups, so that a parameter's
    weight in the distance is its relative spread (an all-zero column stays zero)."""
    scale = np.abs(points).mean(axis=0)
    return points / np.where(scale > 0, scale, 1.0)


def merge_groups(points: np.ndarray, sizes: np.ndarray, kinds: list[str], n_cores: int,
                 per_core: int) -> list[list[int]]:
    """Partition groups (rows of `points`, normalised; `sizes` neurons; only groups of
    the same kind merge) so that `cores_needed` fits `n_cores`, merging as little as
    Ward's cost allows. Returns the clusters as lists of group indices, in order of their
    first group; stops at one cluster per kind (the caller checks that this fits)."""
    clusters = [[i] for i in range(len(sizes))]
    weights = np.asarray(sizes, np.float64)

    def stats(c: list[int]) -> tuple[float, np.ndarray]:
        return float(weights[c].sum()), centre(points[c], weights[c])

    while cores_needed([weights[c].sum() for c in clusters], per_core) > n_cores:
        best = None
        summary = [stats(c) for c in clusters]
        for a, (na, ca) in enumerate(summary):
            for b in range(a + 1, len(clusters)):
                if kinds[clusters[a][0]] != kinds[clusters[b][0]]:
                    continue
                nb, cb = summary[b]
                frees = cores_needed([na], per_core) + cores_needed([nb], per_core) \
                    > cores_needed([na + nb], per_core)
                rank = (not frees, na * nb / (na + nb) * float(np.sum((ca - cb) ** 2)), a, b)
                best = rank if best is None or rank < best else best
        if best is None:
            break
        a, b = best[2], best[3]
        clusters[a] = sorted(clusters[a] + clusters.pop(b))
    return clusters


def centre(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The neuron-weighted mean of the members' parameter rows (a cluster's centre)."""
    w = np.asarray(sizes, np.float64)
    return (np.asarray(values, np.float64) * w[:, None]).sum(axis=0) / w.sum()
