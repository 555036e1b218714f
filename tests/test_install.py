"""`pip install .` and `pip install -e .` both make `pyNN.neurocosim` importable.

A fresh virtual environment (no system site-packages) gets a copy of the checkout, installed
offline (`--no-deps --no-build-isolation`); the dependencies (PyNN, numpy, setuptools,
wheel, ...) come from the environment running the tests, appended to the fresh one's path
by a .pth line (a path line does not run that environment's own .pth files, so its
neurocosim install plays no part). Then a new interpreter imports `pyNN.neurocosim` and
must find it in the copy (editable) or in the fresh site-packages (regular).
"""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__",
                              "Results", "results", "out", "sim_build", ".hypothesis",
                              ".pytest_cache", "*.results")
PROBE = ("import neurocosim, neurocosim.pynn_backend as nb, pyNN.neurocosim as b; "
         "print(neurocosim.__file__, b is nb, b.__file__)")


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Path, Path]:
    """(python of a fresh venv that sees this environment's packages, copy of the repo)."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)
    env = tmp_path / "env"
    venv.create(env, with_pip=False, system_site_packages=False)
    python = env / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "_tests_parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, src


def _install_and_probe(python: Path, src: Path, *args: str) -> list[str]:
    pip = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps",
                          "--no-build-isolation", *args, str(src)],
                         capture_output=True, text=True, cwd=src.parent)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    probe = subprocess.run([python, "-c", PROBE], capture_output=True, text=True,
                           cwd=src.parent)            # not the checkout: no implicit path
    assert probe.returncode == 0, probe.stderr
    return probe.stdout.split()


def test_editable_install_makes_the_pynn_backend_importable(fresh):
    python, src = fresh
    pkg, alias, backend = _install_and_probe(python, src, "-e")
    assert alias == "True"                                   # pyNN.neurocosim is the backend
    assert Path(pkg) == src / "__init__.py"                  # editable: the checkout itself
    assert Path(backend) == src / "pynn_backend" / "__init__.py"


def test_regular_install_makes_the_pynn_backend_importable(fresh):
    python, src = fresh
    pkg, alias, backend = _install_and_probe(python, src)
    assert alias == "True"
    site = Path(python).parents[1]
    assert Path(pkg).is_relative_to(site) and not Path(pkg).is_relative_to(src)
    assert Path(backend).parent == Path(pkg).parent / "pynn_backend"

