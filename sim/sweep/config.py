"""A sweep described in TOML: network, target, parameter axes, sampling, metrics, duration.

Example (every key is listed in SCHEMA below; unknown keys are errors that name the key):

    [sweep]
    target = "loihi"                  # a registered target (`imports` may register more)
    duration = 200.0                  # ms
    sampling = "grid"                 # or "random" with `samples` and `seed`
    [network]
    builder = "networks.py:build_cuba"      # or "module:function", image = "net.ncs",
                                            # or pynn = "script.py" (paths: from this file)
    kwargs = { n = 400 }
    [target]                          # fixed overrides applied to every point
    [axes]                            # any field of the target's spec
    neurons_per_core = [64, 128, 256]
    "weight_format.bits" = [4, 6, 8]  # a dotted name reaches into a nested record
    hop_latency_ns = { start = 2.0, stop = 20.0, num = 5 }
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...hw.errors import NeurocosimError, TargetError
from ...hw.targets import TargetSpec, get_target
from .fidelity import FIDELITY_METRICS


class SweepError(NeurocosimError, ValueError):
    """The sweep file is invalid, or its results folder belongs to another sweep."""


#: the keys each table may hold
SCHEMA: dict[str, tuple[str, ...]] = {
    "": ("sweep", "network", "target", "axes", "report"),
    "sweep": ("name", "imports", "target", "duration", "seed", "sampling", "samples", "reference",
              "output", "metrics", "fidelity", "van_rossum_tau", "run_options"),
    "network": ("builder", "kwargs", "image", "pynn", "args"),
    "report": ("latency", "energy"),
}
#: spec fields that are plumbing, not design parameters
_NOT_AXES = ("name", "description", "runner", "compiler")


@dataclass(frozen=True)
class Axis:
    """One swept spec field: its discrete values, or a continuous [low, high] (random only)."""

    name: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False


@dataclass
class NetworkSource:
    """Where the network comes from: exactly one of builder ("module:function"), image, pynn."""

    builder: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    image: Path | None = None
    pynn: Path | None = None
    args: tuple[str, ...] = ()


@dataclass
class SweepConfig:
    """A validated sweep file."""

    name: str
    target: str
    network: NetworkSource
    axes: list[Axis]
    duration: float | None = None
    seed: int = 0
    sampling: str = "grid"
    samples: int | None = None
    reference: str | None = "reference"
    output: Path = Path("sweep.results")
    metrics: tuple[str, ...] = ()
    fidelity: tuple[str, ...] = FIDELITY_METRICS
    van_rossum_tau: float = 10.0
    fixed: dict[str, Any] = field(default_factory=dict)
    run_options: dict[str, Any] = field(default_factory=dict)
    report: dict[str, str] = field(default_factory=dict)
    base_dir: Path = Path(".")

    def base_spec(self) -> TargetSpec:
        """The target's spec with the fixed overrides of [target] applied."""
        return apply_params(get_target(self.target), self.fixed)

    def fingerprint(self) -> dict[str, Any]:
        """What makes two runs the same sweep (a results folder holds one sweep only)."""
        net = self.network
        return _plain({"target": self.target, "fixed": self.fixed, "duration": self.duration,
                       "reference": self.reference, "metrics": self.metrics,
                       "fidelity": self.fidelity, "van_rossum_tau": self.van_rossum_tau,
                       "run_options": self.run_options,
                       "network": {"builder": net.builder, "kwargs": net.kwargs,
                                   "image": str(net.image) if net.image else None,
                                   "pynn": str(net.pynn) if net.pynn else None,
                                   "args": net.args}})


def _plain(value: Any) -> Any:
    """Tuples to lists, numpy scalars to Python, recursively (for JSON and hashing)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_config(path: "str | Path") -> SweepConfig:
    """Read and validate a sweep TOML file; errors name the file, the key and the value."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise SweepError(f"sweep file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML ({exc})") from None
    try:
        return parse_config(raw, base_dir=path.resolve().parent, default_name=path.stem)
    except SweepError as exc:
        raise SweepError(f"{path}: {exc}") from None


def _check_keys(table: dict, where: str) -> None:
    allowed = SCHEMA[where]
    unknown = [k for k in table if k not in allowed]
    if unknown:
        label = f"[{where}]" if where else "the top level"
        raise SweepError(f"unknown key(s) {unknown} in {label}; allowed: {list(allowed)}")


def _get(table: dict, key: str, kind, where: str, default=None):
    """table[key] checked against `kind` (a type or tuple of types)."""
    if key not in table:
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if not ok:
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise SweepError(f"{where}.{key} = {value!r}: expected a {names}")
    return value


def parse_config(raw: dict, base_dir: "str | Path" = ".", default_name: str = "sweep"
                 ) -> SweepConfig:
    """Validate the parsed TOML tables (paths are relative to `base_dir`)."""
    base_dir = Path(base_dir)
    sw = _sweep_table(raw)
    target, base = _parse_target(sw, base_dir)
    duration, seed, sampling, samples = _parse_sampling(sw)
    reference = _parse_reference(sw)
    metrics, fidelity, tau = _parse_measures(sw)
    run_options = _get(sw, "run_options", dict, "sweep", {})
    name = _get(sw, "name", str, "sweep", default_name)
    output = Path(_get(sw, "output", str, "sweep", f"{default_name}.results"))

    network = _parse_network(raw.get("network"), base_dir)
    if duration is None and network.pynn is None:
        raise SweepError("sweep.duration is missing (ms); only a PyNN script may leave it "
                         "out (its own run time is then used)")
    fixed, base = _parse_fixed(raw, base)
    axes = _parse_axes(raw, base, sampling, fixed)
    if duration is not None and "timestep" not in raw.get("axes", {}):
        _check_whole_steps(duration, base.timestep, target)
    report = _parse_report(raw)

    return SweepConfig(name=name, target=target, network=network, axes=axes,
                       duration=duration, seed=seed, sampling=sampling, samples=samples,
                       reference=reference, output=base_dir / output, metrics=metrics,
                       fidelity=fidelity, van_rossum_tau=tau, fixed=fixed,
                       run_options=run_options, report=report, base_dir=base_dir)


def _sweep_table(raw: dict) -> dict:
    """The [sweep] table, after the top level's and its own keys are checked."""
    _check_keys(raw, "")
    sw = raw.get("sweep")
    if not isinstance(sw, dict):
        raise SweepError("missing [sweep] table (it needs at least `target`)")
    _check_keys(sw, "sweep")
    return sw


def _parse_target(sw: dict, base_dir: Path) -> tuple[str, TargetSpec]:
    """sweep.target and its spec, looked up after sweep.imports (which may register it)."""
    imports = tuple(_string_list(sw, "imports", "sweep"))
    _import_modules(imports, base_dir)
    target = _get(sw, "target", str, "sweep")
    if target is None:
        raise SweepError("sweep.target is missing (e.g. target = \"loihi\")")
    try:
        base = get_target(target)
    except TargetError as exc:
        raise SweepError(f"sweep.target = {target!r}: {exc}") from None
    return target, base


def _parse_sampling(sw: dict) -> tuple[float | None, int, str, int | None]:
    """sweep.duration, seed, sampling and samples (random sampling needs samples, a grid
    none)."""
    duration = _get(sw, "duration", float, "sweep")
    if duration is not None and not (duration > 0 and math.isfinite(duration)):
        raise SweepError(f"sweep.duration = {duration}: must be a number of ms > 0")
    seed = _get(sw, "seed", int, "sweep", 0)
    sampling = _get(sw, "sampling", str, "sweep", "grid")
    if sampling not in ("grid", "random"):
        raise SweepError(f"sweep.sampling = {sampling!r}: expected \"grid\" or \"random\"")
    samples = _get(sw, "samples", int, "sweep")
    if sampling == "random" and (samples is None or samples < 1):
        raise SweepError(f"sweep.samples = {samples!r}: random sampling needs a number "
                         "of points >= 1")
    if sampling == "grid" and samples is not None:
        raise SweepError("sweep.samples is only for sampling = \"random\"")
    return duration, seed, sampling, samples


def _parse_reference(sw: dict) -> str | None:
    """sweep.reference: a registered target to compare against, or None (false or "")."""
    reference = sw.get("reference", "reference")
    if reference is False or reference == "":
        return None
    if not isinstance(reference, str):
        raise SweepError(f"sweep.reference = {reference!r}: expected a target name or false")
    try:
        get_target(reference)
    except TargetError as exc:
        raise SweepError(f"sweep.reference = {reference!r}: {exc}") from None
    return reference


def _parse_measures(sw: dict) -> tuple[tuple[str, ...], tuple[str, ...], float]:
    """sweep.metrics, sweep.fidelity (known fidelity metrics only) and van_rossum_tau."""
    metrics = tuple(_string_list(sw, "metrics", "sweep"))
    fidelity = tuple(_string_list(sw, "fidelity", "sweep", list(FIDELITY_METRICS)))
    bad = [m for m in fidelity if m not in FIDELITY_METRICS]
    if bad:
        raise SweepError(f"sweep.fidelity: unknown metric(s) {bad}; known: "
                         f"{list(FIDELITY_METRICS)}")
    tau = _get(sw, "van_rossum_tau", float, "sweep", 10.0)
    if not (tau > 0 and math.isfinite(tau)):
        raise SweepError(f"sweep.van_rossum_tau = {tau}: must be a number of ms > 0")
    return metrics, fidelity, tau


def _parse_fixed(raw: dict, base: TargetSpec) -> tuple[dict[str, Any], TargetSpec]:
    """The [target] overrides, converted to the spec's types, and the spec with them."""
    fixed = raw.get("target", {})
    if not isinstance(fixed, dict):
        raise SweepError(f"[target] must be a table of spec fields, got {fixed!r}")
    fixed = {k: _convert(base, k, v, "target") for k, v in fixed.items()}
    try:
        base = apply_params(base, fixed)
    except (TargetError, TypeError, ValueError) as exc:
        raise SweepError(f"[target]: {exc}") from None
    return fixed, base


def _parse_axes(raw: dict, base: TargetSpec, sampling: str, fixed: dict) -> list[Axis]:
    """The [axes] table; a field is either swept or fixed in [target], not both."""
    raw_axes = raw.get("axes", {})
    if not isinstance(raw_axes, dict):
        raise SweepError(f"[axes] must be a table, got {raw_axes!r}")
    axes = [_parse_axis(base, k, v, sampling) for k, v in raw_axes.items()]
    for ax in axes:
        if ax.name in fixed:
            raise SweepError(f"axes.{ax.name} is also fixed in [target]; keep one")
    return axes


def _check_whole_steps(duration: float, dt: Any, target: str) -> None:
    """The duration must be a whole number of the target's timestep (when it has one)."""
    if not dt:
        return
    steps = duration / dt
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise SweepError(f"sweep.duration = {duration} ms is not a whole number of "
                         f"the {target!r} timestep of {dt} ms")


def _parse_report(raw: dict) -> dict[str, str]:
    """The [report] table: which metrics the report's latency-energy Pareto front uses."""
    report = raw.get("report", {})
    if not isinstance(report, dict):
        raise SweepError(f"[report] must be a table, got {report!r}")
    _check_keys(report, "report")
    return {k: _get(report, k, str, "report") for k in report}


def _import_modules(modules: tuple[str, ...], base_dir: Path) -> None:
    """Import modules that register targets of their own (looked up next to the file too)."""
    import importlib
    import sys
    for name in modules:
        added = str(base_dir) not in sys.path
        if added:
            sys.path.insert(0, str(base_dir))
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise SweepError(f"sweep.imports: cannot import {name!r} ({exc})") from None
        finally:
            if added:
                sys.path.remove(str(base_dir))


def _string_list(table: dict, key: str, where: str, default=()) -> list[str]:
    value = table.get(key, default)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise SweepError(f"{where}.{key} = {value!r}: expected a list of names")
    return list(value)


def _parse_network(net: Any, base_dir: Path) -> NetworkSource:
    if not isinstance(net, dict):
        raise SweepError("missing [network] table: give builder = \"module:function\", "
                         "image = \"file\" or pynn = \"script.py\"")
    _check_keys(net, "network")
    given = [k for k in ("builder", "image", "pynn") if k in net]
    if len(given) != 1:
        raise SweepError(f"[network] needs exactly one of builder, image, pynn; got {given}")
    src = NetworkSource()
    if "builder" in net:
        src.builder = _get(net, "builder", str, "network")
        if ":" not in src.builder:
            raise SweepError(f"network.builder = {src.builder!r}: expected "
                             "\"module:function\" or \"file.py:function\"")
        src.kwargs = _get(net, "kwargs", dict, "network", {})
    elif "kwargs" in net:
        raise SweepError("network.kwargs is only for a builder")
    for key in ("image", "pynn"):
        if key in net:
            p = base_dir / _get(net, key, str, "network")
            if not p.is_file():
                raise SweepError(f"network.{key} = {net[key]!r}: file {p} not found")
            setattr(src, key, p)
    if "args" in net:
        if src.pynn is None:
            raise SweepError("network.args is only for a pynn script")
        src.args = tuple(_string_list(net, "args", "network"))
    return src


def _resolve(spec: TargetSpec, name: str, where: str) -> Any:
    """The current value of spec field `name`; a dotted name reaches into a field that is
    itself a record (e.g. "weight_format.bits" of a NumberFormat)."""
    obj, path = spec, name.split(".")
    for depth, part in enumerate(path):
        fields = ({f.name for f in dataclasses.fields(obj)}
                  if dataclasses.is_dataclass(obj) else set())
        if depth == 0:
            fields -= set(_NOT_AXES)
        if part not in fields:
            owner = spec.name if depth == 0 else ".".join(path[:depth])
            raise SweepError(f"{where}.{name}: {'target' if depth == 0 else 'field'} "
                             f"{owner!r} has no parameter {part!r}; it has {sorted(fields)}")
        obj = getattr(obj, part)
    return obj


def apply_params(spec: Any, params: dict[str, Any]) -> Any:
    """`spec` with `params` replaced; dotted names replace inside nested records."""
    direct = {k: v for k, v in params.items() if "." not in k}
    nested: dict[str, dict[str, Any]] = {}
    for k, v in params.items():
        if "." in k:
            head, _, rest = k.partition(".")
            nested.setdefault(head, {})[rest] = v
    for head, changes in nested.items():
        direct[head] = apply_params(direct.get(head, getattr(spec, head)), changes)
    if isinstance(spec, TargetSpec):
        return spec.replace(**direct)
    return dataclasses.replace(spec, **direct)


def _convert(spec: TargetSpec, name: str, value: Any, where: str) -> Any:
    """A TOML value as the type of the spec field `name` (lists become tuples)."""
    current = _resolve(spec, name, where)

    def as_tuple(v):
        return tuple(as_tuple(x) for x in v) if isinstance(v, list) else v

    value = as_tuple(value)
    kind = type(current)
    if current is None or isinstance(value, kind) and not (
            kind is int and isinstance(value, bool)):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise SweepError(f"{where}.{name} = {value!r}: expected a {kind.__name__} like the "
                     f"target's default {current!r}")


def _parse_axis(spec: TargetSpec, name: str, raw: Any, sampling: str) -> Axis:
    where = f"axes.{name}"
    if isinstance(raw, list):
        if not raw:
            raise SweepError(f"{where} = []: an axis needs at least one value")
        values = tuple(_convert(spec, name, v, "axes") for v in raw)
    elif isinstance(raw, dict):
        keys = set(raw)
        if keys >= {"low", "high"}:
            extra = keys - {"low", "high", "log"}
            if extra:
                raise SweepError(f"{where}: unknown key(s) {sorted(extra)} for a "
                                 "{low, high, log} range")
            if sampling != "random":
                raise SweepError(f"{where}: a continuous {{low, high}} range needs "
                                 "sampling = \"random\"; for a grid give start, stop and "
                                 "step or num")
            low, high = raw["low"], raw["high"]
            integer = isinstance(low, int) and isinstance(high, int)
            lo = _convert(spec, name, low, "axes")
            hi = _convert(spec, name, high, "axes")
            if not isinstance(lo, (int, float)) or not lo < hi:
                raise SweepError(f"{where}: low = {low!r} must be a number below "
                                 f"high = {high!r}")
            log = bool(raw.get("log", False))
            if log and lo <= 0:
                raise SweepError(f"{where}: log range needs low > 0, got {low!r}")
            axis = Axis(name, low=lo, high=hi, log=log,
                        integer=integer and isinstance(getattr(spec, name), int))
            _check_value(spec, name, lo)
            _check_value(spec, name, hi)
            return axis
        values = tuple(_convert(spec, name, v, "axes") for v in _range_values(where, raw))
    else:
        values = (_convert(spec, name, raw, "axes"),)
    for v in values:
        _check_value(spec, name, v)
    if len(set(map(repr, values))) != len(values):
        raise SweepError(f"{where} = {list(values)}: values repeat")
    return Axis(name, values=values)


def tidy(value: float) -> float:
    """A computed float to 12 significant digits, so 2048.000000000001 reads 2048.0
    and the same range gives the same point keys on every machine."""
    return float(f"{float(value):.12g}")


def _range_values(where: str, raw: dict) -> list:
    """{start, stop, step} (stop included when on the grid) or {start, stop, num, log}."""
    keys = set(raw)
    if not ({"start", "stop"} <= keys and (("step" in keys) ^ ("num" in keys))):
        raise SweepError(f"{where} = {raw!r}: a range needs start, stop and one of step or "
                         "num (or low, high for random sampling)")
    extra = keys - {"start", "stop", "step", "num", "log"}
    if extra:
        raise SweepError(f"{where}: unknown key(s) {sorted(extra)} in a range")
    start, stop = raw["start"], raw["stop"]
    for k in ("start", "stop"):
        if isinstance(raw[k], bool) or not isinstance(raw[k], (int, float)):
            raise SweepError(f"{where}.{k} = {raw[k]!r}: expected a number")
    integer = all(isinstance(raw.get(k, 0), int) for k in ("start", "stop", "step"))
    if "step" in raw:
        step = raw["step"]
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step == 0 or \
                (stop - start) / step < 0:
            raise SweepError(f"{where}.step = {step!r}: must be a non-zero number going "
                             f"from start = {start} towards stop = {stop}")
        if raw.get("log"):
            raise SweepError(f"{where}: log spacing needs num, not step")
        n = int(math.floor((stop - start) / step + 1e-9)) + 1
        if n > 100_000:
            raise SweepError(f"{where}: {n} values; at most 100000 per axis")
        vals = [start + i * step for i in range(n)]
        return vals if integer else [tidy(v) for v in vals]
    num = raw["num"]
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise SweepError(f"{where}.num = {num!r}: must be an integer >= 1")
    if raw.get("log"):
        if start <= 0 or stop <= 0:
            raise SweepError(f"{where}: log spacing needs start and stop > 0")
        vals = np.geomspace(start, stop, num)
    else:
        vals = np.linspace(start, stop, num)
    if integer:
        ints = [int(round(v)) for v in vals]
        return list(dict.fromkeys(ints))
    return [tidy(v) for v in vals]


def _check_value(spec: TargetSpec, name: str, value: Any) -> None:
    """A single axis value must make a valid spec on its own (the spec checks itself)."""
    try:
        apply_params(spec, {name: value})
    except NeurocosimError as exc:
        raise SweepError(f"axes.{name} = {value!r}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise SweepError(f"axes.{name} = {value!r}: {exc}") from None
