"""Verilog export of an fpga image's chip (amaranth.back.verilog), with a JSON sidecar that
names the top module, its ports and widths for testbenches and board wrappers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from amaranth.back import verilog

from ..hw.errors import TargetError
from ..hw.image import HardwareImage
from ..hw.layouts.fpga import DATA
from .capacity import ChipCapacity
from .chip import Chip

TOP = "neurocore"


def check_image(image: HardwareImage) -> None:
    """Refuse images of other targets, naming the target."""
    if DATA not in image.data or not image.cores:
        raise TargetError(f"image of target {image.target.name!r} is not an fpga image; "
                          "compile with target 'fpga'")


def export_verilog(image: HardwareImage, out_dir: "str | Path", name: str = TOP,
                   capacity: ChipCapacity | None = None) -> Path:
    """Write OUT/name.v and OUT/name.json; return the .v path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_image(image)
    chip = Chip(image, capacity)
    text = verilog.convert(chip, name=name, emit_src=False)
    path = out / f"{name}.v"
    path.write_text(text)
    meta = dict(top=name, cores=chip.C, axons=chip.G, ring_depth=chip.D,
                neurons_per_core=chip.npc, axon_bits=chip.axon_bits, syn_bits=chip.syn_bits,
                weight_bits=image.target.weight_bits, clock="clk", reset="rst",
                capacity=dataclasses.asdict(chip.capacity),
                ports={f"ctl__{k}": str(v.flow) for k, v in chip.ctl.signature.members.items()})
    (out / f"{name}.json").write_text(json.dumps(meta, indent=1))
    return path
