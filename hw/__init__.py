"""The IR, the target specs, the compiler and the image format."""

from .compiler import compile, run, runner_for
from .errors import LimitError, NetworkError, NeurocosimError, TargetError
from .formats import NumberFormat
from .image import Core, HardwareImage
from .ir import (CurrentSource, Network, Plasticity, PoissonSource, Population,
                 Projection, Recording, SpikeArray, SpikeTrains)
from .result import Result, Signal, Spikes, TimingReport
from .targets import TargetSpec, get_target, register_target, target_names

__all__ = ["compile", "run", "runner_for", "LimitError", "NetworkError", "NeurocosimError",
           "TargetError", "NumberFormat", "Core", "HardwareImage", "CurrentSource", "Network",
           "Plasticity", "PoissonSource", "Population", "Projection", "Recording",
           "SpikeArray", "SpikeTrains", "Result", "Signal", "Spikes", "TimingReport",
           "TargetSpec", "get_target", "register_target", "target_names"]
