"""A 200-point design-space sweep of CUBA variants: points per minute on Ray (2 workers)
against a plain sequential loop over the same points in this script, and Ray's overhead
per point.

    python benchmarks/sweep.py [--sweep examples/sweeps/cuba_loihi.toml] [--points 200]
                               [--n 400] [--duration 200] [--workers 2] [--no-timing]

The sweep file's axes are sampled at random (seeded) to --points points; --n and
--duration shrink the network and the run so the whole benchmark takes minutes (the
numbers printed say which were used). Both runs do the same work per point
(evaluate_point: variant, compile, run, timing and fidelity metrics); the Ray run also
writes its Parquet parts and the combined table, as a real sweep does.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    """The warm-up, the plain loop, the Ray run, then the comparison of the two."""
    args = _parse_args()
    config, points = _configure(args)
    _warm_up(config, points)
    rows, t_setup, t_loop = _plain_loop(config, points)
    t_start, t_ray, ray_in_task, ray_rows = _ray_run(config, args.workers)
    same = all(_same_row(ray_rows[r["key"]], r) for r in rows)
    _print_timings(args.workers, len(points), rows, t_setup, t_loop, t_start, t_ray,
                   ray_in_task, same)


def _parse_args() -> argparse.Namespace:
    """The command line (the module docstring lists it)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", type=Path, default=ROOT / "examples/sweeps/cuba_loihi.toml")
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--n", type=int, default=None, help="CUBA network size (builder kwarg n)")
    ap.add_argument("--duration", type=float, default=None, help="ms per point")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-timing", action="store_true",
                    help="run the emulator without its timing model (run option timing=false)")
    return ap.parse_args()


def _configure(args: argparse.Namespace) -> tuple:
    """The sweep file with the command line's overrides, and its points (printed)."""
    from neurocosim.sim.sweep import expand_points, load_config

    config = load_config(args.sweep)
    config.sampling, config.samples = "random", args.points
    if args.n is not None:
        config.network.kwargs = dict(config.network.kwargs, n=args.n)
    if args.duration is not None:
        config.duration = args.duration
    if args.no_timing:
        config.run_options = dict(config.run_options, timing=False)
    points = expand_points(config)
    print(f"sweep {args.sweep.name}: target {config.target}, {len(points)} points "
          f"(random, seed {config.seed}) over {', '.join(a.name for a in config.axes)}; "
          f"network {config.network.builder} {config.network.kwargs}, "
          f"{config.duration} ms per point, run options {config.run_options}; "
          f"{os.cpu_count()} CPUs on this machine")
    return config, points


def _warm_up(config, points: list) -> None:
    """Untimed: Numba compiles (or loads from its cache) every kernel once, so neither run
    pays compilation (Ray's workers still load the caches: overhead)."""
    from neurocosim.sim.sweep import evaluate_point
    from neurocosim.sim.sweep.evaluate import SweepTask, reference_run
    from neurocosim.sim.sweep.network_source import load_network

    network, _ = load_network(config.network, config.base_dir)
    task = SweepTask.from_config(config, config.duration)
    warm_ref = reference_run(task, network)
    ok = 0
    for p in points[:20]:
        ok += evaluate_point(task, network, warm_ref, p)["status"] == "ok"
        if ok == 2:
            break


def _plain_loop(config, points: list) -> tuple[list[dict], float, float]:
    """The peer: a plain sequential loop in this process; its rows, the seconds of network
    build + reference run, and the seconds in all."""
    from neurocosim.sim.sweep import evaluate_point
    from neurocosim.sim.sweep.evaluate import SweepTask, reference_run
    from neurocosim.sim.sweep.network_source import load_network

    t0 = time.perf_counter()
    network, _ = load_network(config.network, config.base_dir)
    task = SweepTask.from_config(config, config.duration)
    reference = reference_run(task, network)
    t_setup = time.perf_counter() - t0
    rows = [evaluate_point(task, network, reference, p) for p in points]
    t_loop = time.perf_counter() - t0
    failed = sum(r["status"] != "ok" for r in rows)
    print(f"network {network.size} neurons, "
          f"{sum(p.size for p in network.projections)} synapses; "
          f"{failed} of {len(rows)} points fail (recorded as rows)")
    return rows, t_setup, t_loop


def _ray_run(config, workers: int) -> tuple[float, float, float, dict[str, dict]]:
    """The same sweep on Ray into a scratch folder: seconds of Ray start-up and of the run,
    the points' compile + run seconds in the workers, and the stored rows by key (timing
    columns left out)."""
    import pyarrow.parquet as pq

    from neurocosim.sim.sweep import VOLATILE, ray_session, run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        config.output = Path(tmp) / "results"
        t0 = time.perf_counter()
        with ray_session(workers=workers):
            t_start = time.perf_counter() - t0
            t1 = time.perf_counter()
            summary = run_sweep(config, workers=workers, progress=False)
            t_ray = time.perf_counter() - t1
        got = pq.read_table(summary.table)
    ray_in_task = sum(a + b for a, b in zip(got.column("seconds_compile").to_pylist(),
                                            got.column("seconds_run").to_pylist()))
    got = got.drop_columns([c for c in VOLATILE if c in got.column_names])
    return t_start, t_ray, ray_in_task, {r["key"]: r for r in got.to_pylist()}


def _print_timings(workers: int, n: int, rows: list[dict], t_setup: float, t_loop: float,
                   t_start: float, t_ray: float, ray_in_task: float, same: bool) -> None:
    """Points per minute of both runs, the speed-up, Ray's overhead per point, and the
    machine's load (which bounds the speed-up)."""
    in_task = sum(r["seconds_compile"] + r["seconds_run"] for r in rows)
    per_point = in_task / n
    # worker time the Ray run had, less the points' own compile + run (as measured in the
    # workers) and the one-off network build + reference run (as measured in the loop)
    overhead = (t_ray * workers - ray_in_task - t_setup) / n
    print(f"plain loop:   {t_loop:7.1f} s ({t_setup:.1f} s network + reference), "
          f"{60 * n / t_loop:7.1f} points/min, {per_point * 1e3:.1f} ms of work per point")
    print(f"Ray x{workers}:       {t_ray:7.1f} s (+ {t_start:.1f} s Ray start-up), "
          f"{60 * n / t_ray:7.1f} points/min ({60 * n / (t_ray + t_start):.1f} with "
          "start-up)")
    print(f"speed-up:     {t_loop / t_ray:.2f}x ({t_loop / (t_ray + t_start):.2f}x with "
          f"start-up), target about {workers}x")
    print(f"overhead:     {overhead * 1e3:.1f} ms per point of worker time beyond the "
          "point's own compile + run (scheduling, transfer, Parquet, combine, idle "
          f"workers at the start and end); points took {ray_in_task / n * 1e3:.1f} ms "
          f"each in the Ray workers, {per_point * 1e3:.1f} ms in the loop")
    print(f"same rows on Ray and in the loop (timing columns left out): {same}")
    load = os.getloadavg()
    print(f"machine load average now {load[0]:.1f} (5 min {load[1]:.1f}) on "
          f"{os.cpu_count()} CPUs: a point's own work took "
          f"{ray_in_task / max(in_task, 1e-9):.2f}x as long in a Ray worker as in the loop; "
          "above 1, other processes shared the cores and the speed-up is bounded by that")


def _same_row(stored: dict, row: dict) -> bool:
    """A row as the loop made it equals the row Ray's sweep stored (timing left out)."""
    from neurocosim.sim.sweep.store import VOLATILE, as_cell
    return all(stored.get(k) == as_cell(v) for k, v in row.items() if k not in VOLATILE)


if __name__ == "__main__":
    main()
