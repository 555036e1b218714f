"""Figures of spiking activity for the HTML report: rasters (one colour and label per
population, targets in rows on one time axis), population rates over time, ISI and CV
distributions and recorded state variables. Each function returns a titled Plotly figure."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from ...hw.result import Result

#: above this many points in a figure, traces are drawn with WebGL (Scattergl)
GL_POINTS = 20000
#: recorded cells drawn per population and variable (the title says how many of how many)
TRACES_PER_SIGNAL = 8
PALETTE = qualitative.Plotly


def colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def _scatter(n_points: int):
    return go.Scattergl if n_points > GL_POINTS else go.Scatter


def raster(results: "list[Result]", sizes: dict[str, int], title: str) -> go.Figure:
    """One row per Result on a shared time axis; within a row the populations are stacked
    (population p's neuron i at y = offset(p) + i), each in its colour and named on the
    y axis, with lines between populations."""
    pops = list(sizes)
    offsets = np.cumsum([0] + [sizes[p] for p in pops])
    total = int(offsets[-1])
    n_points = sum(len(r.spikes.get(p, ())) for r in results for p in pops)
    trace = _scatter(n_points)
    fig = make_subplots(rows=len(results), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[r.target for r in results])
    for row, res in enumerate(results, 1):
        for k, pop in enumerate(pops):
            sp = res.spikes.get(pop)
            if sp is None:
                continue
            fig.add_trace(trace(
                x=sp.times, y=sp.ids + offsets[k], mode="markers", name=pop,
                legendgroup=pop, showlegend=row == 1,
                marker=dict(color=colour(k), size=3 if n_points > 2000 else 5),
                hovertemplate=f"{pop} %{{customdata}}<br>%{{x}} ms<extra>{res.target}</extra>",
                customdata=sp.ids), row=row, col=1)
        for off in offsets[1:-1]:
            fig.add_hline(y=off - 0.5, line=dict(color="#999", width=1), row=row, col=1)
        fig.update_yaxes(range=[-0.5, total - 0.5], tickvals=(offsets[:-1] + offsets[1:]) / 2,
                         ticktext=[f"{p} ({sizes[p]})" for p in pops], row=row, col=1)
    fig.update_xaxes(range=[0, max(r.t_stop for r in results)])
    fig.update_xaxes(title_text="time (ms)", row=len(results), col=1)
    fig.update_layout(title=title, legend_title_text="population",
                      height=180 + 260 * len(results))
    return fig


def bin_width(results: "list[Result]") -> float:
    """Rate bins: about 1/100 of the run, a whole number of timesteps."""
    dt = max(r.timestep for r in results)
    t_stop = max(r.t_stop for r in results)
    return max(dt, dt * round(t_stop / 100 / dt))


def rates(results: "list[Result]", sizes: dict[str, int], title: str) -> go.Figure:
    """Mean rate per cell (Hz) over time: a panel per population, a line per Result
    (solid for the first, dashed after), the population's colour."""
    pops = [p for p in sizes if any(p in r.spikes for r in results)]
    width = bin_width(results)
    edges = np.arange(0.0, max(r.t_stop for r in results) + width, width)
    fig = make_subplots(rows=max(len(pops), 1), cols=1, shared_xaxes=True,
                        subplot_titles=[f"{p} ({sizes[p]} cells)" for p in pops])
    dashes = ["solid", "dash", "dot", "dashdot", "longdash"]
    for row, pop in enumerate(pops, 1):
        k = list(sizes).index(pop)
        for j, res in enumerate(results):
            sp = res.spikes.get(pop)
            if sp is None:
                continue
            counts, _ = np.histogram(sp.times, bins=edges)
            fig.add_trace(go.Scatter(
                x=edges[:-1], y=1000.0 * counts / sizes[pop] / width, mode="lines",
                line=dict(shape="hv", color=colour(k) if len(results) == 1 else colour(j),
                          dash=dashes[j % len(dashes)]),
                name=f"{pop}, {res.target}" if len(results) > 1 else pop),
                row=row, col=1)
        fig.update_yaxes(title_text="rate (Hz)", row=row, col=1)
    fig.update_xaxes(title_text=f"time (ms), bins of {width:g} ms", row=max(len(pops), 1),
                     col=1)
    fig.update_layout(title=title, height=160 + 200 * max(len(pops), 1))
    return fig


def isi_cv(result: Result, sizes: dict[str, int], title: str) -> go.Figure:
    """Inter-spike intervals (all cells of a population pooled) and the coefficient of
    variation of each cell's ISIs (cells with three spikes or more)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["ISI distribution",
                                                        "CV of ISI per cell"])
    for k, pop in enumerate(sizes):
        sp = result.spikes.get(pop)
        if sp is None or not len(sp):
            continue
        isis = [np.diff(t) for t in sp.trains(sizes[pop]) if len(t) > 1]
        cvs = [d.std() / d.mean() for d in isis if len(d) > 1 and d.mean() > 0]
        pooled = np.concatenate(isis) if isis else np.zeros(0)
        fig.add_trace(go.Histogram(x=pooled, name=pop, legendgroup=pop,
                                   marker_color=colour(k), opacity=0.7), row=1, col=1)
        fig.add_trace(go.Histogram(x=cvs, name=pop, legendgroup=pop, showlegend=False,
                                   marker_color=colour(k), opacity=0.7), row=1, col=2)
    fig.update_xaxes(title_text="ISI (ms)", row=1, col=1)
    fig.update_xaxes(title_text="CV", row=1, col=2)
    fig.update_yaxes(title_text="intervals", row=1, col=1)
    fig.update_yaxes(title_text="cells", row=1, col=2)
    fig.update_layout(title=title, barmode="overlay", height=380)
    return fig


def signals(result: Result, title: str) -> go.Figure:
    """Recorded state variables: a panel per population and variable, the first
    TRACES_PER_SIGNAL recorded cells each (the panel title says how many of how many)."""
    panels = [(pop, var, sig) for pop, sigs in result.signals.items()
              for var, sig in sigs.items()]
    names = []
    for pop, var, sig in panels:
        n = len(sig.indices)
        shown = min(n, TRACES_PER_SIGNAL)
        names.append(f"{pop}.{var}: {shown} of {n} recorded cells")
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, subplot_titles=names)
    for row, (pop, var, sig) in enumerate(panels, 1):
        data = np.asarray(sig.data)
        for j in range(min(len(sig.indices), TRACES_PER_SIGNAL)):
            fig.add_trace(go.Scatter(x=sig.times, y=data[:, j], mode="lines",
                                     line=dict(width=1, color=colour(j)),
                                     name=f"{pop}[{int(sig.indices[j])}]", showlegend=False),
                          row=row, col=1)
        fig.update_yaxes(title_text=f"{var} ({sig.units})" if sig.units else var,
                         row=row, col=1)
    fig.update_xaxes(title_text="time (ms)", row=len(panels), col=1)
    fig.update_layout(title=title, height=160 + 220 * len(panels))
    return fig
