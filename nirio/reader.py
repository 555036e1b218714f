"""NIR graph -> IR: `read(path_or_graph, dt=...)`.

Neuron nodes (LIF, IF, CubaLIF, LI, CubaLI, I, Threshold) become populations, Input nodes
spike-source arrays, and every chain of linear nodes between two of them (Affine, Linear,
Scale, Delay, Flatten, Conv1d, Conv2d, SumPool2d, AvgPool2d) one sparse map, split by
sign into an excitatory and an inhibitory projection. An edge takes one timestep (the
IR's shortest delay); a Delay node adds its delay to that. See docs/nir.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..hw.errors import NetworkError
from ..hw.ir import Network, Population, Projection, Recording, SpikeArray, SpikeTrains
from ..hw.report import MappingReport
from . import maps, neurons

LINEAR = ("Affine", "Linear", "Scale", "Delay", "Flatten", "Conv1d", "Conv2d",
          "SumPool2d", "AvgPool2d")
KNOWN = ("Input", "Output") + LINEAR + neurons.SPIKING + neurons.READOUTS


@dataclass
class Unrolled:
    """A convolution or pooling node unrolled into synapses (its shared-weight origin)."""

    node: str
    kind: str
    kernel_weights: int     # distinct weights the node holds
    synapses: int           # entries after unrolling


@dataclass
class NirImport:
    """The IR of a NIR graph and what the IR cannot hold: which population stands for
    which input and output node, the nodes' shapes, what conversion approximated
    (`report`, the mapping report's vocabulary) and what was unrolled."""

    network: Network
    inputs: dict[str, str]
    outputs: dict[str, str]
    readouts: list[str]
    shapes: dict[str, tuple[int, ...]]
    report: MappingReport = field(default_factory=MappingReport)
    unrolled: list[Unrolled] = field(default_factory=list)


def load_graph(path_or_graph):
    """A NIRGraph from a file path or a graph (nested graphs are refused by name)."""
    import nir
    if isinstance(path_or_graph, (str, Path)):
        path = Path(path_or_graph)
        if not path.is_file():
            raise NetworkError(f"NIR file {path} not found")
        graph = nir.read(str(path))
    elif isinstance(path_or_graph, nir.NIRGraph):
        graph = path_or_graph
    else:
        raise NetworkError(f"expected a NIR file or nir.NIRGraph, got "
                           f"{type(path_or_graph).__name__}")
    for name, node in graph.nodes.items():
        kind = type(node).__name__
        if kind not in KNOWN:
            raise NetworkError(f"node {name!r}: NIR node type {kind} is not supported "
                               f"(supported: {', '.join(KNOWN)})")
    return graph


def read(path_or_graph, dt: float = 1.0, time_unit: float = 1000.0,
         spike_area: str = "dirac", decay: str = "exact",
         reset_hold: int | dict[str, int] = 0) -> NirImport:
    """Import a NIR graph (file or nir.NIRGraph) as the IR at timestep `dt` ms.

    `time_unit`: ms per NIR time unit (NIR's SI seconds: 1000). `spike_area`: "dirac"
    (a spike is a unit impulse, NIR's equations as written) or "step" (a spike is a unit
    pulse one timestep long, the discrete convention of snnTorch and Norse: weights
    from spiking nodes scaled by dt / time_unit). `decay`: "exact" (the ODE integrated
    exactly) or "euler" (a decay factor 1 - dt/tau per step, snnTorch's beta and alpha).
    `reset_hold`: steps v stays at v_reset after a spike, input dropped: one number for
    every neuron node or {node name: steps} (snnTorch's Synaptic and RLeaky resetting to
    zero: 1, its Leaky: 0). docs/nir.md, "Peer agreement"."""
    if not (dt > 0 and time_unit > 0):
        raise NetworkError(f"dt = {dt} ms and time_unit = {time_unit} ms must be > 0")
    if spike_area not in ("dirac", "step"):
        raise NetworkError(f"spike_area {spike_area!r} is not 'dirac' or 'step'")
    if decay not in neurons.DECAYS:
        raise NetworkError(f"decay {decay!r} is not one of {neurons.DECAYS}")
    graph = load_graph(path_or_graph)
    holds = _holds(graph, reset_hold)
    build = _Builder(graph, dt, time_unit, dt / time_unit if spike_area == "step" else 1.0,
                     decay, holds)
    return build.run()


class _Builder:
    """One import: node conversions, memoised incoming maps, then the projections."""

    def __init__(self, graph, dt: float, time_unit: float, spike_scale: float,
                 decay: str, holds: dict[str, int]) -> None:
        self.graph, self.dt, self.unit, self.spike_scale = graph, dt, time_unit, spike_scale
        self.decay, self.holds = decay, holds
        self.preds: dict[str, list[str]] = {k: [] for k in graph.nodes}
        for a, b in graph.edges:
            self.preds[b].append(a)
        self.report = MappingReport(target="nir")
        self.unrolled: list[Unrolled] = []
        self.sizes: dict[str, int] = {}
        self._incoming: dict[str, dict[str, maps.SparseMap]] = {}
        self._visiting: set[str] = set()

    def kind(self, name: str) -> str:
        return type(self.graph.nodes[name]).__name__

    def run(self) -> NirImport:
        pops, conv, shapes, inputs = [], {}, {}, {}
        for name, node in self.graph.nodes.items():
            kind = type(node).__name__
            if kind == "Input":
                shape = tuple(int(s) for s in np.atleast_1d(node.input_type["input"]))
                self.sizes[name] = int(np.prod(shape))
                pops.append(Population(name, self.sizes[name], "SpikeSourceArray"))
                shapes[name], inputs[name] = shape, name
            elif kind in neurons.SPIKING + neurons.READOUTS:
                c = _named(name, neurons.convert, node, self.dt, self.unit, self.decay,
                           self.holds[name])
                self.sizes[name] = neurons.size_of(node)
                conv[name] = c
                shapes[name] = tuple(int(s) for s in np.atleast_1d(node.output_type["output"]))
        projections = []
        for name, c in conv.items():
            total = self.into_neuron(name)
            offset = np.zeros(self.sizes[name])
            for pre, m in total.items():
                projections += self.projections(pre, name, m, c)
                offset += m.bias
            self.add_bias(name, c, offset)
            pops.append(Population(name, self.sizes[name], c.model, c.params,
                                   {"v": np.zeros(self.sizes[name])}))
        outputs, recs = self.outputs(conv)
        stimuli = [SpikeArray(p.name, SpikeTrains.from_lists([[]] * p.size))
                   for p in pops if p.model == "SpikeSourceArray"]
        net = _named("graph", Network, pops, projections, stimuli, recs, timestep=self.dt)
        readouts = [n for n, c in conv.items() if c.readout]
        return NirImport(net, inputs, outputs, readouts, shapes, self.report, self.unrolled)

    def into_neuron(self, name: str) -> dict[str, maps.SparseMap]:
        """Everything reaching a neuron node: {source population: map}."""
        out: dict[str, maps.SparseMap] = {}
        for p in self.preds[name]:
            self.check_source(p, name)
            got = self.incoming(p) if self.kind(p) in LINEAR else {
                p: maps.SparseMap.identity(self.sizes[p])}
            for src, m in got.items():
                if m.n_out != self.sizes[name]:
                    raise NetworkError(f"node {name!r}: {m.n_out} inputs arrive from "
                                       f"{p!r}, it has {self.sizes[name]} neurons")
                out[src] = out[src].plus(m) if src in out else m
        return out

    def incoming(self, name: str) -> dict[str, maps.SparseMap]:
        """{source population: map from it to this linear node's output} (memoised)."""
        if name in self._incoming:
            return self._incoming[name]
        if name in self._visiting:
            raise NetworkError(f"node {name!r}: a loop of linear nodes without a neuron "
                               "node in it has no meaning in discrete time")
        self._visiting.add(name)
        if not self.preds[name]:
            raise NetworkError(f"node {name!r} ({self.kind(name)}) has no input")
        own = _named(name, self.node_map, name)
        out: dict[str, maps.SparseMap] = {}
        for p in self.preds[name]:
            self.check_source(p, name)
            if self.kind(p) in LINEAR:
                for src, m in self.incoming(p).items():
                    out[src] = _sum(out.get(src), _named(name, m.then, own))
            else:
                _check_size(name, own.n_in, p, self.sizes[p])
                ident = maps.SparseMap.identity(self.sizes[p])
                out[p] = _sum(out.get(p), _named(name, ident.then, own))
        self._visiting.discard(name)
        self._incoming[name] = out
        return out

    def check_source(self, pre: str, post: str) -> None:
        kind = self.kind(pre)
        if kind == "Output":
            raise NetworkError(f"edge {pre!r} -> {post!r}: an Output node has no output")
        if kind in neurons.READOUTS:
            raise NetworkError(f"edge {pre!r} -> {post!r}: {pre!r} is a non-spiking "
                               f"readout ({kind}); IR projections carry spikes, so it can "
                               "feed only Output nodes")
        if self.kind(post) == "Input":
            raise NetworkError(f"edge {pre!r} -> {post!r}: an Input node takes no edges")

    def node_map(self, name: str) -> maps.SparseMap:
        """The map one linear node applies (convolutions and pooling unrolled)."""
        node, kind = self.graph.nodes[name], self.kind(name)
        if kind in ("Linear", "Affine"):
            w = np.asarray(node.weight, dtype=np.float64)
            if w.ndim != 2:
                raise NetworkError(f"weight of shape {w.shape} is not a matrix")
            return maps.SparseMap.dense(w, node.bias if kind == "Affine" else None)
        if kind == "Scale":
            return maps.SparseMap.identity(np.size(node.scale),
                                           scale=np.ravel(node.scale).astype(float))
        if kind == "Delay":
            d = np.ravel(node.delay).astype(float)
            if np.any(d < 0) or not np.all(np.isfinite(d)):
                raise NetworkError(f"delay {d.min()} is not a finite value >= 0")
            return maps.SparseMap.identity(d.size, delay=d * self.unit)
        shape = _input_shape(name, node)
        if kind == "Flatten":
            return maps.SparseMap.identity(int(np.prod(shape)))
        if kind in ("Conv1d", "Conv2d"):
            w, bias = np.asarray(node.weight, float), node.bias
            if kind == "Conv1d":
                m = maps.conv2d(name, w[:, :, None, :], (shape[0], 1, shape[1]),
                                (1, node.stride), _pad1d(node.padding), (1, node.dilation),
                                int(node.groups), bias)
            else:
                m = maps.conv2d(name, w, tuple(shape), node.stride, node.padding,
                                node.dilation, int(node.groups), bias)
            self.unrolled.append(Unrolled(name, kind, int(w.size), len(m.post)))
            return m
        m = maps.pool2d(name, tuple(shape), node.kernel_size, node.stride, node.padding,
                        kind == "AvgPool2d")
        k = np.ravel(node.kernel_size).astype(np.int64)     # (kh, kw) or one for both
        self.unrolled.append(Unrolled(name, kind, int(k[0] * k[-1]), len(m.post)))
        return m

    def projections(self, pre: str, post: str, m: maps.SparseMap,
                    c: neurons.Converted) -> list[Projection]:
        """The map into a neuron node as IR projections: one per sign, one edge = dt."""
        w = m.weight * c.gain[m.post] * self.spike_scale
        d = self.dt + m.delay
        steps = np.rint(d / self.dt)
        off = np.abs(steps * self.dt - d)
        if np.any(off > 1e-9 * np.maximum(d, 1.0)):
            self.report.approximate(
                "delay_rounded", f"projection {pre!r} -> {post!r}",
                f"delays rounded to whole {self.dt} ms steps (largest change "
                f"{off.max():.4g} ms)", float(np.count_nonzero(off > 1e-9)))
        out = []
        for receptor, sel, sign in (("excitatory", w > 0, 1.0), ("inhibitory", w < 0, -1.0)):
            if np.any(sel):
                out.append(Projection(f"{pre}->{post}:{receptor[:3]}", pre, post,
                                      m.pre[sel], m.post[sel], sign * w[sel],
                                      steps[sel] * self.dt, receptor))
        return out

    def add_bias(self, name: str, c: neurons.Converted, bias: np.ndarray) -> None:
        """A constant input (Affine or convolution bias) as i_offset."""
        c.params["i_offset"] = c.params["i_offset"] + c.bias_gain * bias
        if c.bias_filtered and np.any(bias != 0):
            self.report.approximate(
                "bias_unfiltered", f"population {name!r}",
                "a constant input acts on v at once (i_offset), where NIR passes it "
                "through tau_syn first; the difference decays as exp(-t / tau_syn)",
                float(np.count_nonzero(bias)))

    def outputs(self, conv: dict) -> tuple[dict[str, str], list[Recording]]:
        """Output nodes name the population they show; every spiking population records
        spikes, every readout v."""
        outputs = {}
        for name, node in self.graph.nodes.items():
            if self.kind(name) != "Output":
                continue
            preds = self.preds[name]
            if len(preds) != 1 or self.kind(preds[0]) in LINEAR + ("Output",):
                raise NetworkError(f"output {name!r} must be fed by exactly one neuron or "
                                   f"Input node (the IR records populations), got "
                                   f"{[(p, self.kind(p)) for p in preds]}")
            outputs[name] = preds[0]
        recs = [Recording(n, "v" if c.readout else "spikes", np.arange(self.sizes[n]))
                for n, c in conv.items()]
        recs += [Recording(n, "spikes", np.arange(self.sizes[n]))
                 for n in self.graph.nodes if self.kind(n) == "Input"]
        return outputs, recs


def _holds(graph, reset_hold) -> dict[str, int]:
    """{neuron node: steps of reset hold} from one number or a dict of node names."""
    names = [n for n, v in graph.nodes.items()
             if type(v).__name__ in neurons.SPIKING + neurons.READOUTS]
    given = reset_hold if isinstance(reset_hold, dict) else dict.fromkeys(names, reset_hold)
    for name, steps in given.items():
        if name not in names:
            raise NetworkError(f"reset_hold names {name!r}, which is not a neuron node of "
                               f"the graph ({', '.join(names)})")
        if not (isinstance(steps, (int, np.integer)) and steps >= 0):
            raise NetworkError(f"reset_hold of {name!r} = {steps!r} is not a whole number "
                               "of steps >= 0")
    return {n: int(given.get(n, 0)) for n in names}


def _input_shape(name: str, node) -> tuple[int, ...]:
    shape = (node.input_type or {}).get("input")
    if shape is None:
        raise NetworkError(f"{type(node).__name__} node {name!r}: its input shape is "
                           "unknown (give the graph's Input node a shape)")
    return tuple(int(s) for s in np.atleast_1d(shape))


def _pad1d(padding):
    return padding if isinstance(padding, str) else (0, int(np.ravel(padding)[0]))


def _sum(a: maps.SparseMap | None, b: maps.SparseMap) -> maps.SparseMap:
    return b if a is None else a.plus(b)


def _check_size(name: str, n_in: int, pre: str, n_pre: int) -> None:
    if n_in != n_pre:
        raise NetworkError(f"node {name!r}: takes {n_in} inputs, but {pre!r} gives {n_pre}")


def _named(where: str, fn, *args, **kwargs):
    """Call fn; a NetworkError it raises names the node it concerns."""
    try:
        return fn(*args, **kwargs)
    except NetworkError as exc:
        if f"{where!r}" in str(exc):
            raise
        raise NetworkError(f"node {where!r}: {exc}") from exc
