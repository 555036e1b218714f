"""Run a sweep: points as independent Ray tasks (or in-process), rows stored as they finish.

Ray runs as a quiet embedded local instance by default (no dashboard, logs in a temporary
folder), or joins a running cluster with `address`. The network and the reference run are
put in Ray's object store once and shared by every point.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .config import SweepConfig, SweepError
from .evaluate import SweepTask, evaluate_point, reference_run
from .network_source import load_network
from .points import Point, expand_points
from .progress import Progress
from .store import ResultStore


@dataclass
class SweepSummary:
    """What a run of `run_sweep` did."""

    points: int
    ran: int
    skipped: int
    failed: int
    table: Path | None
    seconds: float


@contextlib.contextmanager
def ray_session(address: "str | None" = None, workers: "int | None" = None
                ) -> Iterator[int]:
    """Ray for the duration of the block; yields the number of CPUs it can use.

    Reuses an already initialised Ray (tests, notebooks) and leaves it running; otherwise
    starts a local instance (or joins `address`) and shuts it down afterwards.
    """
    import ray

    if ray.is_initialized():
        yield max(1, int(ray.cluster_resources().get("CPU", 1)))
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    tmp = None
    if address:
        _check_reachable(address)
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except (ConnectionError, ValueError) as exc:
            raise SweepError(f"--address {address}: cannot join a Ray cluster there "
                             f"({exc})") from None
    else:
        workers = workers or os.cpu_count() or 1
        tmp = tempfile.mkdtemp(prefix="ncs-ray-")
        ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR,
                 log_to_driver=False, _temp_dir=tmp, object_store_memory=512 * 1024 ** 2)
    try:
        yield max(1, int(ray.cluster_resources().get("CPU", 1)))
    finally:
        ray.shutdown()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _check_reachable(address: str) -> None:
    """Fail at once on a "host:port" nobody listens on (Ray itself retries for minutes)."""
    import socket
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # "auto", "ray://..." and the like: left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise SweepError(f"--address {address}: no Ray cluster answers there ({exc}); "
                         "`ray start --head` prints the address to use, \"auto\" finds a "
                         "cluster started on this machine") from None


def _ray_point(task: SweepTask, network, reference, point: Point) -> dict[str, Any]:
    return evaluate_point(task, network, reference, point)


def _ray_reference(task: SweepTask, network):
    return reference_run(task, network)


def _ray_warm(task: SweepTask) -> int:
    """Import the target's compiler and runner in a worker, and load the fidelity kernel
    (a Numba kernel's first call in a process costs about half a second)."""
    import numpy as np

    from ...hw.compiler import load_entry
    from ..metrics import van_rossum
    van_rossum(np.array([1.0, 2.0]), np.array([1.5]), 10.0)
    spec = task.build(task.spec)
    load_entry(spec.compiler)
    load_entry(spec.runner)
    return os.getpid()


def _failed_keys(store: ResultStore, keys: set[str]) -> set[str]:
    import pyarrow.parquet as pq
    return {k for k in keys
            if pq.read_table(store.parts / f"{k}.parquet",
                             columns=["status"]).column(0)[0].as_py() != "ok"}


def run_sweep(config: SweepConfig, address: "str | None" = None,
              workers: "int | None" = None, executor: str = "ray", fresh: bool = False,
              retry_failed: bool = False, progress: bool = True,
              limit: "int | None" = None) -> SweepSummary:
    """Run the points of `config` that have no row yet, then write the combined table.

    executor "ray" (default) or "serial" (in this process, for debugging and as the
    benchmark's peer). `limit` stops after that many new points (a partial run).
    """
    if executor not in ("ray", "serial"):
        raise SweepError(f"executor {executor!r}: expected \"ray\" or \"serial\"")
    if workers is not None and workers < 1:
        raise SweepError(f"workers = {workers}: need at least 1")
    start = time.perf_counter()
    points = expand_points(config)
    store = ResultStore(config.output)
    store.open(config.fingerprint(), config.name, fresh=fresh,
               axes=[a.name for a in config.axes], report=config.report)
    done = store.done_keys()
    if retry_failed:
        done -= _failed_keys(store, done & {p.key for p in points})
    todo = [p for p in points if p.key not in done]
    if limit is not None:
        todo = todo[:limit]
    already = sum(p.key in done for p in points)
    bar = Progress(already + len(todo), skipped=already, enabled=progress)
    failed = 0
    if todo:
        network, script_duration = load_network(config.network, config.base_dir)
        duration = config.duration if config.duration is not None else script_duration
        task = SweepTask.from_config(config, duration)
        if executor == "serial":
            bar.draw()
            try:
                reference = reference_run(task, network)
            except Exception as exc:
                raise SweepError(f"the reference run on {config.reference!r} failed: "
                                 f"{exc!r}") from exc
            for p in todo:
                row = evaluate_point(task, network, reference, p)
                store.write(row)
                failed += row["status"] != "ok"
                bar.update(row["status"] != "ok")
        else:
            failed = _run_on_ray(config, task, network, todo, store, bar, address, workers)
        bar.close()
    ids = {p.key: p.point_id for p in points}
    table = None
    if store.done_keys() & set(ids):
        table = store.write_combined(store.combine(ids, [a.name for a in config.axes]))
    return SweepSummary(points=len(points), ran=len(todo), skipped=already,
                        failed=failed, table=table, seconds=time.perf_counter() - start)


def _run_on_ray(config: SweepConfig, task: SweepTask, network, todo: list[Point],
                store: ResultStore, bar: Progress, address: "str | None",
                workers: "int | None") -> int:
    import ray

    failed = 0
    with ray_session(address, workers) as cpus:
        point_fn = ray.remote(num_cpus=1, max_retries=0)(_ray_point)
        net_ref = ray.put(network)
        # workers import the target's modules while the reference runs (errors show later)
        warm = [ray.remote(num_cpus=1, max_retries=0)(_ray_warm).remote(task)
                for _ in range(min(cpus, len(todo)))]
        ref_ref = None
        if task.reference is not None:
            ref_ref = ray.remote(num_cpus=1, max_retries=0)(_ray_reference).remote(
                task, net_ref)
            try:  # the baseline failing is the sweep failing: say so before any point runs
                ray.get(ref_ref)
            except ray.exceptions.RayTaskError as exc:
                raise SweepError(f"the reference run on {config.reference!r} failed: "
                                 f"{exc.cause!r}") from None
        ray.wait(warm, num_returns=len(warm))
        bar.restart()
        bar.draw()
        window = 2 * (workers or cpus)
        pending: dict[Any, Point] = {}
        queue = list(todo)
        while queue or pending:
            while queue and len(pending) < window:
                p = queue.pop(0)
                pending[point_fn.remote(task, net_ref, ref_ref, p)] = p
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                p = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except ray.exceptions.RayError as exc:  # worker died (memory, crash)
                    row = {"point_id": p.point_id, "key": p.key, "status": "error",
                           "error": f"{type(exc).__name__}: {exc}"[:2000], **p.params}
                store.write(row)
                failed += row["status"] != "ok"
                bar.update(row["status"] != "ok")
    return failed
