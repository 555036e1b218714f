"""The fpga runner: `Engine(image, engine="numba" | "python")`, the runner API of DESIGN.md.

`FastChip` drives the Numba kernel over flat arrays and offers the oracle's interface
(`step`, `run`, `weights`), so tests compare the two on generated images. Spikes are
stamped (k + 1) * dt for step k; the TimingReport carries the clock cycles of every step.
"""

from __future__ import annotations

import numpy as np

from ...hw.errors import TargetError
from ...hw.image import HardwareImage
from ...hw.result import Result, Spikes, TimingReport
from . import kernels
from .oracle import ChipModel
from ...hw.runner import whole_steps

SCALARS = ("n", "w_shift", "stdp", "a_plus", "a_minus", "w_min", "w_max", "dx", "dy")


def _offsets(sizes) -> np.ndarray:
    out = np.zeros(len(sizes), np.int64)
    out[1:] = np.cumsum(sizes)[:-1]
    return out


class FastChip:
    """The Numba model of the whole chip, state in flat arrays."""

    def __init__(self, image: HardwareImage):
        if "fpga" not in image.data:
            raise TargetError(f"image of target {image.target.name!r} is not an fpga image")
        spec, d = image.target, image.data["fpga"]
        cores = image.cores
        C = len(cores)
        self.G = G = int(d["n_axons"])
        self.D = int(d["ring_depth"])
        self.npc = int(d["neurons_per_core"])
        self.spec = spec
        cat = (lambda key, src: np.ascontiguousarray(np.concatenate(
            [np.asarray(getattr(c, src)[key], np.int64) for c in cores])))
        self.sc = np.array([[int(c.params[k][0]) for k in SCALARS] for c in cores], np.int64)
        n = self.sc[:, 0]
        self.syn_sizes = [len(c.memories["syn_w"]) for c in cores]
        self.no = _offsets(n)
        self.so = _offsets(self.syn_sizes)
        self.cpo = _offsets(n + 1)
        self.cso = _offsets([len(c.memories["col_syn"]) for c in cores])
        self.ro = _offsets(n * self.D)
        self.row_ptr = np.ascontiguousarray(np.stack([c.memories["row_ptr"] for c in cores])
                                            .astype(np.int64))
        self.mem = {k: cat(k, "memories") for k in ("syn_post", "syn_w", "syn_delay",
                                                     "syn_plastic", "col_ptr", "col_syn",
                                                     "col_pre")}
        self.prm = {k: cat(k, "params") for k in ("theta", "u_reset", "bias", "dm", "ds",
                                                   "refrac")}
        total = int(n.sum())
        self.u = cat("u0", "params")
        self.isyn = np.zeros(total, np.int64)
        self.ref = np.zeros(total, np.int64)
        self.y = np.zeros(total, np.int64)
        self.x = np.zeros((C, G), np.int64)
        self.flag = np.zeros((C, G), np.int64)
        self.ring = np.zeros(int((n * self.D).sum()), np.int64)
        self.stim_step = np.asarray(d["stim_step"], np.int64)
        self.stim_axon = np.asarray(d["stim_axon"], np.int64)
        self.in_list = np.zeros(G, np.int64)
        self.in_n = 0
        self.out_list = np.zeros((C, max(int(n.max()), 1)), np.int64)
        self.out_n = np.zeros(C, np.int64)
        self.t = 0
        self.sp = 0

    def run(self, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance `n_steps`: (spike axons, their steps, cycles of each step)."""
        spec = self.spec
        cap = n_steps * int(self.sc[:, 0].sum())
        spk_axon = np.empty(cap, np.int64)
        spk_step = np.empty(cap, np.int64)
        cycles = np.zeros(n_steps, np.int64)
        m, p = self.mem, self.prm
        self.t, self.sp, self.in_n, k = kernels.run_steps(
            n_steps, self.t, self.sp, self.in_list, self.in_n, self.sc, self.no, self.so,
            self.cpo, self.cso, self.ro, self.row_ptr, m["syn_post"], m["syn_w"],
            m["syn_delay"], m["syn_plastic"], m["col_ptr"], m["col_syn"], m["col_pre"],
            p["theta"], p["u_reset"], p["bias"], p["dm"], p["ds"], p["refrac"],
            self.u, self.isyn, self.ref, self.y, self.x, self.flag, self.ring,
            self.stim_step, self.stim_axon, self.D, self.npc, spec.decay_bits,
            spec.stdp_frac_bits, spec.trace_impulse, spec.v_format.min_int,
            spec.v_format.max_int, spec.isyn_format.min_int, spec.isyn_format.max_int,
            spec.trace_format.max_int, self.out_list, self.out_n, spk_axon, spk_step, cycles)
        return spk_axon[:k].copy(), spk_step[:k].copy(), cycles

    def step(self) -> tuple[list[int], int]:
        """One step, in the oracle's form: (spike axons, cycles)."""
        a, _, cyc = self.run(1)
        return [int(v) for v in a], int(cyc[0])

    def weights(self) -> list[np.ndarray]:
        w = self.mem["syn_w"]
        return [w[o:o + s].copy() for o, s in zip(self.so, self.syn_sizes)]


class Engine:
    """Runner of fpga images: `run(duration_ms)`, `result()`, `t` (ms)."""

    #: steps per kernel call (bounds the spike buffer)
    CHUNK = 1000

    def __init__(self, image: HardwareImage, engine: str = "numba"):
        if engine not in ("numba", "python"):
            raise TargetError(f"fpga engine {engine!r} must be 'numba' or 'python'")
        self.image = image
        self.dt = float(image.target.timestep)
        self.chip = FastChip(image) if engine == "numba" else ChipModel(image)
        self.engine = engine
        self._axons: list[np.ndarray] = []
        self._steps: list[np.ndarray] = []
        self._cycles: list[np.ndarray] = []
        self._k = 0

    @property
    def t(self) -> float:
        return self._k * self.dt

    def run(self, duration_ms: float) -> None:
        """Advance by `duration_ms`, a whole, non-negative number of 1 ms steps."""
        steps = whole_steps(duration_ms, self.dt, "fpga")
        while steps > 0:
            n = min(steps, self.CHUNK)
            if self.engine == "numba":
                a, s, cyc = self.chip.run(n)
            else:
                a, s, cyc = [], [], []
                for i in range(n):
                    sp, c = self.chip.step()
                    a += sp
                    s += [self._k + i] * len(sp)
                    cyc.append(c)
                a, s, cyc = (np.array(v, np.int64) for v in (a, s, cyc))
            self._axons.append(a)
            self._steps.append(s)
            self._cycles.append(cyc)
            self._k += n
            steps -= n

    def result(self) -> Result:
        img, d = self.image, self.image.data["fpga"]
        net = img.network
        spec = img.target
        axons = np.concatenate(self._axons) if self._axons else np.zeros(0, np.int64)
        steps = np.concatenate(self._steps) if self._steps else np.zeros(0, np.int64)
        cycles = np.concatenate(self._cycles) if self._cycles else np.zeros(0, np.int64)
        ir = np.asarray(d["ir_of_axon"])[axons]
        # stimulus spikes sent so far (source populations)
        st = np.asarray(d["stim_step"])
        sel = st < self._k
        ir = np.concatenate([ir, np.asarray(d["ir_of_axon"])[np.asarray(d["stim_axon"])[sel]]])
        steps = np.concatenate([steps, st[sel]])
        res = Result(target=spec.name, t_stop=self.t, timestep=self.dt)
        off = net.offsets()
        for pop in net.populations:
            m = (ir >= off[pop.name]) & (ir < off[pop.name] + pop.size)
            res.spikes[pop.name] = Spikes(ir[m] - off[pop.name], (steps[m] + 1) * self.dt)
        raw = self.chip.weights()
        res.info["weights_raw"] = {}
        for name, pm in d["projections"].items():
            w = np.array([raw[c][i] for c, i in zip(pm["core"], pm["index"])], np.int64)
            res.info["weights_raw"][name] = w
            res.weights[name] = np.abs(w * pm["scale"])
        budget = spec.clock_hz * self.dt * 1e-3
        res.timing = TimingReport(
            metrics={"cycles_total": float(cycles.sum()),
                     "cycles_per_step_max": float(cycles.max()) if cycles.size else 0.0,
                     "cycles_per_step_mean": float(cycles.mean()) if cycles.size else 0.0,
                     "step_time_max_us": float(cycles.max()) / spec.clock_hz * 1e6
                     if cycles.size else 0.0,
                     "realtime_load_max": float(cycles.max()) / budget if cycles.size
                     else 0.0},
            arrays={"cycles": cycles})
        res.info["engine"] = self.engine
        return res
