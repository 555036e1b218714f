"""Sweeps on Ray (2 workers): results, failures as rows, resume, determinism, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from neurocosim.host.cli import main as cli
from neurocosim.sim.sweep import (VOLATILE, SweepError, load_config, ray_session,
                                  read_results, run_sweep)

TESTS = Path(__file__).resolve().parent

SWEEP = """
[sweep]
imports = ["sweep_toy"]
target = "toy"
reference = "toy"
duration = 60.0
{extra}
[network]
builder = "sweep_toy:tiny_network"
kwargs = {{ n = 12 }}
[axes]
neurons_per_core = [1, 2, 4]
jitter_ms = {{ start = 0.0, stop = 1.5, step = 0.5 }}
"""


def write_sweep(tmp_path: Path, name: str = "s", extra: str = "") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(SWEEP.format(extra=extra))
    # the worker imports the toy target from next to the sweep file, as a user's would
    (tmp_path / "sweep_toy.py").write_text((TESTS / "sweep_toy.py").read_text())
    return path


def compared(table):
    return table.drop_columns([c for c in VOLATILE if c in table.column_names])


@pytest.fixture(scope="module")
def ray2():
    with ray_session(workers=2) as cpus:
        yield cpus


@pytest.fixture
def ray_address(ray2):
    import ray
    return ray.get_runtime_context().gcs_address


def test_sweep_on_ray_records_every_point_and_failures(ray2, tmp_path):
    assert ray2 == 2
    config = load_config(write_sweep(tmp_path))
    summary = run_sweep(config, progress=False)
    assert (summary.points, summary.ran, summary.skipped) == (12, 12, 0)
    table = pq.read_table(summary.table)
    rows = table.to_pylist()
    assert [r["point_id"] for r in rows] == list(range(12))
    # 16 neurons at 1 per core need 16 cores, the toy chip has 8: those points fail as rows
    failed = [r for r in rows if r["status"] != "ok"]
    assert summary.failed == len(failed) == 4
    assert all(r["neurons_per_core"] == 1 for r in failed)
    assert all(r["error"] == "LimitError: cores: needs 16, the target allows 8 "
                             "(16 neurons at 1 per core)" for r in failed)
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(r["error"] is None and r["latency_ns"] > 0 for r in ok)
    # the reference is the toy at jitter 0: those points match it exactly, others do not
    for r in ok:
        assert (r["van_rossum"] == 0) == (r["jitter_ms"] == 0)
    assert (tmp_path / "s.results" / "results.csv").is_file()


def test_same_file_same_table_on_ray_and_serially(ray2, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = run_sweep(load_config(write_sweep(tmp_path / "a", "s")), progress=False)
    b = run_sweep(load_config(write_sweep(tmp_path / "b", "s")), executor="serial",
                  progress=False)
    ta, tb = compared(pq.read_table(a.table)), compared(pq.read_table(b.table))
    assert ta.column_names == tb.column_names
    assert ta.equals(tb)


def test_resume_runs_only_the_missing_points(ray2, tmp_path):
    config = load_config(write_sweep(tmp_path))
    first = run_sweep(config, progress=False, limit=5)  # an interrupted sweep
    assert first.ran == 5
    parts = sorted((tmp_path / "s.results" / "parts").glob("*.parquet"))
    assert len(parts) == 5
    stamps = {p.name: p.stat().st_mtime_ns for p in parts}
    second = run_sweep(config, progress=False)
    assert (second.ran, second.skipped) == (7, 5)
    for p in parts:  # finished points were not run again
        assert p.stat().st_mtime_ns == stamps[p.name]
    full = compared(pq.read_table(second.table))
    # losing parts (a crash) and resuming gives the same table
    for p in parts[:3]:
        p.unlink()
    third = run_sweep(config, progress=False)
    assert (third.ran, third.skipped) == (3, 9)
    assert compared(pq.read_table(third.table)).equals(full)
    assert run_sweep(config, progress=False).ran == 0


def test_retry_failed_and_other_sweep_in_same_folder(ray2, tmp_path):
    config = load_config(write_sweep(tmp_path))
    run_sweep(config, progress=False)
    again = run_sweep(config, progress=False, retry_failed=True)
    assert again.ran == again.failed == 4
    other = load_config(write_sweep(tmp_path, extra="van_rossum_tau = 3.0"))
    with pytest.raises(SweepError, match="holds another sweep.*van_rossum_tau"):
        run_sweep(other, progress=False)
    assert run_sweep(other, progress=False, fresh=True).ran == 12


def test_killed_sweep_resumes(tmp_path, ray_address):
    """Kill the command (joined to a running cluster with --address) mid-way with SIGKILL;
    the next run finishes only the rest."""
    path = write_sweep(tmp_path, extra="")
    text = path.read_text().replace("[network]", "[target]\nsleep_s = 0.3\n[network]")
    path.write_text(text)
    parts = tmp_path / "s.results" / "parts"
    cmd = [sys.executable, "-m", "neurocosim.host.cli", "sweep", str(path), "--address",
           ray_address, "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if parts.is_dir() and len(list(parts.glob("*.parquet"))) >= 5:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver (the cluster is the fixture's)
        proc.wait()
    done = len(list(parts.glob("*.parquet")))
    assert 5 <= done < 12, proc.stderr.read().decode()[-2000:]
    config = load_config(path)
    summary = run_sweep(config, executor="serial", progress=False)
    assert (summary.ran, summary.skipped) == (12 - done, done)
    assert pq.read_table(summary.table).num_rows == 12


def test_cli_sweep_and_report(tmp_path, capsys):
    path = write_sweep(tmp_path)
    assert cli(["sweep", str(path), "--serial", "--quiet"]) == 0
    assert "12 points: 12 run now (4 failed)" in capsys.readouterr().out
    assert cli(["sweep", str(path), "--list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[-1].startswith("12 points (grid), 12 done")
    assert listing[0].split()[0] == "0" and listing[0].split()[2] == "done"
    results = tmp_path / "s.results"
    assert cli(["sweep-report", str(results)]) == 0
    report = results / "report"
    pngs = {p.name for p in report.glob("*.png")}
    assert {"latency_ns.png", "energy_pJ.png", "van_rossum.png",
            "pareto_latency_energy.png"} <= pngs
    text = (report / "summary.md").read_text()
    assert "12 points: 8 ran, 4 failed." in text
    table = read_results(results).to_pylist()
    ok = [r for r in table if r["status"] == "ok"]
    best = min(ok, key=lambda r: (r["latency_ns"], r["point_id"]))
    assert (f"| latency_ns (lowest) | {best['latency_ns']:.4g} | {best['point_id']} |"
            in text)
    assert "LimitError: cores: needs 16" in text
    assert cli(["sweep-report", str(tmp_path / "nothing")]) == 2
    png = tmp_path / "vr.png"
    assert cli(["sweep-report", str(results), "--plot", "rate_exc_Hz", "--x", "jitter_ms",
                "--by", "neurons_per_core", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli(["sweep-report", str(results), "--plot", "rate_exc_Hz", "--x", "hue"]) == 2


LOIHI_SWEEP = """
[sweep]
target = "loihi"
duration = 100.0
[network]
builder = "{root}/benchmarks/networks.py:build_cuba"
kwargs = {{ n = 48, timestep = 1.0, p_connect = 0.2 }}
[axes]
compartments_per_core = [4, 16, 64]
cores_per_chip = [4, 128]
"""


def test_cuba_on_loihi_variants(ray2, tmp_path):
    path = tmp_path / "loihi.toml"
    path.write_text(LOIHI_SWEEP.format(root=TESTS.parent))
    summary = run_sweep(load_config(path), progress=False)
    rows = pq.read_table(summary.table).to_pylist()
    assert len(rows) == 6
    too_small = {(4, 4), (16, 4)}  # 48 cells on 4 cores of 4 or 16 compartments
    for r in rows:
        small = (r["compartments_per_core"], r["cores_per_chip"]) in too_small
        assert (r["status"] == "error") == small, r["error"]
        if small:
            assert r["error"].startswith("LimitError: cores: needs ")
            assert "the target allows 4" in r["error"]
        else:
            assert 48 / r["compartments_per_core"] <= r["n_cores"] <= r["cores_per_chip"]
            assert 0 <= r["quant_weight_max_rel_error"] < 0.05
            assert r["spikes_total"] > 0 and r["count_corr"] == r["count_corr"]
            assert r["step_mean_ns"] > 0 and r["energy_total_pJ"] > 0  # timing report
    # how the cells are spread over cores does not change what a barrier-synchronised
    # chip computes: every variant that fits fires the same spikes
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 4
    assert len({(r["spikes_total"], r["van_rossum"], r["rate_cuba_Hz"]) for r in ok}) == 1
