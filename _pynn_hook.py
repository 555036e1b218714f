"""Makes `pyNN.neurocosim` importable as an alias of `neurocosim.pynn_backend`.

Installed through a .pth file, so that PyNN's own scripts (`python x.py neurocosim`) find
the backend without files copied into PyNN. Cheap at start-up: it imports nothing until
`pyNN.neurocosim` is asked for.
"""

import importlib
import importlib.abc
import importlib.util
import sys

_ALIAS = "pyNN.neurocosim"
_TARGET = "neurocosim.pynn_backend"


class _AliasLoader(importlib.abc.Loader):
    def create_module(self, spec):
        module = importlib.import_module(_TARGET)
        sys.modules[_ALIAS] = module
        return module

    def exec_module(self, module):
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != _ALIAS:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader())


def install() -> None:
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
