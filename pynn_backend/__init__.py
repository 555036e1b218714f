"""The PyNN 0.13 backend: `import neurocosim.pynn_backend as sim` (or `pyNN.neurocosim`).

`sim.setup(timestep=..., target="reference" | "loihi" | ...)` chooses where the network
runs; everything else is PyNN's API.
"""

from pyNN import errors, random, space  # noqa: F401
from pyNN.connectors import *  # noqa: F401,F403
from pyNN.network import Network  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.recording import *  # noqa: F401,F403
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import StandardCellType

from .control import (end, get_current_time, get_hardware_report, get_max_delay,  # noqa: F401
                      get_min_delay, get_result, get_time_step, initialize, num_processes,
                      rank, reset, run, run_for, run_until, setup)
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .procedural_api import connect, create, record, record_gsyn, record_v  # noqa: F401
from .projections import Projection  # noqa: F401
from .standardmodels import *  # noqa: F401,F403
from .standardmodels import CELL_TYPES

name = "neurocosim"


def list_standard_models():
    """Names of the standard cell types this backend provides."""
    return [c.__name__ for c in CELL_TYPES if issubclass(c, StandardCellType)]
