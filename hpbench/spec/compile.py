"""Spec -> Plan: one Trial per (workload, variant, point, grid combination, seed).

Hyperparameters are complete in every trial (the algorithm's defaults filled in), so a
value written explicitly and the same value left to its default give the same trial id.
"""

from __future__ import annotations

import itertools
import numbers
from pathlib import Path
from typing import NamedTuple

from hpbench.algorithms.registry import ALGORITHMS
from hpbench.config.values import as_integer
from hpbench.plan import Plan, Scalar, Trial
from hpbench.spec.check import check
from hpbench.spec.model import Spec
from hpbench.spec.source import load_document
from hpbench.workloads.registry import get_workload


def load_spec(path: Path | str, max_trials: int | None = None) -> Spec:
    """Read, merge and check the spec at ``path``; raises ConfigError listing every problem
    (more than ``max_trials`` trials is one: ``hpbench.spec.bounds``)."""
    return check(load_document(path), max_trials)


def load_plan(path: Path | str, max_trials: int | None = None) -> Plan:
    """The plan of the spec at ``path``; raises ConfigError listing every problem."""
    return compile_plan(load_spec(path, max_trials))


def compile_plan(spec: Spec) -> Plan:
    """Expand ``spec`` into its trials: workloads x points x grid x seeds, in that order."""
    trials: dict[str, Trial] = {}
    info = ALGORITHMS.get(spec.algorithm) if spec.algorithm else None
    kinds = {h.name: h.kind for h in info.hyperparameters} if info else {}
    points = [_split(spec, point, kinds) for point in _points(spec)]
    for run in spec.workloads:
        info = get_workload(run.name)
        # all of the training rows is the generated data as it is: the same trial
        rows = None if run.train_rows == info.train_rows.get(run.size) else run.train_rows
        for point in points:
            first = Trial(
                workload=run.name,
                size=run.size,
                variant=run.variant,
                algorithm=spec.algorithm,
                hyperparameters=point.hyperparameters,
                schedule=spec.schedule.shape,
                warmup=point.warmup,
                horizon=point.horizon,
                max_steps=run.max_steps,
                batch_size=run.batch_size,
                seed=point.seeds[0],
                eval_every=run.eval_every,
                target=run.target,
                stop_at_target=spec.stop_at_target,
                options=point.options,
                data=run.data,
                workload_revision=info.revision.get(run.size, 0),
                train_rows=rows,
                label_noise=run.label_noise,
                width=run.width,
            )
            for trial in first.with_seeds(point.seeds):
                trials.setdefault(trial.id, trial)  # equal points give one trial
    return Plan(
        name=spec.name,
        trials=tuple(trials.values()),
        description=spec.description,
        owner=spec.owner,
        source=spec.file,
        checkpoint_seconds=spec.checkpoint_seconds,
    )


class _Point(NamedTuple):
    """One algorithm point split into the Trial fields it sets."""

    hyperparameters: dict[str, Scalar]
    options: dict[str, Scalar]  # string choices that shape the algorithm (Mechanic's base)
    warmup: float
    horizon: float
    seeds: tuple[int, ...]


def _points(spec: Spec) -> list[dict[str, Scalar]]:
    """Every algorithm point (defaults < [algorithm] < a listed point < a grid combination)."""
    if spec.algorithm is None:
        return []
    defaults = {k: v for k, v in ALGORITHMS[spec.algorithm].defaults().items() if v is not None}
    names = [key for key, _ in spec.grid]
    return [
        {**defaults, **spec.hyperparameters, **point, **dict(zip(names, values, strict=True))}
        for point in spec.points
        for values in itertools.product(*(values for _, values in spec.grid))
    ]


def _split(spec: Spec, point: dict[str, Scalar], kinds: dict[str, str]) -> _Point:
    """Schedule and seed axes out of ``point`` (a seed stays as given: the Trial refuses a
    float or bool one); string choices (``kinds`` "str") to options; numbers to their kind."""
    values = dict(point)
    warmup = float(values.pop("warmup", spec.schedule.warmup))
    if spec.schedule.shape == "none":  # the shape ignores warmup: keep ids equal
        warmup = 0.0
    horizon = float(values.pop("horizon", spec.schedule.horizon))
    seeds = (values.pop("seed"),) if "seed" in values else spec.seeds
    options = {k: v for k, v in values.items() if kinds.get(k) == "str"}
    hyperparameters = {k: _as_kind(v, kinds.get(k)) for k, v in values.items() if k not in options}
    return _Point(hyperparameters, options, warmup, horizon, seeds)


def _as_kind(value: Scalar, kind: str | None) -> Scalar:
    """A number as a checked TOML spec holds it, whatever built the point (numpy values of
    a grid made in Python): a float hyperparameter's, or any non-integer, as a float, an
    integer as a plain int, so the trial's id is the TOML spec's."""
    if isinstance(value, bool | str):
        return value
    number = as_integer(value)
    if kind == "float" or (type(number) is not int and isinstance(number, numbers.Real)):
        return float(number)
    return number
