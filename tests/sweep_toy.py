"""A tiny stand-in target and network for the sweep tests: fast, deterministic, with limits.

The toy "chip" fires each integrating neuron regularly (period set by its index and
i_offset) and shifts every spike by `jitter_ms`, so the fidelity metrics move with a spec
field; it refuses networks larger than neurons_per_core * n_cores (a LimitError), and
reports latency and energy that depend on the spec, as a real timing target does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from neurocosim.hw.errors import LimitError
from neurocosim.hw.formats import NumberFormat
from neurocosim.hw.image import Core, HardwareImage
from neurocosim.hw.ir import (Network, Population, Projection, Recording, SpikeArray,
                              SpikeTrains, is_source)
from neurocosim.hw.result import Result, Spikes, TimingReport
from neurocosim.hw.targets import TargetSpec, register_target


@dataclass(frozen=True)
class ToySpec(TargetSpec):
    name: str = "toy"
    description: str = "sweep-test stand-in target"
    runner: str = "sweep_toy:ToyEngine"
    compiler: str = "sweep_toy:compile_toy"
    models: tuple[str, ...] = ("IF_curr_exp", "SpikeSourceArray")
    timestep: float | None = 1.0
    neurons_per_core: int = 16
    n_cores: int = 8
    hop_latency_ns: float = 4.0
    energy_per_spike_pJ: float = 20.0
    jitter_ms: float = 0.0
    mesh_shape: tuple[int, int] = (2, 4)
    weight_format: NumberFormat = NumberFormat(8)
    sleep_s: float = 0.0          # a slow point, for tests that kill a sweep mid-way

    def __post_init__(self):
        if self.neurons_per_core < 1:
            raise LimitError("neurons_per_core", self.neurons_per_core, ">= 1")


def compile_toy(network: Network, spec: ToySpec) -> HardwareImage:
    need = -(-network.size // spec.neurons_per_core)
    if need > spec.n_cores:
        raise LimitError("cores", need, spec.n_cores,
                         f"{network.size} neurons at {spec.neurons_per_core} per core")
    ids = np.arange(network.size)
    cores = [Core(i, ids[i * spec.neurons_per_core:(i + 1) * spec.neurons_per_core])
             for i in range(need)]
    return HardwareImage(target=spec, network=network, cores=cores)


class ToyEngine:
    def __init__(self, image: HardwareImage):
        self.image, self.t = image, 0.0

    def run(self, duration: float) -> None:
        time.sleep(self.image.target.sleep_s)
        self.t += duration

    def result(self) -> Result:
        spec, net = self.image.target, self.image.network
        spikes = {}
        for pop in net.populations:
            if is_source(pop.model):
                arr = next(s for s in net.stimuli if isinstance(s, SpikeArray)
                           and s.population == pop.name)
                ids = np.repeat(np.arange(pop.size), np.diff(arr.trains.offsets))
                spikes[pop.name] = Spikes(ids, arr.trains.times)
                continue
            period = 5.0 + np.arange(pop.size) + 10.0 * pop.params["i_offset"]
            ids, times = [], []
            for i, p in enumerate(period):
                t = np.arange(p, self.t, p) + spec.jitter_ms * (1 + i % 3)
                t = t[t < self.t]
                ids.append(np.full(t.size, i))
                times.append(t)
            spikes[pop.name] = Spikes(np.concatenate(ids), np.concatenate(times))
        n_spikes = sum(len(s) for s in spikes.values())
        hops = len(self.image.cores) / 2.0
        timing = TimingReport(
            metrics={"latency_ns": spec.hop_latency_ns * hops,
                     "weight_bits": float(spec.weight_format.bits),
                     "energy_pJ": spec.energy_per_spike_pJ * n_spikes},
            arrays={"core_load": np.array([len(c.neurons) for c in self.image.cores])})
        return Result(target=spec.name, t_stop=self.t, timestep=1.0, spikes=spikes,
                      timing=timing)


def tiny_network(n: int = 12, n_in: int = 4, seed: int = 0) -> Network:
    """n_in spike sources driving n IF_curr_exp neurons, all spikes recorded."""
    rng = np.random.default_rng(seed)
    trains = SpikeTrains.from_lists([np.sort(rng.uniform(0, 50, 5)).round(0)
                                     for _ in range(n_in)])
    params = dict(cm=1.0, tau_m=20.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0,
                  v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0,
                  i_offset=rng.uniform(0.0, 1.0, n).round(2))
    pops = [Population("inp", n_in, "SpikeSourceArray"),
            Population("exc", n, "IF_curr_exp", params)]
    pre, post = np.meshgrid(np.arange(n_in), np.arange(n), indexing="ij")
    prj = Projection("in_exc", "inp", "exc", pre.ravel(), post.ravel(),
                     np.full(pre.size, 0.5), np.full(pre.size, 1.0))
    recs = [Recording("inp", "spikes", np.arange(n_in)), Recording("exc", "spikes",
                                                                  np.arange(n))]
    return Network(pops, [prj], [SpikeArray("inp", trains)], recs, timestep=1.0)


register_target(ToySpec())
