"""Reports: a results directory rendered as the papers' tables and plots, in Markdown and
self-contained HTML (the nightly run that keeps them current is :mod:`hpbench.nightly`).

No JAX import: reports read results, they never train. ``render`` and ``Rendered`` load on
first use, so ``hpbench score`` never imports the templates' code (jinja2).
"""

import importlib
import sys
from typing import TYPE_CHECKING, Any

from hpbench import _Package
from hpbench.report.data import Report, SpecRun, build_report, load_runs

if TYPE_CHECKING:
    from hpbench.report.render import Rendered, render

__all__ = [
    "Rendered",
    "Report",
    "SpecRun",
    "build_report",
    "load_runs",
    "render",
]

#: The function ``render`` shares its name with the submodule that holds it.
_SUBMODULES = ("render",)


def __getattr__(name: str) -> Any:
    """``render`` and ``Rendered``, imported from :mod:`hpbench.report.render` on first use."""
    if name in ("Rendered", "render"):
        return getattr(importlib.import_module("hpbench.report.render"), name)
    raise AttributeError(f"module 'hpbench.report' has no attribute {name!r}")


sys.modules[__name__].__class__ = _Package
