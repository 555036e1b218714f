"""What `compare` prints and writes: rates and van Rossum distances per population, each
target's mapping report, the timing reports side by side (names and units of
hw.metrics), refusals; summary.txt, summary.json, distances.csv and raster_overlay.png."""

from __future__ import annotations

from pathlib import Path

from ..hw import metrics
from .compare import Comparison
from .output import json_text, mapping_lines, raster_png, write_result


def distance_lines(cmp: Comparison) -> list[str]:
    """Rate, van Rossum distance and spikes per population and target."""
    base = cmp.targets[0]
    lines = [f"van Rossum distances to {base} (tau = {cmp.tau:g} ms)",
             f"{'population':<16}{'target':<12}{'rate (Hz)':>10}{'vR mean':>10}"
             f"{'vR max':>9}{'spikes':>9}"]
    res = cmp.results[base]
    for pop, size in cmp.sizes.items():
        if pop not in res.spikes:
            continue
        n = len(res.spikes[pop])
        rate = 1000.0 * n / size / max(res.t_stop, 1e-12)
        lines.append(f"{pop:<16}{base:<12}{rate:>10.2f}{'-':>10}{'-':>9}{n:>9}")
        for t, rows in cmp.distances.items():
            for r in rows:
                if r.population == pop:
                    lines.append(f"{'':<16}{t:<12}{r.rate_b:>10.2f}{r.van_rossum_mean:>10.3f}"
                                 f"{r.van_rossum_max:>9.3f}{r.spikes_b:>9}")
    return lines


def timing_table(cmp: Comparison) -> list[str]:
    """The timing metrics of every target with a timing report, in the vocabulary's order
    with its units; "-" where a target has no such quantity."""
    timed = [t for t in cmp.targets if cmp.results[t].timing is not None]
    if not timed:
        return []
    reported = {k for t in timed for k in cmp.results[t].timing.metrics}
    for k in reported:
        metrics.unit(k)                # a name outside the vocabulary is an error naming it
    keys = [k for k in metrics.METRICS if k in reported]
    lines = [f"{'timing':<28}{'unit':<10}" + "".join(f"{t:>16}" for t in timed)]
    for k in keys:
        vals = [cmp.results[t].timing.metrics.get(k) for t in timed]
        lines.append(f"{k:<28}{metrics.unit(k):<10}" + "".join(
            f"{v:>16.6g}" if v is not None else f"{'-':>16}" for v in vals))
    return lines


def summary_lines(cmp: Comparison, timing: bool = True) -> list[str]:
    """The summary (summary.txt; the terminal's without `timing`): distances, mapping
    reports, timing, refusals."""
    lines = distance_lines(cmp) + [""]
    for t in cmp.targets:
        lines += mapping_lines(cmp.results[t])
    table = timing_table(cmp) if timing else []
    if table:
        lines += [""] + table
    if cmp.refused or cmp.unmatched:
        lines.append("")
        lines += [f"{t}: refused the network: {why}" for t, why in cmp.refused.items()]
        lines += [f"{t}: not compared: {why}" for t, why in cmp.unmatched.items()]
    return lines


def summary_dict(cmp: Comparison, script: str = "", wall_s: float | None = None) -> dict:
    """summary.json of a comparison: targets, tau, wall-clock seconds of all the runs,
    refusals, mapping reports, distances (with each target's rate)."""
    return {"script": script, "baseline": cmp.targets[0], "targets": cmp.targets,
            "van_rossum_tau_ms": cmp.tau, "wall_s": wall_s, "refused": cmp.refused,
            "unmatched": cmp.unmatched,
            "mapping": {t: None if r.mapping is None else r.mapping.to_dict()
                        for t, r in cmp.results.items()},
            "distances": {t: [vars(r).copy() for r in rows]
                          for t, rows in cmp.distances.items()}}


def write_comparison(cmp: Comparison, outdir: Path, title: str = "",
                     wall_s: float | None = None) -> list[Path]:
    """Each target's result files, the overlaid raster, the distance table (CSV) and the
    summary (text and JSON; `wall_s`: the wall-clock time of all the runs)."""
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for t, res in cmp.results.items():
        paths += write_result(res, outdir / t, title=f"{title} on {t}", sizes=cmp.sizes)
    shown = [t for t in cmp.targets if t not in cmp.unmatched]
    if any(cmp.results[t].spikes for t in shown):
        paths.append(raster_png(
            [cmp.results[t] for t in shown], outdir / "raster_overlay.png",
            title=f"{title}: {', '.join(shown)} (van Rossum tau = {cmp.tau:g} ms)",
            sizes=cmp.sizes))
    table = outdir / "distances.csv"
    with table.open("w") as f:
        f.write("target,population,rate_reference_hz,rate_target_hz,van_rossum_mean,"
                "van_rossum_max,spikes_reference,spikes_target,tau_ms\n")
        for t, rows in cmp.distances.items():
            for r in rows:
                f.write(f"{t},{r.population},{r.rate_a:.6g},{r.rate_b:.6g},"
                        f"{r.van_rossum_mean:.6g},{r.van_rossum_max:.6g},{r.spikes_a},"
                        f"{r.spikes_b},{cmp.tau:g}\n")
    paths.append(table)
    (outdir / "summary.txt").write_text("\n".join(summary_lines(cmp)) + "\n")
    (outdir / "summary.json").write_text(json_text(summary_dict(cmp, title, wall_s)))
    return paths + [outdir / "summary.txt", outdir / "summary.json"]
