"""Typed value checks that report problems instead of raising.

:class:`Reporter` checks one TOML value at a time (a string among choices, an integer, a
number in an :class:`Interval`) and records a :class:`~hpbench.config.errors.Problem` at the
value's position when it is wrong; the checks of specs, runner profiles and nightly files
build on it.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable
from typing import Any

from hpbench.config.errors import Problem, did_you_mean, show
from hpbench.config.locate import Path_
from hpbench.config.source import Document


def as_integer(value: Any) -> Any:
    """``value`` as a plain ``int`` when it is an integer of another type (numpy's, from
    ``np.arange``), so it hashes and serialises as the int does; a bool, a float or anything
    else as it is, for the caller's check to refuse."""
    if type(value) is int or isinstance(value, bool):
        return value
    try:
        return operator.index(value)
    except TypeError:
        return value


def as_real(value: Any) -> Any:
    """``value`` as a plain ``float`` when it is a real number of another type (numpy's
    float32 or float64, from ``np.linspace``), so it hashes and serialises as the float
    does; an integer as :func:`as_integer` gives it; a bool (numpy's too) or anything else
    as it is, for the caller's check to refuse."""
    number = as_integer(value)
    if type(number) is int or isinstance(number, bool) or not isinstance(number, numbers.Real):
        return number
    return float(number)


class Reporter:
    """Checks values of ``doc`` and collects the problems in ``problems``."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.problems: list[Problem] = []

    # --- reporting -------------------------------------------------------------------

    def fail(
        self,
        path: Path_,
        expected: str,
        found: Any,
        hint: str | None = None,
        *,
        at_key: bool = False,
    ) -> None:
        found_text = found if isinstance(found, Found) else show(found)
        self.problems.append(
            self.doc.problem(path, f"expected {expected}, found {found_text}", hint, at_key=at_key)
        )

    def unknown_keys(
        self, path: Path_, table: dict[str, Any], known: Iterable[str], what: str
    ) -> None:
        """Report each key of ``table`` not in ``known``, with a 'did you mean' hint."""
        known = tuple(known)
        for key in table:
            if key not in known:
                self.unknown_key(path, key, known, what)

    def unknown_key(self, path: Path_, key: str, known: tuple[str, ...], what: str) -> None:
        self.fail(
            (*path, key),
            what,
            Found(f"unknown key {show(key)}"),
            did_you_mean(key, known),
            at_key=True,
        )

    def table(self, path: Path_, value: Any) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.fail(path, "a table", value)
        return None

    # --- scalars ---------------------------------------------------------------------

    def string(
        self, path: Path_, value: Any, choices: Iterable[str] | None = None, what: str = "a string"
    ) -> str | None:
        if not isinstance(value, str) or isinstance(value, Found):
            self.fail(path, what, value)
            return None
        if choices is not None:
            choices = tuple(choices)
            if value not in choices:
                self.fail(path, f"one of {one_of(choices)}", value, did_you_mean(value, choices))
                return None
        return value

    def integer(self, path: Path_, value: Any, low: int = 1) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"an integer >= {low}", value)
            return None
        if value < low:
            self.fail(path, f"an integer >= {low}", value)
            return None
        return value

    def number(
        self, path: Path_, value: Any, interval: Interval, what: str = "a number"
    ) -> float | None:
        expected = what if interval.unbounded else f"{what} in {interval}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, expected, value)
            return None
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            number = math.inf if value > 0 else -math.inf
        if not interval.contains(number):
            self.fail(path, expected, value)
            return None
        return number

    def boolean(self, path: Path_, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.fail(path, "true or false", value)
            return None
        return value


class Found(str):
    """A 'found ...' text used as is (not shown as a TOML value)."""


MISSING: Any = Found("none")


class Interval:
    """A real interval with open or closed ends, printed as ``[0, 1)``."""

    def __init__(self, low: float, high: float, low_open: bool = False, high_open: bool = False):
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open

    @property
    def unbounded(self) -> bool:
        return self.low == -math.inf and self.high == math.inf

    def contains(self, x: float) -> bool:
        if math.isnan(x):
            return False
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below

    def __str__(self) -> str:
        def end(x: float) -> str:
            return "inf" if x == math.inf else "-inf" if x == -math.inf else f"{x:g}"

        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{end(self.low)}, {end(self.high)}{right}"


POSITIVE = Interval(0.0, math.inf, True, True)
REAL = Interval(-math.inf, math.inf, True, True)


def one_of(choices: Iterable[object]) -> str:
    """``"a", "b", 3``: choices as TOML values, for messages."""
    return ", ".join(show(c) for c in choices)
