"""Reports: a results directory rendered as the papers' tables and plots, in Markdown and
self-contained HTML (the nightly run that keeps them current is :mod:`hpbench.nightly`).

No JAX import: reports read results, they never train.
"""

from hpbench.report.data import Report, SpecRun, build_report, load_runs
from hpbench.report.render import Rendered, render

__all__ = [
    "Rendered",
    "Report",
    "SpecRun",
    "build_report",
    "load_runs",
    "render",
]
