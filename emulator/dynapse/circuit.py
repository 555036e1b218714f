"""Per-neuron circuit constants from bias currents: what the kernels read.

`neuron_currents(image)` expands each core's parameter group to its neurons;
`mismatch(currents, std, rng)` scales every per-neuron current of `hw.layouts.dynapse
.MISMATCHED` by 1 + std * N(0, 1) (Rockpool's model) and clips it at Io, as DynapSim
clips leak and gain currents; `circuit(currents, spec)` derives the decay and charge
factors of one sub-step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...hw.image import HardwareImage
from ...hw.layouts import dynapse as L
from ...hw.targets.dynapse import DynapseSpec


@dataclass
class Circuit:
    """Per-neuron factors of one sub-step (arrays over global neuron ids)."""

    fdis: np.ndarray        # (N, 4) synapse decay exp(-h / tau)
    fch: np.ndarray         # (N, 4) charge per event 1 - exp(-t_pulse / tau)
    gr: np.ndarray          # (N, 4) Igain / Itau
    sign: np.ndarray        # (N, 4) +1 excitatory, -1 inhibitory, 0 type not in use
    fdis_ahp: np.ndarray
    fch_ahp: np.ndarray
    ahp_w: np.ndarray       # (Igain/Itau)_ahp * Iw_ahp: AHP drive per spike
    itau_mem: np.ndarray
    igain_mem: np.ndarray
    idc: np.ndarray
    ispkthr: np.ndarray
    t_ref: np.ndarray
    consts: np.ndarray      # kernels.IO, UT_K, KFB, C_MEM, H

    def args(self) -> tuple:
        """The kernels' parameter arguments, in their order."""
        return (self.fdis, self.fch, self.gr, self.sign, self.fdis_ahp, self.fch_ahp,
                self.ahp_w, self.itau_mem, self.igain_mem, self.idc, self.ispkthr,
                self.t_ref, self.consts)


def neuron_currents(image: HardwareImage) -> dict[str, np.ndarray]:
    """Each core's parameter group, per global neuron (sources hold harmless Io values)."""
    n = image.network.size
    io = image.target.io_a
    out = {k: np.full((n, L.N_TYPES) if k in L.TYPED else n, io) for k in L.CORE_PARAMS}
    out["syn_used"][:] = 0.0
    for core in image.cores:
        for k in L.CORE_PARAMS:
            v = core.params[k]
            out[k][core.neurons] = v if k in L.TYPED else v[0]
    return out


def mismatch(currents: dict[str, np.ndarray], std: float, rng: np.random.Generator,
             io: float) -> dict[str, np.ndarray]:
    """Every current of MISMATCHED times 1 + std * N(0, 1), clipped at Io."""
    out = dict(currents)
    for k in L.MISMATCHED:
        v = currents[k]
        out[k] = np.maximum(v * (1.0 + std * rng.standard_normal(v.shape)), io)
    return out


def circuit(currents: dict[str, np.ndarray], spec: DynapseSpec) -> Circuit:
    """Sub-step factors: tau = (Ut/kappa) C / Itau, t_ref = Vth C_ref / Iref."""
    io, ut_k = spec.io_a, spec.ut_v / spec.kappa
    h = spec.timestep * 1e-3 / spec.substeps
    itau = np.maximum(currents["itau_syn"], io)
    tau = ut_k * np.asarray(spec.c_syn_f) / itau
    itau_ahp = np.maximum(currents["itau_ahp"], io)
    tau_ahp = ut_k * spec.c_ahp_f / itau_ahp
    kfb = spec.kappa ** 2 / (spec.kappa + 1.0) / spec.ut_v
    return Circuit(
        fdis=np.exp(-h / tau), fch=1.0 - np.exp(-spec.t_pulse_s / tau),
        gr=np.maximum(currents["igain_syn"], io) / itau,
        sign=np.asarray(L.TYPE_SIGN) * currents["syn_used"],
        fdis_ahp=np.exp(-h / tau_ahp), fch_ahp=1.0 - np.exp(-spec.t_pulse_ahp_s / tau_ahp),
        ahp_w=np.maximum(currents["igain_ahp"], io) / itau_ahp * currents["iw_ahp"],
        itau_mem=np.maximum(currents["itau_mem"], io),
        igain_mem=np.maximum(currents["igain_mem"], io), idc=currents["idc"].copy(),
        ispkthr=currents["ispkthr"].copy(),
        t_ref=spec.vth_v * spec.c_ref_f / currents["iref"],
        consts=np.array([io, ut_k, kfb, spec.c_mem_f, h]))
