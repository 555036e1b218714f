"""The network of a sweep, built once in the driver: from a builder, a saved file or PyNN."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Iterator

from ...hw import serialize
from ...hw.image import HardwareImage
from ...hw.ir import Network
from ..scripts import run_pynn_script
from .config import NetworkSource, SweepError


@contextlib.contextmanager
def search_path(*dirs: "str | Path") -> Iterator[None]:
    """Temporarily put `dirs` first on sys.path (a builder next to the sweep file)."""
    added = [str(d) for d in dirs if str(d) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for d in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(d)


def load_builder(path: str, base_dir: Path) -> Any:
    """The function named by "module:function" (looked up next to the sweep file and in
    the current folder too) or by "file.py:function" (relative to the sweep file)."""
    module, _, attr = path.rpartition(":")
    if module.endswith(".py"):
        file = (base_dir / module).resolve()
        if not file.is_file():
            raise SweepError(f"network.builder = {path!r}: file {file} not found")
        spec = importlib.util.spec_from_file_location(f"_sweep_builder_{file.stem}", file)
        mod = importlib.util.module_from_spec(spec)
        with search_path(file.parent):
            try:
                spec.loader.exec_module(mod)
            except Exception as exc:
                raise SweepError(f"network.builder = {path!r}: importing {file} failed "
                                 f"({type(exc).__name__}: {exc})") from None
        module = str(file)
    else:
        with search_path(base_dir, os.getcwd()):
            try:
                mod = importlib.import_module(module)
            except ImportError as exc:
                raise SweepError(f"network.builder = {path!r}: cannot import {module!r} "
                                 f"({exc})") from None
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise SweepError(f"network.builder = {path!r}: module {module!r} has no "
                         f"{attr!r}") from None


def load_network(source: NetworkSource, base_dir: Path) -> tuple[Network, float | None]:
    """The network IR and, for a PyNN script, the time it ran (ms) as default duration."""
    if source.builder is not None:
        fn = load_builder(source.builder, base_dir)
        try:
            net = fn(**source.kwargs)
        except TypeError as exc:
            raise SweepError(f"network.builder {source.builder}: bad kwargs "
                             f"{sorted(source.kwargs)} ({exc})") from None
        if not isinstance(net, Network):
            raise SweepError(f"network.builder {source.builder} returned a "
                             f"{type(net).__name__}, not a Network")
        return net, None
    if source.image is not None:
        try:
            obj, _ = serialize.load(source.image)
        except (OSError, ValueError, KeyError) as exc:
            raise SweepError(f"network.image {source.image}: not a neurocosim file "
                             f"({exc})") from None
        if isinstance(obj, HardwareImage):
            return obj.network, None
        if isinstance(obj, Network):
            return obj, None
        raise SweepError(f"network.image {source.image} holds a {type(obj).__name__}, "
                         "not a network or image")
    return _network_from_pynn(source.pynn, source.args)


def _network_from_pynn(script: Path, args: tuple[str, ...]) -> tuple[Network, float]:
    """Run a PyNN script on the float reference and keep the network of its first run."""
    from ...pynn_backend import simulator

    status = run_pynn_script(script, "reference", list(args))
    if status != 0:
        raise SweepError(f"network.pynn {script} exited with status {status}")
    state = simulator.state
    if state.image is None:
        raise SweepError(f"network.pynn {script} never called run(): no network to sweep")
    return state.image.network, float(state.t)
