"""The spec language: TOML files that declare a benchmark, checked and compiled to a Plan.

``load_plan(path)`` is the entry point; it raises :class:`SpecError` whose ``render()``
lists every problem as ``file:line:col: key: expected X, found Y``. No JAX import here.
"""

from hpbench.spec.compile import compile_plan, load_plan, load_spec
from hpbench.spec.errors import Problem, SpecError
from hpbench.spec.model import Schedule, Spec, WorkloadRun

__all__ = [
    "Problem",
    "Schedule",
    "Spec",
    "SpecError",
    "WorkloadRun",
    "compile_plan",
    "load_plan",
    "load_spec",
]
