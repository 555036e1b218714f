"""`neurocosim compare SCRIPT --targets reference,loihi,... [--set K=V] [--strict]`:
one script, several targets, compared population by population; `neurocosim compare
MODEL.nir --input EVENTS.npz --duration MS` does the same for a NIR graph."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ...hw.errors import TargetError
from .script_options import add_nir_options, add_script_options, settings_of


def register(sub) -> None:
    p = sub.add_parser("compare", help="run a PyNN script on several targets and compare",
                       description="Runs SCRIPT on each target; reports rates, van Rossum "
                                   "distances to the first target, each target's mapping "
                                   "report, and timing side by side. Populations are "
                                   "matched by their place in the script, so unlabeled "
                                   "ones work. A --set setting goes to each target that has "
                                   "it. A target that refuses the network (or, with "
                                   "--strict, approximates it) is reported and the others "
                                   "are compared; the exit status is then 1, as it is when "
                                   "a target's populations cannot be matched.")
    p.add_argument("script", type=Path)
    p.add_argument("--targets", default="reference,loihi",
                   help="comma-separated targets; the first is the baseline")
    p.add_argument("--tau", type=float, default=10.0, help="van Rossum kernel (ms)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default results/compare-SCRIPT)")
    add_nir_options(p)
    add_script_options(p)
    p.set_defaults(func=main, accepts_extra=True)


def main(args: argparse.Namespace) -> int:
    from ...sim.compare import compare_script
    from ...sim.compare_report import summary_lines, write_comparison
    from ...sim.report import write_compare_report
    if not args.script.is_file():
        raise TargetError(f"script {args.script} not found")
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if len(targets) < 2:
        raise TargetError(f"--targets needs at least two targets, got {targets}")
    start = time.monotonic()
    if args.script.suffix == ".nir":        # a NIR graph instead of a PyNN script
        from .nir_model import compare_graph
        cmp = compare_graph(args, targets)
    else:
        cmp = compare_script(args.script, targets, args.extra, tau=args.tau,
                             settings=settings_of(args), strict=args.strict)
    wall_s = time.monotonic() - start
    out = args.out or Path("results") / f"compare-{args.script.stem}"
    write_comparison(cmp, out, title=args.script.name, wall_s=wall_s)
    report = write_compare_report(cmp, out, args.script.name, settings_of(args), wall_s)
    print("\n".join(summary_lines(cmp, timing=False)))
    print(f"\nwrote {out}/ (raster_overlay.png, distances.csv, summary.txt with the timing "
          f"table, summary.json, one folder per target) in {wall_s:.1f} s\nreport: {report}")
    return 0 if cmp.ok else 1
