"""The hardware image: the network as one target sees it, and the only input of a runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import serialize
from .errors import TargetError
from .ir import Network
from .report import MappingReport
from .targets import TargetSpec

FORMAT_VERSION = 2  # 2: the mapping report travels with the image


@dataclass
class Core:
    """One core: which neurons it holds (global ids), its integer parameters and memories.

    `params` and `memories` are keyed by the target's own names (e.g. "vth", "weights"),
    so each target stores what its hardware has without a new record type.
    """

    index: int
    neurons: np.ndarray
    params: dict[str, np.ndarray] = field(default_factory=dict)
    memories: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class HardwareImage:
    """Target spec + mapped network: cores, placement on the mesh, routing, stimulus.

    `network` keeps the IR the image was compiled from (for naming results and for the
    reference run); hardware runners read only the integer fields. `quantization` reports
    the error the compiler made (e.g. max relative weight error).
    """

    target: TargetSpec
    network: Network
    cores: list[Core] = field(default_factory=list)
    placement: np.ndarray | None = None
    routing: dict[str, np.ndarray] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    report: MappingReport = field(default_factory=MappingReport)
    format_version: int = FORMAT_VERSION

    def save(self, path: "str | Path") -> None:
        """Write the image to one versioned file."""
        serialize.save(self, path, kind="neurocosim.HardwareImage",
                       format_version=self.format_version)

    @classmethod
    def load(cls, path: "str | Path") -> "HardwareImage":
        """Read an image written by `save`, refusing other files and other versions."""
        try:
            obj, header = serialize.load(path)
        except (OSError, ValueError, KeyError) as exc:
            raise TargetError(f"{path}: not a neurocosim image file ({exc})") from exc
        if header.get("kind") != "neurocosim.HardwareImage":
            raise TargetError(f"{path}: not a neurocosim image file")
        if header.get("format_version") != FORMAT_VERSION:
            raise TargetError(f"{path}: image format version {header.get('format_version')}"
                              f", this neurocosim reads version {FORMAT_VERSION}")
        return obj
