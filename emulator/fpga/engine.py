"""The fpga runner: `Engine(image, engine="numba" | "python")`, a hw.runner.Runner.

`FastChip` drives the Numba kernels over flat arrays and offers the oracle's interface
(`step`, `run`, `weights`, `load_stimulus`, `reset_state`), so tests compare the two on
generated images. Input: each run window is fed from the one stimulus (`hw.stimulus`,
handed over by the base runner), written into the chip's stimulus memory before the
window runs, as a host refilling that memory would; so a run past the image's
`stimulus_horizon_ms` keeps its input (the board, which holds only the image's memory,
refuses such a run instead). Spikes are stamped (k + 1) * dt for step k; the timing report
comes from the cycle model (emulator.fpga.timing).
"""

from __future__ import annotations

import numpy as np

from ...hw.errors import TargetError
from ...hw.image import HardwareImage
from ...hw.layouts import fpga as L
from ...hw.runner import Recorded, Runner
from ...hw.stimulus import InputSpikes
from . import kernels as K
from .oracle import ChipModel
from .timing import fpga_timing


def _offsets(sizes) -> np.ndarray:
    out = np.zeros(len(sizes), np.int64)
    out[1:] = np.cumsum(sizes)[:-1]
    return out


def check_stimulus(step: np.ndarray, t: int) -> None:
    """Entries of steps already run would block the stimulus pointer: refuse them."""
    if step.size and int(step.min()) < t:
        raise TargetError(f"fpga: stimulus entries of step {int(step.min())} loaded at "
                          f"step {t}; a window starts at the chip's current step")


class FastChip:
    """The Numba model of the whole chip, state in flat arrays (kernels' layout)."""

    def __init__(self, image: HardwareImage):
        if L.DATA not in image.data:
            raise TargetError(f"image of target {image.target.name!r} is not an fpga image")
        spec, d, cores = image.target, image.data[L.DATA], image.cores
        self.spec = spec
        self.G, self.D = int(d["n_axons"]), int(d["ring_depth"])
        self.npc = int(d["neurons_per_core"])
        self.sc = np.array([[int(c.params[k][0]) for k in L.CORE_SCALARS] for c in cores],
                           np.int64)
        n = self.sc[:, L.N]

        def cat(key: str, src: str, extra: "int | None" = None) -> np.ndarray:
            """Core arrays end to end (per-neuron ones cut to each core's n (+ extra))."""
            return np.concatenate([np.asarray(getattr(c, src)[key], np.int64)[
                :None if extra is None else int(k) + extra] for c, k in zip(cores, n)])

        self.syn_sizes = [len(c.memories["syn_w"]) for c in cores]
        self.off = np.ascontiguousarray(np.stack([
            _offsets(n), _offsets(self.syn_sizes), _offsets(n + 1),
            _offsets([len(c.memories["col_syn"]) for c in cores]), _offsets(n * self.D)],
            axis=1))
        self.row_ptr = np.ascontiguousarray(np.stack([c.memories["row_ptr"] for c in cores])
                                            .astype(np.int64))
        self.syn = np.stack([cat(k, "memories") for k in ("syn_post", "syn_w", "syn_delay",
                                                          "syn_plastic")])
        self.col_ptr = cat("col_ptr", "memories", 1)
        self.col = np.stack([cat("col_syn", "memories"), cat("col_pre", "memories")])
        self.prm = np.stack([cat(k, "params", 0) for k in L.NEURON_PARAMS[:6]])
        self.u0 = cat("u0", "params", 0)
        #: the memories and parameters by name (views of the packed arrays)
        self.mem = {"syn_post": self.syn[K.M_POST], "syn_w": self.syn[K.M_W],
                    "syn_delay": self.syn[K.M_DELAY], "syn_plastic": self.syn[K.M_PLASTIC],
                    "col_ptr": self.col_ptr, "col_syn": self.col[0], "col_pre": self.col[1]}
        self.params = {k: self.prm[i] for i, k in enumerate(L.NEURON_PARAMS[:6])}
        self.fmt = np.array([spec.decay_bits, spec.stdp_frac_bits, spec.trace_impulse,
                             spec.v_format.min_int, spec.v_format.max_int,
                             spec.isyn_format.min_int, spec.isyn_format.max_int,
                             spec.trace_format.max_int, self.D, self.npc], np.int64)
        self.cost = np.array(spec.cycle_costs(), np.int64)
        self.out_list = np.zeros((len(cores), max(int(n.max()), 1)), np.int64)
        self.out_n = np.zeros(len(cores), np.int64)
        self.load_stimulus(np.asarray(d["stim_step"], np.int64),
                           np.asarray(d["stim_axon"], np.int64), at=0)
        self.reset_state()

    def reset_state(self) -> None:
        """Step 0, initial v, everything else cleared; weights and stimulus kept."""
        total = int(self.sc[:, L.N].sum())
        self.st = np.zeros((4, total), np.int64)
        self.st[K.S_U] = self.u0
        self.x = np.zeros((len(self.sc), self.G), np.int64)
        self.flag = np.zeros_like(self.x)
        self.ring = np.zeros(int((self.sc[:, L.N] * self.D).sum()), np.int64)
        self.in_list = np.zeros(self.G, np.int64)
        self.in_n = 0
        self.t = 0
        self.sp = 0

    def load_stimulus(self, step: np.ndarray, axon: np.ndarray, at: "int | None" = None
                      ) -> None:
        """Write stimulus entries (sorted, none before the current step) into the chip's
        stimulus memory; its pointer starts over at the first."""
        check_stimulus(step, self.t if at is None else at)
        self.stim_step = np.ascontiguousarray(step, np.int64)
        self.stim_axon = np.ascontiguousarray(axon, np.int64)
        self.sp = 0

    def run(self, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance `n_steps`: (spike axons, their steps, cycles of each step)."""
        cap = n_steps * int(self.sc[:, L.N].sum())
        spk_axon = np.empty(cap, np.int64)
        spk_step = np.empty(cap, np.int64)
        cycles = np.zeros(n_steps, np.int64)
        self.t, self.sp, self.in_n, k = K.run_steps(
            n_steps, self.t, self.sp, self.in_list, self.in_n, self.sc, self.off,
            self.row_ptr, self.syn, self.col_ptr, self.col, self.prm, self.st, self.x,
            self.flag, self.ring, self.stim_step, self.stim_axon, self.fmt, self.cost,
            self.out_list, self.out_n, spk_axon, spk_step, cycles)
        return spk_axon[:k].copy(), spk_step[:k].copy(), cycles

    def step(self) -> tuple[list[int], int]:
        """One step, in the oracle's form: (spike axons, cycles)."""
        a, _, cyc = self.run(1)
        return [int(v) for v in a], int(cyc[0])

    def weights(self) -> list[np.ndarray]:
        w = self.syn[K.M_W]
        return [w[o:o + s].copy() for o, s in zip(self.off[:, K.OFF_S], self.syn_sizes)]


class Engine(Runner):
    """Runner of fpga images (hw.runner.Runner): option `engine` ("numba": the kernels,
    "python": the oracle)."""

    target = "fpga"
    OPTIONS = {"engine": "numba"}
    #: steps per kernel call (bounds the spike buffer)
    CHUNK = 1000

    def __init__(self, image: "HardwareImage", **options) -> None:
        super().__init__(image, **options)
        self.engine = self.options["engine"]
        if self.engine not in ("numba", "python"):
            raise TargetError(f"fpga engine {self.engine!r} must be 'numba' or 'python'")
        if L.DATA not in self.image.data:
            raise TargetError(f"image of target {self.spec.name!r} is not an fpga image")
        self.chip = FastChip(self.image) if self.engine == "numba" else ChipModel(self.image)
        self._clear()

    def _clear(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._stim: list[tuple[np.ndarray, np.ndarray]] = []

    def _advance(self, k0: int, k1: int, inputs: InputSpikes) -> None:
        d = self.image.data[L.DATA]
        step, axon = L.stimulus_entries(inputs.neuron, inputs.stamp, d["axon_of"])
        self.chip.load_stimulus(step, axon)
        self._stim.append((step, axon))
        k = k0
        while k < k1:
            n = min(k1 - k, self.CHUNK)
            self._parts.append(self._chunk(k, n))
            k += n

    def _chunk(self, k: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run n steps from step k: (spike axons, their steps, cycles per step)."""
        if self.engine == "numba":
            return self.chip.run(n)
        a, s, cyc = [], [], []
        for i in range(n):
            sp, c = self.chip.step()
            a += sp
            s += [k + i] * len(sp)
            cyc.append(c)
        return tuple(np.array(v, np.int64) for v in (a, s, cyc))

    def _collect(self) -> Recorded:
        d = self.image.data[L.DATA]
        cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
        axons, steps, cycles = (cat([p[i] for p in self._parts]) for i in range(3))
        stim_step, stim_axon = (cat([p[i] for p in self._stim]) for i in range(2))
        timing = fpga_timing(self.spec.name, self.image, self.spec, cycles, steps, axons,
                             stim_step, stim_axon, self.spec.clock_hz)
        return Recorded(neuron=np.asarray(d["ir_of_axon"])[axons], stamp=steps + 1,
                        weights=L.projection_weights(d, self.chip.weights()),
                        timing=timing, info={"engine": self.engine})

    def _reset(self) -> None:
        self.chip.reset_state()
        self._clear()
