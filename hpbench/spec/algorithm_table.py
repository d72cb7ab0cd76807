"""The keys of ``[algorithm]`` and ``[grid]`` besides the algorithm's hyperparameters,
declared once (:class:`AlgorithmTable`, :class:`GridAxes`).

Every other key of both tables is a hyperparameter of the algorithm ``name`` names, whose
kind is its registry metadata (:class:`~hpbench.spec.values.HyperparameterValue`); the
kinds that depend on the algorithm are bound to its registry entry. The checker
(:mod:`hpbench.spec.check`), the JSON Schema and the tables of docs/spec.md derive from
these declarations.
"""

from __future__ import annotations

from typing import Any

import attrs

from hpbench.algorithms.registry import ALGORITHMS, AlgorithmInfo, Hyperparameter
from hpbench.config.fields import (
    Choice,
    Depends,
    Integer,
    Items,
    Kind,
    Number,
    bound_text,
    setting,
    settings,
    table_schema,
)
from hpbench.config.locate import Path_
from hpbench.plan import Scalar
from hpbench.schedules import HORIZON, WARMUP
from hpbench.spec.model import Schedule
from hpbench.spec.values import HyperparameterValue, SpecReporter

#: A point's schedule key (its kind is ``[schedule].warmup``'s).
POINT_SCHEDULE_KEYS = ("warmup",)


def algorithm_names() -> tuple[str, ...]:
    """The registered algorithms, in registration order."""
    return tuple(ALGORITHMS)


def hyperparameters(
    reporter: SpecReporter, path: Path_, info: AlgorithmInfo, table: dict[str, Any]
) -> dict[str, Scalar]:
    """The valid hyperparameters of ``info`` in ``table``, coerced to their kinds (other
    keys are left to the caller)."""
    out = {}
    for key, value in table.items():
        h = info.hyperparameter(key)
        if h is not None:
            coerced = HyperparameterValue(h).read(reporter, (*path, key), value)
            if coerced is not None:
                out[key] = coerced
    return out


@attrs.frozen
class Points(Kind):
    """``[[algorithm.points]]`` of the algorithm ``info``: a non-empty array of tables, each
    setting hyperparameters of it and :data:`POINT_SCHEDULE_KEYS`."""

    info: AlgorithmInfo
    expected = "a non-empty array of tables ([[algorithm.points]])"
    type_text = "array of tables"

    def read(
        self, reporter: SpecReporter, path: Path_, value: Any
    ) -> tuple[dict[str, Scalar], ...] | None:
        if not isinstance(value, list) or not value or not all(isinstance(p, dict) for p in value):
            reporter.fail(path, self.expected, value)
            return None
        return tuple(self._point(reporter, (*path, i), p) for i, p in enumerate(value))

    def _point(
        self, reporter: SpecReporter, path: Path_, table: dict[str, Any]
    ) -> dict[str, Scalar]:
        reporter.unknown_keys(
            path,
            table,
            (*self.info.names, *POINT_SCHEDULE_KEYS),
            f"a hyperparameter of {self.info.name} or {' or '.join(POINT_SCHEDULE_KEYS)}",
            hyperparameters=True,
        )
        out = hyperparameters(reporter, path, self.info, table)
        schedule = settings(Schedule, POINT_SCHEDULE_KEYS)
        for key, d in schedule.items():
            if key in table:
                read = d.setting.kind.read(reporter, (*path, key), table[key])
                if read is not None:
                    out[key] = read
        return out

    def accepts(self, value: Any) -> bool:
        return isinstance(value, tuple) and bool(value) and all(isinstance(p, dict) for p in value)

    def schema(self) -> dict[str, Any]:
        values = {h.name: hyperparameter_schema(h) for h in self.info.hyperparameters}
        schedule = {
            k: d.setting.kind.schema() for k, d in settings(Schedule, POINT_SCHEDULE_KEYS).items()
        }
        point = table_schema({**values, **schedule}, "One point of a hyperparameter list.")
        return {"type": "array", "minItems": 1, "items": point}


def hyperparameter_schema(h: Hyperparameter) -> dict[str, Any]:
    """The schema of one hyperparameter value: its doc, default and kind."""
    default = {} if h.default is None else {"default": h.default}
    return {"description": h.doc, **default, **HyperparameterValue(h).schema()}


@attrs.frozen
class AlgorithmTable:
    """``[algorithm]``'s own keys (a declaration: the checker reads them into the
    :class:`~hpbench.spec.model.Spec`, every other key as a hyperparameter of ``name``)."""

    name: str | None = setting(
        None,
        Choice(algorithm_names, what="a registered algorithm name"),
        "a registered algorithm (`hpbench list algorithms`, docs/algorithms.md)",
        default_text="none (required to run)",
    )
    points: tuple[dict[str, Scalar], ...] | None = setting(
        None,
        Depends(Points, "array of tables"),
        "a list of hyperparameter points (below)",
        default_text="none",
    )


#: A grid axis's values: a non-empty list (an axis with a bad value is left out whole).
_AXIS = "a non-empty list of values"


def axis(item: Kind, type_text: str) -> Items:
    """A ``[grid]`` axis of ``item`` values."""
    return Items(item, _AXIS, type_text)


def hyperparameter_axis(h: Hyperparameter) -> Items:
    """The ``[grid]`` axis of a hyperparameter: a list of its values."""
    return axis(HyperparameterValue(h), "list of its values")


@attrs.frozen
class GridAxes:
    """``[grid]``'s axes besides the algorithm's hyperparameters (each of which is an axis
    too, :func:`hyperparameter_axis`): lists that expand as a Cartesian product of trials
    (a declaration: the checker reads them into ``Spec.grid``, in written order)."""

    warmup: tuple[float, ...] | None = setting(
        None,
        axis(Number(WARMUP), f"list of numbers {bound_text(WARMUP)}"),
        "warmup fractions; win over `[schedule].warmup` and a point's",
        default_text="none",
    )
    horizon: tuple[float, ...] | None = setting(
        None,
        axis(Number(HORIZON), f"list of numbers {bound_text(HORIZON)}"),
        "horizon fractions `f`; win over `[schedule].horizon`",
        default_text="none",
    )
    seed: tuple[int, ...] | None = setting(
        None,
        axis(Integer(0), "list of integers >= 0"),
        "training seeds; replace `[run].seeds`",
        default_text="none",
    )
