"""The Recorder: reads spikes and signals from the target's Result.

Which neurons and variables to record becomes `Recording` entries of the IR; the data
come back in the Result of the run, and PyNN's base class turns them into neo Segments.
"""

from __future__ import annotations

import numpy as np
from pyNN import recording

from . import simulator


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self.sampling_interval = None
        self._cleared_at = 0.0      # data before this time were taken with clear=True

    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None:
            self.sampling_interval = sampling_interval
        elif self.sampling_interval is None:
            self.sampling_interval = self._simulator.state.dt

    def ir_recordings(self):
        """(variable name, population indices, sampling interval) for the IR."""
        out = []
        for variable, ids in self.recorded.items():
            if ids:
                idx = np.sort(self.population.id_to_index(np.fromiter(ids, dtype=int)))
                out.append((variable.name, np.atleast_1d(idx), self.sampling_interval))
        return out

    def _result(self):
        return self._simulator.state.result()

    def _get_spiketimes(self, requested_ids, clear=False):
        res = self._result()
        requested_ids = np.asarray(list(requested_ids), dtype=int)
        if res is None or self.population._ir_name not in res.spikes:
            return np.zeros(0, dtype=int), np.zeros(0)
        sp = res.spikes[self.population._ir_name]
        ids = sp.ids + int(self.population.first_id)
        keep = np.isin(ids, requested_ids) & (sp.times > self._cleared_at + 1e-12
                                              if self._cleared_at > 0 else True)
        ids, times = ids[keep], sp.times[keep]
        if clear:
            self._cleared_at = self._simulator.state.t
        return ids, np.array(times, dtype=float)

    def _get_all_signals(self, variable, ids, clear=False):
        res = self._result()
        name = self.population._ir_name
        index = self.population.id_to_index(np.asarray(list(ids), dtype=int))
        sig = res.signals[name][variable.name]
        cols = np.searchsorted(sig.indices, np.atleast_1d(index))
        data = sig.data[:, cols]
        if self._cleared_at > 0:
            data = data[sig.times >= self._cleared_at - 1e-9]
        if clear:
            self._cleared_at = self._simulator.state.t
        return data, None

    def _local_count(self, variable, filter_ids=None):
        ids = list(self.filter_recorded(variable, filter_ids))
        found, _ = self._get_spiketimes(ids)
        counts = dict.fromkeys((int(i) for i in ids), 0)
        uniq, n = np.unique(found, return_counts=True)
        counts.update({int(i): int(c) for i, c in zip(uniq, n)})
        return counts

    def _clear_simulator(self):
        pass

    def _reset(self):
        self._cleared_at = 0.0
