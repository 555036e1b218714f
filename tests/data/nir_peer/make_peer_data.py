"""Peer data for tests/test_nir_peer.py: small networks built in snnTorch, exported with
snnTorch's own `export_to_nir`, driven by random input spike trains and simulated by
snnTorch itself. For each graph NAME this writes NAME.nir (the graph as snnTorch exports
it) and NAME.npz (the input, snnTorch's spikes of every layer, its membrane traces).

Regenerate (needs the `peers-nir` extra: torch 2.13 CPU, snntorch, nirtorch):
    python tests/data/nir_peer/make_peer_data.py
The test imports `build`, `simulate` and `SPECS` from here for its live check.

Conventions chosen so that the NIR graph says what snnTorch computes: every neuron resets
to zero (`reset_mechanism="zero"`; snnTorch's default, subtraction, is not expressible in
NIR and its export writes v_reset = 0 regardless); per-neuron beta, alpha and threshold
(tensors, so the exported nodes have a shape); Linear biases only in the first layer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DT_MS = 0.1         # snnTorch's export writes tau = dt / (1 - beta) with dt = 1e-4 s
STEPS = 200         # simulated steps per graph
N_IN = 12           # input channels
RATE = 0.1          # input spike probability per channel and step
NO_SPIKE = 1e6      # threshold of a readout layer: it never fires, its mem is the trace


@dataclass(frozen=True)
class Layer:
    """One Linear + neuron layer: kind is leaky, synaptic, rleaky or readout (a Leaky
    that never fires: snnTorch exports no LI node)."""

    kind: str
    size: int
    bias: bool = False


SPECS: dict[str, tuple[Layer, ...]] = {
    "lif": (Layer("leaky", 8, True),),
    "cubalif": (Layer("synaptic", 8),),
    "lif_lif": (Layer("leaky", 10, True), Layer("leaky", 6)),
    "lif_cubalif": (Layer("leaky", 10, True), Layer("synaptic", 6)),
    "rlif": (Layer("rleaky", 8, True),),
    "lif_readout": (Layer("leaky", 10, True), Layer("readout", 4)),
}


def _neuron(layer: Layer, gen):
    """The snnTorch neuron module of a layer, random per-neuron constants from `gen`."""
    import snntorch as snn
    import torch
    n = layer.size
    beta = 0.8 + 0.15 * torch.rand(n, generator=gen)
    thr = 0.5 + torch.rand(n, generator=gen)
    common = {"init_hidden": True, "reset_mechanism": "zero"}
    if layer.kind == "synaptic":
        alpha = 0.5 + 0.4 * torch.rand(n, generator=gen)
        return snn.Synaptic(alpha=alpha, beta=beta, threshold=thr, **common)
    if layer.kind == "rleaky":
        cell = snn.RLeaky(beta=beta, threshold=thr, linear_features=n, **common)
        with torch.no_grad():
            cell.recurrent.weight.copy_(_weights(n, n, 0.6, gen))
            cell.recurrent.bias.copy_(0.05 * torch.randn(n, generator=gen))
        return cell
    if layer.kind == "readout":
        thr = torch.full((n,), NO_SPIKE)
    return snn.Leaky(beta=beta, threshold=thr, **common)


def _weights(n_out: int, n_in: int, gain: float, gen):
    """Mixed-sign weights, mostly positive so that the layers fire."""
    import torch
    return gain * (1.5 * torch.rand(n_out, n_in, generator=gen) - 0.5)


def build(layers: tuple[Layer, ...], seed: int):
    """An nn.Sequential of Linear + neuron layers with weights drawn from `seed`."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    mods, n_in = [], N_IN
    for layer in layers:
        fc = torch.nn.Linear(n_in, layer.size, bias=layer.bias)
        with torch.no_grad():
            fc.weight.copy_(_weights(layer.size, n_in, 0.9 if n_in == N_IN else 0.7, gen))
            if layer.bias:
                fc.bias.copy_(0.05 * torch.randn(layer.size, generator=gen))
        mods += [fc, _neuron(layer, gen)]
        n_in = layer.size
    return torch.nn.Sequential(*mods)


def simulate(net, spikes: np.ndarray) -> dict[str, np.ndarray]:
    """snnTorch's own run of `net` on input spikes (steps x N_IN, 0/1), step by step:
    {"spk_<node>": steps x n spikes, "mem_<node>": steps x n membrane} per neuron layer,
    keyed by the node name snnTorch's export gives the layer."""
    import snntorch as snn
    import torch
    for m in net:
        if isinstance(m, snn.SpikingNeuron):
            m.reset_hidden()
    out: dict[str, list] = {}
    with torch.no_grad():
        for row in spikes:
            x = torch.as_tensor(row[None], dtype=torch.float32)
            for i, m in enumerate(net):
                x = m(x)
                if isinstance(m, snn.SpikingNeuron):
                    name = f"{i}.lif" if isinstance(m, snn.RLeaky) else str(i)
                    out.setdefault(f"spk_{name}", []).append(x[0].numpy().copy())
                    out.setdefault(f"mem_{name}", []).append(m.mem[0].numpy().copy())
    return {k: np.array(v) for k, v in out.items()}


def export(net):
    """snnTorch's NIR export of `net` (batch dimension ignored)."""
    import torch
    from snntorch.export_nir import export_to_nir
    return export_to_nir(net, torch.zeros(1, N_IN), ignore_dims=[0])


def inputs(seed: int) -> np.ndarray:
    """Random input spike trains: steps x N_IN, 0/1."""
    rng = np.random.default_rng(seed)
    return (rng.random((STEPS, N_IN)) < RATE).astype(np.uint8)


def main(out: Path = HERE) -> None:
    import nir
    import snntorch
    import torch
    for k, (name, layers) in enumerate(SPECS.items()):
        net = build(layers, seed=100 + k)
        spikes = inputs(200 + k)
        rec = simulate(net, spikes)
        nir.write(str(out / f"{name}.nir"), export(net))
        np.savez_compressed(out / f"{name}.npz", input=spikes, dt_ms=DT_MS,
                            versions=f"snntorch {snntorch.__version__}, torch "
                                     f"{torch.__version__}, nir {nir.version}", **{
                                         k: v.astype(np.uint8 if k.startswith("spk") else
                                                     np.float32) for k, v in rec.items()})
        counts = {k[4:]: int(v.sum()) for k, v in rec.items() if k.startswith("spk")}
        print(f"{name}: spikes per layer {counts}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
