"""Projection: connections kept as flat arrays (index pairs + one array per attribute).

A projection between Assemblies becomes one IR projection per (pre, post) population
pair; plastic weights are read back from the running target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyNN import common, errors
from pyNN.connectors import OneToOneConnector
from pyNN.space import Space
from pyNN.standardmodels import synapses as std_synapses

from ..hw import ir
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


#: Bytes above which a connection array being grown is given at least _MAPPED_BYTES of
#: capacity. glibc's malloc serves requests under its mmap threshold (which rises to 32 MiB
#: once large blocks have been freed) from the heap, where a freed block leaves a hole the
#: process's RSS keeps (chunks merged into ~10 MB blocks, then concatenated, left ~6 bytes
#: per synapse at full scale); requests above it are mapped and handed back when freed.
#: Capacity never written costs address space, not RSS.
_SMALL_BYTES = 1 << 20
_MAPPED_BYTES = 64 << 20


def _grown(a: np.ndarray, used: int, need: int) -> np.ndarray:
    """A larger array for `need` elements holding `a[:used]`: twice the capacity, and at
    least _MAPPED_BYTES once past _SMALL_BYTES."""
    capacity = max(need, 2 * len(a), 1024)
    if capacity * a.itemsize > _SMALL_BYTES:
        capacity = max(capacity, _MAPPED_BYTES // a.itemsize)
    out = np.empty(capacity, a.dtype)
    out[:used] = a[:used]
    return out


@dataclass
class _Growing:
    """A projection's connection arrays (pre, post, one per attribute) while its connector
    appends them, post neuron by post neuron: each grown by copying into a larger array
    (one at a time), then trimmed in place (`trimmed`). Concatenating the calls' arrays
    at the end held the projection twice, and left heap holes behind."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    size: int = 0

    def append(self, chunk: dict[str, np.ndarray], where: str) -> None:
        """Append one call's arrays (same keys as every call before)."""
        if not self.size:
            self.arrays = {k: np.empty(0, v.dtype) for k, v in chunk.items()}
        if chunk.keys() != self.arrays.keys():
            raise errors.ConnectionError(f"projection {where!r}: connection attributes "
                                         f"{sorted(chunk)} differ from the earlier "
                                         f"{sorted(self.arrays)}")
        end = self.size + len(chunk["pre"])
        for k, v in chunk.items():
            if end > len(self.arrays[k]):
                self.arrays[k] = _grown(self.arrays[k], self.size, end)
            self.arrays[k][self.size:end] = v
        self.size = end

    def recast(self, key: str, dtype, unit: "float | None" = None) -> None:
        """The array under `key` as `dtype`, capacity kept: steps into wider steps, or
        with `unit` into ms (float64, as `steps * unit` reads them)."""
        a = self.arrays[key]
        out = np.empty(len(a), dtype)
        if unit is None:
            out[:self.size] = a[:self.size]
        else:
            np.multiply(a[:self.size], unit, out=out[:self.size])
        self.arrays[key] = out

    def trimmed(self) -> dict[str, np.ndarray]:
        """The arrays cut to their size in place (realloc: no copy). Only arrays `append`
        grew are longer than the size, and nothing else refers to those yet; an append
        after this grows into new arrays, leaving these (which the IR may share) alone."""
        for a in self.arrays.values():
            if len(a) > self.size:
                a.resize(self.size, refcheck=False)
        return self.arrays


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
        return float(self.projection._attribute(name, self.index))

    def _set(self, name, value):
        self.projection._attribute(name, self.index)   # checks the name; pulls weights
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
        self._store = _Growing()
        self._flat: dict[str, np.ndarray] | None = None
        #: the weight array holds the weights' magnitudes (every weight's sign bit set:
        #: inhibitory), so that the IR shares it (`_ir_weights`); read as its negative
        self._negated = False
        #: names of the arrays no IR shares (written in place; the others copied first)
        self._fresh: set[str] = set()
        #: the timestep (ms) of the delays while held as whole steps (`_held_delays`)
        self._delay_unit: float | None = None
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
        self._arrays()                    # trimmed now, while the next projection grows

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
        if "delay" in chunk:
            chunk["delay"] = self._held_delays(chunk["delay"])
        if self._negated:
            self._writable("weight")          # true values again before appending
        self._store.append(chunk, self._ir_name)
        self._flat = None
        self.ir_cache = None

    def _held_delays(self, ms: np.ndarray) -> np.ndarray:
        """One call's delays as we hold them: whole steps of dt (uint8, uint16 past 255
        steps) while every delay given so far is exactly `steps * dt` as float64 computes
        it (delays drawn already rounded: get() reads back the very values given, at 1-2
        bytes per synapse instead of 8), else ms (the steps held so far become ms)."""
        held = self._store.arrays.get("delay") if self._store.size else None
        if held is not None and held.dtype.kind == "f":
            return ms
        dt = simulator.state.dt
        steps = np.rint(ms / dt)
        top = steps.max()
        if self._delay_unit in (None, dt) and top < 2**16 and np.array_equal(steps * dt, ms):
            kind = np.dtype(np.uint8 if top < 2**8 else np.uint16)
            if held is not None and held.itemsize < kind.itemsize:
                self._store.recast("delay", kind)
            elif held is not None:
                kind = held.dtype
            self._delay_unit = dt
            return steps.astype(kind)
        if held is not None:
            self._store.recast("delay", np.float64, self._delay_unit)
        self._delay_unit = None
        return ms

    def _ms(self, name: str, values):
        """Values of attribute `name` as given: delays held in steps made ms again."""
        if name == "delay" and self._delay_unit is not None:
            return values * self._delay_unit
        return values

    def _ir_delays(self, order) -> "np.ndarray | ir.StepDelays":
        """The delays of the connections `order` for the IR: steps held stay steps."""
        delay = self._arrays()["delay"][order]
        return delay if self._delay_unit is None else ir.StepDelays(delay, self._delay_unit)

    def _arrays(self) -> dict[str, np.ndarray]:
        if self._flat is None:
            if self._store.size:
                self._flat = self._store.trimmed()
            else:
                names = ["weight", "delay"] + list(self.synapse_type.native_parameters.keys())
                index = _index_dtype(self.pre.size, self.post.size)
                self._flat = self._store.arrays = {
                    k: np.zeros(0, index if k in ("pre", "post") else float)
                    for k in ["pre", "post"] + names}
            self._fresh = set(self._flat)
        return self._flat

    def _writable(self, name) -> np.ndarray:
        """Our array `name` (true values), to be written in place: a fresh copy when an IR
        built from it shares it (a run compares the new IR with the one before, which must
        not change)."""
        arrays = self._arrays()
        if name == "weight" and self._negated:
            arrays[name] = np.negative(arrays[name])    # the IR keeps the magnitudes
            self._negated = False
        elif name == "delay" and self._delay_unit is not None:
            arrays[name] = self._ms(name, arrays[name])   # ms from now on
            self._delay_unit = None
        elif name not in self._fresh:
            arrays[name] = arrays[name].copy()
        self._fresh.add(name)
        self.ir_cache = None
        return arrays[name]

    def _ir_weights(self) -> np.ndarray:
        """The weights' magnitudes, for the IR (which shares the array returned). Where
        every weight's sign bit is set (inhibitory weights given negative), our own array
        becomes the magnitudes, read back negated (`_attribute`): a copy of them cost 8
        bytes per synapse of every inhibitory projection. Mixed signs: a copy."""
        w = self._arrays()["weight"]
        if self._negated:
            return w
        sign = np.signbit(w)
        if not sign.any():
            return w
        if self.receptor_type == "excitatory":
            raise ValueError(f"projection {self._ir_name!r}: weight {w.min()} is negative "
                             "on an excitatory receptor")
        if not sign.all():
            return np.abs(w)
        if "weight" not in self._fresh:           # an IR shares it (not reached in practice)
            w = self._flat["weight"] = w.copy()
        np.abs(w, out=w)
        self._negated = True
        return w

    def _shared_with_ir(self, pieces: list) -> None:
        """Note that the IR projections `pieces` share our arrays."""
        self.ir_cache = pieces
        self._fresh.clear()

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

    def _attribute(self, name, index=None):
        """Attribute `name` of every connection (or of connection `index`), true values:
        the weights negated again where we hold their magnitudes (a new array then)."""
        arrays = self._arrays()
        if name == "weight":
            self._pull_weights()
        if name not in arrays:
            raise errors.NonExistentParameterError(
                name, type(self.synapse_type).__name__, list(arrays))
        values = self._ms(name, arrays[name] if index is None else arrays[name][index])
        return np.negative(values) if name == "weight" and self._negated else values

    def _pull_weights(self):
        """Copy the target's current (plastic) weights into our arrays."""
        st = simulator.state
        if not self.plastic or st.engine is None or self._weights_set_by_user:
            return
        if getattr(self, "_pulled_at", None) == (id(st.engine), st.t):
            return
        arrays = self._arrays()
        sign = -1.0 if self._negated or np.any(arrays["weight"] < 0) else 1.0
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
                self._negated = False
            if name == "delay":
                self._delay_unit = None
            arrays[name] = np.array(new, dtype=float)
            self._fresh.add(name)
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
