"""The spec language: TOML files that declare a benchmark, checked and compiled to a Plan.

``load_plan(path)`` is the entry point; it raises :class:`SpecError` whose ``render()``
lists every problem as ``file:line:col: key: expected X, found Y``. No JAX import here.

The TOML toolkit (positions, errors, size limits, confinement, value checks) is
:mod:`hpbench.config`. Modules here: ``source`` (``extends`` chains, the ``suite`` swap and
the spec's merge), ``confine`` (where ``data`` paths may lead), ``bounds`` (the trial limit),
``values`` (hyperparameter checks), ``check`` (the sections), ``model`` (the checked Spec),
``compile`` (Spec -> Plan), ``schema`` (JSON Schema), ``spaces``, ``sequences``,
``settings`` and ``points`` (a ``[search]``'s space, unit sequences, settings and points);
the commands are :mod:`hpbench.cli.spec`.
The reserved tables (``[search]``, ``[select]``, ``[list]``) are read once, at load, into
``Spec.search``, ``Spec.select`` and ``Spec.listing``.
"""

from hpbench.config.errors import ConfigError, Problem
from hpbench.spec.compile import compile_plan, load_plan, load_spec
from hpbench.spec.model import Schedule, Spec, WorkloadRun

#: A spec's problems: the config toolkit's error, by the name spec callers know.
SpecError = ConfigError

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
