"""`neurocosim compare SCRIPT --targets reference,loihi,...`: one script, several targets."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...hw.errors import TargetError


def register(sub) -> None:
    p = sub.add_parser("compare", help="run a PyNN script on several targets and compare",
                       description="Runs SCRIPT on each target; reports rates, van Rossum "
                                   "distances to the first target, and timing side by side. "
                                   "A target that refuses the network is reported and the "
                                   "others are compared (exit status 1).")
    p.add_argument("script", type=Path)
    p.add_argument("--targets", default="reference,loihi",
                   help="comma-separated targets; the first is the baseline")
    p.add_argument("--tau", type=float, default=10.0, help="van Rossum kernel (ms)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default results/compare-SCRIPT)")
    p.set_defaults(func=main, accepts_extra=True)


def main(args: argparse.Namespace) -> int:
    from ...sim.compare import compare_script, summary_lines, write_comparison
    if not args.script.is_file():
        raise TargetError(f"script {args.script} not found")
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if len(targets) < 2:
        raise TargetError(f"--targets needs at least two targets, got {targets}")
    cmp = compare_script(args.script, targets, args.extra, tau=args.tau)
    out = args.out or Path("results") / f"compare-{args.script.stem}"
    write_comparison(cmp, out, title=args.script.name)
    print("\n".join(summary_lines(cmp)))
    print(f"\nwrote {out}/ (raster_overlay.png, distances.csv, summary.txt, one folder per target)")
    return 1 if cmp.refused else 0
