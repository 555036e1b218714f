"""The "board" target's runner: an image loaded over the link, run in pieces, returned as
the Result every target returns (spikes per population, weights, cycles)."""

from __future__ import annotations

import numpy as np
import pytest

from neurocosim.host.board import BoardRunner
from neurocosim.host.virtual_board import LifCoreModel, VirtualBoard
from neurocosim.hw.compiler import run as hw_run
from neurocosim.hw.errors import LimitError, TargetError
from neurocosim.hw.image import Core, HardwareImage
from neurocosim.hw.ir import Network, Population, Recording
from neurocosim.hw.targets import get_target

NPC = 32


def lif_params(n):
    return dict(cm=1.0, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0,
                v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, i_offset=0.0)


def make_image(seed: int, sizes=(40, 20)) -> HardwareImage:
    """Two populations spread over two cores of the link test core's layout."""
    pops = [Population(f"p{i}", n, "IF_curr_exp", lif_params(n)) for i, n in enumerate(sizes)]
    net = Network(populations=pops, timestep=1.0,
                  recordings=[Recording(p.name, "spikes", np.arange(p.size)) for p in pops])
    rng = np.random.default_rng(seed)
    total = sum(sizes)
    order = rng.permutation(total)  # neurons placed out of order, to test the id mapping
    cores = []
    for c in range(2):
        neurons = order[c * NPC:(c + 1) * NPC]
        k = neurons.size
        cores.append(Core(c, neurons, params={
            "vth": rng.integers(60, 140, k), "v_reset": np.zeros(k, np.int64),
            "bias": rng.integers(0, 16, k), "leak_shift": np.full(k, 3),
            "refrac": rng.integers(0, 3, k)},
            memories={"weights": (rng.integers(-20, 40, (2 * NPC, NPC))
                                  * (rng.random((2 * NPC, NPC)) < 0.1))[:, :NPC],
                      "route": np.ones(2 * NPC, np.int64)}))
    return HardwareImage(target=get_target("board"), network=net, cores=cores)


def oracle(image: HardwareImage, steps: int):
    """Step the core model directly with the image's arrays (no link, no runner)."""
    model = LifCoreModel(2, NPC)
    for core in image.cores:
        for name, arr in {**core.params, **core.memories}.items():
            model.write(core.index, model.identity.region(name), 0, np.ravel(arr))
    return [model.step() for _ in range(steps)]


def test_runner_result_matches_direct_model_in_pieces():
    image = make_image(3)
    with VirtualBoard(LifCoreModel(2, NPC)) as vb:
        runner = BoardRunner(image, port=vb.port, timeout=0.5)
        runner.run(30.0)
        runner.run(20.0)
        res = runner.result()
        runner.close()
    assert res.target == "board" and res.t_stop == 50.0 and runner.t == 50.0
    expected = oracle(image, 50)
    # rebuild the expected spikes per population from hardware ids
    got = {name: set(zip(s.ids.tolist(), s.times.tolist())) for name, s in res.spikes.items()}
    want = {"p0": set(), "p1": set()}
    for step, (ids, _) in enumerate(expected):
        for hw in ids:
            g = int(image.cores[hw // NPC].neurons[hw % NPC])
            name, idx = ("p0", g) if g < 40 else ("p1", g - 40)
            want[name].add((idx, (step + 1) * 1.0))
    assert got == want and sum(map(len, want.values())) > 50
    assert np.array_equal(res.timing.arrays["cycles_per_step"], [c for _, c in expected])
    w = res.weights["core1.weights"].reshape(2 * NPC, NPC)
    assert np.array_equal(w, image.cores[1].memories["weights"])


def test_hw_run_with_virtual_port_option():
    image = make_image(4)
    a = hw_run(image, 25.0, port="virtual")
    b = hw_run(image, 25.0, port="virtual")
    for name in a.spikes:
        assert np.array_equal(a.spikes[name].ids, b.spikes[name].ids)
        assert np.array_equal(a.spikes[name].times, b.spikes[name].times)
    assert a.timing.metrics["cycles_total"] == a.timing.arrays["cycles_per_step"].sum()


def test_runner_needs_a_port_and_known_options():
    image = make_image(5)
    with pytest.raises(TargetError, match="needs a port"):
        BoardRunner(image)
    with pytest.raises(TargetError, match=r"no runner option\(s\) \['speed'\]; its options "
                                          r"are \['baud', 'device', 'port', "):
        BoardRunner(image, port="virtual", speed=3)


def test_image_the_board_cannot_hold_is_refused():
    image = make_image(6)
    image.cores[0].memories["delays"] = np.zeros(4, np.int64)
    with pytest.raises(TargetError, match="no region for core 0 delays"):
        BoardRunner(image, port="virtual")
    with VirtualBoard(LifCoreModel(1, NPC)) as vb:
        with pytest.raises(LimitError, match="board cores: needs 2, the target allows 1"):
            BoardRunner(make_image(6), port=vb.port)


def test_board_target_compiles_through_the_fpga_core_or_says_why():
    net = Network(populations=[Population("p", 4, "IF_curr_exp", lif_params(4))])
    try:
        get_target("fpga")
    except TargetError:
        from neurocosim.hw.compiler import compile as hw_compile
        with pytest.raises(TargetError, match="compiles for the 'fpga' core"):
            hw_compile(net, "board")
