"""Loihi-style emulator: bit-exact against lava, kernels against their Python oracles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.emulator.loihi import Engine, lif_step, lif_step_oracle
from neurocosim.emulator.loihi.oracle import trunc_div_pow2, run_oracle, wrap_register
from neurocosim.hw import (Network, NetworkError, Plasticity, PoissonSource, Population,
                           Projection, Recording, SpikeArray, SpikeTrains)
from neurocosim.hw.jit import njit, sar32, shl32, shr32
from neurocosim.hw.stimulus import Stimulus

GOLDEN = Path(__file__).resolve().parent / "data" / "loihi_lif_lava.npz"   # tests/data/README.md


@pytest.fixture(scope="module")
def golden():
    """The lava vectors, kept in the repository: missing is a failure, never a skip."""
    assert GOLDEN.exists(), f"lava golden vectors missing at {GOLDEN} (tests/data/README.md)"
    with np.load(GOLDEN) as z:
        return {k: z[k] for k in z.files}


def test_lif_step_reproduces_lava_bit_for_bit(golden):
    cases = int(golden["ncases"])
    assert cases == 20
    overflowed = saturated = 0
    for c in range(cases):
        g = {k: golden[f"c{c}_{k}"] for k in ("du", "dv", "vth", "bias_mant", "bias_exp",
                                              "a_in", "u", "v", "spikes")}
        u = np.zeros(16, np.int64)
        v = np.zeros(16, np.int64)
        for t in range(g["a_in"].shape[0]):
            u, v, s = lif_step(g["du"], g["dv"], g["vth"], g["bias_mant"], g["bias_exp"],
                               u, v, g["a_in"][t])
            np.testing.assert_array_equal(u, g["u"][t], err_msg=f"case {c} step {t} u")
            np.testing.assert_array_equal(v, g["v"][t], err_msg=f"case {c} step {t} v")
            np.testing.assert_array_equal(s, g["spikes"][t], err_msg=f"case {c} step {t} s")
            saturated += int(np.sum(np.abs(v) == 2**23 - 1))
        overflowed += int(np.any(np.abs(g["u"]) > 2**22))
    assert overflowed and saturated, "the golden set should exercise wrap and saturation"


def test_engine_compartment_kernel_reproduces_lava_bit_for_bit(golden):
    """The fused loop's own compartment sweep (int32 storage, two channels, refractory
    counter) on the golden inputs: channel 1 idle, weight exponent 0, no refractory."""
    from neurocosim.emulator.loihi import kernels as K
    for c in range(int(golden["ncases"])):
        g = {k: golden[f"c{c}_{k}"].astype(np.int64) for k in (
            "du", "dv", "vth", "bias_mant", "bias_exp", "a_in", "u", "v")}
        n = len(g["du"])
        st = np.zeros((4, n), np.int32)
        cs = np.zeros((K.N_CONSTS, n), np.int32)
        cs[K.C_KU0] = cs[K.C_KU1] = 4096 - (g["du"] + 1)
        cs[K.C_KV] = 4096 - g["dv"]
        cs[K.C_VTH] = g["vth"] << 6
        cs[K.C_BIAS] = g["bias_mant"] << g["bias_exp"]
        a0, a1 = np.zeros(n, np.int32), np.zeros(n, np.int32)
        fl = np.zeros(n, np.int8)
        for t in range(g["a_in"].shape[0]):
            a0[:] = g["a_in"][t]
            K._compartments(0, n, a0, a1, st, cs, fl, 12, 1 << 23, (1 << 23) - 1, 0, 6, 0, 6)
            np.testing.assert_array_equal(st[K.ST_U0], g["u"][t], err_msg=f"case {c} step {t} u")
            np.testing.assert_array_equal(st[K.ST_V], g["v"][t], err_msg=f"case {c} step {t} v")
            np.testing.assert_array_equal(fl.astype(bool), golden[f"c{c}_spikes"][t])
            assert not st[K.ST_U1].any()


def test_bias_shift_does_not_overflow_int32():
    # lava #329: bias_mant << bias_exp overflowed a narrow integer; here it is int64
    u, v, s = lif_step(0, 4095, 2**17 - 1, 4095, 7, [0], [0], [0])
    assert v[0] == 4095 << 7 and not s[0]
    u, v, s = lif_step(0, 0, 2**17 - 1, -4096, 7, [0], [-(2**23 - 1)], [0])
    assert v[0] == -(2**23 - 1)                      # clipped, not wrapped


def test_du_4095_clears_u_and_dv_0_keeps_v():
    u, v, _ = lif_step(4095, 0, 100000, 0, 0, [123456], [5000], [0])
    assert u[0] == 0 and v[0] == 5000           # du = 4095 (+1 offset): u gone; dv = 0: v kept
    u, v, _ = lif_step(0, 0, 100000, 0, 0, [4096], [4096], [0])
    assert u[0] == 4095 and v[0] == 4096 + 4095


def test_lif_step_refuses_out_of_range_inputs():
    with pytest.raises(NetworkError, match="du = 4096"):
        lif_step(4096, 0, 1, 0, 0, [0], [0], [0])
    with pytest.raises(NetworkError, match="bias_exp = 8"):
        lif_step(0, 0, 1, 0, 8, [0], [0], [0])
    with pytest.raises(NetworkError, match="must be integers"):
        lif_step(0, 0, 1, 0, 0, [0.5], [0], [0])


_i = st.integers
_lif_inputs = st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.lists(_i(0, 4095), min_size=n, max_size=n), st.lists(_i(0, 4095), min_size=n, max_size=n),
    st.lists(_i(0, 2**17 - 1), min_size=n, max_size=n),
    st.lists(_i(-4096, 4095), min_size=n, max_size=n), st.lists(_i(0, 7), min_size=n, max_size=n),
    st.lists(_i(-(2**23) + 1, 2**23), min_size=n, max_size=n),
    st.lists(_i(-(2**23) + 1, 2**23 - 1), min_size=n, max_size=n),
    st.lists(_i(-(2**18), 2**18), min_size=n, max_size=n)))


@settings(max_examples=300, deadline=None)
@given(_lif_inputs)
def test_lif_step_kernel_matches_python_oracle(args):
    du, dv, vth, bm, be, u, v, a = args
    got = lif_step(*(np.array(x, np.int64) for x in args))
    want = lif_step_oracle(du, dv, vth, bm, be, u, v, a)
    assert got[0].tolist() == want[0]
    assert got[1].tolist() == want[1]
    assert got[2].tolist() == want[2]


def _sweep_oracle(u, v, refc, a, k, vth_s, bias, refract, shifts, half=1 << 23,
                  vmax=(1 << 23) - 1):
    """One compartment in Python ints: both channels' u (the oracle's register wrap), v,
    refractory hold; returns (u0, u1, v, refc, fired)."""
    new_u = [wrap_register(trunc_div_pow2(u[c] * k[c], 12)
                           + ((a[c] >> shifts[2 * c]) << shifts[2 * c + 1]), half)
             for c in range(2)]
    if refc > 0:
        return new_u[0], new_u[1], 0, refc - 1, 0
    vi = max(-vmax, min(vmax, trunc_div_pow2(v * k[2], 12) + new_u[0] + new_u[1] + bias))
    if vi > vth_s:
        return new_u[0], new_u[1], 0, refract, 1
    return new_u[0], new_u[1], vi, 0, 0


_sweep_cases = st.integers(1, 40).flatmap(lambda n: st.tuples(
    *[st.lists(x, min_size=n, max_size=n) for x in (
        _i(-(2**23) + 1, 2**23), _i(-(2**23) + 1, 2**23), _i(-(2**23) + 1, 2**23 - 1),
        _i(0, 3), _i(-(2**31), 2**31 - 1), _i(-(2**31), 2**31 - 1), _i(0, 4096), _i(0, 4096),
        _i(0, 4096), _i(0, 2**23), _i(-(2**20), 2**20), _i(0, 64))],
    st.tuples(_i(0, 8), _i(6, 31), _i(0, 8), _i(6, 31))))


@settings(max_examples=300, deadline=None)
@given(_sweep_cases)
def test_int32_compartment_sweep_matches_python_ints(case):
    """The engine's int32 sweep against plain integers over the whole input range: inputs
    that overflow 32 bits in the shift, every decay factor 0..4096, refractory counts."""
    from neurocosim.emulator.loihi import kernels as K
    *cols, shifts = case
    u0, u1, v, refc, a0, a1, k0, k1, kv, vth_s, bias, refract = (np.array(c) for c in cols)
    n = len(u0)
    state = np.array([u0, u1, v, refc], np.int32)
    cs = np.zeros((K.N_CONSTS, n), np.int32)
    for row, col in ((K.C_KU0, k0), (K.C_KU1, k1), (K.C_KV, kv), (K.C_VTH, vth_s),
                     (K.C_BIAS, bias), (K.C_REFRACT, refract)):
        cs[row] = col
    fl = np.zeros(n, np.int8)
    K._compartments(0, n, a0.astype(np.int32), a1.astype(np.int32), state, cs, fl, 12,
                    1 << 23, (1 << 23) - 1, *shifts)
    for i in range(n):
        want = _sweep_oracle((int(u0[i]), int(u1[i])), int(v[i]), int(refc[i]),
                             (int(a0[i]), int(a1[i])), (int(k0[i]), int(k1[i]), int(kv[i])),
                             int(vth_s[i]), int(bias[i]), int(refract[i]), shifts)
        assert (*state[:, i].tolist(), int(fl[i])) == want, i


def small_network(seed: int, delta: bool = False, tau_i: float = 10.0, stdp: bool = True,
                  p: float = 0.3) -> Network:
    """Poisson and array inputs, exc/inh LIF populations, delays 1..5, optional STDP."""
    rng = np.random.default_rng(seed)
    n_exc, n_inh, n_src = 12, 5, 6
    par = dict(cm=0.25, tau_m=rng.uniform(8, 30), tau_syn_E=rng.uniform(2, 8),
               tau_syn_I=tau_i, tau_refrac=float(rng.integers(0, 4)), v_rest=-65.0,
               v_reset=-70.0, v_thresh=-55.0, i_offset=rng.uniform(0, 0.5, n_exc))
    ipar = {k: (v[:n_inh] if isinstance(v, np.ndarray) else v) for k, v in par.items()}
    if delta:
        ipar = {k: v for k, v in ipar.items() if k not in ("tau_syn_E", "tau_syn_I")}
    pops = [Population("src", n_src, "SpikeSourcePoisson",
                       dict(rate=rng.uniform(20, 80, n_src), start=0.0, duration=1e9)),
            Population("arr", 3, "SpikeSourceArray", {}),
            Population("exc", n_exc, "IF_curr_exp", par, {"v": rng.uniform(-70, -56, n_exc)}),
            Population("inh", n_inh, "IF_curr_delta" if delta else "IF_curr_exp", ipar)]
    sizes = {"src": n_src, "arr": 3, "exc": n_exc, "inh": n_inh}
    projs = []

    def conn(name, pre, post, w, rec, rule=None):
        a, b = np.nonzero(rng.random((sizes[pre], sizes[post])) < p)
        d = rng.integers(1, 6, len(a)).astype(float)
        projs.append(Projection(name, pre, post, a, b, rng.uniform(0.2, 1.0, len(a)) * w, d,
                                rec, rule))

    rule = Plasticity("stdp_additive", dict(tau_plus=15.0, tau_minus=20.0, A_plus=0.05,
                                            A_minus=0.06, w_min=0.0, w_max=1.2)) \
        if stdp else None
    conn("src_exc", "src", "exc", 1.0, "excitatory", rule)
    conn("arr_exc", "arr", "exc", 1.0, "excitatory")
    conn("exc_exc", "exc", "exc", 0.5, "excitatory")
    conn("exc_inh", "exc", "inh", 3.0 if delta else 1.0, "excitatory")
    conn("inh_exc", "inh", "exc", 1.5, "inhibitory")
    trains = SpikeTrains.from_lists([rng.uniform(0, 60, 8) for _ in range(3)])
    recs = [Recording(q, "spikes", np.arange(s)) for q, s in sizes.items()]
    recs.append(Recording("exc", "v", np.arange(3)))
    return Network(pops, projs, [PoissonSource("src", seed=seed), SpikeArray("arr", trains)],
                   recs, timestep=1.0, seed=seed)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), delta=st.booleans(), tau_i=st.sampled_from([10.0, 4.0]),
       split=st.integers(1, 59), per_core=st.integers(6, 40))
def test_engine_matches_python_oracle(seed, delta, tau_i, split, per_core):
    net = small_network(seed, delta=delta, tau_i=tau_i)
    image = hw.compile(net, "loihi", compartments_per_core=per_core)
    engine = Engine(image, timing=False)
    engine.run(float(split))
    engine.run(float(60 - split))
    ids, steps = engine.spikes()
    want = run_oracle(image, 60, Stimulus(net, 1.0).window(0, 60).merged())
    integrating = set(range(net.offsets()["exc"], net.size))
    assert sorted(zip(steps.tolist(), ids.tolist())) == sorted(
        (k, i) for k, i in want["spikes"] if i in integrating)
    state = engine.state()
    for key in ("u0", "u1", "v"):
        assert state[key].tolist() == want[key]
    for name, w in want["weights"].items():
        assert engine.raw_weights(name).tolist() == w


def test_stdp_changes_weights_within_bounds_and_result_dequantises():
    net = small_network(3)
    image = hw.compile(net, "loihi")
    engine = Engine(image, timing=False)
    engine.run(200.0)
    res = engine.result()
    raw = res.info["weights_raw"]["src_exc"]
    par = image.data["stdp"]["src_exc"]
    before = Engine(image, timing=False).raw_weights("src_exc")
    assert np.any(raw != before)
    assert raw.min() >= par["w_lo"] and raw.max() <= par["w_hi"]
    lsb = image.data["projections"]["src_exc"]["lsb"]
    np.testing.assert_allclose(res.weights["src_exc"], raw * lsb)
    # static weights come back within the quantisation error the compiler reported
    w = net.projections[2].weight
    err = np.abs(res.weights["exc_exc"] - w) / w
    assert err.max() <= image.report.worst()["weight"] + 1e-12
    assert res.signals["exc"]["v"].data.shape == (201, 3)         # t = 0, 1, ..., 200 ms
    assert np.all(res.signals["exc"]["v"].data <= -55.0 + 1e-9)


def test_refractory_holds_v_at_reset():
    pop = Population("p", 1, "IF_curr_exp", dict(cm=0.25, tau_m=10.0, tau_syn_E=5.0,
                     tau_syn_I=5.0, tau_refrac=4.0, v_rest=-50.0, v_reset=-70.0,
                     v_thresh=-55.0, i_offset=0.0))
    net = Network([pop], recordings=[Recording("p", "spikes", [0]), Recording("p", "v", [0])],
                  timestep=1.0)
    res = hw.run(hw.compile(net, "loihi"), 100.0, timing=False)
    t = res.spikes["p"].times
    assert len(t) >= 3 and np.all(np.diff(t) >= 5.0)
    sig = res.signals["p"]["v"]
    for ts in t[:-1]:
        held = (sig.times > ts) & (sig.times <= ts + 4.0)
        np.testing.assert_allclose(sig.data[held, 0], -70.0)


def test_run_rejects_fractional_steps_and_bad_options():
    image = hw.compile(small_network(0), "loihi")
    with pytest.raises(hw.TargetError, match=r"no runner option\(s\) \['colour'\]; its "
                                             r"options are \['device', 'threads', 'timing'\]"):
        Engine(image, colour="red")
    with pytest.raises(hw.TargetError, match="timing='fast'"):
        Engine(image, timing="fast")
    with pytest.raises(hw.TargetError, match="whole"):
        Engine(image, timing=False).run(0.5)


def test_saved_image_runs_identically(tmp_path):
    image = hw.compile(small_network(5), "loihi")
    image.save(tmp_path / "net.npz")
    loaded = hw.HardwareImage.load(tmp_path / "net.npz")
    a = hw.run(image, 80.0, timing=False)
    b = hw.run(loaded, 80.0, timing=False)
    for name in a.spikes:
        np.testing.assert_array_equal(a.spikes[name].ids, b.spikes[name].ids)
        np.testing.assert_array_equal(a.spikes[name].times, b.spikes[name].times)
    for name in a.weights:
        np.testing.assert_array_equal(a.info["weights_raw"][name], b.info["weights_raw"][name])


@pytest.mark.parametrize("override, match", [
    (dict(u_format=hw.formats.NumberFormat(31, signed=True, overflow="wrap")),
     r"v \+ u0 \+ u1 \+ bias can reach \d+, beyond the emulator's 32-bit sweep"),
    (dict(decay_format=hw.formats.NumberFormat(16, signed=False, overflow="saturate")),
     "decay_format of 16 bits; the emulator's int32 decay takes at most 15"),
])
def test_engine_refuses_a_spec_beyond_its_int32_sweep(override, match):
    from neurocosim.hw.errors import TargetError
    image = hw.compile(small_network(1, stdp=False), "loihi", **override)
    with pytest.raises(TargetError, match=match):
        Engine(image, timing=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-2**31, 2**31 - 1), min_size=1, max_size=40),
       st.integers(0, 31))
def test_32_bit_shifts_match_numpy(xs, b):
    """`hw.jit.sar32`, `shr32`, `shl32` (the sweep's 32-bit shifts, LLVM i32 shifts
    through Numba intrinsics) against numpy's int32 and uint32 shifts, counts 0..31."""
    x = np.array(xs, np.int32)
    got = _shifts(x, np.uint32(b))
    np.testing.assert_array_equal(got[0], x >> np.int32(b))
    np.testing.assert_array_equal(got[1], x.view(np.uint32) >> np.uint32(b))
    np.testing.assert_array_equal(got[2], x << np.int32(b))


@njit
def _shifts(x, b):
    """Each of x shifted by b with the three intrinsics (test_32_bit_shifts_match_numpy)."""
    out = np.empty((3, len(x)), np.int64)
    for i in range(len(x)):
        out[0, i], out[1, i], out[2, i] = sar32(x[i], b), shr32(x[i], b), shl32(x[i], b)
    return out
