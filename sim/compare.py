"""Run one PyNN script on several targets and measure how far each is from the first."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..hw.errors import NeurocosimError
from ..hw.result import Result
from ..hw.targets import get_target
from .metrics import PopulationComparison, compare_results
from .output import raster_png, write_result
from .scripts import run_pynn_script


@dataclass
class Comparison:
    """Results of one script per target, and each target's distance to the first."""

    targets: list[str]
    results: dict[str, Result]
    sizes: dict[str, int]
    distances: dict[str, list[PopulationComparison]] = field(default_factory=dict)
    #: targets after the first that could not take the network, with their reason
    refused: dict[str, str] = field(default_factory=dict)


def run_script(script: Path, target: str, argv: "list[str] | None" = None,
               quiet: bool = True) -> tuple[Result, dict[str, int]]:
    """Run an unchanged PyNN script on `target`; its Result and population sizes."""
    from ..pynn_backend.simulator import state
    get_target(target)
    status = run_pynn_script(script, target, argv, quiet)
    if status != 0:
        raise RuntimeError(f"{script} exited with status {status} on {target}")
    result = state.result()
    if result is None:
        raise RuntimeError(f"{script} ran no simulation on {target}")
    sizes = {p.name: p.size for p in state.image.network.populations}
    return result, sizes


def compare_script(script: Path, targets: list[str], argv=None, tau: float = 10.0,
                   quiet: bool = True) -> Comparison:
    """Run `script` on every target; distances are measured against targets[0]. A later
    target that refuses the network (a model it lacks, a limit it breaks) is recorded in
    `refused` with its reason, and the others are still compared."""
    for t in targets:
        get_target(t)                  # an unknown name fails before anything runs
    results, refused = {}, {}
    results[targets[0]], sizes = run_script(script, targets[0], argv, quiet)
    for t in targets[1:]:
        try:
            results[t], _ = run_script(script, t, argv, quiet)
        except NeurocosimError as exc:
            refused[t] = str(exc)
    ran = [t for t in targets if t in results]
    cmp = Comparison(ran, results, sizes, refused=refused)
    base = results[targets[0]]
    for t in ran[1:]:
        cmp.distances[t] = compare_results(base, results[t], sizes, tau)
    return cmp


def summary_lines(cmp: Comparison) -> list[str]:
    """A terminal table: rates and distances per population, then timing side by side."""
    base = cmp.targets[0]
    lines = [f"{'population':<16}{'target':<12}{'rate (Hz)':>10}{'vR mean':>10}"
             f"{'vR max':>9}{'spikes':>9}"]
    for pop in cmp.sizes:
        res = cmp.results[base]
        if pop not in res.spikes:
            continue
        n = len(res.spikes[pop])
        rate = 1000.0 * n / cmp.sizes[pop] / max(res.t_stop, 1e-12)
        lines.append(f"{pop:<16}{base:<12}{rate:>10.2f}{'-':>10}{'-':>9}{n:>9}")
        for t, rows in cmp.distances.items():
            for r in rows:
                if r.population == pop:
                    lines.append(f"{'':<16}{t:<12}{r.rate_b:>10.2f}{r.van_rossum_mean:>10.3f}"
                                 f"{r.van_rossum_max:>9.3f}{r.spikes_b:>9}")
    timed = [t for t in cmp.targets if cmp.results[t].timing is not None]
    if timed:
        keys = sorted({k for t in timed for k in cmp.results[t].timing.metrics})
        lines.append("")
        lines.append(f"{'timing':<32}" + "".join(f"{t:>16}" for t in timed))
        for k in keys:
            vals = [cmp.results[t].timing.metrics.get(k) for t in timed]
            lines.append(f"{k:<32}" + "".join(f"{v:>16.6g}" if v is not None else f"{'-':>16}"
                                              for v in vals))
    if cmp.refused:
        lines.append("")
        lines += [f"{t}: refused the network: {why}" for t, why in cmp.refused.items()]
    return lines


def write_comparison(cmp: Comparison, outdir: Path, title: str = "") -> list[Path]:
    """Each target's result files, the overlaid raster and the distance table (CSV)."""
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for t, res in cmp.results.items():
        paths += write_result(res, outdir / t, title=f"{title} on {t}")
    paths.append(raster_png([cmp.results[t] for t in cmp.targets], outdir / "raster_overlay.png",
                            title=title))
    table = outdir / "distances.csv"
    with table.open("w") as f:
        f.write("target,population,rate_reference_hz,rate_target_hz,van_rossum_mean,"
                "van_rossum_max,spikes_reference,spikes_target\n")
        for t, rows in cmp.distances.items():
            for r in rows:
                f.write(f"{t},{r.population},{r.rate_a:.6g},{r.rate_b:.6g},"
                        f"{r.van_rossum_mean:.6g},{r.van_rossum_max:.6g},{r.spikes_a},"
                        f"{r.spikes_b}\n")
    paths.append(table)
    (outdir / "summary.txt").write_text("\n".join(summary_lines(cmp)) + "\n")
    paths.append(outdir / "summary.txt")
    return paths
