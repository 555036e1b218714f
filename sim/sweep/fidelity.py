"""How far a hardware run drifted from the float reference: rates, spike timing, counts.

Rates and van Rossum distances come from `sim.metrics` (the one definition the compare
command uses too); this module adds the spike-count correlation and the network-wide
summaries a sweep table needs. Spike sources, which replay their input on every target,
are left out of the network-wide columns.
"""

from __future__ import annotations

import math

import numpy as np

from ...hw.ir import Network, is_source
from ...hw.result import Result
from ..metrics import compare_results

#: fidelity metric families a sweep may ask for
FIDELITY_METRICS = ("rate", "van_rossum", "count_corr")


def count_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of per-neuron spike counts; NaN when either side is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"count vectors differ in length: {a.size} and {b.size}")
    if a.size < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def fidelity_metrics(result: Result, reference: Result, network: Network,
                     which: "tuple[str, ...]" = FIDELITY_METRICS,
                     tau: float = 10.0) -> dict[str, float]:
    """Per population `rate_<pop>_Hz`, `rate_diff_<pop>_Hz` (run minus reference),
    `van_rossum_<pop>` (mean over neurons), `count_corr_<pop>`; network-wide (neurons of
    non-source populations) `rate_abs_diff_Hz` (size-weighted), `van_rossum`, `count_corr`."""
    unknown = set(which) - set(FIDELITY_METRICS)
    if unknown:
        raise ValueError(f"unknown fidelity metric(s) {sorted(unknown)}; "
                         f"known: {', '.join(FIDELITY_METRICS)}")
    sizes = {p.name: p.size for p in network.populations}
    sources = {p.name for p in network.populations if is_source(p.model)}
    out: dict[str, float] = {}
    weighted_diff = weighted_vr = weight = 0.0
    counts_run, counts_ref = [], []
    for cmp in compare_results(reference, result, sizes, tau):
        pop, size = cmp.population, sizes[cmp.population]
        diff = cmp.rate_b - cmp.rate_a
        if "rate" in which:
            out[f"rate_{pop}_Hz"] = cmp.rate_b
            out[f"rate_diff_{pop}_Hz"] = diff
        if "van_rossum" in which:
            out[f"van_rossum_{pop}"] = cmp.van_rossum_mean
        t_stop = min(result.t_stop, reference.t_stop)
        n_run = _counts(result, pop, size, t_stop)
        n_ref = _counts(reference, pop, size, t_stop)
        if "count_corr" in which:
            out[f"count_corr_{pop}"] = count_correlation(n_run, n_ref)
        if pop not in sources:
            weighted_diff += abs(diff) * size
            weighted_vr += cmp.van_rossum_mean * size
            weight += size
            counts_run.append(n_run)
            counts_ref.append(n_ref)
    if "rate" in which:
        out["rate_abs_diff_Hz"] = weighted_diff / weight if weight else math.nan
    if "van_rossum" in which:
        out["van_rossum"] = weighted_vr / weight if weight else math.nan
    if "count_corr" in which:
        out["count_corr"] = (count_correlation(np.concatenate(counts_run),
                                               np.concatenate(counts_ref))
                             if counts_run else math.nan)
    return out


def _counts(result: Result, pop: str, size: int, t_stop: float) -> np.ndarray:
    """Spikes per neuron up to t_stop (the same window compare_results uses)."""
    s = result.spikes[pop]
    return np.bincount(s.ids[s.times <= t_stop], minlength=size)
