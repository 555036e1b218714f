"""Projection: connections kept as flat arrays (index pairs + one array per attribute).

A projection between Assemblies becomes one IR projection per (pre, post) population
pair; plastic weights are read back from the running target.
"""

from __future__ import annotations

import numpy as np
from pyNN import common, errors
from pyNN.connectors import OneToOneConnector
from pyNN.space import Space
from pyNN.standardmodels import synapses as std_synapses

from . import simulator
from .standardmodels import StaticSynapse


def _leaves(group):
    """[(parent Population, indices in parent)] for a Population, View or Assembly,
    in the order of the group's own indices."""
    if isinstance(group, common.Assembly):
        out = []
        for p in group.populations:
            out.extend(_leaves(p))
        return out
    if isinstance(group, common.PopulationView):
        return [(group.grandparent,
                 np.asarray(group.index_in_grandparent(np.arange(group.size)), np.int64))]
    return [(group, np.arange(group.size, dtype=np.int64))]


def _index_dtype(*sizes: int):
    """int32 indices when the populations allow it (4 bytes per synapse less), else int64."""
    return np.int32 if max(sizes) < 2**31 else np.int64


#: Connector calls (one per post neuron) whose small arrays are merged into one block: each
#: array costs ~100 bytes of header, more than its synapses when the in-degree is small.
_MERGE_EVERY = 1024


def _concat(chunks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One block of arrays from several, key by key."""
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


class Connection(common.Connection):
    """One connection, read and written through its projection's arrays."""

    def __init__(self, projection, index):
        self.projection = projection
        self.index = index

    @property
    def presynaptic_index(self):
        return int(self.projection._arrays()["pre"][self.index])

    @property
    def postsynaptic_index(self):
        return int(self.projection._arrays()["post"][self.index])

    def _get(self, name):
        return float(self.projection._attribute(name)[self.index])

    def _set(self, name, value):
        self.projection._attribute(name)       # checks the name; pulls plastic weights
        self.projection._writable(name)[self.index] = value
        if name == "weight":
            self.projection._weights_set_by_user = True

    weight = property(lambda self: self._get("weight"), lambda self, v: self._set("weight", v))
    delay = property(lambda self: self._get("delay"), lambda self, v: self._set("delay", v))

    def __getattr__(self, name):
        if name.startswith("_") or name in ("projection", "index"):
            raise AttributeError(name)
        return self._get(name)

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, n) for n in attribute_names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(),
                 label=None):
        super().__init__(presynaptic_population, postsynaptic_population, connector,
                         synapse_type, source, receptor_type, space, label)
        if self.receptor_type not in ("excitatory", "inhibitory"):
            raise errors.ConnectionError(
                f"receptor type {self.receptor_type!r} is not supported by neurocosim; "
                "use 'excitatory' or 'inhibitory'")
        self._chunks: list[dict[str, np.ndarray]] = []
        self._pending = 0                 # chunks appended since the last merge
        self._flat: dict[str, np.ndarray] | None = None
        #: the IR projections last built from our arrays (they share them), or None
        self.ir_cache: list | None = None
        self._weights_set_by_user = False
        st = simulator.state
        taken = {p._ir_name for p in st.projections}
        base = self.label or f"projection{len(st.projections)}"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}#{n}"
        self._ir_name = name
        st.projections.append(self)
        if isinstance(connector, OneToOneConnector):
            self._connect_one_to_one(connector)
        else:
            connector.connect(self)

    def _connect_one_to_one(self, connector) -> None:
        """OneToOneConnector, vectorised (PyNN's generic path fails on populations of one
        neuron under numpy 2, and loops per neuron otherwise)."""
        if self.pre.size != self.post.size:
            raise errors.ConnectionError(
                f"OneToOneConnector: pre size {self.pre.size} != post size {self.post.size}")
        n = self.pre.size
        ps = connector._parameters_from_synapse_type(self, distance_map=None)
        params = {}
        idx = np.arange(n)
        for name, value in ps.items():
            value.shape = (self.pre.size, self.post.size)
            params[name] = (value.evaluate(simplify=True) if value.is_homogeneous
                            else np.asarray(value[idx, idx], dtype=float))
        syn = self.synapse_type
        for pname, check in getattr(syn, "parameter_checks", {}).items():
            native = syn.translations[pname]["translated_name"]
            if native in params:
                check(params[native], self)
        self._convergent_connect(idx, idx, **params)

    # --- building -----------------------------------------------------------------
    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        if location_selector is not None:
            raise NotImplementedError("neurocosim does not support multicompartment models")
        connection_parameters.pop("dendritic_delay_fraction", None)
        index = _index_dtype(self.pre.size, self.post.size)
        pre = np.atleast_1d(np.asarray(presynaptic_indices)).astype(index)
        n = pre.size
        if n == 0:
            return
        post = np.full(n, postsynaptic_index, dtype=index)
        chunk = {"pre": pre, "post": post}
        for name, value in connection_parameters.items():
            arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
            if np.any(np.isnan(arr)):
                raise errors.ConnectionError(f"projection {self._ir_name!r}: {name} is NaN")
            if name == "delay":
                dt = simulator.state.dt
                if np.any(arr < dt - 1e-9):
                    raise errors.ConnectionError(
                        f"projection {self._ir_name!r}: delay {arr.min()} ms is below the "
                        f"minimum delay (one timestep, {dt} ms)")
            chunk[name] = arr
        self._chunks.append(chunk)
        self._pending += 1
        if self._pending == _MERGE_EVERY:
            self._chunks[-_MERGE_EVERY:] = [_concat(self._chunks[-_MERGE_EVERY:])]
            self._pending = 0
        self._flat = None
        self.ir_cache = None

    def _arrays(self) -> dict[str, np.ndarray]:
        if self._flat is None:
            if self._chunks:
                self._flat = _concat(self._chunks)
            else:
                names = ["weight", "delay"] + list(self.synapse_type.native_parameters.keys())
                index = _index_dtype(self.pre.size, self.post.size)
                self._flat = {k: np.zeros(0, index if k in ("pre", "post") else float)
                              for k in ["pre", "post"] + names}
            self._chunks, self._pending = [self._flat], 0
        return self._flat

    def _writable(self, name) -> np.ndarray:
        """Our array `name`, to be written in place: a fresh copy when the IR built from it
        shares it (a run compares the new IR with the one before, which must not change)."""
        arrays = self._arrays()
        if self.ir_cache is not None:
            arrays[name] = arrays[name].copy()
            self.ir_cache = None
        return arrays[name]

    def __len__(self):
        return len(self._arrays()["pre"])

    @property
    def connections(self):
        return (Connection(self, i) for i in range(len(self)))

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"connection {i} out of range ({len(self)} connections)")
        return Connection(self, i % len(self))

    # --- attributes ------------------------------------------------------------------
    @property
    def plastic(self) -> bool:
        return isinstance(self.synapse_type, std_synapses.STDPMechanism)

    def _attribute(self, name):
        arrays = self._arrays()
        if name == "weight":
            self._pull_weights()
        if name not in arrays:
            raise errors.NonExistentParameterError(
                name, type(self.synapse_type).__name__, list(arrays))
        return arrays[name]

    def _pull_weights(self):
        """Copy the target's current (plastic) weights into our arrays."""
        st = simulator.state
        if not self.plastic or st.engine is None or self._weights_set_by_user:
            return
        if getattr(self, "_pulled_at", None) == (id(st.engine), st.t):
            return
        arrays = self._arrays()
        sign = -1.0 if np.any(arrays["weight"] < 0) else 1.0
        weights = st.result().weights
        pieces = self._pieces()
        out = self._writable("weight")
        for piece_name, order, *_ in pieces:
            if piece_name not in weights:
                raise errors.NothingToWriteError(
                    f"target {st.target!r} did not return the weights of {piece_name!r}")
            out[order] = sign * np.asarray(weights[piece_name], dtype=float)
        self._pulled_at = (id(st.engine), st.t)

    def _get_attributes_as_list(self, names):
        arrays = self._arrays()
        cols = []
        for name in names:
            if name == "presynaptic_index":
                cols.append(arrays["pre"])
            elif name == "postsynaptic_index":
                cols.append(arrays["post"])
            else:
                cols.append(self._attribute(name))
        return [tuple(row) for row in zip(*cols)]

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        arrays = self._arrays()
        ops = {"sum": (np.add.at, 0.0), "min": (np.minimum.at, np.inf),
               "max": (np.maximum.at, -np.inf)}
        if multiple_synapses not in ops:
            raise ValueError(f"multiple_synapses={multiple_synapses!r} is not one of {list(ops)}")
        op, fill = ops[multiple_synapses]
        pre, post = arrays["pre"], arrays["post"]
        out = []
        for name in names:
            values = self._attribute(name)
            m = np.full((self.pre.size, self.post.size), fill)
            op(m, (pre, post), values)
            empty = np.ones_like(m, dtype=bool)
            empty[pre, post] = False
            m[empty] = np.nan
            out.append(m)
        return out

    def _set_attributes(self, parameter_space):
        arrays = self._arrays()
        parameter_space.evaluate()
        pre, post = arrays["pre"], arrays["post"]
        for name, value in parameter_space.items():
            value = np.asarray(value, dtype=float)
            new = value[pre, post] if value.ndim == 2 else np.broadcast_to(value, pre.shape)
            if np.any(np.isnan(new)):
                raise errors.ConnectionError(f"projection {self._ir_name!r}: {name} is NaN")
            if name == "weight":
                self._pull_weights()
                self._weights_set_by_user = True
            arrays[name] = np.array(new, dtype=float)
            self.ir_cache = None

    # --- to the IR -----------------------------------------------------------------
    def _pieces(self):
        """(IR name, synapse positions, pre population, pre idx, post population, post idx)
        for each (pre, post) population pair this projection connects. Between two whole
        Populations the positions are every synapse and the indices our own arrays."""
        arrays = self._arrays()
        if isinstance(self.pre, common.Population) and isinstance(self.post, common.Population):
            return [(self._ir_name, slice(None), self.pre, arrays["pre"], self.post,
                     arrays["post"])]
        pre_leaves, post_leaves = _leaves(self.pre), _leaves(self.post)
        pre_bounds = np.cumsum([0] + [len(ix) for _, ix in pre_leaves])
        post_bounds = np.cumsum([0] + [len(ix) for _, ix in post_leaves])
        pre_group = np.searchsorted(pre_bounds, arrays["pre"], side="right") - 1
        post_group = np.searchsorted(post_bounds, arrays["post"], side="right") - 1
        single = len(pre_leaves) == 1 and len(post_leaves) == 1
        pieces = []
        for i, (ppop, pidx) in enumerate(pre_leaves):
            for j, (qpop, qidx) in enumerate(post_leaves):
                order = np.flatnonzero((pre_group == i) & (post_group == j))
                if order.size == 0 and not single:
                    continue
                name = self._ir_name if single else f"{self._ir_name}[{i},{j}]"
                pieces.append((name, order, ppop, pidx[arrays["pre"][order] - pre_bounds[i]],
                               qpop, qidx[arrays["post"][order] - post_bounds[j]]))
        return pieces
