"""What the GPU engines share: the device check and the one launch of a step kernel.

A GPU engine (`emulator/loihi/gpu.py`, `sim/reference/gpu.py`) runs a whole window of
steps in one persistent CUDA kernel whose phases are separated by grid-wide barriers
(`cuda.cg.this_grid().sync()`), so a step costs no host round trip and no kernel launch.
Such a kernel must have every block resident at once (a cooperative launch): the grid is
sized from the compiled kernel's `max_cooperative_grid_blocks`. Under numba's CUDA
simulator (NUMBA_ENABLE_CUDASIM=1) a cooperative grid is one block; the kernels are
written for any grid size, so the simulator runs the same code.
"""

from __future__ import annotations

from .errors import TargetError

#: threads per block on a GPU, and in numba's simulator (one Python thread each)
THREADS, SIM_THREADS = 256, 32


def require_cuda(target: str) -> None:
    """Refuse device="gpu" on a machine numba.cuda finds no GPU on (the simulator counts)."""
    from numba import cuda
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
    spec[max(1, min(top, -(-work // THREADS))), THREADS](*args)
