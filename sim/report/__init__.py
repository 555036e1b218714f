"""report.html: one self-contained, offline page per run, comparison or sweep, with
interactive Plotly figures (zoomable rasters of thousands of neurons)."""

from .page import Page
from .pages import compare_page, run_page, write_compare_report, write_run_report

__all__ = ["Page", "compare_page", "run_page", "write_compare_report",
           "write_run_report"]
