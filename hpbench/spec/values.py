"""The spec's value checks: hyperparameters against their registry metadata, as a
:class:`~hpbench.config.fields.Kind` (the generic checks are :mod:`hpbench.config.values`)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import attrs

from hpbench.algorithms.registry import ALGORITHMS, Hyperparameter
from hpbench.config.errors import did_you_mean, show
from hpbench.config.fields import Kind
from hpbench.config.locate import Path_
from hpbench.config.values import Found, Interval, Reporter, one_of
from hpbench.plan import Scalar


def interval_of(h: Hyperparameter) -> Interval:
    """The interval a real or integer hyperparameter's values lie in."""
    low = -math.inf if h.low is None else h.low
    high = math.inf if h.high is None else h.high
    return Interval(low, high, h.low_open or h.low is None, h.high_open or h.high is None)


class SpecReporter(Reporter):
    """A :class:`Reporter` that knows the algorithms' hyperparameters."""

    def unknown_keys(
        self,
        path: Path_,
        table: dict[str, Any],
        known: Iterable[str],
        what: str,
        *,
        hyperparameters: bool = False,
    ) -> None:
        """Report keys not in ``known``; with ``hyperparameters``, name the algorithms that
        do take a foreign hyperparameter."""
        known = tuple(known)
        for key in table:
            owners = [a.name for a in ALGORITHMS.values() if key in a.names]
            if key not in known and owners and hyperparameters:
                self.fail(
                    (*path, key),
                    what,
                    Found(f"{show(key)}, which this algorithm does not take"),
                    f"{key} is a hyperparameter of {', '.join(owners)}",
                    at_key=True,
                )
            elif key not in known:
                self.unknown_key(path, key, known, what)

    def hyperparameter(self, path: Path_, h: Hyperparameter, value: Any) -> Scalar | None:
        """``value`` checked against ``h``'s kind, range and choices, coerced to its kind."""
        return HyperparameterValue(h).read(self, path, value)


#: The JSON Schema type of each hyperparameter kind.
_SCHEMA_TYPES = {"float": "number", "int": "integer", "bool": "boolean", "str": "string"}


@attrs.frozen
class HyperparameterValue(Kind):
    """A value of the hyperparameter ``h``: its kind, range and choices (registry metadata),
    read coerced to its kind, so ``1`` and ``1.0`` are the same learning rate."""

    h: Hyperparameter
    type_text = "its kind"

    @property
    def expected(self) -> str:
        if self.h.choices is not None:
            return f"one of {one_of(self.h.choices)}"
        return {"float": "a number", "int": "an integer", "bool": "true or false"}.get(
            self.h.kind, "a string"
        )

    def read(self, reporter: Reporter, path: Path_, value: Any) -> Scalar | None:
        h = self.h
        if h.kind == "float":
            coerced = reporter.number(path, value, interval_of(h))
        elif h.kind == "int":
            interval = interval_of(h)
            coerced = value if isinstance(value, int) and not isinstance(value, bool) else None
            if coerced is None or not interval.contains(coerced):
                reporter.fail(path, f"an integer in {interval}", value)
                return None
        elif h.kind == "bool":
            coerced = reporter.boolean(path, value)
        else:
            coerced = reporter.string(path, value)
        if coerced is not None and h.choices is not None and coerced not in h.choices:
            reporter.fail(
                path,
                f"one of {one_of(h.choices)}",
                value,
                did_you_mean(value, map(str, h.choices)),
            )
            return None
        return coerced

    def accepts(self, value: Any) -> bool:
        kinds = {"float": (int, float), "int": int, "bool": bool, "str": str}
        if not isinstance(value, kinds[self.h.kind]) or (
            isinstance(value, bool) and self.h.kind != "bool"
        ):
            return False
        if self.h.choices is not None:
            return value in self.h.choices
        return self.h.kind not in ("float", "int") or interval_of(self.h).contains(value)

    def schema(self) -> dict[str, Any]:
        h = self.h
        if h.choices is not None:
            return {"enum": list(h.choices)}
        schema: dict[str, Any] = {"type": _SCHEMA_TYPES[h.kind]}
        if h.low is not None:
            schema["exclusiveMinimum" if h.low_open else "minimum"] = h.low
        if h.high is not None:
            schema["exclusiveMaximum" if h.high_open else "maximum"] = h.high
        return schema
