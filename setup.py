"""Packages are listed here (the repository root is the package `neurocosim`), and the
.pth file that makes `pyNN.neurocosim` importable is placed at the root of the wheel."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

STAGES = ["hw", "emulator", "rtl", "sim", "host", "pynn_backend", "nirio"]
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
    def run(self):
        super().run()
        self.copy_file(PTH, os.path.join(self.build_lib, PTH), preserve_mode=0)

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH)]


setup(packages=find_packages(), cmdclass={"build_py": BuildWithPth})
