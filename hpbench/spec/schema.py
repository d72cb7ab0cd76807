"""The JSON Schema of the spec language, generated from the registries.

Editors (VS Code's Even Better TOML, taplo) validate a spec against it while it is typed.
It describes one file, so nothing is required (a value may come from ``extends``); the
checks that need the whole merged spec (a missing target, ``extends`` itself) stay in
:mod:`hpbench.spec.check`. Every table is its declaration's
(:func:`hpbench.config.fields.settings_schema`): ``[benchmark]``, ``[schedule]`` and ``[run]``
(:mod:`hpbench.spec.model`), ``[algorithm]`` and ``[grid]``
(:mod:`hpbench.spec.algorithm_table`), ``[workloads.NAME]`` (:mod:`hpbench.spec.workload_table`)
and the search tables (:mod:`hpbench.spec.settings`), the kinds that depend on a registry
entry bound to each registered algorithm and workload.
"""

from __future__ import annotations

from typing import Any

from hpbench.algorithms.registry import ALGORITHMS
from hpbench.config.fields import settings_schema, table_schema
from hpbench.spec.algorithm_table import (
    AlgorithmTable,
    GridAxes,
    hyperparameter_axis,
    hyperparameter_schema,
)
from hpbench.spec.model import RUN_KEYS, Benchmark, Schedule, Spec
from hpbench.spec.settings import ListSettings, Search, Select
from hpbench.spec.workload_table import workload_schema
from hpbench.workloads.registry import WORKLOADS


def spec_schema() -> dict[str, Any]:
    """A draft-07 JSON Schema accepting every valid spec file."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "hpbench spec",
        "description": "A benchmark of a training algorithm (docs/spec.md).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "benchmark": table_schema(
                settings_schema(Benchmark),
                "What this benchmark is; `extends` (a spec) and `suite` (a suite whose workloads "
                "replace the inherited ones) are file paths relative to this one.",
            ),
            "algorithm": _algorithm(),
            "schedule": table_schema(settings_schema(Schedule), "The relative schedule."),
            "workloads": {
                "anyOf": [
                    {
                        "type": "object",
                        "description": "The workloads to train, by registered name.",
                        "additionalProperties": False,
                        "properties": {
                            name: workload_schema(info) for name, info in WORKLOADS.items()
                        },
                    },
                    {
                        "type": "array",
                        "description": "Which workloads of the extended suite to train.",
                        "minItems": 1,
                        "items": {"enum": list(WORKLOADS)},
                    },
                ]
            },
            "run": table_schema(settings_schema(Spec, RUN_KEYS), "How trials run."),
            "grid": _grid(),
            "search": table_schema(
                {
                    **settings_schema(Search),
                    "space": {
                        "description": "the space: a file of specs/search/, or "
                        "[search.space.NAME] tables (docs/search.md)",
                        "anyOf": [{"type": "string"}, {"type": "object"}],
                    },
                },
                "A search over the algorithm's hyperparameters (docs/search.md).",
            ),
            "select": table_schema(
                settings_schema(Select), "The lr-free paper's calibration (docs/search.md)."
            ),
            "list": table_schema(
                settings_schema(ListSettings), "A greedy hyperparameter list (docs/search.md)."
            ),
        },
    }


def _algorithm() -> dict[str, Any]:
    """``[algorithm]``: per registered name, its own keys and its hyperparameters."""
    cases = []
    for name, info in ALGORITHMS.items():
        values = {h.name: hyperparameter_schema(h) for h in info.hyperparameters}
        own = settings_schema(AlgorithmTable, entry=info)
        properties = {**own, "name": {"const": name}, **values}
        cases.append(
            {
                "if": {"properties": {"name": {"const": name}}, "required": ["name"]},
                "then": {"properties": properties, "additionalProperties": False},
            }
        )
    return {
        "type": "object",
        "description": "The training algorithm and its frozen hyperparameters.",
        "properties": {"name": settings_schema(AlgorithmTable, ["name"])["name"]},
        "allOf": cases,
    }


def _grid() -> dict[str, Any]:
    """``[grid]``: every registered hyperparameter's axis and the declared ones."""
    axes: dict[str, Any] = {}
    for info in ALGORITHMS.values():
        for h in info.hyperparameters:
            axes[h.name] = hyperparameter_axis(h).schema()
    return table_schema(
        {**axes, **settings_schema(GridAxes)},
        "Lists that expand as a Cartesian product of trials.",
    )
