"""The report.html of a sweep: the latency-energy Pareto front (highlighted and listed),
each metric that varies against each axis (titled, in readable units, integer ticks for
integer parameters, log scale for ranges spanning decades), the metrics that stay
constant named once, and the table of points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .page import Page
from .units import is_integer_axis, scale_for

#: an integer axis with at most this many values gets a tick at each
_TICKS_MAX = 12


@dataclass
class SweepData:
    """What sim.sweep.report hands over: rows of the points that ran, their axes and
    metrics, the Pareto front (row indices), and the rows of every point."""

    title: str
    axes: dict[str, tuple[np.ndarray, "list[str] | None"]]  # x values, category labels
    metrics: dict[str, np.ndarray]          # varying metrics of the points that ran
    constant: dict[str, float]              # metrics equal at every point that ran
    ids: np.ndarray                         # point ids of the points that ran
    latency: str | None
    energy: str | None
    front: np.ndarray                       # row indices (into ids) of the Pareto front
    rows: list[dict]                        # every point, failed ones too
    counts: tuple[int, int]                 # points, points that ran


def spans_decades(v: np.ndarray) -> bool:
    """Positive values spanning 50x or more: drawn on a log scale."""
    v = v[np.isfinite(v)]
    return v.size > 2 and v.min() > 0 and v.max() / v.min() >= 50


def integer_dtick(v: np.ndarray) -> int:
    """A whole tick step giving at most about _TICKS_MAX ticks (never 2.5 or 3.5)."""
    v = v[np.isfinite(v)]
    return max(1, int(np.ceil((v.max() - v.min()) / _TICKS_MAX))) if v.size else 1


def x_axis(fig: go.Figure, name: str, x: np.ndarray, cats: "list[str] | None",
           col: int) -> float:
    """Set up column `col`'s x axis for parameter `name`; returns the factor its values
    are divided by (a readable unit)."""
    if cats:
        fig.update_xaxes(title_text=name, tickvals=list(range(len(cats))), ticktext=cats,
                         row=1, col=col)
        return 1.0
    sc = scale_for(name, x)
    ux = np.unique(x[np.isfinite(x)]) / sc.factor
    kw = dict(title_text=sc.label(name), row=1, col=col)
    if is_integer_axis(ux) and sc.factor == 1.0 and len(ux) <= _TICKS_MAX:
        # core sizes 8, 16, ..., 256 on a log axis, bit widths 4..8 on a linear one
        log = ux.min() > 0 and ux.max() / ux.min() >= 8
        fig.update_xaxes(type="log" if log else None, tickvals=ux.tolist(),
                         ticktext=[f"{v:g}" for v in ux], **kw)
    elif spans_decades(ux):
        fig.update_xaxes(type="log", **kw)
    elif is_integer_axis(ux) and sc.factor == 1.0:
        fig.update_xaxes(tickformat="d", dtick=integer_dtick(ux), **kw)
    else:
        fig.update_xaxes(**kw)
    return sc.factor


def metric_figure(d: SweepData, metric: str) -> go.Figure:
    """`metric` against each axis: every point, the mean per value (line), the Pareto
    front's points ringed in red."""
    y = d.metrics[metric]
    sc = scale_for(metric, y)
    names = list(d.axes)
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True,
                        subplot_titles=[f"against {a}" for a in names])
    on_front = np.zeros(len(y), bool)
    on_front[d.front] = True
    mean_shown = False
    for col, axis in enumerate(names, 1):
        x, cats = d.axes[axis]
        fx = x_axis(fig, axis, x, cats, col)
        fig.add_trace(go.Scatter(
            x=x / fx, y=y / sc.factor, mode="markers", name="points", legendgroup="p",
            showlegend=col == 1, marker=dict(color="#1f77b4", size=7, opacity=0.55),
            customdata=d.ids, hovertemplate="point %{customdata}<br>%{x}, %{y}<extra></extra>"
        ), row=1, col=col)
        ux = np.unique(x[np.isfinite(x)])
        if len(ux) <= _TICKS_MAX:      # a mean per value of a grid axis, not of a range
            means = [np.nanmean(y[x == u]) if np.isfinite(y[x == u]).any() else np.nan
                     for u in ux]
            fig.add_trace(go.Scatter(x=ux / fx, y=np.array(means) / sc.factor,
                                     mode="lines", name="mean per value", legendgroup="m",
                                     showlegend=not mean_shown, line=dict(color="#d62728")),
                          row=1, col=col)
            mean_shown = True
        if on_front.any():
            fig.add_trace(go.Scatter(
                x=x[on_front] / fx, y=y[on_front] / sc.factor, mode="markers",
                name="Pareto front", legendgroup="f", showlegend=col == 1,
                marker=dict(symbol="circle-open", size=13, color="#d62728",
                            line=dict(width=2))), row=1, col=col)
    log_y = spans_decades(y / sc.factor)
    fig.update_yaxes(title_text=sc.label(metric), row=1, col=1,
                     type="log" if log_y else None)
    if is_integer_axis(y) and sc.factor == 1.0 and not log_y:
        fig.update_yaxes(tickformat="d", dtick=integer_dtick(y))
    fig.update_layout(title=f"{metric} against the sweep's parameters", height=420)
    return fig


def pareto_figure(d: SweepData) -> go.Figure:
    """Energy against latency of every point, the front joined and labelled in red."""
    x, y = d.metrics[d.latency], d.metrics[d.energy]
    sx, sy = scale_for(d.latency, x), scale_for(d.energy, y)
    fig = go.Figure(go.Scatter(x=x / sx.factor, y=y / sy.factor, mode="markers",
                               name="points", customdata=d.ids,
                               marker=dict(color="#1f77b4", size=8, opacity=0.55),
                               hovertemplate="point %{customdata}<extra></extra>"))
    f = d.front
    fig.add_trace(go.Scatter(x=x[f] / sx.factor, y=y[f] / sy.factor, mode="lines+markers+text",
                             name=f"Pareto front ({len(f)} point{'s' * (len(f) != 1)})",
                             text=[f"point {i}" for i in d.ids[f]], textposition="top right",
                             marker=dict(color="#d62728", size=11),
                             line=dict(color="#d62728")))
    fig.update_layout(title=f"Latency-energy Pareto front ({d.latency} vs {d.energy})",
                      xaxis_title=sx.label(d.latency), yaxis_title=sy.label(d.energy),
                      height=480)
    if spans_decades(x):
        fig.update_xaxes(type="log")
    if spans_decades(y):
        fig.update_yaxes(type="log")
    return fig


def front_words(ids: "list[int]") -> str:
    """"point 20" or "points 3, 7, 9"."""
    return f"point{'s' * (len(ids) != 1)} {', '.join(map(str, ids))}"


def sweep_page(d: SweepData) -> Page:
    """The whole page of one sweep."""
    n, n_ok = d.counts
    page = Page(f"Sweep report: {d.title}",
                f"{n} points: {n_ok} ran, {n - n_ok} failed; parameters: "
                + (", ".join(d.axes) or "none (the base spec)"))
    if d.latency and d.energy and len(d.front):
        page.section("Latency-energy Pareto front")
        page.figure(pareto_figure(d))
        front_ids = [int(i) for i in d.ids[d.front]]
        page.note(f"On the front: {front_words(front_ids)}.")
        cols = ["point_id", *d.axes, d.latency, d.energy]
        by_id = {r["point_id"]: r for r in d.rows}
        page.table(cols, [[by_id[i].get(c) for c in cols] for i in front_ids],
                   left=0)
    if d.axes and d.metrics:
        page.section("Metrics against parameters")
        for metric in d.metrics:
            page.figure(metric_figure(d, metric))
    if d.constant:
        page.note("The same at every point that ran (not plotted): " + ", ".join(
            f"{k} = {v:.6g}" for k, v in d.constant.items()) + ".")
    page.section("All points")
    cols = ["point_id", "status", *d.axes, *d.metrics, "error"]
    page.table(cols, [[r.get(c) for c in cols] for r in d.rows], left=0)
    return page
