"""NIR in and out: `read(path_or_graph, dt=...)` imports a NIR graph as the IR,
`write(network, path)` exports the IR as a NIR graph (docs/nir.md).

Public as `neurocosim.nir` (the package root resolves that name lazily): the folder is
called nirio because a top-level folder `nir/` would shadow PyPI's `nir` package for
anything run from the repository root, which is on sys.path there.
"""

from .reader import NirImport, Unrolled, read
from .writer import to_graph, write

__all__ = ["NirImport", "Unrolled", "read", "to_graph", "write"]
