"""What every target returns, in the same shape, so that comparison is one function."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Spikes:
    """Spikes of one population: neuron index (within the population) and time (ms)."""

    ids: np.ndarray
    times: np.ndarray

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=np.int64)
        self.times = np.asarray(self.times, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.ids)

    def trains(self, size: int) -> list[np.ndarray]:
        """One sorted array of times per neuron."""
        order = np.lexsort((self.times, self.ids))
        ids, times = self.ids[order], self.times[order]
        cuts = np.searchsorted(ids, np.arange(size + 1))
        return [times[cuts[i]:cuts[i + 1]] for i in range(size)]

    def counts(self, size: int) -> np.ndarray:
        return np.bincount(self.ids, minlength=size)


@dataclass
class Signal:
    """A sampled state variable: data[k, j] is the value of neuron indices[j] at times[k]."""

    times: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    units: str = ""


@dataclass
class TimingReport:
    """Hardware timing of a run: scalar metrics (named with units) and per-step arrays."""

    metrics: dict[str, float] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Result:
    """Spikes per population, recorded signals, final weights and, for hardware, timing."""

    target: str
    t_stop: float
    timestep: float
    spikes: dict[str, Spikes] = field(default_factory=dict)
    signals: dict[str, dict[str, Signal]] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    timing: TimingReport | None = None
    info: dict[str, Any] = field(default_factory=dict)
    #: what the compiler changed (hw.report.MappingReport), None for a bare engine
    mapping: Any = None
