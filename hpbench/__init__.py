"""hpbench: declarative benchmarks of neural-network training algorithms, on JAX.

The API (docs/api.md)::

    import hpbench

    plan = hpbench.plan(hpbench.load_spec("specs/suites/toy.toml"))
    hpbench.run(plan, runner="pool", results="results")
    hpbench.score(["specs/suites/toy.toml"], "results").benchmark
    hpbench.report(["specs/suites/toy.toml"], "results", out="reports/toy")
    hpbench.Results("results").of(plan)

Importing :mod:`hpbench` is cheap (the API loads on first use), and only :func:`run` imports
JAX: the modules that train or compile (``hpbench.train``, ``hpbench.algorithms.build``, the
workload models) do.
"""

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Results", "load_spec", "plan", "report", "run", "score"]

if TYPE_CHECKING:
    from hpbench.api import Results, load_spec, plan, report, run, score


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use (``hpbench --help`` imports only the version)."""
    if name in __all__:
        from hpbench import api

        value = getattr(api, name)
        return _Shared(value, name) if name in _SUBMODULES else value
    raise AttributeError(f"module 'hpbench' has no attribute {name!r}")


#: API functions named as submodules are: ``hpbench.plan`` (Plan, Trial), ``hpbench.report``.
_SUBMODULES = ("plan", "report")


class _Shared:
    """An API function that shares its name with a submodule: calling it calls the function,
    its other attributes are the submodule's (``import hpbench.report.render as r`` and
    ``hpbench.plan.Trial`` keep working)."""

    def __init__(self, function: Any, name: str) -> None:
        self.__wrapped__ = function
        self.__doc__ = function.__doc__
        self._module = f"hpbench.{name}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module(self._module), name)

    def __repr__(self) -> str:
        return repr(self.__wrapped__)


class _Package(types.ModuleType):
    """A package with a function named as one of its submodules (its ``_SUBMODULES``):
    importing the submodule would bind it over the function; the name stays the function
    (here: ``hpbench.plan``, ``hpbench.report``, see :class:`_Shared`; and
    ``hpbench.report.render``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in vars(self).get("_SUBMODULES", ()) and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
