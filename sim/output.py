"""Writes a Result as files: spikes (CSV), signals (NPZ), summary with the mapping report
and timing (JSON), raster (PNG); and the text lines `run` and `compare` print."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..hw import metrics
from ..hw.result import Result

#: a population with more cells than this is drawn as its rate over time, not a raster
RASTER_MAX_CELLS = 500


def mapping_lines(result: Result) -> list[str]:
    """The mapping report of the run's target: one line per approximation and per
    parameter quantised with an error, or "mapping: exact"."""
    lines = [] if result.mapping is None else result.mapping.lines()
    if not lines:
        return [f"mapping ({result.target}): exact"]
    return [f"mapping ({result.target}):"] + [f"    {line}" for line in lines]


def timing_lines(result: Result) -> list[str]:
    """The timing report: name, value and unit (hw.metrics) per metric."""
    return [f"    {k:<32} {v:>14.6g} {metrics.unit(k)}"
            for k, v in result.timing.metrics.items()]


def write_result(result: Result, outdir: "str | Path", title: str = "",
                 sizes: "dict[str, int] | None" = None,
                 wall_s: float | None = None) -> list[Path]:
    """Write every part of `result` under `outdir` (`sizes`: cells per population, for
    the raster and the rates; `wall_s`: the run's wall-clock time, for summary.json);
    returns the paths written. A run without spikes writes no raster.png."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    rows = [(pop, int(i), float(t)) for pop, sp in result.spikes.items()
            for i, t in zip(sp.ids, sp.times)]
    path = out / "spikes.csv"
    with path.open("w") as f:
        f.write("population,neuron,time_ms\n")
        f.writelines(f"{p},{i},{t:.6g}\n" for p, i, t in rows)
    written.append(path)
    if result.signals:
        arrays = {f"{pop}.{var}.{part}": getattr(sig, part)
                  for pop, sigs in result.signals.items() for var, sig in sigs.items()
                  for part in ("times", "indices", "data")}
        path = out / "signals.npz"
        np.savez_compressed(path, **arrays)
        written.append(path)
    path = out / "summary.json"
    path.write_text(json_text(summary_dict(result, sizes, wall_s)))
    written.append(path)
    if rows:
        written.append(raster_png([result], out / "raster.png", title=title, sizes=sizes))
    return written


def json_text(obj) -> str:
    """Standard JSON (a relative error of an exact zero mapped to non-zero is infinite:
    written as the string "inf", which every JSON reader takes, not as `Infinity`)."""
    def finite(x):
        if isinstance(x, dict):
            return {k: finite(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [finite(v) for v in x]
        if isinstance(x, float) and not np.isfinite(x):
            return str(x)
        return x
    return json.dumps(finite(obj), indent=2, allow_nan=False)


def summary_dict(result: Result, sizes: "dict[str, int] | None" = None,
                 wall_s: float | None = None) -> dict:
    """summary.json: target, time, wall-clock seconds, spikes and mean rates (Hz per cell,
    where `sizes` knows the population) per recorded population, the mapping report and
    the timing metrics with their units."""
    t = max(result.t_stop, 1e-12)
    summary = {"target": result.target, "t_stop_ms": result.t_stop,
               "timestep_ms": result.timestep, "steps": result.info.get("steps"),
               "wall_s": wall_s,
               "spikes": {p: len(sp) for p, sp in result.spikes.items()},
               "rates_hz": {p: 1000.0 * len(sp) / sizes[p] / t
                            for p, sp in result.spikes.items() if p in (sizes or {})},
               "mapping": None if result.mapping is None else result.mapping.to_dict()}
    if result.timing is not None:
        summary["timing"] = {k: float(v) for k, v in result.timing.metrics.items()}
        summary["timing_units"] = {k: metrics.unit(k) for k in result.timing.metrics}
    return summary


def raster_png(results: "list[Result]", path: "str | Path", title: str = "",
               sizes: "dict[str, int] | None" = None) -> Path:
    """Save `raster_figure(results, title, sizes)` as a PNG."""
    import matplotlib.pyplot as plt
    fig = raster_figure(results, title, sizes)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def raster_figure(results: "list[Result]", title: str = "",
                  sizes: "dict[str, int] | None" = None):
    """One panel per population, every Result overlaid in its own colour: a raster for
    populations of up to RASTER_MAX_CELLS cells, the population rate over time above
    that; the legend (one entry per target) sits right of the panels, off the data."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    pops = list(dict.fromkeys(p for res in results for p in res.spikes))
    sizes = {p: (sizes or {}).get(p) or _inferred_size(results, p) for p in pops}
    t_stop = max(res.t_stop for res in results)
    n = max(len(pops), 1)
    fig, axes = plt.subplots(n, 1, sharex=True, squeeze=False, dpi=110,
                             figsize=(10, 1.0 + (1.7 if n <= 8 else 1.1) * n))
    for ax, pop in zip(axes[:, 0], pops):
        if sizes[pop] > RASTER_MAX_CELLS:
            _rate_panel(ax, results, pop, sizes[pop], t_stop)
        else:
            _raster_panel(ax, results, pop, sizes[pop])
    axes[-1, 0].set_xlabel("time (ms)")
    axes[-1, 0].set_xlim(0, t_stop)
    fig.suptitle(title or "spike raster")
    fig.tight_layout()
    if len(results) > 1:
        handles = [Line2D([], [], color=f"C{k}", marker=_MARKERS[k % len(_MARKERS)],
                          linestyle="", markersize=8, label=res.target)
                   for k, res in enumerate(results)]
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.95),
                   title="target", frameon=False)
    return fig


_MARKERS = ["|", "x", "+", ".", "1", "2"]


def _inferred_size(results: "list[Result]", pop: str) -> int:
    ids = [int(res.spikes[pop].ids.max()) for res in results
           if pop in res.spikes and len(res.spikes[pop])]
    return max(ids, default=-1) + 1


def _raster_panel(ax, results: "list[Result]", pop: str, size: int) -> None:
    """Each target's spikes of `pop` as a raster (neuron index over time)."""
    for k, res in enumerate(results):
        sp = res.spikes.get(pop)
        if sp is not None and len(sp):
            ax.scatter(sp.times, sp.ids, s=5 if size > 50 else 12,
                       marker=_MARKERS[k % len(_MARKERS)], color=f"C{k}", linewidths=0.7)
    ax.set_ylim(-0.5, max(size, 1) - 0.5)
    ax.set_ylabel(f"{pop}\n{size} cells\nneuron", fontsize=8)


def _rate_panel(ax, results: "list[Result]", pop: str, size: int, t_stop: float) -> None:
    """Each target's mean rate of `pop` (Hz per cell) in bins of ~1/100 of the run."""
    dt = max(res.timestep for res in results)
    width = max(dt, dt * round(t_stop / 100 / dt))
    edges = np.arange(0.0, t_stop + width, width)
    for k, res in enumerate(results):
        sp = res.spikes.get(pop)
        if sp is None:
            continue
        counts, _ = np.histogram(sp.times, bins=edges)
        ax.step(edges[:-1], 1000.0 * counts / size / width, where="post", color=f"C{k}",
                linewidth=1.0)
    ax.set_ylabel(f"{pop}\n{size} cells\nrate (Hz)", fontsize=8)
