"""One NIR graph on every target: a 2-layer spiking MLP classifies spike patterns.

A synthetic task: N_CLASSES classes, each a group of input channels that fire at a high
rate (Bernoulli per 1 ms step) over a background rate on all channels. The graph is
Input -> Linear -> CubaLIF (hidden) -> Linear -> CubaLIF (classes) -> Output, with
weights set by a rule (no training): a hidden neuron is tuned to one class (+W_ON from
that class's channels, about -W_OFF from the others), an output neuron sums its class's
hidden neurons and is inhibited by the rest. It is written to a .nir file with the `nir` package,
then run from that file on each target (one run of all trials back to back); a trial is
classified by the output neuron with the most spikes in its window.

    python examples/nir_classifier.py [--targets reference,loihi,truenorth,fpga]
                                      [--out nir_classifier.nir]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import nir
import numpy as np

from neurocosim.hw.errors import NeurocosimError
from neurocosim.host.commands.nir_model import run_graph

N_CLASSES, PER_CLASS, HIDDEN_PER_CLASS = 4, 6, 4
STIM_MS, GAP_MS = 50, 30                  # a trial's stimulus, then silence to settle
RATE_ON_HZ, RATE_BG_HZ = 60.0, 20.0
W_ON, W_OFF, W_OUT, W_OUT_OFF = 0.004, 0.0005, 0.01, 0.001
#: inhibition from class c's channels (or hidden neurons) is (1 + OFF_STEP * c) times the
#: base: TrueNorth's compiler types an axon by the mean weight it carries, and with equal
#: means every axon would fall into one type (all weights averaged: nothing fires)
OFF_STEP = 0.05
TARGETS = ("reference", "loihi", "truenorth", "fpga")
#: timing metrics shown side by side (hw/metrics.py names); a target lacks some
METRICS = ("steps", "synaptic_events", "chip_time_ns", "energy_total_pJ", "latency_mean_ns")


def _cuba(n: int) -> nir.CubaLIF:
    """A CubaLIF layer: tau_syn 5 ms, tau_mem 10 ms, threshold 1 (IF_curr_exp here)."""
    return nir.CubaLIF(tau_syn=np.full(n, 0.005), tau_mem=np.full(n, 0.01), r=np.ones(n),
                       v_leak=np.zeros(n), v_threshold=np.ones(n), w_in=np.ones(n))


def build_graph() -> nir.NIRGraph:
    """The classifier; channel i belongs to class i // PER_CLASS, hidden neuron j to class
    j // HIDDEN_PER_CLASS (so each weight depends only on the pair of classes)."""
    n_in, n_hid = N_CLASSES * PER_CLASS, N_CLASSES * HIDDEN_PER_CLASS
    cls_in = np.arange(n_in) // PER_CLASS
    cls_hid = np.arange(n_hid) // HIDDEN_PER_CLASS
    off_in, off_hid = 1 + OFF_STEP * cls_in, 1 + OFF_STEP * cls_hid
    w1 = np.where(cls_hid[:, None] == cls_in[None, :], W_ON, -W_OFF * off_in[None, :])
    w2 = np.where(np.arange(N_CLASSES)[:, None] == cls_hid[None, :], W_OUT,
                  -W_OUT_OFF * off_hid[None, :])
    nodes = {"input": nir.Input(input_type={"input": np.array([n_in])}),
             "fc1": nir.Linear(weight=w1), "hidden": _cuba(n_hid),
             "fc2": nir.Linear(weight=w2), "classes": _cuba(N_CLASSES),
             "output": nir.Output(output_type={"output": np.array([N_CLASSES])})}
    edges = [("input", "fc1"), ("fc1", "hidden"), ("hidden", "fc2"), ("fc2", "classes"),
             ("classes", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


@dataclass
class Task:
    """Trials back to back: the label of each and the input events (ms)."""

    labels: np.ndarray
    idx: np.ndarray
    time: np.ndarray

    @property
    def window_ms(self) -> int:
        return STIM_MS + GAP_MS

    @property
    def duration_ms(self) -> float:
        return float(len(self.labels) * self.window_ms)


def make_task(trials_per_class: int = 25, seed: int = 1) -> Task:
    """Bernoulli spikes at whole ms: the trial's class channels at RATE_ON_HZ, all
    channels at RATE_BG_HZ on top, over STIM_MS; then GAP_MS of silence."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(N_CLASSES), trials_per_class))
    n_in = N_CLASSES * PER_CLASS
    idx, time = [], []
    for k, c in enumerate(labels):
        rate = np.full(n_in, RATE_BG_HZ)
        rate[c * PER_CLASS:(c + 1) * PER_CLASS] += RATE_ON_HZ
        fired = rng.random((STIM_MS, n_in)) < rate * 1e-3
        steps, chans = np.nonzero(fired)
        idx.append(chans)
        time.append(k * (STIM_MS + GAP_MS) + steps + 1.0)
    return Task(labels, np.concatenate(idx), np.concatenate(time).astype(float))


@dataclass
class TargetScore:
    """One target's run of the task: accuracy, mean decision latency, timing metrics,
    or the reason it refused the graph."""

    target: str
    accuracy: float | None = None
    decision_ms: float | None = None        # trial onset to the first output spike
    metrics: dict | None = None
    refused: str | None = None


def score(result, task: Task) -> tuple[float, float]:
    """Accuracy (most output spikes in the trial's window; a tie or silence is wrong) and
    mean time from trial onset to the first output spike (trials with one)."""
    spikes = result.spikes["classes"]
    trial = ((spikes.times - 1e-9) // task.window_ms).astype(int)
    counts = np.zeros((len(task.labels), N_CLASSES), int)
    np.add.at(counts, (trial, spikes.ids), 1)
    first = np.full(len(task.labels), np.inf)
    np.minimum.at(first, trial, spikes.times - trial * task.window_ms)
    top = counts.max(axis=1)
    winner = counts.argmax(axis=1)
    correct = (winner == task.labels) & (top > 0) & ((counts == top[:, None]).sum(1) == 1)
    answered = first[np.isfinite(first)]
    return float(correct.mean()), float(answered.mean()) if answered.size else float("nan")


def evaluate(path: Path, task: Task, targets=TARGETS) -> list[TargetScore]:
    """Run the .nir file on each target with the task's events; a target that refuses
    the graph is scored with its reason."""
    events = path.with_suffix(".events.npz")
    np.savez(events, idx=task.idx, time=task.time)
    scores = []
    for t in targets:
        try:
            run = run_graph(path, t, task.duration_ms, events)
        except NeurocosimError as exc:
            scores.append(TargetScore(t, refused=str(exc)))
            continue
        acc, decision = score(run.result, task)
        timing = run.result.timing
        scores.append(TargetScore(t, acc, decision, {} if timing is None else
                                  {k: timing.metrics.get(k) for k in METRICS}))
    return scores


def table(scores: list[TargetScore]) -> list[str]:
    """A markdown table: accuracy, decision latency and the timing metrics per target."""
    head = ["target", "accuracy", "decision (ms)"] + list(METRICS)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in scores:
        if s.refused is not None:
            lines.append(f"| {s.target} | refused: {s.refused} |" + " |" * (len(head) - 2))
            continue
        cells = [s.target, f"{s.accuracy:.3f}", f"{s.decision_ms:.1f}"]
        cells += ["-" if s.metrics.get(k) is None else f"{s.metrics[k]:.4g}"
                  for k in METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--out", type=Path, default=Path("nir_classifier.nir"))
    p.add_argument("--trials-per-class", type=int, default=25)
    args = p.parse_args()
    nir.write(str(args.out), build_graph())
    task = make_task(args.trials_per_class)
    scores = evaluate(args.out, task, [t.strip() for t in args.targets.split(",")])
    print(f"{args.out}: {len(task.labels)} trials, {task.duration_ms:g} ms")
    print("\n".join(table(scores)))


if __name__ == "__main__":
    main()
