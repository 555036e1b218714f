"""`neurocosim run MODEL.nir --input EVENTS.npz --duration MS`: a NIR graph imported
(neurocosim.nirio), driven by recorded events, run on a target, written like a PyNN run."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ...hw.compiler import compile as hw_compile, runner_for
from ...hw.errors import NetworkError, TargetError
from ...hw.ir import SpikeArray, SpikeTrains
from ...hw.runner import split_overrides
from ...hw.targets import get_target
from ...nirio import read
from .script_options import settings_of


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


def run_nir(args: argparse.Namespace) -> int:
    """Import, stimulate, compile, run and write; the import's notes join the report."""
    if args.duration is None:
        raise TargetError("a .nir model needs --duration MS")
    spec = get_target(args.target or "reference")
    spec_part, options = split_overrides(spec, runner_for(spec), settings_of(args))
    dt = args.dt or spec.replace(**spec_part).timestep or 1.0
    imported = read(args.script, dt=dt)
    net = imported.network
    if args.input is not None:
        net.stimuli = [events_for(imported, args.input)]
    image = hw_compile(net, spec, strict=args.strict, **spec_part)
    for note in imported.report.approximations:
        image.report.approximate(note.kind, note.where, note.detail, note.amount)
    if args.strict:
        image.report.check_strict()
    engine = runner_for(image)(image, **options)
    engine.run(args.duration)
    result = engine.result()
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
