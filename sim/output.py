"""Writes a Result as files: spikes (CSV), signals (NPZ), timing report (JSON), raster (PNG)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..hw.result import Result


def write_result(result: Result, outdir: "str | Path", title: str = "") -> list[Path]:
    """Write every part of `result` under `outdir`; returns the paths written."""
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
    summary = {"target": result.target, "t_stop_ms": result.t_stop,
               "timestep_ms": result.timestep,
               "spikes": {p: len(sp) for p, sp in result.spikes.items()}}
    if result.timing is not None:
        summary["timing"] = {k: float(v) for k, v in result.timing.metrics.items()}
    path = out / "summary.json"
    path.write_text(json.dumps(summary, indent=2))
    written.append(path)
    if rows:
        written.append(raster_png([result], out / "raster.png", title=title))
    return written


def raster_png(results: "list[Result]", path: "str | Path", title: str = "") -> Path:
    """Raster plot of one or several Results, overlaid in different colours."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    markers = ["|", "x", "+", ".", "1", "2"]
    for k, res in enumerate(results):
        offset = 0
        first = True
        for pop, sp in res.spikes.items():
            ax.scatter(sp.times, sp.ids + offset, s=6, marker=markers[k % len(markers)],
                       color=f"C{k}", label=res.target if first else None, linewidths=0.8)
            first = False
            offset += int(sp.ids.max()) + 1 if len(sp) else 0
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron (populations stacked)")
    ax.set_title(title or "spike raster")
    if len(results) > 1:
        ax.legend(loc="upper right", markerscale=3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
