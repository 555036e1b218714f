"""Readable units for report axes: a quantity named with a unit (`_ns`, `_pJ`, ...) is
shown in the largest unit its typical value reaches (ns -> us -> ms -> s; pJ -> nJ -> uJ
-> mJ), so an axis reads "energy_total_pJ (uJ)" with ticks 1.2, 3.4, not "pJ x 1e6"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...hw import metrics

#: base unit -> ladder of (factor from the base unit, name), smallest first
_LADDERS = {
    "ns": [(1.0, "ns"), (1e3, "us"), (1e6, "ms"), (1e9, "s")],
    "ps": [(1.0, "ps"), (1e3, "ns"), (1e6, "us"), (1e9, "ms")],
    "us": [(1.0, "us"), (1e3, "ms"), (1e6, "s")],
    "ms": [(1.0, "ms"), (1e3, "s")],
    "pJ": [(1.0, "pJ"), (1e3, "nJ"), (1e6, "uJ"), (1e9, "mJ"), (1e12, "J")],
}
#: units a column name may carry as one of its words after the first
_UNITS = ("ns", "ps", "us", "ms", "pJ", "Hz", "cycles")


@dataclass(frozen=True)
class Scale:
    """Values divide by `factor` to read in `unit`."""

    factor: float
    unit: str

    def label(self, name: str) -> str:
        return f"{name} ({self.unit})" if self.unit else name


def base_unit(name: str) -> str:
    """The unit of a column or metric: the metric vocabulary's, else the last unit word of
    its name (core_busy_ns_max: ns), else "" (a count or a ratio)."""
    if name in metrics.METRICS or name in metrics.ARRAYS:
        return metrics.unit(name)
    for token in reversed(name.split("_")[1:]):     # core_busy_ns_max: ns
        if token in _UNITS:
            return token
    return ""


def scale_for(name: str, values) -> Scale:
    """The largest unit of the ladder in which the median |value| of `name` is 1 or more
    (the median, so a log axis from 1 ns to 4 us reads in ns, not from 0.001 us)."""
    unit = base_unit(name)
    ladder = _LADDERS.get(unit)
    v = np.abs(np.asarray(values, float))
    v = v[np.isfinite(v)]
    if not ladder or v.size == 0:
        return Scale(1.0, unit)
    typical = np.median(v)
    best = ladder[0]
    for factor, u in ladder:
        if typical >= factor:
            best = (factor, u)
    return Scale(*best)


def is_integer_axis(values) -> bool:
    """All finite values are whole numbers (core sizes, bit widths): ticks at integers."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(np.all(v == np.round(v)))
