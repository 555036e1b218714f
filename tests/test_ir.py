"""The IR validates on construction, and an image survives save/load unchanged."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocosim import hw
from neurocosim.hw import ir
from neurocosim.hw.errors import NetworkError, TargetError
from neurocosim.hw.formats import NumberFormat

LIF = dict(cm=1.0, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, tau_refrac=2.0, v_rest=-65.0,
           v_reset=-70.0, v_thresh=-50.0, i_offset=0.0)


@st.composite
def networks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    n_pop = draw(st.integers(1, 4))
    pops = [ir.Population(f"p{i}", int(rng.integers(1, 20)), "IF_curr_exp",
                          {k: v * rng.uniform(0.9, 1.1, 1)[0] if k == "tau_m" else v
                           for k, v in LIF.items()},
                          {"v": rng.uniform(-70, -60, 1)[0]}) for i in range(n_pop)]
    src_size = int(rng.integers(1, 10))
    pops.append(ir.Population("src", src_size, "SpikeSourceArray"))
    stimuli = [ir.SpikeArray("src", ir.SpikeTrains.from_lists(
        [np.sort(rng.uniform(0, 100, rng.integers(0, 5))) for _ in range(src_size)]))]
    prjs = []
    for k in range(draw(st.integers(0, 5))):
        pre = pops[int(rng.integers(len(pops)))]
        post = pops[int(rng.integers(n_pop))]
        n = int(rng.integers(0, 30))
        plast = None
        if rng.random() < 0.5:
            plast = ir.Plasticity("stdp_additive", dict(tau_plus=20.0, tau_minus=20.0,
                                  A_plus=0.01, A_minus=0.012, w_min=0.0, w_max=1.0))
        prjs.append(ir.Projection(f"j{k}", pre.name, post.name,
                                  rng.integers(0, pre.size, n), rng.integers(0, post.size, n),
                                  rng.uniform(0, 1, n), rng.uniform(0.1, 5, n),
                                  "excitatory" if rng.random() < 0.5 else "inhibitory", plast))
    stimuli.append(ir.CurrentSource("step", "p0", np.arange(pops[0].size),
                                    {"times": [1.0, 5.0], "amplitudes": [0.2, 0.0]}))
    recs = [ir.Recording("p0", "v", np.arange(pops[0].size))]
    return ir.Network(pops, prjs, stimuli, recs, timestep=0.1, seed=3)


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(_same(getattr(a, f), getattr(b, f))
                                          for f in a.__dataclass_fields__)
    return a == b


@settings(max_examples=25, deadline=None)
@given(networks())
def test_image_save_load_roundtrip(tmp_path_factory, net):
    image = hw.compile(net, "reference")
    path = tmp_path_factory.mktemp("img") / "net.npz"
    image.save(path)
    back = hw.HardwareImage.load(path)
    assert _same(image, back)


def test_load_refuses_other_files(tmp_path):
    bad = tmp_path / "x.npz"
    np.savez(bad, a=np.zeros(3))
    with pytest.raises(TargetError, match="not a neurocosim image"):
        hw.HardwareImage.load(bad)


@pytest.mark.parametrize("change,match", [
    (dict(params={**LIF, "tau_m": float("nan")}), "not a finite number"),
    (dict(params={**LIF, "tau_m": -1.0}), "tau_m = -1.0 must be > 0"),
    (dict(params={**LIF, "tau_mm": 1.0}), "no parameter"),
    (dict(params={k: v for k, v in LIF.items() if k != "cm"}), "missing parameter"),
    (dict(model="IF_nonsense"), "unknown model 'IF_nonsense'"),
    (dict(size=0), "size 0 must be a positive integer"),
])
def test_population_errors_name_the_value(change, match):
    kw = dict(name="p", size=3, model="IF_curr_exp", params=dict(LIF))
    kw.update(change)
    with pytest.raises(NetworkError, match=match):
        ir.Population(**kw)


def test_projection_errors():
    with pytest.raises(NetworkError, match="delay -1.0 ms is negative"):
        ir.Projection("j", "a", "b", [0], [0], [0.1], [-1.0])
    with pytest.raises(NetworkError, match="not a finite number"):
        ir.Projection("j", "a", "b", [0], [0], [float("nan")], [1.0])
    with pytest.raises(NetworkError, match="use receptor='inhibitory'"):
        ir.Projection("j", "a", "b", [0], [0], [-0.5], [1.0])
    a = ir.Population("a", 2, "IF_curr_exp", dict(LIF))
    with pytest.raises(NetworkError, match="index 5 out of range for population 'a' of size 2"):
        ir.Network([a], [ir.Projection("j", "a", "a", [5], [0], [0.1], [1.0])])


def test_unknown_target_names_known_ones():
    with pytest.raises(TargetError, match="unknown target 'loihy'.*reference"):
        hw.get_target("loihy")
    with pytest.raises(TargetError, match="no parameter"):
        hw.get_target("reference", neurons_per_kore=3)


@given(st.integers(2, 24), st.integers(0, 8), st.booleans(),
       st.lists(st.integers(-2**30, 2**30), min_size=1, max_size=50))
def test_number_format_wrap_and_saturate(bits, frac, signed, values):
    frac = min(frac, bits)
    wrap = NumberFormat(bits, frac, signed, "wrap")
    sat = NumberFormat(bits, frac, signed, "saturate")
    v = np.array(values)
    w = wrap.fit(v)
    assert np.all((w >= wrap.min_int) & (w <= wrap.max_int))
    assert np.all((w - v) % (1 << bits) == 0)          # wrap is congruent modulo 2^bits
    s = sat.fit(v)
    assert np.array_equal(s, np.clip(v, sat.min_int, sat.max_int))
    with pytest.raises(NetworkError) if np.any((v < sat.min_int) | (v > sat.max_int)) \
            else _nothing():
        NumberFormat(bits, frac, signed, "error").fit(v)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=20))
def test_quantize_is_nearest_or_refuses(values):
    f = NumberFormat(16, 6, True)       # steps of 1/64 from -32768/64 to 32767/64
    v = np.array(values)
    lo, hi, half = -32768 / 64, 32767 / 64, 1 / 128
    if np.any((v > hi + half) | (v < lo - half)):       # nearest step out of range
        with pytest.raises(NetworkError, match="does not fit"):
            f.quantize(v)
    elif np.all((v < hi + half) & (v > lo - half)):     # (a tie at the edge goes either way)
        q = f.quantize(v)
        assert np.all(np.abs(q * f.scale - v) <= f.scale / 2 + 1e-12)
        assert q.min() >= -32768 and q.max() <= 32767


@given(st.integers(0, 200), st.integers(1, 100))
def test_current_waveform_is_window_independent(first, n):
    src = ir.CurrentSource("noisy", "p", [0], {"mean": 0.5, "stdev": 0.2, "dt": 0.7000000000000001,
                                                "start": 3.0, "stop": 15.0}, seed=4)
    whole = src.waveform(0, first + n, 0.1)
    assert np.array_equal(src.waveform(first, n, 0.1), whole[first:first + n])


def test_noisy_dt_must_be_a_multiple_of_the_timestep():
    src = ir.CurrentSource("noisy", "p", [0], {"mean": 0.5, "stdev": 0.2, "dt": 0.25,
                                                "start": 0.0, "stop": 15.0})
    with pytest.raises(NetworkError, match="dt = 0.25 ms is not a multiple of the timestep 0.1"):
        src.waveform(0, 10, 0.1)
