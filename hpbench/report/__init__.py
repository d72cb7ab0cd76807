"""Reports: a results directory rendered as the papers' tables and plots, in Markdown and
self-contained HTML, and the nightly run that keeps them and their score history current.

No JAX import: reports read results, they never train.
"""

from hpbench.report.data import Report, SpecRun, build_report, load_runs
from hpbench.report.nightly import Regression, run_nightly
from hpbench.report.render import Rendered, render
from hpbench.spec.nightly import Nightly, load_nightly

__all__ = [
    "Nightly",
    "Regression",
    "Rendered",
    "Report",
    "SpecRun",
    "build_report",
    "load_nightly",
    "load_runs",
    "render",
    "run_nightly",
]
