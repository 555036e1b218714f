"""Run one PyNN script (or any network, through compare_runs) on several targets and measure how far each is from the first.

Populations are matched by their identity in the IR (their place in the script's
declaration order, with size and model checked), not by label, and shown under the first
target's labels. Each run's mapping report travels with its Result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..hw.errors import NeurocosimError
from ..hw.ir import Network
from ..hw.result import Result
from ..hw.targets import get_target
from .metrics import PopulationComparison, compare_results
from .scripts import ScriptError, run_pynn_script


class CompareError(NeurocosimError):
    """Two runs of one script that cannot be compared (different networks, nothing
    recorded), named with both targets."""


@dataclass
class Comparison:
    """Results of one script per target (under the first target's labels), and each
    target's distance to the first."""

    targets: list[str]
    results: dict[str, Result]
    sizes: dict[str, int]
    tau: float = 10.0
    distances: dict[str, list[PopulationComparison]] = field(default_factory=dict)
    #: targets after the first that could not take the network, with their reason
    refused: dict[str, str] = field(default_factory=dict)
    #: targets that ran but none of whose populations could be matched, with the reason
    unmatched: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every target ran and was compared."""
        return not self.refused and not self.unmatched


def run_script(script: Path, target: str, argv: "list[str] | None" = None,
               quiet: bool = True, settings: "dict[str, Any] | None" = None,
               strict: bool = False) -> tuple[Result, Network]:
    """Run an unchanged PyNN script on `target`; its Result and the network it ran."""
    from ..pynn_backend.simulator import state
    get_target(target)
    status = run_pynn_script(script, target, argv, quiet, settings, strict)
    if status != 0:
        raise CompareError(f"{script} exited with status {status} on {target}")
    result = state.result()
    if result is None:
        raise CompareError(f"{script} ran no simulation on {target}")
    return result, state.image.network


def settings_for(target: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings `target` has (spec fields and runner options): `--set` applies to each
    target that has the name."""
    if not settings:
        return {}
    from ..hw.runner import setting_names
    names = setting_names(get_target(target))
    return {k: v for k, v in settings.items() if k in names}


def _check_settings(targets: list[str], settings: dict[str, Any]) -> None:
    """A setting that no target has is an error naming it and the targets."""
    used = {k for t in targets for k in settings_for(t, settings)}
    unknown = sorted(set(settings) - used)
    if unknown:
        raise CompareError(f"no target of {', '.join(targets)} has the setting(s) {unknown} "
                           "(see `neurocosim targets NAME` and each runner's options)")


class Refused(NeurocosimError):
    """A target that cannot take the network (a model it lacks, a limit it breaks, an
    approximation under strict mode): raised by a run function, recorded by compare_runs."""


#: run one target: (target, its settings) -> its Result and the network it ran
RunOne = Callable[[str, "dict[str, Any]"], "tuple[Result, Network]"]


def compare_script(script: Path, targets: list[str], argv=None, tau: float = 10.0,
                   quiet: bool = True, settings: "dict[str, Any] | None" = None,
                   strict: bool = False) -> Comparison:
    """Run `script` on every target and compare them (compare_runs)."""
    def run_one(target: str, settings: dict[str, Any]) -> tuple[Result, Network]:
        try:
            return run_script(script, target, argv, quiet, settings, strict)
        except ScriptError as exc:
            if not exc.refusal or target == targets[0]:
                raise
            raise Refused(str(exc.error)) from exc
    return compare_runs(run_one, targets, tau, settings)


def compare_runs(run_one: RunOne, targets: list[str], tau: float = 10.0,
                 settings: "dict[str, Any] | None" = None,
                 what: str = "the script") -> Comparison:
    """Run one network (a script, a NIR graph) on every target through `run_one`;
    distances are measured against targets[0]. A later target that refuses the network
    (`Refused`) is recorded in `refused` with its reason, one whose populations cannot be
    matched to the first's in `unmatched`, and the others are still compared. `what`
    names the network in messages."""
    if tau <= 0:
        raise CompareError(f"van Rossum tau = {tau} ms must be > 0")
    for t in targets:
        get_target(t)                  # an unknown name fails before anything runs
    settings = settings or {}
    _check_settings(targets, settings)
    base_t = targets[0]
    base, base_net = run_one(base_t, settings_for(base_t, settings))
    sizes = {p.name: p.size for p in base_net.populations}
    cmp = Comparison([base_t], {base_t: base}, sizes, tau)
    for t in targets[1:]:
        try:
            res, net = run_one(t, settings_for(t, settings))
        except Refused as exc:
            cmp.refused[t] = str(exc)
            continue
        cmp.targets.append(t)
        try:
            cmp.results[t] = relabel(res, identity_map(base_net, net, base_t, t))
        except CompareError as exc:
            cmp.results[t] = res
            cmp.unmatched[t] = str(exc)
            continue
        rows = compare_results(base, cmp.results[t], sizes, tau)
        if rows:
            cmp.distances[t] = rows
        elif not base.spikes:
            cmp.unmatched[t] = (f"{what} records no spikes on {base_t!r}, so no "
                                "population can be compared")
        else:
            cmp.unmatched[t] = (f"none of the populations recorded on {base_t!r} "
                                f"({', '.join(base.spikes)}) was recorded on {t!r}")
    return cmp


@dataclass
class Identity:
    """Names in one run -> names in the first run, of the same populations and
    projections (matched by declaration order)."""

    populations: dict[str, str]
    projections: dict[str, str]


def identity_map(base: Network, other: Network, base_t: str, t: str) -> Identity:
    """Match `other`'s populations and projections to `base`'s by declaration order; a
    count, size, model or connection that differs is an error naming it and both targets."""
    def match(kind: str, xs: list, ys: list, key) -> dict[str, str]:
        if len(xs) != len(ys):
            raise CompareError(f"the script built {len(xs)} {kind}s on {base_t!r} but "
                               f"{len(ys)} on {t!r}")
        for i, (x, y) in enumerate(zip(xs, ys)):
            if key(x) != key(y):
                raise CompareError(f"{kind} {i} is {x.name!r} {key(x)} on {base_t!r} but "
                                   f"{y.name!r} {key(y)} on {t!r}")
        return {y.name: x.name for x, y in zip(xs, ys)}

    pops = match("population", base.populations, other.populations,
                 lambda p: (p.size, p.model))
    prjs = match("projection", base.projections, other.projections,
                 lambda p: (p.size, p.receptor))
    for x, y in zip(base.projections, other.projections):
        if (pops[y.pre], pops[y.post]) != (x.pre, x.post):
            raise CompareError(f"projection {x.name!r} connects {x.pre!r} -> {x.post!r} on "
                               f"{base_t!r} but {pops[y.pre]!r} -> {pops[y.post]!r} on {t!r}")
    return Identity(pops, prjs)


def relabel(result: Result, names: Identity) -> Result:
    """`result` with its populations and projections under the first run's names."""
    pops = names.populations
    return dataclasses.replace(
        result, spikes={pops[p]: s for p, s in result.spikes.items()},
        signals={pops[p]: s for p, s in result.signals.items()},
        weights={names.projections[k]: w for k, w in result.weights.items()})
