"""The report.html of `run` (one Result) and of `compare` (several targets of one script):
which figures and tables, in which order, under which titles."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from ...hw.result import Result
from ..compare import Comparison
from . import hardware, spikes
from .page import Page


def population_rows(result: Result, sizes: dict[str, int]) -> list[list]:
    """population, cells, spikes and mean rate (Hz per cell) of each recorded population."""
    t = max(result.t_stop, 1e-12)
    return [[p, sizes[p], len(result.spikes[p]), 1000.0 * len(result.spikes[p]) / sizes[p] / t]
            for p in sizes if p in result.spikes]


def _recorded(results: "list[Result]", sizes: dict[str, int]) -> dict[str, int]:
    return {p: n for p, n in sizes.items() if any(p in r.spikes for r in results)}


def _spike_sections(page: Page, results: "list[Result]", sizes: dict[str, int],
                    label: str) -> None:
    """Raster and rates of `results`, or a note saying why there are none."""
    page.section("Spikes")
    if not sizes:
        page.note("No population records spikes (population.record('spikes')).")
        return
    if not any(len(r.spikes.get(p, ())) for r in results for p in sizes):
        page.note("No spike was fired in this run: no raster, rate or ISI figure. "
                  "Check the input (i_offset, stimulus) against the threshold.")
        return
    page.figure(spikes.raster(results, sizes, f"Spike raster: {label}"))
    page.figure(spikes.rates(results, sizes, f"Population rates over time: {label}"))


def _timing_sections(page: Page, results: "list[Result]",
                     mesh_shapes: dict[str, tuple[int, int]]) -> None:
    """The timing metrics side by side and the figures of the timing arrays."""
    if not any(r.timing is not None for r in results):
        return
    page.section("Timing report")
    page.note("Names and units of the metric vocabulary (docs/metrics.md).")
    headers, rows = hardware.timing_rows(results)
    page.table(headers, rows, left=2)
    fig = hardware.step_durations(results, "Hardware duration of each timestep")
    if fig is not None:
        page.figure(fig)
    fig = hardware.energy_by_event(results, "Energy by event")
    if fig is not None:
        page.figure(fig)
    for r in results:
        fig, note = hardware.mesh_traffic(r, mesh_shapes.get(r.target), "Mesh traffic")
        if fig is not None:
            page.figure(fig)
        if note:
            page.note(note)


def _mapping_section(page: Page, results: "list[Result]") -> None:
    page.section("Mapping report")
    for r in results:
        lines = [] if r.mapping is None else r.mapping.lines()
        if not lines:
            page.note(f"{r.target}: exact (nothing approximated or quantised with an error)")
        else:
            page.table([f"{r.target}: approximations and quantisation errors"],
                       [[line] for line in lines])


def run_page(result: Result, sizes: dict[str, int], title: str,
             mesh_shapes: "dict[str, tuple[int, int]] | None" = None,
             wall_s: float | None = None) -> Page:
    """The report of one run: spikes, ISI/CV, recorded variables, mapping and timing."""
    n = sum(len(s) for s in result.spikes.values())
    wall = f", {wall_s:.1f} s wall-clock" if wall_s is not None else ""
    page = Page(title, f"target {result.target}: {result.t_stop:g} ms at dt = "
                       f"{result.timestep:g} ms, {n} spikes{wall}")
    rec = _recorded([result], sizes)
    if rec:
        page.table(["population", "cells", "spikes", "rate (Hz)"],
                   population_rows(result, rec))
    _spike_sections(page, [result], rec, result.target)
    if n:
        page.figure(spikes.isi_cv(result, rec, "Inter-spike intervals and their CV"))
    if result.signals:
        page.section("Recorded variables")
        page.figure(spikes.signals(result, "Recorded state variables"))
    _mapping_section(page, [result])
    _timing_sections(page, [result], mesh_shapes or {})
    return page


def _distance_figure(cmp: Comparison) -> go.Figure:
    """van Rossum distance (mean and max over cells) per population, a bar per target."""
    base = cmp.targets[0]
    fig = go.Figure()
    for j, (t, rows) in enumerate(cmp.distances.items(), 1):
        fig.add_trace(go.Bar(x=[r.population for r in rows],
                             y=[r.van_rossum_mean for r in rows], name=f"{t}: mean",
                             marker_color=spikes.colour(j)))
        fig.add_trace(go.Bar(x=[r.population for r in rows],
                             y=[r.van_rossum_max for r in rows], name=f"{t}: max",
                             marker_color=spikes.colour(j), opacity=0.45))
    fig.update_layout(title=f"van Rossum distance to {base} (tau = {cmp.tau:g} ms)",
                      barmode="group", height=400, xaxis_title="population",
                      yaxis_title="distance (1/sqrt(2) = one unmatched spike)")
    return fig


def distance_rows(cmp: Comparison) -> list[list]:
    """population, target, rate (Hz), van Rossum mean and max, spikes; the baseline first."""
    base = cmp.results[cmp.targets[0]]
    rows = []
    for pop, size in cmp.sizes.items():
        if pop not in base.spikes:
            continue
        n = len(base.spikes[pop])
        rows.append([pop, cmp.targets[0], 1000.0 * n / size / max(base.t_stop, 1e-12),
                     "-", "-", n])
        rows += [[pop, t, r.rate_b, r.van_rossum_mean, r.van_rossum_max, r.spikes_b]
                 for t, rs in cmp.distances.items() for r in rs if r.population == pop]
    return rows


def compare_page(cmp: Comparison, title: str,
                 mesh_shapes: "dict[str, tuple[int, int]] | None" = None,
                 wall_s: float | None = None) -> Page:
    """The report of a comparison: targets side by side on one time axis, rates and van
    Rossum distances, timing in one vocabulary, mapping reports, refusals."""
    shown = [t for t in cmp.targets if t not in cmp.unmatched]
    results = [cmp.results[t] for t in shown]
    wall = f"; {wall_s:.1f} s wall-clock" if wall_s is not None else ""
    page = Page(title, f"targets {', '.join(cmp.targets)} (baseline {cmp.targets[0]}); "
                       f"van Rossum tau = {cmp.tau:g} ms{wall}")
    for t, why in cmp.refused.items():
        page.note(f"{t}: refused the network: {why}")
    for t, why in cmp.unmatched.items():
        page.note(f"{t}: not compared: {why}")
    rec = _recorded(results, cmp.sizes)
    _spike_sections(page, results, rec, ", ".join(shown))
    if cmp.distances:
        page.section(f"Rates and van Rossum distances (tau = {cmp.tau:g} ms)")
        page.table(["population", "target", "rate (Hz)", "vR mean", "vR max", "spikes"],
                   distance_rows(cmp), left=2)
        page.figure(_distance_figure(cmp))
    _mapping_section(page, [cmp.results[t] for t in cmp.targets])
    _timing_sections(page, results, mesh_shapes or {})
    return page


def write_run_report(result: Result, out: "str | Path", title: str, sizes: dict[str, int],
                     spec=None, wall_s: float | None = None) -> Path:
    """OUT/report.html of one run; `spec` (the target spec it ran, with its settings)
    gives the mesh shape that lays out the link counters."""
    shape = getattr(spec, "mesh_shape", None)
    shapes = {result.target: tuple(shape)} if shape is not None else {}
    return run_page(result, sizes, title, shapes, wall_s).write(Path(out) / "report.html")


def write_compare_report(cmp: Comparison, out: "str | Path", title: str,
                         settings: "dict | None" = None,
                         wall_s: float | None = None) -> Path:
    """OUT/report.html of a comparison (`settings`: the --set values, which may change a
    target's mesh)."""
    page = compare_page(cmp, title, hardware.mesh_shapes(cmp.targets, settings), wall_s)
    return page.write(Path(out) / "report.html")
