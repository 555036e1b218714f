"""The "board" target with the fpga core: a PyNN-level network compiled for the fpga core,
loaded over the link onto the virtual board (the fpga emulator's model behind a pty),
equals the emulator's model run directly: every spike, every cycle count, final weights."""

from __future__ import annotations

import numpy as np
import pytest

from neurocosim.hw.compiler import compile as hw_compile
from neurocosim.hw.errors import TargetError
from neurocosim.hw.ir import (Network, Plasticity, Population, Projection, Recording,
                              SpikeArray, SpikeTrains)
from neurocosim.hw.targets import get_target

from neurocosim.emulator.fpga import oracle  # noqa: E402
from test_fpga_contract import poisson_net  # noqa: E402  (one Poisson network for fpga and board)

LIF = dict(cm=1.0, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0,
           v_rest=-65.0, v_reset=-65.0, v_thresh=-55.0, i_offset=0.3)


def network(seed: int, n_src: int = 20, n: int = 40, spikes: int = 8, t_max: float = 100.0,
            p_in: float = 0.3, p_rec: float = 0.1) -> Network:
    """Spike sources into an LIF population with pair STDP, plus recurrent synapses."""
    rng = np.random.default_rng(seed)
    src = Population("src", n_src, "SpikeSourceArray", {})
    exc = Population("exc", n, "IF_curr_exp", LIF)
    trains = SpikeTrains.from_lists([np.sort(rng.uniform(1, t_max, spikes))
                                     for _ in range(n_src)])
    pre, post = np.nonzero(rng.random((n_src, n)) < p_in)
    stdp = Plasticity("stdp_additive", dict(tau_plus=20.0, tau_minus=20.0, A_plus=0.01,
                                            A_minus=0.012, w_min=0.0, w_max=2.0))
    proj = Projection("in", "src", "exc", pre, post, rng.uniform(0.5, 2.0, pre.size),
                      np.full(pre.size, 1.0), plasticity=stdp)
    p2, q2 = np.nonzero(rng.random((n, n)) < p_rec)
    rec = Projection("rec", "exc", "exc", p2, q2, rng.uniform(0.1, 0.5, p2.size),
                     np.full(p2.size, 2.0))
    return Network(populations=[src, exc], projections=[proj, rec],
                   stimuli=[SpikeArray("src", trains)], timestep=1.0,
                   recordings=[Recording("src", "spikes", np.arange(n_src)),
                               Recording("exc", "spikes", np.arange(n))])


def core_spec():
    return get_target("fpga").replace(neurons_per_core=32, n_cores=2)


def test_board_target_equals_fpga_model_spike_for_spike():
    from neurocosim.host.board import BoardRunner
    net = network(1)
    image = hw_compile(net, "board", core=core_spec())
    assert image.target.name == "board" and len(image.cores) == 2
    runner = BoardRunner(image, port="virtual", timeout=1.0)
    runner.run(60.0)
    runner.run(40.0)  # continuing runs
    res = runner.result()
    runner.close()

    ref_image = hw_compile(net, core_spec())
    chip = oracle.ChipModel(ref_image)
    steps = [chip.step() for _ in range(100)]
    # neuron spikes, per step, as board ids; cycles per step
    got = [r[2].tolist() for r in runner.records]
    assert got == [sorted(s) for s, _ in steps]
    assert res.timing.arrays["cycles_per_step"].tolist() == [c for _, c in steps]
    assert sum(map(len, got)) > 50 and len(res.spikes["src"]) > 100
    # final (STDP-changed) weights read back over the link equal the model's
    weights = chip.weights()
    where = ref_image.data["fpga"]["projections"]["in"]
    expected = np.abs(np.array([weights[c][i] for c, i in zip(where["core"], where["index"])])
                      * where["scale"])
    assert np.allclose(res.weights["in"], expected)
    initial = np.abs(np.array([ref_image.cores[c].memories["syn_w"][i]
                               for c, i in zip(where["core"], where["index"])]) * where["scale"])
    assert not np.allclose(expected, initial)  # STDP really changed them


def test_board_result_equals_fpga_engine_when_available():
    try:
        from neurocosim.emulator.fpga import Engine  # noqa: F401
    except ImportError:
        pytest.skip("the fpga emulator's Engine is not there yet")
    from neurocosim.hw.compiler import run as hw_run
    net = network(2)
    board = hw_run(hw_compile(net, "board", core=core_spec()), 80.0, port="virtual")
    emu = hw_run(hw_compile(net, core_spec()), 80.0)
    for name in emu.spikes:
        a, b = board.spikes[name], emu.spikes[name]
        assert sorted(zip(a.ids.tolist(), a.times.tolist())) == \
            sorted(zip(b.ids.tolist(), b.times.tolist())), name
    for name in emu.weights:
        assert np.allclose(board.weights[name], emu.weights[name]), name
    # the same cycle model's report, from the board's cycles
    assert board.timing.metrics == {**emu.timing.metrics, "link_retransmits": 0.0}


def pynn_spikes(target: str, **options) -> list:
    import neurocosim.pynn_backend as sim
    sim.setup(timestep=1.0, target=target, **options)
    rng = np.random.default_rng(7)
    src = sim.Population(10, sim.SpikeSourceArray(
        spike_times=[sorted(rng.uniform(1, 40, 4)) for _ in range(10)]), label="src")
    cells = sim.Population(20, sim.IF_curr_exp(i_offset=0.2), label="cells")
    from pyNN.random import NumpyRNG
    sim.Projection(src, cells, sim.FixedProbabilityConnector(0.5, rng=NumpyRNG(seed=3)),
                   sim.StaticSynapse(weight=0.8, delay=1.0))
    cells.record("spikes")
    sim.run(50.0)
    trains = [np.asarray(st.magnitude).tolist()
              for st in cells.get_data().segments[0].spiketrains]
    sim.end()
    return trains


def test_pynn_setup_target_board_with_port_equals_fpga():
    board = pynn_spikes("board", port="virtual")
    assert board == pynn_spikes("fpga") and sum(map(len, board)) > 0


def test_cli_board_run_writes_results(tmp_path, capsys):
    from neurocosim.host.cli import main
    from neurocosim.host.virtual_board import VirtualBoard
    image = hw_compile(network(1), "board", core=core_spec())
    image.save(tmp_path / "image.npz")
    with VirtualBoard.for_image(image) as vb:
        assert main(["board", "run", "--port", vb.port, str(tmp_path / "image.npz"),
                     "--duration", "30", "--out", str(tmp_path / "out")]) == 0
    assert "board: 30 ms" in capsys.readouterr().out
    assert (tmp_path / "out" / "spikes.csv").stat().st_size > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_virtual_fpga_engines_agree_across_writes_between_runs(seed):
    """The Numba FastChip and the oracle behind the virtual board give the same records,
    also when weights and a threshold are rewritten between runs (state kept)."""
    from neurocosim.host.board import Board
    from neurocosim.host.virtual_board import FpgaBoardModel, VirtualBoard
    image = hw_compile(network(seed), "board", core=core_spec())
    out = {}
    for engine in ("numba", "python"):
        model = FpgaBoardModel(core_spec(), n_cores=2,
                               axon_depth=int(image.data["fpga"]["n_axons"]), engine=engine)
        with VirtualBoard(model) as vb:
            board = Board(vb.port, timeout=1.0)
            board.load(image)
            first = board.run_steps(30)
            board.write_region("syn_w", np.full(5, 3), core=1, offset=2)
            board.write_region("theta", image.cores[0].params["theta"][:4] // 2, core=0)
            second = board.run_steps(30)
            out[engine] = ([(r[0], r[1], r[2].tolist()) for r in first + second],
                           board.read_region("syn_w", core=1).tolist())
            board.close()
    assert out["numba"] == out["python"]
    assert sum(len(r[2]) for r in out["numba"][0]) > 20


def test_virtual_fpga_board_offers_the_rtl_boards_regions_and_refuses_bad_values():
    import dataclasses

    from neurocosim.host import protocol as P
    from neurocosim.host.virtual_board import BoardServer, FpgaBoardModel
    from neurocosim.rtl.capacity import ChipCapacity, fpga_regions
    spec = core_spec()
    model = FpgaBoardModel(spec, n_cores=2, axon_depth=60)
    assert model.identity.regions == fpga_regions(spec, ChipCapacity.of_spec(spec, 2, 60))
    server = BoardServer(model)
    post = model.identity.region("syn_post")
    assert post.range == (0, 31) and post.writeonly
    unchecked = dataclasses.replace(post, range=None)
    [ok] = P.Deframer().feed(server.feed(P.encode_frame(
        P.Cmd.WRITE_WEIGHTS, 1, P.pack_write(0, unchecked, 0, [31]))))
    [bad] = P.Deframer().feed(server.feed(P.encode_frame(
        P.Cmd.WRITE_WEIGHTS, 2, P.pack_write(0, unchecked, 0, [5, 32]))))
    assert ok.type == P.Cmd.WRITE_WEIGHTS | P.RESPONSE_BIT
    assert bad.type == P.ERROR_TYPE
    assert "OUT_OF_RANGE: region 'syn_post': value 32 outside 0..31" in str(
        P.unpack_error(bad.payload))
    [read] = P.Deframer().feed(server.feed(P.encode_frame(
        P.Cmd.READ_REGION, 3, P.pack_read(0, post, 0, 1))))
    assert "BAD_REGION" in str(P.unpack_error(read.payload))


def test_board_refuses_to_run_past_its_stimulus_memory():
    """The board holds hw.stimulus over [0, stimulus_horizon_ms): up to there it runs
    what the emulator runs; a window needing later input is refused by name."""
    from neurocosim.hw.compiler import run as hw_run
    from neurocosim.host.board import BoardRunner
    net = poisson_net()
    core = core_spec().replace(stimulus_horizon_ms=50.0)
    runner = BoardRunner(hw_compile(net, "board", core=core), port="virtual", timeout=1.0)
    try:
        runner.run(40.0)
        with pytest.raises(TargetError, match=r"running to t = 70 ms needs input spikes at "
                                              r"t = \d+ ms and later.*stimulus_horizon_ms=50"):
            runner.run(30.0)
        runner.run(10.0)          # up to the horizon is fine
        res = runner.result()
    finally:
        runner.close()
    emu = hw_run(hw_compile(net, core), 50.0)
    for pop in ("poi", "cells"):
        assert sorted(zip(res.spikes[pop].ids.tolist(), res.spikes[pop].times.tolist())) == \
            sorted(zip(emu.spikes[pop].ids.tolist(), emu.spikes[pop].times.tolist()))


def test_virtual_board_returns_only_recorded_populations_and_resets():
    from neurocosim.host.board import BoardRunner
    image = hw_compile(poisson_net(("cells",)), "board", core=core_spec())
    runner = BoardRunner(image, port="virtual", timeout=1.0)
    try:
        runner.run(40.0)
        first = runner.result()
        runner.reset()
        runner.run(40.0)
        again = runner.result()
    finally:
        runner.close()
    assert set(first.spikes) == {"cells"} and len(first.spikes["cells"]) > 10
    np.testing.assert_array_equal(first.spikes["cells"].times, again.spikes["cells"].times)
    np.testing.assert_array_equal(first.spikes["cells"].ids, again.spikes["cells"].ids)
