"""SFQ netlists as behavioural Verilog (timescale 1ps/1fs), pulse-exact to sim.sfq."""

from .verilog import cell_module, export_verilog

__all__ = ["cell_module", "export_verilog"]
