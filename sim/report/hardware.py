"""Figures and tables of hardware timing reports (hw.metrics vocabulary): the metrics of
several targets side by side, the step-duration distribution, energy by event, and the
mesh drawn as a grid of routers with each link's traffic as a heat map."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ...hw import metrics
from ...hw.result import Result
from .spikes import colour
from .units import scale_for

#: hw.mapping's link numbering: (y * nx + x) * 4 + direction
EAST, WEST, NORTH, SOUTH = range(4)


def timing_rows(results: "list[Result]") -> tuple[list[str], list[list]]:
    """Headers and rows (metric, unit, one value per target, "-" where a target lacks it),
    in the vocabulary's order."""
    timed = [r for r in results if r.timing is not None]
    reported = {k for r in timed for k in r.timing.metrics}
    keys = [k for k in metrics.METRICS if k in reported]
    rows = [[k, metrics.unit(k)] + [r.timing.metrics.get(k, "-") for r in timed]
            for k in keys]
    return ["metric", "unit"] + [r.target for r in timed], rows


def step_durations(results: "list[Result]", title: str) -> go.Figure | None:
    """Histogram of each target's per-step hardware duration (arrays["step_ns"])."""
    runs = [(r.target, np.asarray(r.timing.arrays["step_ns"], float)) for r in results
            if r.timing is not None and len(r.timing.arrays.get("step_ns", ()))]
    if not runs:
        return None
    sc = scale_for("step_ns", np.concatenate([v for _, v in runs]))
    fig = go.Figure([go.Histogram(x=v / sc.factor, name=t, marker_color=colour(k),
                                  opacity=0.7) for k, (t, v) in enumerate(runs)])
    fig.update_layout(title=title, barmode="overlay", height=380,
                      xaxis_title=sc.label("step duration"), yaxis_title="steps")
    return fig


def energy_by_event(results: "list[Result]", title: str) -> go.Figure | None:
    """Each energy metric (pJ, read in the largest unit reached) per target, grouped; the
    total is its own bar, and parts may overlap as the vocabulary says (energy_mesh_pJ
    holds injection and hops)."""
    timed = [r for r in results if r.timing is not None]
    keys = [k for k in metrics.METRICS if k.startswith("energy_")
            and any(k in r.timing.metrics for r in timed)]
    if not keys:
        return None
    sc = scale_for("energy_total_pJ", [r.timing.metrics.get(k, 0.0) for r in timed
                                       for k in keys])
    labels = [k[len("energy_"):-len("_pJ")] for k in keys]
    fig = go.Figure([go.Bar(x=labels, y=[r.timing.metrics.get(k, np.nan) / sc.factor
                                         for k in keys],
                            name=r.target, marker_color=colour(j),
                            hovertext=[metrics.METRICS[k].description for k in keys])
                     for j, r in enumerate(timed)])
    fig.update_layout(title=title, barmode="group", height=400, xaxis_title="event",
                      yaxis_title=f"energy ({sc.unit})")
    return fig


def link_grid(link_packets: np.ndarray, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """A (2 ny - 1) x (2 nx - 1) grid: router (x, y) at cell (2y, 2x), the two directed
    links between (x, y) and (x+1, y) summed at (2y, 2x+1), between (x, y) and (x, y+1) at
    (2y+1, 2x); NaN elsewhere. Also the hover text of each cell."""
    lp = np.asarray(link_packets, float).reshape(ny, nx, 4)
    z = np.full((2 * ny - 1, 2 * nx - 1), np.nan)
    text = np.full(z.shape, "", dtype=object)
    for y in range(ny):
        for x in range(nx):
            text[2 * y, 2 * x] = f"router ({x}, {y})"
            if x + 1 < nx:
                e, w = lp[y, x, EAST], lp[y, x + 1, WEST]
                z[2 * y, 2 * x + 1] = e + w
                text[2 * y, 2 * x + 1] = f"({x},{y})-({x + 1},{y}): east {e:g}, west {w:g}"
            if y + 1 < ny:
                n, s = lp[y, x, NORTH], lp[y + 1, x, SOUTH]
                z[2 * y + 1, 2 * x] = n + s
                text[2 * y + 1, 2 * x] = f"({x},{y})-({x},{y + 1}): north {n:g}, south {s:g}"
    return z, text


#: routers drawn at most per side; a larger mesh is cropped to the links with traffic
MESH_SIDE_MAX = 24


def traffic_box(lp: np.ndarray, nx: int, ny: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), inclusive: the routers at either end of a link with traffic, one
    router of margin, the whole mesh when that is small enough to read."""
    if nx <= MESH_SIDE_MAX and ny <= MESH_SIDE_MAX:
        return 0, 0, nx - 1, ny - 1
    used = np.asarray(lp).reshape(ny, nx, 4).sum(axis=2) > 0
    ys, xs = np.nonzero(used)
    if not len(xs):
        return 0, 0, min(nx, MESH_SIDE_MAX) - 1, min(ny, MESH_SIDE_MAX) - 1
    # a link leaving (x, y) eastward or northward also touches (x + 1, y) or (x, y + 1)
    return (max(int(xs.min()) - 1, 0), max(int(ys.min()) - 1, 0),
            min(int(xs.max()) + 2, nx - 1), min(int(ys.max()) + 2, ny - 1))


def mesh_traffic(result: Result, shape: "tuple[int, int] | None",
                 title: str) -> tuple[go.Figure | None, str]:
    """A heat map of packets per link of the mesh (routers as squares, each link's two
    directions summed, both in the hover text), or None and a note saying why not."""
    lp = None if result.timing is None else result.timing.arrays.get("link_packets")
    if lp is None:
        return None, ""
    if shape is None or shape[0] * shape[1] * 4 != len(lp):
        return None, (f"{result.target}: {len(lp)} link counters do not fit a mesh of "
                      f"{shape} routers: link traffic not drawn")
    nx, ny = shape
    lp = np.asarray(lp)
    x0, y0, x1, y1 = traffic_box(lp, nx, ny)
    z, text = link_grid(lp, nx, ny)
    z, text = z[2 * y0:2 * y1 + 1, 2 * x0:2 * x1 + 1], text[2 * y0:2 * y1 + 1, 2 * x0:2 * x1 + 1]
    wx, wy = x1 - x0 + 1, y1 - y0 + 1
    crop = "" if (wx, wy) == (nx, ny) else (
        f"; routers x {x0}-{x1}, y {y0}-{y1} shown, no traffic elsewhere")
    fig = go.Figure(go.Heatmap(z=z, text=text, hoverinfo="text+z", zmin=0,
                               colorscale="YlOrRd", colorbar=dict(title="packets")))
    ry, rx = np.mgrid[0:2 * wy - 1:2, 0:2 * wx - 1:2]
    fig.add_trace(go.Scatter(x=rx.ravel(), y=ry.ravel(), mode="markers", hoverinfo="skip",
                             marker=dict(symbol="square", size=max(4, 14 - wx // 3),
                                         color="#555"), showlegend=False))
    step = max(1, max(wx, wy) // 12)
    fig.update_xaxes(title_text="router x", tickvals=list(range(0, 2 * wx - 1, 2 * step)),
                     ticktext=[str(x0 + i) for i in range(0, wx, step)], showgrid=False)
    fig.update_yaxes(title_text="router y", tickvals=list(range(0, 2 * wy - 1, 2 * step)),
                     ticktext=[str(y0 + i) for i in range(0, wy, step)], showgrid=False,
                     scaleanchor="x")
    fig.update_layout(title=f"{title}: {result.target}, {nx} x {ny} routers, "
                            f"{int(lp.sum())} link traversals{crop}",
                      height=min(260 + 40 * wy, 800))
    return fig, ""


def mesh_shapes(targets: "list[str]", settings: "dict | None" = None
                ) -> dict[str, tuple[int, int]]:
    """(nx, ny) routers of each target that has a mesh, with the `--set` spec fields each
    target has applied (a script's own setup() overrides are not seen here: a shape that
    then mismatches the link counters is named in the report, not guessed)."""
    from ...hw.compiler import runner_for
    from ...hw.runner import split_overrides
    from ...hw.targets import get_target
    from ..compare import settings_for

    shapes = {}
    for t in targets:
        spec = get_target(t)
        fields, _ = split_overrides(spec, runner_for(spec), settings_for(t, settings or {}))
        spec = get_target(spec, **fields)
        if hasattr(spec, "mesh_shape"):
            shapes[t] = tuple(int(v) for v in spec.mesh_shape)
    return shapes
