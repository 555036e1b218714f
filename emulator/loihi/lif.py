"""Public, validated one-step LIF update of Loihi compartments over integer numpy arrays."""

from __future__ import annotations

import numpy as np

from ...hw.errors import NetworkError
from ...hw.targets.loihi import LoihiSpec
from .kernels import lif_step_kernel

_DEFAULT = LoihiSpec()


def _ints(name: str, x, n: int | None, lo: int, hi: int) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise NetworkError(f"lif_step: {name} must be integers, got dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.int64).ravel() if a.ndim else np.array([int(a)])
    if n is not None and a.size == 1 and n > 1:
        a = np.full(n, a[0], np.int64)
    if n is not None and a.size != n:
        raise NetworkError(f"lif_step: {name} has {a.size} values, expected {n}")
    bad = a[(a < lo) | (a > hi)]
    if bad.size:
        raise NetworkError(f"lif_step: {name} = {int(bad[0])} is outside {lo}..{hi}")
    return a


def lif_step(du, dv, vth, bias_mant, bias_exp, u, v, a_in, spec: LoihiSpec = _DEFAULT):
    """One timestep of lava's bit-accurate CUBA LIF: returns new (u, v, spikes).

    `a_in` is the dendritic input of this step (summed weights after the weight exponent,
    before the `<< 6` alignment). bias = bias_mant << bias_exp is formed in int64, so the
    int32 overflow of lava issue #329 cannot happen. u, v are 24-bit values.
    """
    u = _ints("u", u, None, spec.u_format.min_int, spec.u_format.max_int + 1)
    n = u.size
    fmt_d = spec.decay_format
    du = _ints("du", du, n, fmt_d.min_int, fmt_d.max_int)
    dv = _ints("dv", dv, n, fmt_d.min_int, fmt_d.max_int)
    vth = _ints("vth", vth, n, spec.vth_format.min_int, spec.vth_format.max_int)
    bm = _ints("bias_mant", bias_mant, n, spec.bias_format.min_int, spec.bias_format.max_int)
    be = _ints("bias_exp", bias_exp, n, 0, spec.bias_exp_max)
    v = _ints("v", v, n, -spec.v_format.max_int, spec.v_format.max_int)
    a = _ints("a_in", a_in, n, -(1 << 40), 1 << 40)
    u, v = u.copy(), v.copy()
    spikes = np.zeros(n, np.bool_)
    lif_step_kernel(du, dv, vth, bm << be, u, v, a, fmt_d.bits, spec.du_offset,
                    spec.state_shift, 1 << (spec.u_format.bits - 1), spec.v_format.max_int,
                    spikes)
    return u, v, spikes
