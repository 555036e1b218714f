"""Population, PopulationView and Assembly: parameters kept as arrays the IR reads directly."""

from __future__ import annotations

import numpy as np
from pyNN import common, errors
from pyNN.parameters import ParameterSpace, simplify
from pyNN.standardmodels import StandardCellType

from . import simulator
from .recording import Recorder


class Assembly(common.Assembly):
    _simulator = simulator


class PopulationView(common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def _get_parameters(self, *names):
        native = self.celltype.get_native_names(*names)
        ps = ParameterSpace({n: simplify(self.parent._parameters[n][self.mask])
                             for n in native}, shape=(self.size,))
        return self.celltype.reverse_translate(ps)

    def _set_parameters(self, parameter_space):
        for name, value in parameter_space.items():
            try:
                self.parent._parameters[name][self.mask] = value.evaluate(simplify=True)
            except ValueError:
                raise errors.InvalidParameterValueError(
                    f"{name} should not be of type {type(value)}")

    def _set_initial_value_array(self, variable, initial_values):
        pass

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _create_cells(self):
        st = simulator.state
        ids = np.arange(st.id_counter, st.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(i) for i in ids], dtype=simulator.ID)
        self._mask_local = np.ones(self.size, dtype=bool)
        if not isinstance(self.celltype, StandardCellType):
            raise errors.InvalidModelError(
                f"neurocosim supports the standard cell types only, not "
                f"{type(self.celltype).__name__}")
        ps = self.celltype.native_parameters
        ps.shape = (self.size,)
        ps.evaluate(simplify=False)
        self._parameters = ps.as_dict()
        if "spike_times" in self._parameters:
            for i, train in enumerate(np.atleast_1d(self._parameters["spike_times"])):
                t = np.asarray(getattr(train, "value", train), dtype=float)
                if np.any(np.diff(t) < 0):
                    raise errors.InvalidParameterValueError(
                        f"spike times of neuron {i} are not in increasing order: {t.tolist()}")
        for cell in self.all_cells:
            cell.parent = self
        st.id_counter += self.size
        self._ir_name = self._unique_name(st)
        st.populations.append(self)

    def _unique_name(self, st) -> str:
        base = self.label or f"population{len(st.populations)}"
        taken = {p._ir_name for p in st.populations}
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}#{n}"
        return name

    def _set_initial_value_array(self, variable, initial_values):
        pass

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _get_parameters(self, *names):
        native = self.celltype.get_native_names(*names)
        ps = ParameterSpace({n: simplify(self._parameters[n]) for n in native},
                            shape=(self.size,))
        return self.celltype.reverse_translate(ps)

    def _set_parameters(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            self._parameters[name] = value
