"""`neurocosim sweep FILE` runs a design-space sweep on Ray; `neurocosim sweep-report RESULTS`
plots it and names the best configurations."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a design-space sweep (TOML file) on Ray",
                       description="Runs every point of the sweep FILE that has no result "
                                   "yet (an interrupted sweep resumes), each point a Ray "
                                   "task, and writes results.parquet/.csv in the output "
                                   "folder.")
    p.add_argument("file", type=Path, help="sweep description (TOML)")
    p.add_argument("--address", default=None,
                   help="join a running Ray cluster (default: a local embedded instance)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local instance (default: all CPUs)")
    p.add_argument("--out", type=Path, default=None,
                   help="results folder (default: sweep.output, or FILE's name + .results)")
    p.add_argument("--serial", action="store_true",
                   help="run the points in this process, one after another (no Ray)")
    p.add_argument("--fresh", action="store_true",
                   help="discard earlier results in the folder instead of resuming")
    p.add_argument("--retry-failed", action="store_true",
                   help="run again the points recorded as failed")
    p.add_argument("--limit", type=int, default=None,
                   help="run at most this many new points, then stop (resume later)")
    p.add_argument("--list", action="store_true",
                   help="print the points (id, key, parameters, done or not) and stop")
    p.add_argument("--report", action="store_true", help="also write the report")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main_sweep)

    r = sub.add_parser("sweep-report", help="plots and a summary of sweep results",
                       description="Writes report.html (one self-contained page: the "
                                   "latency-energy Pareto front, each metric that varies "
                                   "against each axis, the table of points), a PNG of each "
                                   "figure and summary.md.")
    r.add_argument("results", type=Path,
                   help="results folder of a sweep, or its results.parquet / .csv")
    r.add_argument("--out", type=Path, default=None,
                   help="report folder (default: RESULTS/report)")
    r.add_argument("--latency", default=None, help="latency column of the Pareto front")
    r.add_argument("--energy", default=None, help="energy column of the Pareto front")
    r.add_argument("--plot", metavar="METRIC", default=None,
                   help="instead of the full report, one PNG of METRIC against --x")
    r.add_argument("--x", metavar="AXIS", default=None, help="x axis of --plot")
    r.add_argument("--by", metavar="AXIS", default=None,
                   help="with --plot: one line per value of this axis")
    r.add_argument("--title", default=None, help="with --plot: a title")
    r.set_defaults(func=main_report)


def main_sweep(args: argparse.Namespace) -> int:
    from ...sim.sweep import load_config, report_from_results, run_sweep
    from ...sim.sweep.config import SweepError

    if args.limit is not None and args.limit < 0:
        raise SweepError(f"--limit {args.limit}: must be >= 0")
    config = load_config(args.file)
    if args.out is not None:
        config.output = args.out
    if args.list:
        return _list_points(config)
    summary = run_sweep(config, address=args.address, workers=args.workers,
                        executor="serial" if args.serial else "ray", fresh=args.fresh,
                        retry_failed=args.retry_failed, progress=not args.quiet,
                        limit=args.limit)
    print(f"{summary.points} points: {summary.ran} run now ({summary.failed} failed), "
          f"{summary.skipped} done before; {summary.seconds:.1f} s")
    if summary.table is not None:
        print(f"results: {summary.table}")
    if args.report and summary.table is not None:
        rep = report_from_results(config.output)
        print(f"report: {rep.html}")
    return 0


def _list_points(config) -> int:
    from ...sim.sweep import ResultStore, expand_points

    points = expand_points(config)
    done = ResultStore(config.output).done_keys()
    for p in points:
        params = ", ".join(f"{k} = {v!r}" for k, v in p.params.items()) or "(base spec)"
        print(f"{p.point_id:5d}  {p.key}  {'done' if p.key in done else 'todo'}  {params}")
    n_done = sum(p.key in done for p in points)
    print(f"{len(points)} points ({config.sampling}), {n_done} done, results in "
          f"{config.output}")
    return 0


def main_report(args: argparse.Namespace) -> int:
    from ...sim.sweep import read_results, report_from_results
    from ...sim.sweep.config import SweepError
    from ...sim.report.sweep import front_words
    from ...sim.sweep.report import plot_metric

    if args.plot:
        if not args.x:
            raise SweepError("--plot needs --x AXIS")
        out = args.out or Path(f"{args.plot}_vs_{args.x}.png")
        path = plot_metric(read_results(args.results), args.plot, args.x, args.by, out,
                           args.title)
        print(f"plot: {path}")
        return 0
    rep = report_from_results(args.results, args.out, args.latency, args.energy)
    print(f"report: {rep.html} ({len(rep.plots)} PNGs and {rep.summary.name} beside it)")
    if rep.pareto:
        print(f"latency-energy Pareto front: {front_words(rep.pareto)}")
    return 0
