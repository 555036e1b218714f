"""A sweep's report: report.html (sim.report.sweep), each varying metric against each axis
(PNG), the latency-energy Pareto front, and a Markdown summary naming the best
configurations and the failures."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..report.sweep import SweepData, front_words, spans_decades, sweep_page
from ..report.units import Scale, is_integer_axis, scale_for
from .config import SweepError
from .store import LEADING, VOLATILE, read_results

#: columns that describe the run, not the design's quality
_BOOKKEEPING = set(LEADING) | set(VOLATILE)
#: network-wide fidelity columns, best when smallest except correlation
_FIDELITY = ("rate_abs_diff_Hz", "van_rossum", "count_corr")


@dataclass
class Report:
    """What `make_report` wrote."""

    summary: Path
    plots: list[Path]
    pareto: list[int]
    html: Path


def _numeric(col: pa.ChunkedArray) -> np.ndarray | None:
    """The column as float64 (NaN for nulls), or None when it is not numeric."""
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return None
    return np.array([math.nan if v is None else float(v) for v in col.to_pylist()])


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both x and y (both minimised),
    sorted by x; NaN points never belong to the front."""
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    order = ok[np.lexsort((y[ok], x[ok]))]
    front, best_y = [], math.inf
    for i in order:
        if y[i] < best_y:
            front.append(i)
            best_y = y[i]
    return np.array(front, dtype=np.int64)


def pareto_front_oracle(x: np.ndarray, y: np.ndarray) -> set[int]:
    """Brute force: i is on the front unless some j is <= on both and < on one."""
    idx = [i for i in range(len(x)) if np.isfinite(x[i]) and np.isfinite(y[i])]
    front = set()
    for i in idx:
        dominated = any(x[j] <= x[i] and y[j] <= y[i] and (x[j] < x[i] or y[j] < y[i])
                        for j in idx)
        if not dominated:
            front.add(i)
    # among exact duplicates keep the first, as the sweep of pareto_front does
    seen, out = set(), set()
    for i in sorted(front, key=lambda i: (x[i], y[i], i)):
        if (x[i], y[i]) not in seen:
            seen.add((x[i], y[i]))
            out.add(i)
    return out


def _pick(columns: list[str], word: str, given: str | None) -> str | None:
    if given:
        if given not in columns:
            raise SweepError(f"report column {given!r} not in the results; numeric columns: "
                             f"{columns}")
        return given
    hits = [c for c in columns if word in c.lower() and "hist" not in c.lower()]
    # a network-wide mean or total first, then the shortest name (latency_mean_ns before
    # latency_max_ns, energy_total_pJ before energy_synop_pJ)
    hits.sort(key=lambda c: ("mean" not in c and "total" not in c, len(c), c))
    return hits[0] if hits else None


def _axis_values(col: pa.ChunkedArray) -> tuple[np.ndarray, list[str] | None]:
    """x positions of an axis column; categorical axes get 0..k-1 and their labels."""
    num = _numeric(col)
    if num is not None:
        return num, None
    labels = [str(v) for v in col.to_pylist()]
    cats = list(dict.fromkeys(labels))
    return np.array([cats.index(v) for v in labels], dtype=float), cats


def split_constant(numeric: dict[str, np.ndarray]
                   ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Metrics that vary over the points, and those with one value at every point
    (steps, barrier_ns, ...): those are named once, not plotted."""
    varying, constant = {}, {}
    for k, v in numeric.items():
        if np.isfinite(v).all() and np.unique(v).size == 1:
            constant[k] = float(v[0])
        else:
            varying[k] = v
    return varying, constant


def make_report(table: pa.Table, out_dir: "str | Path", axes: list[str],
                latency: str | None = None, energy: str | None = None,
                title: str = "sweep", metrics: "list[str] | None" = None) -> Report:
    """Write report.html, a PNG per varying metric, the Pareto PNG and summary.md for a
    results table into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    missing = [a for a in axes if a not in table.column_names]
    if missing:
        raise SweepError(f"axis column(s) {missing} not in the results table")
    status = table.column("status").to_pylist()
    ok_rows = np.array([s == "ok" for s in status])
    ok = table.filter(pa.array(ok_rows)) if table.num_rows else table
    numeric = {c: v for c in table.column_names
               if c not in _BOOKKEEPING and c not in axes
               and (v := _numeric(ok.column(c))) is not None and np.isfinite(v).any()}
    names = list(numeric)
    lat = _pick(names, "latency", latency)
    eng = _pick(names, "energy", energy)
    varying, constant = split_constant(numeric)
    xs = {a: _axis_values(ok.column(a)) for a in axes}
    ids = np.array(ok.column("point_id").to_pylist(), dtype=np.int64)
    idx = pareto_front(numeric[lat], numeric[eng]) if lat and eng else np.zeros(0, np.int64)
    front = [int(ids[i]) for i in idx]
    plots = [_metric_png(out, metric, y, xs) for metric, y in varying.items() if axes]
    if lat and eng:
        plots.append(_pareto_png(out, numeric[lat], numeric[eng], idx, ids, lat, eng))
    summary = out / "summary.md"
    summary.write_text(_markdown(table, ok, axes, numeric, lat, eng, front, ids, title,
                                 metrics or []))
    data = SweepData(title, xs, varying, constant, ids, lat, eng, idx, table.to_pylist(),
                     (table.num_rows, ok.num_rows))
    html = sweep_page(data).write(out / "report.html")
    return Report(summary, plots, front, html)


def _metric_png(out: Path, metric: str, y: np.ndarray, xs: dict) -> Path:
    """METRIC.png: the metric against each axis, titled, in a readable unit."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    sc = scale_for(metric, y)
    fig, subs = plt.subplots(1, len(xs), figsize=(4.4 * len(xs), 3.6), squeeze=False,
                             sharey=True)
    for ax_plot, (axis, (x, cats)) in zip(subs[0], xs.items()):
        sx = scale_for(axis, x) if not cats else Scale(1.0, "")
        ax_plot.scatter(x / sx.factor, y / sc.factor, s=14, alpha=0.5, color="tab:blue")
        ux = np.unique(x[np.isfinite(x)])
        means = [np.nanmean(y[x == u]) if np.isfinite(y[x == u]).any() else np.nan
                 for u in ux]
        ax_plot.plot(ux / sx.factor, np.array(means) / sc.factor, color="tab:red", lw=1.5,
                     label="mean")
        if cats:
            ax_plot.set_xticks(range(len(cats)), cats, rotation=30, fontsize=8)
        elif spans_decades(ux):
            ax_plot.set_xscale("log")  # an axis spanning decades (log ranges)
        elif is_integer_axis(ux):
            ax_plot.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_plot.set_xlabel(sx.label(axis))
    subs[0, 0].set_ylabel(sc.label(metric))
    if not spans_decades(y):
        subs[0, 0].ticklabel_format(axis="y", useOffset=False, style="plain")
    fig.suptitle(f"{metric} against the sweep's parameters", fontsize=11)
    fig.tight_layout()
    path = out / f"{_safe(metric)}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _pareto_png(out: Path, x: np.ndarray, y: np.ndarray, idx: np.ndarray, ids: np.ndarray,
                lat: str, eng: str) -> Path:
    """pareto_latency_energy.png: every point, the front joined and labelled."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sx, sy = scale_for(lat, x), scale_for(eng, y)
    fig, axp = plt.subplots(figsize=(6.4, 4.4))
    axp.scatter(x / sx.factor, y / sy.factor, s=14, alpha=0.5, label="points")
    axp.plot(x[idx] / sx.factor, y[idx] / sy.factor, "o-", color="tab:red", ms=5,
             label=f"Pareto front ({front_words([int(ids[i]) for i in idx])})")
    for i in idx:
        axp.annotate(str(ids[i]), (x[i] / sx.factor, y[i] / sy.factor), fontsize=8,
                     xytext=(3, 3), textcoords="offset points")
    axp.set_xlabel(sx.label(lat))
    axp.set_ylabel(sy.label(eng))
    axp.set_title("Latency-energy Pareto front", fontsize=11)
    axp.legend(fontsize=8)
    fig.tight_layout()
    path = out / "pareto_latency_energy.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_metric(table: pa.Table, metric: str, x: str, by: "str | None" = None,
                path: "str | Path" = "metric.png", title: str | None = None) -> Path:
    """One metric against one axis, a line per value of a second axis `by` (or the mean
    over the other axes); a rate metric with its rate_diff column also gets the reference
    rate as a dashed line. For figures in documents: small, one panel."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for col in (metric, x, by):
        if col is not None and col not in table.column_names:
            raise SweepError(f"column {col!r} not in the results; it has "
                             f"{table.column_names}")
    ok = table.filter(pa.array([s == "ok" for s in table.column("status").to_pylist()]))
    y = _numeric(ok.column(metric))
    if y is None:
        raise SweepError(f"column {metric!r} is not numeric")
    from matplotlib.ticker import MaxNLocator

    xv, cats = _axis_values(ok.column(x))
    sx = Scale(1.0, "") if cats else scale_for(x, xv)
    sy = scale_for(metric, y)
    groups = ok.column(by).to_pylist() if by else [None] * ok.num_rows
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for g in sorted(set(groups), key=lambda v: (v is None, v)):
        sel = np.array([v == g for v in groups])
        ux = np.unique(xv[sel])
        means = [np.nanmean(y[sel & (xv == u)]) for u in ux]
        ax.plot(ux / sx.factor, np.array(means) / sy.factor, "o-", ms=3, lw=1.2,
                label=f"{by} = {g}" if by else "mean")
    if metric.startswith("rate_") and metric.endswith("_Hz"):
        diff_col = "rate_diff_" + metric[len("rate_"):]
        if diff_col in ok.column_names:
            ref = np.nanmean(y - _numeric(ok.column(diff_col)))
            ax.axhline(ref / sy.factor, ls="--", color="k", lw=1, label="float reference")
    if cats:
        ax.set_xticks(range(len(cats)), cats, rotation=30, fontsize=7)
    elif spans_decades(xv):
        ax.set_xscale("log")
    elif is_integer_axis(xv):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if spans_decades(y):
        ax.set_yscale("log")
    ax.set_xlabel(sx.label(x))
    ax.set_ylabel(sy.label(metric))
    ax.set_title(title or f"{metric} against {x}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _markdown(table, ok, axes, numeric, lat, eng, front, ids, title, metrics) -> str:
    rows = {r["point_id"]: r for r in table.to_pylist()}
    n_ok, n = ok.num_rows, table.num_rows
    lines = [f"# Sweep report: {title}", "",
             f"{n} points: {n_ok} ran, {n - n_ok} failed.", ""]
    if axes:
        lines += ["Axes: " + ", ".join(
            f"`{a}` ({len(set(map(str, table.column(a).to_pylist())))} values)"
            for a in axes), ""]

    def params(pid):
        return ", ".join(f"{a} = {_fmt(rows[pid][a])}" for a in axes) or "(base spec)"

    headline = [c for c in [lat, eng, *metrics, *_FIDELITY] if c and c in numeric]
    headline = list(dict.fromkeys(headline))
    if headline and n_ok:
        lines += ["## Best configurations", "", "| metric | best | point | parameters |",
                  "|---|---|---|---|"]
        for c in headline:
            y = numeric[c]
            if not np.isfinite(y).any():
                continue
            i = int(np.nanargmax(y) if c.startswith("count_corr") else np.nanargmin(y))
            goal = "highest" if c.startswith("count_corr") else "lowest"
            lines.append(f"| {c} ({goal}) | {_fmt(float(y[i]))} | {ids[i]} | "
                         f"{params(int(ids[i]))} |")
        lines.append("")
    if front:
        cols = [lat, eng] + [c for c in _FIDELITY if c in numeric]
        lines += [f"## Latency-energy Pareto front ({lat} vs {eng})", "",
                  "| point | parameters | " + " | ".join(cols) + " |",
                  "|---|---|" + "---|" * len(cols)]
        for pid in front:
            lines.append(f"| {pid} | {params(pid)} | "
                         + " | ".join(_fmt(rows[pid][c]) for c in cols) + " |")
        lines += ["", "![Pareto front](pareto_latency_energy.png)", ""]
    errors = Counter(r["error"] for r in rows.values() if r["status"] != "ok")
    if errors:
        lines += ["## Failures", "", "| points | error |", "|---|---|"]
        for msg, count in errors.most_common():
            lines.append(f"| {count} | {str(msg).replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def report_from_results(path: "str | Path", out_dir: "str | Path | None" = None,
                        latency: str | None = None, energy: str | None = None) -> Report:
    """Report on a results folder (or a combined Parquet/CSV table)."""
    path = Path(path)
    table = read_results(path)
    meta_file = (path if path.is_dir() else path.parent) / "meta.json"
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    axes = meta.get("axes")
    if axes is None:
        raw = (table.schema.metadata or {}).get(b"neurocosim.axes")
        axes = json.loads(raw) if raw else []
    report_cfg = meta.get("report", {})
    metrics = (meta.get("fingerprint") or {}).get("metrics") or []
    if out_dir is None:
        out_dir = (path if path.is_dir() else path.parent) / "report"
    return make_report(table, out_dir, axes, latency or report_cfg.get("latency"),
                       energy or report_cfg.get("energy"), meta.get("name", path.stem),
                       metrics)
