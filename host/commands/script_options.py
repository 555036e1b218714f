"""The options `run` and `compare` share: target settings (`--set`, `--port`), strict
mapping (`--strict`) and `--debug`, and the parsing of `--set NAME=VALUE`."""

from __future__ import annotations

import argparse
from typing import Any
from pathlib import Path

from ...hw.errors import TargetError


def add_script_options(p: argparse.ArgumentParser) -> None:
    """Add --set, --port, --strict and --debug to a subcommand that runs a script."""
    p.add_argument("--set", dest="settings", action="append", default=[],
                   metavar="NAME=VALUE",
                   help="a target setting, as setup(NAME=VALUE) would give it: a spec field "
                        "(neurons_per_core=512) or a runner option (timing=false); "
                        "repeatable; VALUE is read as int, float, true/false or text")
    p.add_argument("--port", default=None,
                   help="the board target's serial port (or 'virtual' for the emulator "
                        "behind a pseudo-terminal)")
    p.add_argument("--strict", action="store_true",
                   help="refuse any approximation of the mapping (the mapping report "
                        "names it) instead of running")
    p.add_argument("--debug", action="store_true",
                   help="on an error in the script, show the whole traceback")


def parse_value(text: str) -> Any:
    """'512' -> 512, '0.5' -> 0.5, 'true'/'false' -> bool, anything else stays text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """The target settings given by --set and --port; a malformed or repeated one is an
    error naming it."""
    out: dict[str, Any] = {}
    for item in args.settings:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise TargetError(f"--set {item!r} is not NAME=VALUE (e.g. --set "
                              "neurons_per_core=512)")
        if name in out:
            raise TargetError(f"--set {name} is given twice ({out[name]!r} and {value!r})")
        out[name] = parse_value(value.strip())
    if args.port is not None:
        if "port" in out:
            raise TargetError("the port is given twice, by --port and --set port=...")
        out["port"] = args.port
    return out


def add_nir_options(p: argparse.ArgumentParser) -> None:
    """The options `run` and `compare` take for a MODEL.nir instead of a script."""
    p.add_argument("--input", type=Path, default=None,
                   help="MODEL.nir only: EVENTS.npz with arrays idx and time (ms) for the "
                        "graph's input node")
    p.add_argument("--duration", type=float, default=None, help="MODEL.nir only: ms to run")
    p.add_argument("--dt", type=float, default=None,
                   help="MODEL.nir only: timestep in ms (default: each target's, else 1)")
