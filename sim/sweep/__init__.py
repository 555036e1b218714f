"""Design-space sweeps: one network on many variants of a target, run as Ray tasks.

A sweep file (TOML) names the network, the target, the spec fields to vary and how to
sample them; each point is compiled, run, timed and compared with one shared reference
run; rows land in a resumable Parquet results folder; `report` plots them.
"""

from .config import Axis, NetworkSource, SweepConfig, SweepError, load_config, parse_config
from .evaluate import SweepTask, evaluate_point, reference_run
from .fidelity import FIDELITY_METRICS, count_correlation, fidelity_metrics
from .points import Point, expand_points, point_key
from .report import Report, make_report, pareto_front, report_from_results
from .runner import SweepSummary, ray_session, run_sweep
from .store import VOLATILE, ResultStore, read_results

__all__ = ["Axis", "NetworkSource", "SweepConfig", "SweepError", "load_config",
           "parse_config", "SweepTask", "evaluate_point", "reference_run",
           "FIDELITY_METRICS", "count_correlation", "fidelity_metrics", "Point",
           "expand_points", "point_key", "Report", "make_report", "pareto_front",
           "report_from_results", "SweepSummary", "ray_session", "run_sweep",
           "VOLATILE", "ResultStore", "read_results"]
