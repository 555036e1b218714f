"""Running an unchanged PyNN script in this process on a chosen target.

An exception the script raises (its own, or a target refusing its network) comes back
as a `ScriptError` that names the script's line, so the command line can print one
clear line instead of a traceback through runpy (the original is `.error`).
"""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any

from ..hw.errors import NeurocosimError


class ScriptError(NeurocosimError):
    """An exception raised while a PyNN script ran, with the script line it came from."""

    def __init__(self, script: Path, error: BaseException) -> None:
        self.script, self.error = Path(script), error
        self.line = _script_line(self.script, error)
        where = f"{self.script} line {self.line}" if self.line else str(self.script)
        super().__init__(f"error in {where}: {type(error).__name__}: {error}")

    @property
    def refusal(self) -> bool:
        """True when neurocosim raised it on purpose (a target refusing the network)."""
        return isinstance(self.error, NeurocosimError)


def _script_line(script: Path, error: BaseException) -> "int | None":
    """The line of the deepest traceback frame inside `script`."""
    target = script.resolve()
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        with contextlib.suppress(OSError):
            if Path(frame.filename).resolve() == target:
                line = frame.lineno
    if line is None and isinstance(error, SyntaxError) and error.filename:
        line = error.lineno
    return line


def run_pynn_script(script: "str | Path", target: "str | None", argv: "list[str] | None" = None,
                    quiet: bool = False, settings: "dict[str, Any] | None" = None,
                    strict: bool = False) -> int:
    """Run `script` as `python script argv...` with the neurocosim backend forced onto
    `target` (its own setup(target=...) is overridden; None leaves the script's choice),
    `settings` (spec fields and runner options, over the script's own) and `strict`.
    Returns the script's exit status; the network and Result are then in
    `neurocosim.pynn_backend.simulator.state`. An exception in the script is raised as a
    ScriptError."""
    from ..pynn_backend.control import forced_setup
    script = Path(script)
    saved_argv, saved_path = sys.argv, sys.path[:]
    sys.argv = [str(script), *(argv or [])]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext(), \
                forced_setup(target, settings, strict):
            runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return 0 if exc.code is None else (exc.code if isinstance(exc.code, int) else 1)
    except Exception as exc:
        raise ScriptError(script, exc) from exc
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0
