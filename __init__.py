"""neurocosim: one PyNN network, compiled once, run on a float reference, chip emulators,
an FPGA core, a board over UART and SFQ pulse models, then compared.

Kept light on purpose: importing neurocosim imports none of its stages.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`neurocosim.nir` is the NIR stage, whose folder is nirio/: a root folder nir/ would
    shadow PyPI's nir for anything run from the repository root (on sys.path there)."""
    if name == "nir":
        import importlib
        return importlib.import_module(".nirio", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
