"""neurocosim: one PyNN network, compiled once, run on a float reference, chip emulators,
an FPGA core, a board over UART and SFQ pulse models, then compared.

Kept light on purpose: importing neurocosim imports none of its stages.
"""

__version__ = "0.1.0"
