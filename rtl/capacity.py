"""What an fpga chip is built to hold (its capacity), its memory map, and that map as the
board regions of the link protocol (docs/protocol.md).

The chip's memories are written through its host port (rtl.signatures.ControlSignature:
`cfg_*`), each by region id; a chip is built for a `ChipCapacity` with one image's values
as the memories' initial contents, and any image that fits the capacity can be written
over it. The RTL board (rtl.uart.fpga_board) and the virtual board (host.virtual_board)
describe themselves with `fpga_identity`, so both offer the same regions.

Pure Python (no Amaranth): the host imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..hw.errors import LimitError, TargetError
from ..hw.layouts.fpga import (CHIP_WIDE, CORE_SCALARS, DATA, NEURON_PARAMS,
                               POINTER_MEMORIES, READABLE, REGION_ID, REGION_NAMES, STIM_END,
                               SYNAPSE_MEMORIES)
from .uart import protocol as P


@dataclass(frozen=True)
class ChipCapacity:
    """Sizes an fpga chip is built for: cores, neurons per core (also the axon-id stride:
    axon = core * neurons_per_core + slot), synapse entries per core, axons (event ids the
    routing tables cover), ring-buffer depth (delay slots), stimulus entries, and whether
    the STDP hardware (traces, column lists) is there."""

    n_cores: int
    neurons_per_core: int
    synapses_per_core: int
    n_axons: int
    ring_depth: int
    stimulus_depth: int
    stdp: bool = True

    def __post_init__(self) -> None:
        for name in ("n_cores", "neurons_per_core", "synapses_per_core", "n_axons",
                     "ring_depth", "stimulus_depth"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"chip capacity: {name}={value!r} must be an integer >= 1")
        if self.neurons_per_core * self.n_cores > P.MAX_IDS:
            raise ValueError(f"chip capacity: {self.n_cores} cores x {self.neurons_per_core} "
                             f"neurons exceed {P.MAX_IDS} board neuron ids")

    @classmethod
    def of_image(cls, image) -> "ChipCapacity":
        """Exactly what `image` needs (the chip built from one image)."""
        d = image.data[DATA]
        return cls(n_cores=max(1, len(image.cores)),
                   neurons_per_core=int(d["neurons_per_core"]),
                   synapses_per_core=max([1] + [len(c.memories["syn_w"])
                                                for c in image.cores]),
                   n_axons=max(1, int(d["n_axons"])), ring_depth=int(d["ring_depth"]),
                   stimulus_depth=max(1, len(d["stim_step"])),
                   stdp=any(int(c.params["stdp"][0]) for c in image.cores))

    @classmethod
    def covering(cls, images) -> "ChipCapacity":
        """The least capacity that holds each of `images` (one at a time)."""
        caps = [cls.of_image(image) for image in images]
        if not caps:
            raise ValueError("covering(): no images")
        npc = {c.neurons_per_core for c in caps}
        if len(npc) > 1:
            raise ValueError(f"covering(): the images number neurons {sorted(npc)} per "
                             "core; compile them with one neurons_per_core")
        return cls(**{f: max(getattr(c, f) for c in caps) for f in (
            "n_cores", "neurons_per_core", "synapses_per_core", "n_axons", "ring_depth",
            "stimulus_depth", "stdp")})

    @classmethod
    def of_spec(cls, spec, n_cores: int | None = None,
                n_axons: int | None = None) -> "ChipCapacity":
        """The limits of an FpgaSpec: its cores, neurons, synapses, delays and stimulus;
        axons default to twice the neurons (room for as many spike sources)."""
        n_cores = spec.n_cores if n_cores is None else n_cores
        return cls(n_cores=n_cores, neurons_per_core=spec.neurons_per_core,
                   synapses_per_core=spec.synapses_per_core,
                   n_axons=2 * n_cores * spec.neurons_per_core if n_axons is None else n_axons,
                   ring_depth=spec.max_delay, stimulus_depth=spec.stimulus_depth, stdp=True)

    def summary(self) -> str:
        """One line naming every size ("1 core(s) x 256 neurons, 4096 synapses/core, ...")."""
        return (f"{self.n_cores} core(s) x {self.neurons_per_core} neurons, "
                f"{self.synapses_per_core} synapses/core, {self.n_axons} axons, ring "
                f"{self.ring_depth}, stimulus {self.stimulus_depth}, "
                f"STDP {'yes' if self.stdp else 'no'}")

    @property
    def clear_cycles(self) -> int:
        """Addresses a full clear walks: the deepest memory of a core or of the chip."""
        return max(self.ring_depth * self.neurons_per_core, self.n_axons + 1,
                   self.synapses_per_core, self.neurons_per_core + 1, self.stimulus_depth + 1)

    @property
    def max_depth(self) -> int:
        """Elements of the deepest region (the host port's address range)."""
        return max(self.synapses_per_core, self.n_axons + 1, self.neurons_per_core + 1,
                   self.stimulus_depth)

    def check(self, image) -> None:
        """Refuse an image this capacity cannot hold, naming the limit and the excess."""
        d = image.data[DATA]
        need = ChipCapacity.of_image(image)
        for name in ("n_cores", "synapses_per_core", "n_axons", "ring_depth",
                     "stimulus_depth"):
            have, want = getattr(self, name), getattr(need, name)
            if want > have:
                raise LimitError(f"chip {name}", want, have, f"{want - have} over")
        for core in image.cores:
            n = int(core.params["n"][0])
            if n > self.neurons_per_core:
                raise LimitError("chip neurons_per_core", n, self.neurons_per_core,
                                 f"core {core.index}: {n - self.neurons_per_core} over")
        if len(image.cores) > 1 and int(d["neurons_per_core"]) != self.neurons_per_core:
            raise TargetError(f"the image numbers axons with {int(d['neurons_per_core'])} "
                              f"neurons per core, the chip with {self.neurons_per_core}; "
                              f"compile it with neurons_per_core={self.neurons_per_core}")
        if need.stdp and not self.stdp:
            raise LimitError("chip STDP hardware", 1, 0, "the image has plastic synapses")


def _width(lo: int, hi: int) -> int:
    """Bytes of an element holding lo..hi (two's complement when lo < 0)."""
    bits = 1 + max(hi.bit_length(), (-lo - 1).bit_length()) if lo < 0 else max(1, hi.bit_length())
    return 1 if bits <= 8 else 2 if bits <= 16 else 4


def _range(fmt) -> tuple[int, int]:
    """The integers a spec NumberFormat holds."""
    return fmt.min_int, fmt.max_int


def region_bits(spec, cap: ChipCapacity) -> dict[str, tuple[bool, int, int]]:
    """(signed, lowest, highest) value each region's memory holds exactly (the spec's
    number formats, the capacity's sizes)."""
    npc, syn, ax, D = cap.neurons_per_core, cap.synapses_per_core, cap.n_axons, cap.ring_depth
    state = _range(spec.v_format)
    weight = _range(spec.weight_format)
    decay = _range(spec.decay_format)
    plastic = 1 if cap.stdp else 0
    a_max = spec.stdp_format.max_int * plastic
    r = dict(n=(0, npc), w_shift=(0, spec.max_weight_shift), stdp=(0, plastic),
             a_plus=(0, a_max), a_minus=(0, a_max),
             w_min=weight, w_max=weight, dx=(0, decay[1] * plastic), dy=(0, decay[1] * plastic),
             theta=state, u_reset=state, bias=state, dm=decay, ds=decay,
             refrac=_range(spec.refrac_format), u0=state,
             n_axons=(0, ax), ring_depth=(1, D),
             syn_post=(0, npc - 1), syn_w=weight, syn_delay=(0, D - 1),
             syn_plastic=(0, plastic), col_syn=(0, (syn - 1) * plastic),
             col_pre=(0, (ax - 1) * plastic), row_ptr=(0, syn), col_ptr=(0, syn * plastic),
             stim_step=(0, STIM_END), stim_axon=(0, ax - 1))
    return {k: (lo < 0, lo, hi) for k, (lo, hi) in r.items()}


def region_depths(cap: ChipCapacity) -> dict[str, int]:
    npc, syn, ax = cap.neurons_per_core, cap.synapses_per_core, cap.n_axons
    depth = {name: 1 for name in CORE_SCALARS + CHIP_WIDE[:2]}
    depth.update({name: npc for name in NEURON_PARAMS})
    depth.update({name: syn for name in SYNAPSE_MEMORIES})
    depth.update(row_ptr=ax + 1, col_ptr=npc + 1, stim_step=cap.stimulus_depth,
                 stim_axon=cap.stimulus_depth)
    return depth


def fpga_regions(spec, cap: ChipCapacity) -> tuple[P.Region, ...]:
    """The chip's memories as board regions: element widths and value ranges from the
    spec's number formats and the capacity; only the weights read back."""
    bits, depth = region_bits(spec, cap), region_depths(cap)
    out = []
    for name in REGION_NAMES:
        signed, lo, hi = bits[name]
        width = 4 if name in CORE_SCALARS + CHIP_WIDE[:1] else _width(lo, hi)
        if name in CORE_SCALARS + NEURON_PARAMS + CHIP_WIDE[:2]:
            kind = P.RegionKind.PARAMS
        elif name in SYNAPSE_MEMORIES:
            kind = P.RegionKind.WEIGHTS
        elif name in POINTER_MEMORIES:
            kind = P.RegionKind.ROUTING
        else:
            kind = P.RegionKind.STIMULUS
        full = P.Region(0, kind, name, width, signed, 1)
        rng = None if (lo, hi) == full.value_range else (lo, hi)
        out.append(P.Region(REGION_ID[name], kind, name, width, signed, depth[name],
                            writeonly=name not in READABLE, range=rng))
    return tuple(out)


def fpga_identity(spec, cap: ChipCapacity, model: str, spike_buffer: int) -> P.Identity:
    """What an fpga board of this capacity answers to IDENTIFY."""
    params = tuple((f, int(getattr(spec, f))) for f in (
        "weight_bits", "state_bits", "trace_bits", "decay_bits", "refrac_bits",
        "trace_impulse", "stdp_frac_bits"))
    params += (("synapses_per_core", cap.synapses_per_core), ("axon_depth", cap.n_axons),
               ("ring_depth", cap.ring_depth), ("stimulus_depth", cap.stimulus_depth),
               ("stdp", int(cap.stdp)))
    return P.Identity(P.PROTOCOL_VERSION, model, cap.n_cores, cap.neurons_per_core,
                      int(spec.clock_hz), P.MAX_PAYLOAD, spike_buffer, params,
                      fpga_regions(spec, cap))
