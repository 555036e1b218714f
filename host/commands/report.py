"""`neurocosim report DIR`: open the report.html of a run, comparison or sweep folder
(a sweep's results folder gets its report written first); and what `run` prints and
writes once a script has run (`finish_run`), so the terminal stays short and points to
the report."""

from __future__ import annotations

import argparse
import webbrowser
from pathlib import Path

from ...hw import metrics
from ...hw.errors import NeurocosimError
from ...hw.result import Result


def register(sub) -> None:
    p = sub.add_parser("report", help="open the HTML report of a results folder",
                       description="Opens DIR/report.html (written by run, compare and "
                                   "sweep-report) in the web browser; for a sweep's results "
                                   "folder, writes its report first. The page is one "
                                   "self-contained file that works offline.")
    p.add_argument("dir", type=Path, help="results folder of run, compare or a sweep")
    p.add_argument("--no-open", action="store_true",
                   help="only print the report's path (and write a sweep's report)")
    p.set_defaults(func=main)


def report_path(folder: Path) -> Path:
    """The report.html of `folder`: its own, or a sweep's (written now from its
    results); an error naming the folder when it holds neither."""
    if (folder / "report.html").is_file():
        return folder / "report.html"
    if (folder / "meta.json").is_file() or (folder / "report" / "report.html").is_file():
        from ...sim.sweep import report_from_results
        return report_from_results(folder).html
    raise NeurocosimError(f"{folder} holds no report.html and is not a sweep's results "
                          "folder (run, compare and sweep-report write one)")


def main(args: argparse.Namespace) -> int:
    path = report_path(args.dir)
    print(f"report: {path}")
    if not args.no_open:
        webbrowser.open(path.resolve().as_uri())
    return 0


def timing_line(result: Result) -> str:
    """The common timing metrics (hw.metrics.COMMON) in one line."""
    m = result.timing.metrics
    return "timing: " + ", ".join(f"{k} {m[k]:.6g} {metrics.unit(k)}"
                                  for k in metrics.COMMON if k in m)


def finish_run(result: Result, out: Path, title: str, sizes: dict[str, int], spec=None,
               wall_s: float | None = None) -> int:
    """Write the result files and report.html of a run and print a short summary: the
    spikes (or that there were none), the mapping report, one timing line, the report."""
    from ...sim.output import mapping_lines, write_result
    from ...sim.report import write_run_report
    paths = write_result(result, out, title=title, sizes=sizes, wall_s=wall_s)
    report = write_run_report(result, out, title, sizes, spec, wall_s)
    n = sum(len(s) for s in result.spikes.values())
    wall = f" in {wall_s:.1f} s" if wall_s is not None else ""
    print(f"neurocosim: {result.target}, {result.t_stop:g} ms, {n} spikes{wall}; "
          f"wrote {', '.join(p.name for p in paths)} in {out}/")
    if not n:
        print("neurocosim: no population records spikes" if not result.spikes else
              "neurocosim: no neuron fired, so no raster.png was written (check the "
              "input, e.g. i_offset, against the threshold)")
    print("\n".join(mapping_lines(result)))
    if result.timing is not None:
        print(timing_line(result) + " (all metrics: report.html, summary.json)")
    print(f"report: {report}")
    return 0
