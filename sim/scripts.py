"""Running an unchanged PyNN script in this process on a chosen target."""

from __future__ import annotations

import contextlib
import io
import os
import runpy
import sys
from pathlib import Path


def run_pynn_script(script: "str | Path", target: "str | None", argv: "list[str] | None" = None,
                    quiet: bool = False) -> int:
    """Run `script` as `python script argv...` with the neurocosim backend forced onto
    `target` (its own setup(target=...) is overridden; None leaves the script's choice).
    Returns the script's exit status; the network and Result are then in
    `neurocosim.pynn_backend.simulator.state`."""
    script = Path(script)
    saved_argv, saved_env, saved_path = sys.argv, os.environ.get("NEUROCOSIM_TARGET"), sys.path[:]
    if target is not None:
        os.environ["NEUROCOSIM_TARGET"] = target
    sys.argv = [str(script), *(argv or [])]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
            runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return 0 if exc.code is None else (exc.code if isinstance(exc.code, int) else 1)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        if saved_env is None:
            os.environ.pop("NEUROCOSIM_TARGET", None)
        else:
            os.environ["NEUROCOSIM_TARGET"] = saved_env
    return 0
