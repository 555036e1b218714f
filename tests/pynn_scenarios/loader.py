"""Fetches PyNN 0.13.0's own system scenarios (from its sdist on PyPI) and loads them with
a `fixtures` module that runs every scenario against neurocosim only.

The scenarios are PyNN's code: they are downloaded at test time into .cache/, never copied
into this repository.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import tarfile
import types
from pathlib import Path

import pytest

PYNN_VERSION = "0.13.0"
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / f"pynn-{PYNN_VERSION}"
SCENARIOS = CACHE / f"pynn-{PYNN_VERSION}" / "test" / "system" / "scenarios"
EXAMPLES = CACHE / f"pynn-{PYNN_VERSION}" / "examples"
PACKAGE = "pynn_system_scenarios"


def fetch() -> Path:
    """Download and unpack the PyNN sdist once; returns the scenarios folder."""
    if SCENARIOS.is_dir() and EXAMPLES.is_dir():
        return SCENARIOS
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--no-binary", ":all:", f"pynn=={PYNN_VERSION}", "-d", str(CACHE)],
                   check=True)
    sdist = next(CACHE.glob("pynn-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers()
                   if "/test/system/scenarios/" in m.name or "/examples/" in m.name]
        tar.extractall(CACHE, members=members, filter="data")
    return SCENARIOS


def _fixtures_module() -> types.ModuleType:
    """Replacement for the scenarios' `fixtures`: every scenario gets pyNN.neurocosim."""
    mod = types.ModuleType(f"{PACKAGE}.fixtures")

    def run_with_simulators(*sim_names):
        def mark(func):
            func._neurocosim_scenario = sim_names
            return func
        return mark

    mod.run_with_simulators = run_with_simulators
    return mod


def load_scenarios() -> list[tuple[str, object]]:
    """[(module.function, function)] of every scenario PyNN marks for some simulator."""
    folder = fetch()
    if PACKAGE not in sys.modules:
        pkg = types.ModuleType(PACKAGE)
        pkg.__path__ = [str(folder)]
        sys.modules[PACKAGE] = pkg
        sys.modules[f"{PACKAGE}.fixtures"] = _fixtures_module()
    found = []
    for path in sorted(folder.glob("test_*.py")):
        module = importlib.import_module(f"{PACKAGE}.{path.stem}")
        for name, obj in vars(module).items():
            if name.startswith("test") and callable(obj) and \
                    hasattr(obj, "_neurocosim_scenario") and \
                    getattr(obj, "__module__", "") == module.__name__:
                found.append((f"{path.stem}.{name}", obj))
    return found
