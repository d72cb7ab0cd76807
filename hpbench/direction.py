"""Which way a metric improves: ``"min"`` (lower is better) or ``"max"`` (higher is better).

The one place that turns a direction into a sign, a choice of the best value or words, so
that every table, plot and search orders metrics alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

DIRECTIONS = ("min", "max")


def sign(direction: str) -> float:
    """``1.0`` for ``"min"``, ``-1.0`` for ``"max"``: ``sign(d) * metric`` is lower-is-better
    for either direction."""
    return 1.0 if direction == "min" else -1.0


def best_of(direction: str) -> Callable[[Iterable[float]], float]:
    """The builtin that picks the best of several values: ``min`` or ``max``."""
    return min if direction == "min" else max


def worst(direction: str) -> float:
    """The infinity every finite value beats: ``inf`` for ``"min"``, ``-inf`` for ``"max"``."""
    return sign(direction) * math.inf


def beats(value: float, other: float, direction: str) -> bool:
    """True when ``value`` is strictly better than ``other``; a NaN on either side never is."""
    return sign(direction) * (value - other) < 0


def words(direction: str) -> str:
    """``"lower is better"`` or ``"higher is better"``, for axis labels and captions."""
    return "lower is better" if direction == "min" else "higher is better"
