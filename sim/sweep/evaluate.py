"""One sweep point, start to finish: spec variant -> compile -> run -> one row of metrics.

Runs inside a Ray worker (or in-process): it takes only plain picklable records and never
raises for a point that fails; the row then carries status "error" and the message.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...hw import compiler as hw_compiler
from ...hw.ir import Network
from ...hw.result import Result
from ...hw.targets import TargetSpec, get_target
from .config import SweepConfig, SweepError, apply_params
from .fidelity import fidelity_metrics
from .points import Point


def _recipe(spec: TargetSpec) -> tuple[str, dict[str, Any]]:
    """A spec as (class path, init fields): rebuilt in a worker after its sys.path is set."""
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.init}
    return f"{type(spec).__module__}:{type(spec).__qualname__}", fields


@dataclass(frozen=True)
class SweepTask:
    """What every point of one sweep shares, as plain data a worker can unpickle.

    Specs travel as class path and fields so that a target defined outside the neurocosim
    package (next to the sweep file, or in a test) and registered only in the driver is
    imported in a worker once `paths` are on its sys.path.
    """

    spec: tuple[str, dict[str, Any]]
    duration: float
    reference: tuple[str, dict[str, Any]] | None = None
    metrics: tuple[str, ...] = ()
    fidelity: tuple[str, ...] = ()
    tau: float = 10.0
    run_options: dict[str, Any] = field(default_factory=dict)
    paths: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: SweepConfig, duration: float) -> "SweepTask":
        paths = [str(config.base_dir)] + [p for p in sys.path if p and _is_user_dir(p)]
        use_ref = bool(config.reference and config.fidelity)
        return cls(spec=_recipe(config.base_spec()), duration=float(duration),
                   reference=_recipe(get_target(config.reference)) if use_ref else None,
                   metrics=config.metrics, fidelity=config.fidelity if use_ref else (),
                   tau=config.van_rossum_tau, run_options=dict(config.run_options),
                   paths=tuple(dict.fromkeys(paths)))

    def build(self, recipe: tuple[str, dict[str, Any]]) -> TargetSpec:
        """A spec rebuilt in this process from its recipe."""
        for p in self.paths:
            if p not in sys.path:
                sys.path.append(p)
        cls = hw_compiler.load_entry(recipe[0])
        return cls(**recipe[1])


def _is_user_dir(path: str) -> bool:
    """A sys.path entry that is neither the standard library nor installed packages."""
    import os
    import sysconfig
    if not os.path.isdir(path):
        return False
    path = os.path.realpath(path)
    skip = {os.path.realpath(p) for p in sysconfig.get_paths().values()}
    return not any(path == s or path.startswith(s + os.sep) for s in skip) and \
        not path.startswith(os.path.realpath(sys.base_prefix) + os.sep + "lib")


def reference_run(task: SweepTask, network: Network) -> "Result | None":
    """The fidelity baseline: the network on the reference target, once per sweep."""
    if task.reference is None:
        return None
    image = hw_compiler.compile(network, task.build(task.reference))
    return hw_compiler.run(image, task.duration)


def _timing_columns(result: Result) -> dict[str, float]:
    """Scalar timing metrics as they are, per-step/per-link arrays as _mean and _max
    (histograms, whose mean and max say nothing, are left out)."""
    out: dict[str, float] = {}
    if result.timing is None:
        return out
    for k, v in result.timing.metrics.items():
        out[k] = float(v)
    for k, arr in result.timing.arrays.items():
        if "hist" in k:
            continue
        arr = np.asarray(arr)
        if arr.size and arr.dtype.kind in "iuf":
            out[f"{k}_mean"] = float(arr.mean())
            out[f"{k}_max"] = float(arr.max())
    return out


def evaluate_point(task: SweepTask, network: Network, reference: "Result | None",
                   point: Point) -> dict[str, Any]:
    """The row of one point: its parameters, status, metrics; failures as an error row."""
    row: dict[str, Any] = {"point_id": point.point_id, "key": point.key, "status": "ok",
                           "error": None, **point.params}
    t0 = time.perf_counter()
    t1 = None
    try:
        spec = apply_params(task.build(task.spec), point.params)
        image = hw_compiler.compile(network, spec)
        t1 = time.perf_counter()
        result = hw_compiler.run(image, task.duration, **task.run_options)
        row["n_cores"] = len(image.cores)
        row["spikes_total"] = int(sum(len(s) for s in result.spikes.values()))
        for k, v in image.report.worst().items():
            row[f"quant_{k}_max_rel_error"] = float(v)
        timing = _timing_columns(result)
        if task.metrics:
            missing = [m for m in task.metrics if m not in timing]
            if missing:
                raise SweepError(f"metric(s) {missing} not in the {spec.name!r} timing "
                                 f"report; it has {sorted(timing)}")
            timing = {m: timing[m] for m in task.metrics}
        row.update(timing)
        if reference is not None and task.fidelity:
            row.update(fidelity_metrics(result, reference, network, task.fidelity,
                                        task.tau))
    except Exception as exc:  # noqa: BLE001 - a failing point is data, not a crash
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
    t2 = time.perf_counter()
    t1 = t2 if t1 is None else t1
    row["seconds_compile"] = t1 - t0
    row["seconds_run"] = t2 - t1
    return row
