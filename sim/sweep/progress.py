"""A one-line progress bar on stderr: points done, failures, elapsed and estimated time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Redraws in place on a terminal; elsewhere (logs, CI) prints about every 10 %."""

    def __init__(self, total: int, skipped: int = 0, stream: "TextIO | None" = None,
                 enabled: bool = True, label: str = "sweep"):
        self.total, self.skipped, self.label = total, skipped, label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.done = self.failed = 0
        self.start = time.monotonic()
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_decile = -1

    def line(self) -> str:
        todo = self.total - self.skipped
        elapsed = time.monotonic() - self.start
        frac = self.done / todo if todo else 1.0
        width = 24
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        left = (elapsed / self.done * (todo - self.done)) if self.done else None
        text = (f"{self.label} [{bar}] {self.done + self.skipped}/{self.total} points"
                f" ({self.failed} failed"
                + (f", {self.skipped} already done" if self.skipped else "") + ")"
                f" {_clock(elapsed)} elapsed")
        if self.done < todo:
            text += f", ~{_clock(left)} left" if left is not None else ", estimating..."
        return text

    def restart(self) -> None:
        """Start the clock again (after start-up work that says nothing about time left)."""
        self.start = time.monotonic()

    def update(self, failed: bool = False) -> None:
        self.done += 1
        self.failed += int(failed)
        self.draw()

    def draw(self) -> None:
        if not self.enabled:
            return
        if self._tty:
            self.stream.write("\r\x1b[2K" + self.line())
            self.stream.flush()
            return
        todo = max(self.total - self.skipped, 1)
        decile = int(10 * self.done / todo)
        if decile != self._last_decile:
            self._last_decile = decile
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()
