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
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Results", "load_spec", "plan", "report", "run", "score"]

if TYPE_CHECKING:
    from hpbench.api import Results, load_spec, report, run, score
    from hpbench.plan import Plan
    from hpbench.spec import Spec

# The submodule hpbench.plan (the Plan and Trial types) would bind the name ``plan`` here
# when first imported; importing it now lets the function below keep the name.
importlib.import_module("hpbench.plan")


def plan(spec: "Spec | str") -> "Plan":
    """The plan of trials of ``spec``: a checked Spec, or a spec file's path
    (:func:`hpbench.api.plan`)."""
    from hpbench.api import plan as compile_spec

    return compile_spec(spec)


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use (``hpbench --help`` imports only the version)."""
    if name in __all__:
        from hpbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'hpbench' has no attribute {name!r}")
