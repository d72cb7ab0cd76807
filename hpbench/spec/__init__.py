"""The spec language: TOML files that declare a benchmark, checked and compiled to a Plan.

``load_plan(path)`` is the entry point; it raises :class:`SpecError` whose ``render()``
lists every problem as ``file:line:col: key: expected X, found Y``. No JAX import here.

Modules: ``locate`` (TOML positions), ``source`` (files, ``extends``, merge), ``confine``
(where untrusted values may lead on disk), ``bounds`` (size limits), ``values`` (typed
checks that report), ``check`` (the sections), ``model`` (the checked Spec), ``compile``
(Spec -> Plan), ``schema`` (JSON Schema), ``commands`` (the CLI commands).
The reserved tables (``[search]``, ``[select]``, ``[list]``) arrive raw in
``Spec.reserved``; their builders check them with ``values.Reporter(spec.document)``.
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
