"""Plain-Python oracle of `kernels.substep`: the same sub-step written with numpy over
whole arrays, returning new state instead of updating it in place."""

from __future__ import annotations

import numpy as np

from .circuit import Circuit


def substep_oracle(win, state: dict, c: Circuit) -> dict:
    """One sub-step of every neuron; `state` holds isyn (N, 4), iahp, imem, vmem, timer,
    spk (N,); returns the next state (spk: spike counts)."""
    io, ut_k, kfb, c_mem, h = c.consts
    isyn = c.fdis * state["isyn"] + c.fch * np.maximum(c.gr * win, io)
    iahp = np.maximum(c.fdis_ahp * state["iahp"] + c.fch_ahp * c.ahp_w * state["spk"], io)
    ileak = c.itau_mem + iahp
    i_in = (c.sign * isyn).sum(axis=1) - ileak + c.idc
    i_in = np.maximum(np.where(state["timer"] > 0, 0.0, i_in), io)
    imem = state["imem"]
    drive = (c.igain_mem / c.itau_mem * (i_in - ileak)
             + io * np.exp(kfb * state["vmem"]) / ileak * (imem + c.igain_mem)
             - imem * (1.0 + iahp / c.itau_mem))
    tau = ut_k * c_mem / ileak
    imem = np.maximum(imem + h * imem / (tau * (imem + c.igain_mem)) * drive, io)
    vmem = ut_k * np.log(imem / io)
    spk = np.maximum(np.ceil(np.log(imem / c.ispkthr)), 0.0)
    fired = spk > 0
    timer = np.where(fired, c.t_ref, np.maximum(state["timer"] - h, 0.0))
    return {"isyn": isyn, "iahp": iahp, "imem": np.where(fired, io, imem), "vmem": vmem,
            "timer": timer, "spk": spk}
