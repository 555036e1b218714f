"""What the GPU engines share: the device check, the one launch of a step kernel and its
spike record. Imported by the GPU engines only (it imports numba.cuda).

A GPU engine (`emulator/loihi/gpu.py`, `sim/reference/gpu.py`) runs a whole window of
steps in one persistent CUDA kernel whose phases are separated by grid-wide barriers
(`cuda.cg.this_grid().sync()`), so a step costs no host round trip and no kernel launch.
Such a kernel must have every block resident at once (a cooperative launch): the grid is
sized from the compiled kernel's `max_cooperative_grid_blocks`. Under numba's CUDA
simulator (NUMBA_ENABLE_CUDASIM=1) a cooperative grid is one block; the kernels are
written for any grid size, so the simulator runs the same code.
"""

from __future__ import annotations

import warnings

import numpy as np

if not hasattr(np, "row_stack"):
    # numba-cuda 0.x registers an overload of np.row_stack when it first compiles a kernel,
    # and numpy 2.5 removed that alias of np.vstack: without it no kernel compiles there
    np.row_stack = np.vstack

from numba import cuda  # noqa: E402

from .errors import TargetError

#: threads per block on a GPU, and in numba's simulator (one Python thread each)
THREADS, SIM_THREADS = 256, 32


@cuda.jit(device=True)
def deliver(spk, n_sp, ptr, off, w, buf, base, ring, warp, lane, n_warps):
    """Add the synapses of this step's n_sp spikes into the delay ring buffer: one warp per
    spike, its 32 lanes over the spike's synapses (off: slot offset from `base`, wrapping
    at `ring`); atomic, so the order of the additions is the GPU's."""
    for q in range(warp, n_sp, n_warps):
        i = spk[q]
        for y in range(ptr[i] + lane, ptr[i + 1], 32):
            at = base + off[y]
            if at >= ring:
                at -= ring
            cuda.atomic.add(buf, at, w[y])


def require_cuda(target: str) -> None:
    """Refuse device="gpu" on a machine numba.cuda finds no GPU on (the simulator counts)."""
    if not cuda.is_available():
        raise TargetError(f"target {target!r}: device='gpu' needs a CUDA GPU; numba.cuda "
                          "finds none (device='cpu' runs anywhere; NUMBA_ENABLE_CUDASIM=1 "
                          "runs the GPU kernels in numba's simulator)")


def simulated() -> bool:
    """True under numba's CUDA simulator."""
    from numba import config
    return bool(config.ENABLE_CUDASIM)


def launch_cooperative(kernel, args: tuple, work: int) -> None:
    """Launch `kernel(*args)` with every block resident: as many blocks as `work` items
    need at THREADS each, at most what the GPU holds at once (one block simulated)."""
    if simulated():
        kernel[1, SIM_THREADS](*args)
        return
    spec = kernel.specialize(*args)
    compiled = next(iter(spec.overloads.values()))
    top = compiled.max_cooperative_grid_blocks(THREADS)
    with warnings.catch_warnings():   # a small grid on purpose: fewer blocks to synchronise
        warnings.filterwarnings("ignore", message=".*Grid size")   # numba's low occupancy
        spec[max(1, min(top, -(-work // THREADS))), THREADS](*args)


class SpikeRecord:
    """The device arrays a step kernel records its spikes into: (id, step or stamp) up to
    `cap` of them, their count, and the step the call reached (it stops early rather than
    overflow; the engine calls again from there)."""

    def __init__(self, cap: int) -> None:
        self.out_id = cuda.device_array(max(cap, 1), np.int32)
        self.out_step = cuda.device_array(max(cap, 1), np.int32)
        self.out_n = cuda.to_device(np.zeros(1, np.int32))
        self.reached = cuda.to_device(np.zeros(1, np.int64))

    def arrays(self, k1: int) -> tuple:
        """out_id, out_step, out_n, emptied, for a call that may run to step k1."""
        self.out_n.copy_to_device(np.zeros(1, np.int32))
        self.reached.copy_to_device(np.array([k1], np.int64))
        return self.out_id, self.out_step, self.out_n

    def spikes(self) -> tuple[np.ndarray, np.ndarray]:
        """The call's spikes (ids, steps) as int64, in step order (a step's record ends
        at a barrier before the next step's begins), ids within a step in no order: the
        Result sorts them, and sorting 10**7 spikes here would cost more than the run."""
        m = int(self.out_n.copy_to_host()[0])
        if not m:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return (self.out_id[:m].copy_to_host().astype(np.int64),
                self.out_step[:m].copy_to_host().astype(np.int64))
