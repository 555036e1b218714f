"""Packages are listed here (the repository root is the package `neurocosim`), and the
.pth file that makes `pyNN.neurocosim` importable is placed at the root of the wheel:
`pip install .` and `pip install -e .` alike (tests/test_install.py)."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

STAGES = ["hw", "emulator", "rtl", "sim", "host", "pynn_backend"]
PTH = "neurocosim_pynn.pth"


def find_packages():
    out = ["neurocosim"]
    for stage in STAGES:
        for root, dirs, files in os.walk(stage):
            dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
            if "__init__.py" in files:
                out.append("neurocosim." + root.replace(os.sep, "."))
    return out


class BuildWithPth(build_py):
    """build_py that also puts the .pth at the wheel's root. A wheel's root is build_lib;
    an editable wheel leaves out build_lib (its modules stay in the checkout) and is made
    from the install tree setuptools prepares for it (`install_lib`), so the .pth goes
    there. (Data files would not do: an editable install leaves them out.)"""

    def run(self):
        super().run()
        root = (self.get_finalized_command("install").install_lib if self.editable_mode
                else self.build_lib)
        self.copy_file(PTH, os.path.join(root, PTH), preserve_mode=0)

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH)]


setup(packages=find_packages(), cmdclass={"build_py": BuildWithPth})
