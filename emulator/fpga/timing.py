"""The fpga target's timing report from its cycle model, for the emulator and the board.

From the cycles of every step and the events of the run (neuron spikes and stimulus
entries, by the step that emitted them) it reports, in the hw.metrics vocabulary:
- cycles (total, per step), hardware time (cycles / clock_hz): `chip_time_ns`,
  `step_mean_ns`, `step_max_ns`, and `realtime_load_max` (longest step over dt);
- `synaptic_events`: synapses of the delivered events (one per event per synapse);
- latency (`latency_mean_ns`, `latency_max_ns`, `latency_min_ns`): for each event
  delivered in the run, from the first cycle of the step that emitted it (a neuron's
  spike, or a stimulus entry of that step) to the last cycle of its entry in the event
  phase of the next step, on the core where that entry ends last (the cores' cycle count
  from their start pulse); i.e. cycles(k) + max over cores of the cumulative event-phase
  cycles up to and including the event (the cycles that issue its synapses: the core's
  pipelined accumulate writes the last one a cycle later, during the next item). Events
  emitted in the last step are not delivered within the run and not counted;
- energy (`energy_synop_pJ`, `energy_neuron_pJ`, `energy_clock_pJ`, `energy_total_pJ`):
  synaptic events * synop_energy_pJ, neuron updates (every neuron every step) *
  neuron_energy_pJ, cycles * cores * cycle_energy_pJ (FpgaSpec: assumed per-event
  energies, see there).
"""

from __future__ import annotations

import numpy as np

from ...hw import metrics
from ...hw.image import HardwareImage
from ...hw.result import TimingReport
from .kernels import event_timing


def event_lists(spk_step: np.ndarray, spk_axon: np.ndarray, stim_step: np.ndarray,
                stim_axon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every event list of the run in the router's order: per emitting step, the neuron
    spikes by axon (cores in order, slots ascending), then the stimulus entries."""
    step = np.concatenate([spk_step, stim_step]).astype(np.int64)
    axon = np.concatenate([spk_axon, stim_axon]).astype(np.int64)
    group = np.repeat([0, 1], [len(spk_step), len(stim_step)])
    order = np.lexsort((axon, group, step))
    return step[order], axon[order]


def fpga_timing(target: str, image: HardwareImage, spec, cycles: np.ndarray,
                spk_step: np.ndarray, spk_axon: np.ndarray, stim_step: np.ndarray,
                stim_axon: np.ndarray, clock_hz: float) -> TimingReport:
    """The TimingReport of a run of `image` (see the module docstring)."""
    cycles = np.asarray(cycles, np.int64)
    steps = cycles.size
    rows = np.stack([np.diff(np.asarray(c.memories["row_ptr"], np.int64))
                     for c in image.cores])
    ev_step, ev_axon = event_lists(spk_step, spk_axon, stim_step, stim_axon)
    latency, synops = event_timing(ev_step, ev_axon, rows,
                                   np.array(spec.cycle_costs(), np.int64), cycles)
    lat = latency[latency >= 0] / clock_hz * 1e9
    step_ns = cycles / clock_hz * 1e9
    n_synops = int(synops.sum())
    updates = steps * sum(int(c.params["n"][0]) for c in image.cores)
    energy = {"energy_synop_pJ": n_synops * spec.synop_energy_pJ,
              "energy_neuron_pJ": updates * spec.neuron_energy_pJ,
              "energy_clock_pJ": int(cycles.sum()) * len(image.cores) * spec.cycle_energy_pJ}
    energy["energy_total_pJ"] = sum(energy.values())
    budget_ns = float(spec.timestep) * 1e6
    some = bool(steps)
    values = {
        "steps": steps, "spikes_total": len(spk_step), "synaptic_events": n_synops,
        "cycles_total": int(cycles.sum()),
        "cycles_per_step_mean": float(cycles.mean()) if some else 0.0,
        "cycles_per_step_max": int(cycles.max()) if some else 0,
        "chip_time_ns": float(step_ns.sum()),
        "step_mean_ns": float(step_ns.mean()) if some else 0.0,
        "step_max_ns": float(step_ns.max()) if some else 0.0,
        "realtime_load_max": float(step_ns.max()) / budget_ns if some else 0.0,
        "latency_mean_ns": float(lat.mean()) if lat.size else 0.0,
        "latency_max_ns": float(lat.max()) if lat.size else 0.0,
        "latency_min_ns": float(lat.min()) if lat.size else 0.0,
        **energy}
    return metrics.timing_report(target, values, {"cycles_per_step": cycles,
                                                  "step_ns": step_ns})
