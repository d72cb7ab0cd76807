"""The JSON Schema of the spec language, generated from the registries.

Editors (VS Code's Even Better TOML, taplo) validate a spec against it while it is typed.
It describes one file, so nothing is required (a value may come from ``extends``); the
checks that need the whole merged spec (a missing target, ``extends`` itself) stay in
:mod:`hpbench.spec.check`. ``[benchmark]``, ``[schedule]`` and ``[run]`` are their models'
declarations (:func:`hpbench.config.fields.settings_schema`); the fractions are
:mod:`hpbench.schedules`'.
"""

from __future__ import annotations

from typing import Any

from hpbench.algorithms.registry import ALGORITHMS, Hyperparameter
from hpbench.config.fields import Number, settings_schema
from hpbench.schedules import HORIZON, WARMUP
from hpbench.spec.model import RESERVED, RUN_KEYS, Benchmark, Schedule, Spec
from hpbench.workloads.registry import METRIC_DIRECTIONS, WORKLOADS, WorkloadInfo

_FRACTION = Number(WARMUP).schema()
_HORIZON = Number(HORIZON).schema()
_POSITIVE_INT = {"type": "integer", "minimum": 1}


def spec_schema() -> dict[str, Any]:
    """A draft-07 JSON Schema accepting every valid spec file."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "hpbench spec",
        "description": "A benchmark of a training algorithm (docs/spec.md).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "benchmark": _closed(
                settings_schema(Benchmark),
                "What this benchmark is; `extends` is a spec file path relative to this one.",
            ),
            "algorithm": _algorithm(),
            "schedule": _closed(settings_schema(Schedule), "The relative schedule."),
            "workloads": {
                "anyOf": [
                    {
                        "type": "object",
                        "description": "The workloads to train, by registered name.",
                        "additionalProperties": False,
                        "properties": {name: _workload(info) for name, info in WORKLOADS.items()},
                    },
                    {
                        "type": "array",
                        "description": "Which workloads of the extended suite to train.",
                        "minItems": 1,
                        "items": {"enum": list(WORKLOADS)},
                    },
                ]
            },
            "run": _closed(settings_schema(Spec, RUN_KEYS), "How trials run."),
            "grid": _grid(),
            **{
                name: {"type": "object", "description": f"[{name}]: see docs/search.md."}
                for name in RESERVED
            },
        },
    }


def _closed(properties: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "properties": properties,
    }


def hyperparameter_schema(h: Hyperparameter) -> dict[str, Any]:
    """The schema of one hyperparameter value: its type, range or choices, its doc."""
    schema: dict[str, Any] = {"description": h.doc}
    if h.default is not None:
        schema["default"] = h.default
    if h.choices is not None:
        schema["enum"] = list(h.choices)
        return schema
    schema["type"] = {"float": "number", "int": "integer", "bool": "boolean", "str": "string"}[
        h.kind
    ]
    if h.low is not None:
        schema["exclusiveMinimum" if h.low_open else "minimum"] = h.low
    if h.high is not None:
        schema["exclusiveMaximum" if h.high_open else "maximum"] = h.high
    return schema


def _algorithm() -> dict[str, Any]:
    cases = []
    for name, info in ALGORITHMS.items():
        values = {h.name: hyperparameter_schema(h) for h in info.hyperparameters}
        point = _closed({**values, "warmup": _FRACTION}, "One point of a hyperparameter list.")
        properties = {
            "name": {"const": name},
            **values,
            "points": {"type": "array", "minItems": 1, "items": point},
        }
        cases.append(
            {
                "if": {"properties": {"name": {"const": name}}, "required": ["name"]},
                "then": {"properties": properties, "additionalProperties": False},
            }
        )
    return {
        "type": "object",
        "description": "The training algorithm and its frozen hyperparameters.",
        "properties": {"name": {"enum": list(ALGORITHMS)}},
        "allOf": cases,
    }


def _target(info: WorkloadInfo) -> dict[str, Any]:
    return {
        **_closed(
            {
                "metric": {"enum": list(info.metrics)},
                "value": {"type": "number"},
                "direction": {"enum": sorted(set(METRIC_DIRECTIONS.values()))},
            },
            "The validation target: metric (default the workload's), value, direction.",
        ),
        "required": ["value"],
    }


def _workload(info: WorkloadInfo) -> dict[str, Any]:
    variants = ["base", *info.variants]
    settings = {
        "target": _target(info),
        "max_steps": _POSITIVE_INT,
        "batch_size": _POSITIVE_INT,
        "eval_every": {"anyOf": [_POSITIVE_INT, {**_HORIZON, "type": "number"}]},
        "data": {"type": "string"},
    }
    properties = {
        **settings,
        "size": {"enum": list(info.sizes)},
        "variant": {
            "anyOf": [
                {"enum": variants},
                {"type": "array", "minItems": 1, "items": {"enum": variants}},
            ]
        },
        "skip": {"type": "boolean"},
        "variants": _closed(
            {v: _closed(settings, f"Settings of variant {v}.") for v in variants}, ""
        ),
    }
    return _closed(properties, info.description)


def _grid() -> dict[str, Any]:
    axes: dict[str, Any] = {}
    for info in ALGORITHMS.values():
        for h in info.hyperparameters:
            item = {
                k: v
                for k, v in hyperparameter_schema(h).items()
                if k not in ("default", "description")
            }
            axes[h.name] = {"type": "array", "minItems": 1, "items": item}
    axes["warmup"] = {"type": "array", "minItems": 1, "items": _FRACTION}
    axes["horizon"] = {"type": "array", "minItems": 1, "items": _HORIZON}
    axes["seed"] = {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}}
    return _closed(axes, "Lists that expand as a Cartesian product of trials.")
