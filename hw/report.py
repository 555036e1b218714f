"""The mapping report: everything a compiler changed on the way from the IR to an image.

Each parameter's quantisation error and every approximation (a dropped refractory period,
merged input spikes, a rounded delay, STDP steps under the weight resolution, ...), each
naming the population or projection it touched. `run` and `compare` print it, the image
stores it, and strict mode turns any approximation into an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import TargetError


@dataclass
class Approximation:
    """One thing a target does differently from the IR, and where."""

    kind: str           # short name, e.g. "refractory_dropped", "input_spikes_merged"
    where: str          # "population 'exc'", "projection 'ee'", ...
    detail: str         # one sentence with the numbers
    amount: float = 0.0  # how much (spikes merged, synapses touched, ms rounded, ...)

    def line(self) -> str:
        return f"{self.kind}: {self.where}: {self.detail}"


@dataclass
class Quantization:
    """The largest error quantising one parameter made, and where it was largest."""

    parameter: str      # "weight", "v_thresh", "tau_m", ...
    where: str
    max_abs: float
    max_rel: float
    unit: str = ""

    def line(self) -> str:
        return (f"{self.parameter} ({self.where}): max error {self.max_abs:.4g} {self.unit}"
                f" ({100 * self.max_rel:.3g}%)").replace("  (", " (")


def moved_off_grid(exact: np.ndarray, mapped: np.ndarray, step: float) -> np.ndarray:
    """Which values rounding to whole `step`s moved by more than float noise (the test
    `MappingReport.rounded` reports, shared with checks that skip building the report)."""
    return np.abs(mapped - exact) > 1e-9 * step


@dataclass
class MappingReport:
    """Quantisation errors and approximations of one compile."""

    target: str = ""
    quantization: list[Quantization] = field(default_factory=list)
    approximations: list[Approximation] = field(default_factory=list)
    strict: bool = False    # compiled with strict=True (a recompile keeps it)

    def approximate(self, kind: str, where: str, detail: str, amount: float = 0.0) -> None:
        """Record an approximation (merged with an earlier one of the same kind and place)."""
        for a in self.approximations:
            if a.kind == kind and a.where == where and a.detail == detail:
                a.amount += float(amount)
                return
        self.approximations.append(Approximation(kind, where, detail, float(amount)))

    def quantized(self, parameter: str, where: str, exact, mapped, unit: str = "") -> float:
        """Record the error of `mapped` (the value the hardware realises, in the IR's
        units) against `exact`; returns the largest relative error."""
        exact = np.asarray(exact, dtype=np.float64).ravel()
        mapped = np.asarray(mapped, dtype=np.float64).ravel()
        if exact.size == 0:
            return 0.0
        err = np.abs(mapped - exact)
        scale = np.abs(exact)
        rel = np.where(scale > 0, err / np.where(scale > 0, scale, 1.0),
                       np.where(err > 0, np.inf, 0.0))
        q = Quantization(parameter, where, float(err.max()), float(rel.max()), unit)
        self.quantization.append(q)
        return q.max_rel

    def rounded(self, kind: str, parameter: str, where: str, exact, mapped, step: float,
                unit: str = "ms", record_error: bool = True) -> int:
        """Values rounded to whole steps (delays, refractory periods): the quantisation
        error (unless `record_error` is False) and, where any value moved by more than
        float noise, the approximation `kind` with how many and an example; returns how
        many moved. The one rule every compiler reports its rounding with."""
        exact = np.asarray(exact, dtype=np.float64).ravel()
        mapped = np.broadcast_to(np.asarray(mapped, dtype=np.float64).ravel(), exact.shape)
        if record_error:
            self.quantized(parameter, where, exact, mapped, unit)
        err = np.abs(mapped - exact)
        moved = np.flatnonzero(moved_off_grid(exact, mapped, step))
        if moved.size:
            i = int(moved[0])
            self.approximate(kind, where,
                             f"{moved.size} of {exact.size} {parameter} values are not whole "
                             f"{step:g} {unit} steps and are rounded (e.g. {exact[i]:g} "
                             f"{unit} -> {mapped[i]:g} {unit}; up to {err.max():.4g} {unit})",
                             moved.size)
        return int(moved.size)

    def worst(self) -> dict[str, float]:
        """Largest relative error per parameter over all places."""
        out: dict[str, float] = {}
        for q in self.quantization:
            out[q.parameter] = max(out.get(q.parameter, 0.0), q.max_rel)
        return out

    def lines(self) -> list[str]:
        """The report as text lines (empty when the target changed nothing)."""
        out = [f"approximation {a.line()}" for a in self.approximations]
        out += [f"quantization {q.line()}" for q in self.quantization if q.max_abs > 0]
        return out

    def to_dict(self) -> dict:
        """JSON-ready form (summary.json)."""
        return {"target": self.target,
                "approximations": [vars(a).copy() for a in self.approximations],
                "quantization": [vars(q).copy() for q in self.quantization]}

    def check_strict(self) -> None:
        """Strict mode: any approximation is an error naming each one."""
        if self.approximations:
            listed = "; ".join(a.line() for a in self.approximations)
            raise TargetError(f"target {self.target!r} (strict): the mapping approximates "
                              f"the network: {listed}")
