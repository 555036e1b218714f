"""`neurocosim run MODEL.nir --input EVENTS.npz --duration MS` (and `compare MODEL.nir`):
a NIR graph imported (neurocosim.nirio), driven by recorded events, run on a target (or
several), written like a PyNN run."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...hw.compiler import compile as hw_compile, runner_for
from ...hw.errors import NetworkError, NeurocosimError, TargetError
from ...hw.ir import Network, SpikeArray, SpikeTrains
from ...hw.result import Result
from ...hw.runner import split_overrides
from ...hw.targets import get_target
from ...nirio import NirImport, read
from .script_options import settings_of

if TYPE_CHECKING:
    from ...sim.compare import Comparison


def events_for(imported, path: Path) -> SpikeArray:
    """EVENTS.npz (arrays `idx` and `time` in ms) as the spikes of the graph's input."""
    if len(imported.inputs) != 1:
        raise NetworkError(f"the graph has input nodes {sorted(imported.inputs)}; "
                           "--input feeds a graph with exactly one")
    (name,) = imported.inputs.values()
    size = imported.network.population(name).size
    with np.load(path) as f:
        missing = {"idx", "time"} - set(f.files)
        if missing:
            raise NetworkError(f"{path}: missing array(s) {sorted(missing)} (needs idx, time)")
        idx, time = np.asarray(f["idx"], np.int64), np.asarray(f["time"], np.float64)
    if idx.shape != time.shape or (idx.size and (idx.min() < 0 or idx.max() >= size)):
        raise NetworkError(f"{path}: idx must match time in shape and lie in 0..{size - 1} "
                           f"(input node {name!r})")
    return SpikeArray(name, SpikeTrains.from_lists([time[idx == i] for i in range(size)]))


@dataclass
class NirRun:
    """One run of an imported graph: its Result, the network compiled, and the import."""

    result: Result
    network: Network
    imported: NirImport


def run_graph(path: Path, target: str, duration: float, events: "Path | None" = None,
              dt: "float | None" = None, settings: "dict[str, Any] | None" = None,
              strict: bool = False) -> NirRun:
    """Import `path` at `dt` (default: the target's timestep, else 1 ms), drive its input
    with `events`, compile for `target` and run `duration` ms; the import's notes join the
    mapping report."""
    spec = get_target(target)
    spec_part, options = split_overrides(spec, runner_for(spec), settings or {})
    dt = dt or spec.replace(**spec_part).timestep or 1.0
    imported = read(path, dt=dt)
    net = imported.network
    if events is not None:
        net.stimuli = [events_for(imported, events)]
    image = hw_compile(net, spec, strict=strict, **spec_part)
    for note in imported.report.approximations:
        image.report.approximate(note.kind, note.where, note.detail, note.amount)
    if strict:
        image.report.check_strict()
    engine = runner_for(image)(image, **options)
    engine.run(duration)
    return NirRun(engine.result(), net, imported)


def compare_graph(args: argparse.Namespace, targets: list[str]) -> "Comparison":
    """`neurocosim compare MODEL.nir`: the graph on every target (sim.compare.compare_runs);
    a target whose compiler or runner raises a neurocosim error has refused it."""
    from ...sim.compare import Refused, compare_runs
    if args.duration is None:
        raise TargetError("a .nir model needs --duration MS")

    def run_one(target: str, settings: dict[str, Any]) -> tuple[Result, Network]:
        try:
            run = run_graph(args.script, target, args.duration, args.input, args.dt,
                            settings, args.strict)
        except NeurocosimError as exc:
            if target == targets[0]:
                raise
            raise Refused(str(exc)) from exc
        return run.result, run.network
    return compare_runs(run_one, targets, args.tau, settings_of(args), what="the graph")


def run_nir(args: argparse.Namespace) -> int:
    """Import, stimulate, compile, run and write (run_graph)."""
    if args.duration is None:
        raise TargetError("a .nir model needs --duration MS")
    run = run_graph(args.script, args.target or "reference", args.duration, args.input,
                    args.dt, settings_of(args), args.strict)
    result, net, imported = run.result, run.network, run.imported
    from ...sim.output import mapping_lines, timing_lines, write_result
    out = args.out or Path("results") / f"{args.script.stem}-{result.target}"
    paths = write_result(result, out, title=f"{args.script.name} on {result.target}",
                         sizes={p.name: p.size for p in net.populations})
    n = sum(len(s) for s in result.spikes.values())
    print(f"neurocosim: {result.target}, {result.t_stop:g} ms, {n} spikes; "
          f"wrote {', '.join(str(p) for p in paths)}")
    for u in imported.unrolled:
        print(f"unrolled {u.kind} {u.node!r}: {u.kernel_weights} shared weights -> "
              f"{u.synapses} synapses")
    print("\n".join(mapping_lines(result)))
    if result.timing is not None:
        print("\n".join(timing_lines(result)))
    return 0
